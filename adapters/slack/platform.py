"""The Slack platform: slack-bolt's `AsyncApp` in Socket Mode or behind `/slack/events`.

A thin shell over `translate`, `render` and `commands`: listeners look members up, translate,
and hand events to the sink before Slack gets its ack (`process_before_response`), so an event
that was acknowledged is already queued, and one that failed is retried by Slack.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.middleware.authorization.async_single_team_authorization import (
    AsyncSingleTeamAuthorization,
)
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import commands as slack_commands
from adapters.slack import render as slack_render
from adapters.slack import translate as tr
from bot.core import (
    Action,
    Answer,
    Attachment,
    Author,
    ButtonPressed,
    Capability,
    ChannelBinding,
    ChannelRef,
    Clock,
    CommandInvoked,
    CommandTable,
    CommunityDirectory,
    Config,
    Content,
    Edit,
    Event,
    EventSink,
    MemberRef,
    MessageRef,
    MirrorGathering,
    Platform,
    PlatformError,
    PlatformUnavailable,
    Post,
    PublishHome,
    Purpose,
    React,
    Role,
    Secrets,
    SendDirect,
    SpaceBinding,
    SuggestionRequest,
    Unreact,
    UnreadRange,
    UsageError,
)
from bot.core.config import check_slack_secrets

log = logging.getLogger("adapters.slack")

# The metadata `event_type` of posts made by the outbox; `event_payload.key` is the row's key.
EFFECT_EVENT_TYPE = "facilitator_effect"
# Errors that say "not now" rather than "never": the outbox tries again later.
_TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

# Scope -> what breaks without it; checked against auth.test's x-oauth-scopes header.
REQUIRED_SCOPES: dict[str, str] = {
    "app_mentions:read": "answering @Facilitator in channels",
    "channels:history": "reading messages in public channels",
    "channels:read": "finding configured channels by name",
    "groups:history": "reading messages in private channels",
    "groups:read": "finding private channels by name",
    "im:history": "reading direct messages to the bot",
    "im:write": "sending direct messages",
    "chat:write": "posting messages",
    "commands": "the slash command",
    "reactions:read": "seeing reactions",
    "reactions:write": "reacting to shared links",
    "users:read": "member names and time zones",
    "usergroups:read": "facilitator user groups",
    "files:write": "sending exports and charts",
}
# The Events API subscriptions the adapter handles (the manifest's bot_events).
SUBSCRIBED_EVENTS = frozenset(
    {
        "message.channels",
        "message.groups",
        "message.im",
        "reaction_added",
        "reaction_removed",
        "member_joined_channel",
        "member_left_channel",
        "app_mention",
        "app_home_opened",
        "team_join",
    }
)
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{6,}$")
_HISTORY_PAGES = 50  # at most 10,000 messages per channel per backfill


@dataclass(frozen=True, slots=True)
class _Member:
    name: str
    tz: str | None
    is_bot: bool
    fetched: float


class SlackPlatform:
    """Slack through slack-bolt; Socket Mode or the Events API over HTTP."""

    name = "slack"
    capabilities = frozenset(
        {
            Capability.THREADS,
            Capability.REACTIONS,
            Capability.BUTTONS,
            Capability.EPHEMERAL,
            Capability.FILES,
            Capability.DIRECT_MESSAGES,
            Capability.UNSOLICITED_DIRECT_MESSAGES,
        }
    )

    def __init__(
        self,
        config: Config,
        secrets: Secrets,
        directory: CommunityDirectory,
        commands: CommandTable,
        clock: Clock,
        *,
        post_interval: float = 1.0,
        cache_seconds: float = 300.0,
        thread_lookback: timedelta = timedelta(days=7),
        ping_interval: float = 10.0,
        max_rate_limit_retries: int = 3,
        max_connection_retries: int = 2,
        home_interval: float = 10.0,
    ) -> None:
        settings = config.slack
        check_slack_secrets(config, secrets)
        self._config = config
        self._settings = settings
        self._secrets = secrets
        self._directory = directory
        self._commands = commands
        self._clock = clock
        self._post_interval = post_interval
        self._home_interval = home_interval
        self._cache_seconds = cache_seconds
        self._thread_lookback = thread_lookback
        self._ping_interval = ping_interval
        self._retry_handlers = [
            AsyncRateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries),
            AsyncConnectionErrorRetryHandler(max_retry_count=max_connection_retries),
        ]
        self.client = AsyncWebClient(
            token=secrets.slack_bot_token,
            base_url=settings.api_base_url,
            retry_handlers=list(self._retry_handlers),
        )
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secrets.slack_signing_secret or "",
            process_before_response=True,
            request_verification_enabled=settings.mode == "http",
            logger=logging.getLogger("adapters.slack.bolt"),
        )
        self._register_listeners()
        self._sink: EventSink | None = None
        self._handler: AsyncSocketModeHandler | None = None
        self._team = ""
        self._bot_user = ""
        self._members: dict[str, _Member] = {}
        self._groups: dict[str, str] = {}  # configured group id -> handle
        self._group_members: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._lookups: dict[str, asyncio.Lock] = {}
        self._last_post: dict[str, float] = {}
        self._last_home: dict[str, float] = {}  # member -> when their Home was last published
        self._dm_channels: dict[str, str] = {}  # member -> their DM channel with the bot
        self._watched: list[str] = []
        self._scopes: frozenset[str] | None = None  # granted scopes, when Slack tells them
        self._backfill: asyncio.Task[None] | None = None
        self._reconnect_backfills: set[asyncio.Task[None]] = set()
        self._sessions = 0  # Socket Mode connections that said hello

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, sink: EventSink) -> None:
        """Check the installation, bind channels, connect, and start backfilling."""
        try:
            auth = await self.client.auth_test()
        except SlackApiError as error:
            raise PlatformError(
                f"slack: SLACK_BOT_TOKEN was refused ({error.response.get('error')}); copy the "
                "Bot User OAuth Token from the app's OAuth & Permissions page again"
            ) from None
        except (aiohttp.ClientError, TimeoutError, SlackClientError) as error:
            problem = str(error) or type(error).__name__
            raise PlatformError(
                f"slack: cannot reach {self._settings.api_base_url} ({problem}); "
                "check the network, or [slack] api_base_url in the config"
            ) from None
        self._team = str(auth["team_id"])
        self._bot_user = str(auth["user_id"])
        for middleware in self.app._async_middleware_list:
            # bolt asks auth.test lazily, once per request until the first answer is back: a
            # burst of events at start would make one call each. Hand it the answer we have.
            if isinstance(middleware, AsyncSingleTeamAuthorization):
                middleware.auth_test_result = middleware.auth_test_result or auth
        self._check_scopes(auth.headers)
        await self._resolve_groups()
        await self._bind_channels(sink)
        # Before any event can arrive (Socket Mode connects below; HTTP answers 503 until the
        # sink is set): no live message can move a cursor over what is unread.
        unread = await self._open_ranges(sink)
        self._sink = sink
        if self._settings.mode == "socket":
            url = await self._check_app_token()
            self._handler = AsyncSocketModeHandler(
                self.app, self._secrets.slack_app_token, ping_interval=self._ping_interval
            )
            # Connect to the URL the check just opened instead of asking for a second one;
            # reconnections still ask apps.connections.open for a fresh URL each time.
            self._handler.client.wss_uri = url
            self._handler.client.on_message_listeners.append(self._on_socket_message)
            await self._handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("slack: connected in Socket Mode to team %s", self._team)
        else:
            log.info("slack: serving the Events API at /slack/events for team %s", self._team)
        self._backfill = asyncio.create_task(
            self._run_backfill(sink, unread), name="slack-backfill"
        )

    async def stop(self) -> None:
        """Disconnect and stop background work."""
        for task in [self._backfill, *self._reconnect_backfills]:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._handler is not None:
            await self._handler.close_async()  # type: ignore[no-untyped-call]
            self._handler = None
        self._sink = None

    async def wait_backfilled(self) -> None:
        """Return once the start-up backfill has delivered everything it found."""
        if self._backfill is not None:
            await asyncio.shield(self._backfill)

    def http_routes(self) -> list[web.RouteDef]:
        """Routes for the app's web server in HTTP mode (none in Socket Mode)."""
        if self._settings.mode != "http":
            return []
        return [web.post("/slack/events", self.handle_http)]

    async def handle_http(self, request: web.Request) -> web.StreamResponse:
        """Events, slash commands and interactivity over HTTP; bolt checks the signature."""
        if self._sink is None:
            return web.Response(status=503, text="starting")
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    # -- start-up self-check -----------------------------------------------------------

    async def _check_app_token(self) -> str:
        """The Socket Mode URL an app-level token opens; a refused token is a clear error."""
        # The Socket Mode client retries a refused token forever; refuse it here, once.
        try:
            opened = await self.client.apps_connections_open(
                app_token=self._secrets.slack_app_token or ""
            )
        except SlackApiError as error:
            raise PlatformError(
                f"slack: SLACK_APP_TOKEN was refused ({error.response.get('error')}); create an "
                "app-level token with connections:write under Basic Information and set it, "
                'or use [slack] mode = "http"'
            ) from None
        return str(opened["url"])

    def _check_scopes(self, headers: Any) -> None:
        granted_raw: str | None = None
        for key, value in dict(headers).items():
            if key.lower() == "x-oauth-scopes":
                granted_raw = value[0] if isinstance(value, list) else str(value)
        if granted_raw is None:
            log.info("slack: auth.test did not list the granted scopes; not checking them")
            return
        granted = {scope.strip() for scope in granted_raw.split(",") if scope.strip()}
        self._scopes = frozenset(granted)
        for scope, purpose in REQUIRED_SCOPES.items():
            if scope not in granted:
                log.warning(
                    "slack: the app lacks the scope %s (needed for %s); add it under OAuth & "
                    "Permissions (see adapters/slack/manifest.yaml) and reinstall the app",
                    scope,
                    purpose,
                )

    async def _list_channels(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(_HISTORY_PAGES):
            page = await self.client.conversations_list(
                # without groups:read, asking for private channels fails the whole call
                types="public_channel"
                if self._scopes is not None and "groups:read" not in self._scopes
                else "public_channel,private_channel",
                exclude_archived=True,
                limit=200,
                cursor=cursor or None,
            )
            found.extend(page.get("channels") or [])
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        return found

    async def _bind_channels(self, sink: EventSink) -> None:
        try:
            listed = await self._list_channels()
        except SlackApiError as error:
            log.error(
                "slack: cannot list channels (%s); add the channels:read and groups:read scopes",
                error.response.get("error"),
            )
            listed = []
        by_id = {str(c["id"]): c for c in listed}
        by_name = {str(c["name"]): c for c in listed}
        slack_communities = [
            (index, community)
            for index, community in enumerate(self._config.communities)
            if "slack" in community.platforms
        ]
        for index, community in slack_communities:
            section = community.platforms["slack"]
            where = f"{self._config.source}: communities[{index}].slack"
            if section.space and section.space != self._team:
                log.error(
                    "slack: %s.team is %s but the token belongs to team %s; fix the team id",
                    where,
                    section.space,
                    self._team,
                )
                continue
            if section.space or len(slack_communities) == 1:
                sink.bind(SpaceBinding("slack", self._team, community.name))
            wanted: list[tuple[str, Purpose]] = [
                (name, Purpose.WATCHED) for name in section.channels
            ]
            if section.announcements:
                wanted.append((section.announcements, Purpose.ANNOUNCEMENTS))
            if section.digest:
                wanted.append((section.digest, Purpose.DIGEST))
            for configured, purpose in wanted:
                info = await self._find_channel(configured, by_id, by_name)
                if info is None:
                    log.error(
                        "slack: channel %s in %s was not found; check its name or id, or invite "
                        "the bot first if it is private",
                        configured,
                        where,
                    )
                    continue
                channel_id = str(info["id"])
                if not info.get("is_member"):
                    log.error(
                        "slack: the bot is not in #%s (%s); type /invite @%s in that channel",
                        info.get("name", channel_id),
                        where,
                        self._bot_name(),
                    )
                sink.bind(
                    ChannelBinding(
                        tr.channel_ref(self._team, channel_id),
                        community.name,
                        frozenset({purpose}),
                        private=bool(info.get("is_private")),
                    )
                )
                if purpose is Purpose.WATCHED and channel_id not in self._watched:
                    self._watched.append(channel_id)

    async def _find_channel(
        self, configured: str, by_id: dict[str, Any], by_name: dict[str, Any]
    ) -> dict[str, Any] | None:
        name = configured.lstrip("#")
        if name in by_id:
            return dict(by_id[name])
        if name in by_name:
            return dict(by_name[name])
        if _CHANNEL_ID.match(name):
            try:
                info = await self.client.conversations_info(channel=name)
            except SlackApiError:
                return None
            channel = info.get("channel")
            return dict(channel) if isinstance(channel, dict) else None
        return None

    def _bot_name(self) -> str:
        member = self._members.get(self._bot_user)
        return member.name if member else "facilitator"

    async def _resolve_groups(self) -> None:
        configured = {
            role.lstrip("@")
            for community in self._config.communities
            if "slack" in community.platforms
            for role in community.platforms["slack"].facilitator_roles
        }
        if not configured:
            return
        try:
            listing = await self.client.usergroups_list()
        except SlackApiError as error:
            log.error(
                "slack: cannot read user groups (%s); add the usergroups:read scope, or list "
                "facilitators by user id",
                error.response.get("error"),
            )
            return
        for group in listing.get("usergroups") or []:
            group_id, handle = str(group.get("id")), str(group.get("handle"))
            if group_id in configured or handle in configured:
                self._groups[group_id] = handle
        known = set(self._groups) | set(self._groups.values())
        for role in sorted(configured - known):
            log.error(
                "slack: facilitator user group %s does not exist; fix facilitator_roles in %s",
                role,
                self._config.source,
            )

    # -- members -----------------------------------------------------------------------

    def _fresh(self, fetched: float) -> bool:
        return time.monotonic() - fetched < self._cache_seconds

    def _lookup_lock(self, key: str) -> asyncio.Lock:
        # One lookup per key at a time: a burst of events from one member (a redelivery, a
        # backfill) must not become a burst of identical API calls.
        return self._lookups.setdefault(key, asyncio.Lock())

    async def _member(self, user: str) -> _Member:
        cached = self._members.get(user)
        if cached is not None and self._fresh(cached.fetched):
            return cached
        async with self._lookup_lock("user:" + user):
            cached = self._members.get(user)
            if cached is not None and self._fresh(cached.fetched):
                return cached
            try:
                info = (await self.client.users_info(user=user)).get("user") or {}
            except SlackApiError as error:
                log.warning("slack: users.info %s failed: %s", user, error.response.get("error"))
                info = {}
            profile = info.get("profile") or {}
            name = str(profile.get("display_name") or info.get("name") or user)
            member = _Member(name, info.get("tz"), bool(info.get("is_bot")), time.monotonic())
            self._members[user] = member
            return member

    async def _group_members_of(self, group_id: str) -> frozenset[str]:
        cached = self._group_members.get(group_id)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]
        async with self._lookup_lock("group:" + group_id):
            cached = self._group_members.get(group_id)
            if cached is not None and self._fresh(cached[0]):
                return cached[1]
            try:
                listing = await self.client.usergroups_users_list(usergroup=group_id)
                users = frozenset(str(user) for user in listing.get("users") or [])
            except SlackApiError as error:
                log.warning(
                    "slack: usergroups.users.list %s failed: %s",
                    group_id,
                    error.response.get("error"),
                )
                users = cached[1] if cached else frozenset()
            self._group_members[group_id] = (time.monotonic(), users)
            return users

    async def _roles(self, user: str) -> frozenset[str]:
        roles: set[str] = set()
        for group_id, handle in self._groups.items():
            if user in await self._group_members_of(group_id):
                roles.update((group_id, handle))
        return frozenset(roles)

    async def author(self, team: str, user: str) -> Author:
        """A member as a core `Author`, with their facilitator user groups as roles."""
        member = await self._member(user)
        return Author(
            ref=tr.member_ref(team or self._team, user),
            name=member.name,
            is_bot=member.is_bot,
            roles=await self._roles(user),
            timezone=member.tz,
        )

    async def member_timezone(self, member: MemberRef) -> str | None:
        """The IANA time zone Slack has for a member (cached), if known."""
        return (await self._member(member.member)).tz

    async def _authors(self, team: str, users: list[str]) -> dict[str, Author]:
        return {user: await self.author(team, user) for user in dict.fromkeys(users)}

    # -- inbound -----------------------------------------------------------------------

    def _register_listeners(self) -> None:
        async def on_event(body: dict[str, Any]) -> None:
            await self._on_event(body)

        async def on_command(ack: AsyncAck, body: dict[str, Any]) -> None:
            await self._on_command(ack, body)

        async def on_action(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            await self._on_action(body)

        async def on_view(ack: AsyncAck, body: dict[str, Any]) -> None:
            await self._on_view(ack, body)

        async def on_options(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack(options=await self._suggestions(body))

        async def on_shortcut(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            await self._on_shortcut(body)

        self.app.event(re.compile(r".+"))(on_event)
        self.app.command(self._settings.command)(on_command)
        self.app.action(re.compile("^" + re.escape(tr.BUTTON_PREFIX)))(on_action)
        self.app.view(slack_commands.MODAL_CALLBACK)(on_view)
        # The command table is complete once the platform is built: derive the shortcuts once.
        self._shortcuts = slack_commands.registered_shortcuts(self._commands)
        for callback in self._shortcuts:
            self.app.shortcut(callback)(on_shortcut)
        self.app.options(slack_commands.PICK_ACTION)(on_options)

    def _require_sink(self) -> EventSink:
        if self._sink is None:
            raise RuntimeError("the Slack platform is not started")
        return self._sink

    async def _on_event(self, body: dict[str, Any]) -> None:
        sink = self._require_sink()
        team = str(body.get("team_id") or self._team)
        kind = (body.get("event") or {}).get("type")
        if kind == "team_join":
            await self._on_team_join(sink, body, team)
            return
        authors = await self._authors(team, tr.users_in_event(body))
        try:
            event: Event | None
            if kind == "app_home_opened":
                user = str((body.get("event") or {}).get("user") or "")
                author = authors.get(user)
                event = tr.translate_home_opened(body, author) if author is not None else None
            elif kind == "app_mention":
                user = str((body.get("event") or {}).get("user") or "")
                author = authors.get(user)
                event = (
                    tr.translate_mention(body, self._commands, self._bot_user, author)
                    if author is not None
                    else None
                )
            else:
                event = tr.translate_event(body, team, authors)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            # acknowledged and dropped: a payload that cannot be read will not improve on retry
            log.warning(
                "slack: ignored a malformed %s event %s (%s: %s)",
                (body.get("event") or {}).get("type"),
                body.get("event_id"),
                type(error).__name__,
                error,
            )
            return
        if event is not None:
            await sink.deliver(event)

    async def _on_team_join(self, sink: EventSink, body: dict[str, Any], team: str) -> None:
        """Welcome a workspace newcomer in each community that asks for it."""
        user = tr.joined_user(body)
        if user is None:
            return
        for community in self._config.communities:
            section = community.platforms.get("slack")
            if section is None or not section.welcome_workspace_joins:
                continue
            if section.space and section.space != team:
                continue
            home = self._directory.home_channel(community.name, "slack")
            if home is None:
                log.warning(
                    "slack: %s welcomes workspace joins but has no Slack channel to welcome "
                    "them in; add channels or announcements to [communities.slack]",
                    community.name,
                )
                continue
            event = tr.translate_team_join(body, await self.author(team, user), home)
            if event is not None:
                await sink.deliver(event)

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        sink = self._require_sink()
        team = str(body.get("team_id") or self._team)
        author = await self.author(team, str(body.get("user_id")))
        path, text = tr.command_path(self._commands, str(body.get("text") or ""))
        trigger = body.get("trigger_id")
        if trigger and await self._wants_modal(path, text, author, team, body):
            await ack()
            spec = self._commands.resolve(path).spec
            view = slack_commands.command_modal(
                self._commands.resolve(path).path,
                spec,
                channel=str(body.get("channel_id")),
                response_url=body.get("response_url"),
            )
            await self.client.views_open(trigger_id=str(trigger), view=view)
            return
        await sink.deliver(tr.translate_command(body, self._commands, author, self._clock.now()))
        await ack()

    async def _wants_modal(
        self, path: tuple[str, ...], text: str, author: Author, team: str, body: dict[str, Any]
    ) -> bool:
        channel = tr.channel_ref(team, str(body.get("channel_id")))
        return slack_commands.asks_through_modal(
            self._commands, self._directory, path, text, author, channel
        )

    async def _on_action(self, body: dict[str, Any]) -> None:
        sink = self._require_sink()
        user = body.get("user") or {}
        team = str((body.get("team") or {}).get("id") or user.get("team_id") or self._team)
        author = await self.author(team, str(user.get("id")))
        event = tr.translate_button(body, author, self._clock.now())
        if event is None:
            return
        if await self._opened_form(event, body):
            return
        await sink.deliver(event)

    async def _opened_form(self, event: ButtonPressed, body: dict[str, Any]) -> bool:
        """Open the form of a pressed button's command when it lacks a field the form asks
        for (Finish of a self-evaluation): the submission runs it, as a typed line would."""
        trigger = body.get("trigger_id")
        found = self._commands.form_for_line(event.action)
        if not trigger or found is None:
            return False
        resolved, given = found
        if resolved.role is Role.FACILITATOR:
            community = self._directory.community_for(
                event.message.channel
            ) or self._directory.default_community("slack")
            if community is None or not self._directory.is_facilitator(community, event.author):
                return False  # refused at once, not after filling the form
        view = slack_commands.command_modal(
            resolved.path,
            resolved.spec,
            channel=event.message.channel.channel,
            response_url=body.get("response_url"),
            given=given,
        )
        try:
            await self.client.views_open(trigger_id=str(trigger), view=view)
        except SlackApiError as error:
            log.warning("slack: could not open a form (%s)", error.response.get("error"))
            return False
        return True

    async def _suggestions(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The options of an external select in one of our forms (answered in the ack, within
        Slack's 3 s: the dispatcher gives its suggesters 2 s)."""
        target = slack_commands.suggestion_target(body, self._commands)
        if target is None:
            return []
        source, channel = target
        user = body.get("user") or {}
        team = str((body.get("team") or {}).get("id") or user.get("team_id") or self._team)
        request = SuggestionRequest(
            source=source,
            typed=str(body.get("value") or ""),
            author=await self.author(team, str(user.get("id"))),
            channel=tr.channel_ref(team, channel),
        )
        found = await self._require_sink().suggest(request)
        return slack_commands.suggestion_options([(s.label, s.value) for s in found])

    async def _on_shortcut(self, body: dict[str, Any]) -> None:
        """A message shortcut opens its modal with the payload's fresh trigger_id (valid 3 s,
        once): nothing reaches the dispatcher until the member submits it."""
        shortcut = self._shortcuts.get(str(body.get("callback_id")))
        trigger = body.get("trigger_id")
        if shortcut is None or not trigger:
            return
        message = body.get("message") or {}
        try:
            view = slack_commands.shortcut_modal(
                shortcut,
                self._commands,
                tr.inbound_text(str(message.get("text") or "")),
                channel=str((body.get("channel") or {}).get("id") or ""),
                response_url=body.get("response_url"),
            )
        except UsageError:
            log.error("slack: the %s shortcut's command is not declared", shortcut.name)
            return
        try:
            await self.client.views_open(trigger_id=str(trigger), view=view)
        except SlackApiError as error:
            log.warning(
                "slack: could not open the %s form (%s)", shortcut.name, error.response.get("error")
            )

    async def _on_view(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        sink = self._require_sink()
        try:
            path, text, channel, response_url = slack_commands.modal_submission(
                body, self._commands
            )
        except slack_commands.ModalError as problem:
            # the form stays open with the problem shown under the field
            await ack(response_action="errors", errors={problem.field: str(problem)})
            return
        await ack()
        user = body.get("user") or {}
        team = str((body.get("team") or {}).get("id") or user.get("team_id") or self._team)
        author = await self.author(team, str(user.get("id")))
        view_id = (body.get("view") or {}).get("id")
        await sink.deliver(
            CommandInvoked(
                key=f"slack:view:{view_id}",
                path=path,
                author=author,
                channel=tr.channel_ref(team, channel),
                invoked_at=self._clock.now(),
                reply_to=tr.reply_ref(team, author.ref.member, channel, response_url),
                text=text,
                is_direct=tr.is_direct_channel(channel),
            )
        )

    # -- backfill ----------------------------------------------------------------------
    #
    # At start, before any event can arrive, each watched channel's unread range is recorded
    # (from its last live message on). conversations.history answers newest first, so a range
    # is read downwards: after each page is delivered, the range's upper bound moves down to
    # the page's oldest message, committed with the page; the range is deleted once history
    # is read back to its start. A stop or a crash resumes below what was committed.

    async def _open_ranges(self, sink: EventSink) -> list[UnreadRange]:
        channels = [tr.channel_ref(self._team, channel) for channel in self._watched]
        begins: dict[ChannelRef, str] = {}
        for ref in channels:
            if await sink.cursor(ref) is None:  # never seen: where it begins for us
                newest = await self._newest_position(ref.channel)
                if newest is not None:
                    begins[ref] = newest
        unread = await sink.open_backfill(channels, begins=begins)
        resumed = [found for found in unread if found.resumed]
        if resumed:
            log.info(
                "slack: backfill resumes %d unread range(s) left open in %d channel(s)",
                len(resumed),
                len({found.channel for found in resumed}),
            )
        return unread

    async def _newest_position(self, channel: str) -> str | None:
        """The channel's newest message as a cursor ("0": none yet; None: unknown). Read
        before the connection opens, so everything later arrives live."""
        try:
            page = await self.client.conversations_history(channel=channel, limit=1)
        except SlackApiError as error:
            problem = error.response.get("error")
            if problem != "not_in_channel":  # reported at start already, with its fix
                log.warning("slack: cannot read where %s begins (%s)", channel, problem)
            return None
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("slack: cannot read where %s begins (%s)", channel, type(error).__name__)
            return None
        stamps = [str(m["ts"]) for m in page.get("messages") or [] if tr.is_ts(m.get("ts"))]
        return tr.ts_to_cursor(max(stamps, key=tr.ts_to_cursor)) if stamps else tr.ts_to_cursor("0")

    async def _on_socket_message(self, message: aiohttp.WSMessage) -> None:
        """On a new Socket Mode connection after the first, record what the gap between the
        two left unread, then read it. The receiving loop awaits this before it takes the
        connection's next frame, so no live message of that connection commits first."""
        data = message.data
        if not isinstance(data, str) or '"hello"' not in data:
            return
        try:
            kind = json.loads(data).get("type")
        except (ValueError, AttributeError):
            return
        if kind != "hello":
            return
        self._sessions += 1
        sink = self._sink
        if self._sessions == 1 or sink is None:
            return  # the first connection: the start opened its ranges before connecting
        unread = await self._open_ranges(sink)
        # A range still open from before is being read by the backfill that opened it.
        fresh = [found for found in unread if not found.resumed]
        if not fresh:
            return
        task = asyncio.create_task(self._run_backfill(sink, fresh), name="slack-backfill")
        self._reconnect_backfills.add(task)
        task.add_done_callback(self._reconnect_backfills.discard)

    async def _run_backfill(self, sink: EventSink, unread: list[UnreadRange]) -> None:
        for found in unread:
            if found.channel.channel not in self._watched:
                continue
            try:
                await self._backfill_range(sink, found)
            except (SlackClientError, ValueError, aiohttp.ClientError, TimeoutError) as error:
                problem = (
                    error.response.get("error")
                    if isinstance(error, SlackApiError)
                    else type(error).__name__
                )
                log.warning(
                    "slack: a backfill page of %s failed (%s); what it did not read stays "
                    "unread for the next start",
                    found.channel.channel,
                    problem,
                )

    async def _pages(
        self, call: Callable[..., Awaitable[Any]], **kwargs: Any
    ) -> AsyncIterator[dict[str, Any]]:
        cursor = ""
        for _ in range(_HISTORY_PAGES):
            page = await call(limit=200, cursor=cursor or None, **kwargs)
            for message in page.get("messages") or []:
                yield dict(message)
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not page.get("has_more") or not cursor:
                return

    async def _backfill_range(self, sink: EventSink, unread: UnreadRange) -> None:
        channel = unread.channel.channel
        since = unread.after
        lookback = float(tr.cursor_to_ts(since)) - self._thread_lookback.total_seconds()
        latest = tr.cursor_to_ts(unread.until) if unread.until is not None else None
        newest: str | None = None  # the newest message read (of the first page)
        total = 0
        cursor = ""
        for _ in range(_HISTORY_PAGES):
            page = await self.client.conversations_history(
                channel=channel,
                oldest=f"{max(lookback, 0):.6f}",
                latest=latest,
                limit=200,
                cursor=cursor or None,
            )
            messages = [dict(m) for m in page.get("messages") or [] if tr.is_ts(m.get("ts"))]
            positions = [tr.ts_to_cursor(str(m["ts"])) for m in messages]
            if newest is None and positions:
                newest = max(positions)
            events = await self._page_events(channel, since, messages)
            for event in events:
                await sink.deliver(event)
            total += len(events)
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not page.get("has_more") or not cursor:
                break
            if positions:  # what is above this page's oldest message is read
                await sink.advance_backfill(unread, until=min(positions))
        else:
            log.warning(
                "slack: backfill of %s stopped after %d pages; the rest is read at the next "
                "start",
                channel,
                _HISTORY_PAGES,
            )
            return
        # Everything up to the first page's newest message was read; what came later arrived
        # live (the connection was open before the range was): the cursor may move there.
        vouched = unread.until is None and newest is not None and newest > since
        await sink.close_backfill(unread, read_to=newest if vouched else None)
        if total:
            log.info("slack: backfilled %d missed messages and edits in %s", total, channel)

    async def _page_events(
        self, channel: str, since: str, messages: list[dict[str, Any]]
    ) -> list[Event]:
        """One history page's missed messages, thread replies (oldest first) and edits."""
        missed: dict[str, dict[str, Any]] = {}
        edited: dict[str, dict[str, Any]] = {}
        for message in messages:
            ts = str(message.get("ts"))
            if tr.ts_to_cursor(ts) > since:
                missed[ts] = message
            elif self._edited_since(message, since):
                edited[ts] = message
            latest = message.get("latest_reply")
            if message.get("reply_count") and latest and tr.ts_to_cursor(str(latest)) > since:
                async for reply in self._pages(
                    self.client.conversations_replies,
                    channel=channel,
                    ts=ts,
                    oldest=tr.cursor_to_ts(since),
                ):
                    reply_ts = str(reply.get("ts"))
                    if tr.is_ts(reply_ts) and reply_ts != ts and tr.ts_to_cursor(reply_ts) > since:
                        missed[reply_ts] = reply
        ordered = sorted(missed.values(), key=lambda m: tr.ts_to_cursor(str(m.get("ts"))))
        changed = sorted(edited.values(), key=lambda m: tr.ts_to_cursor(str(m["edited"]["ts"])))
        users = [str(m["user"]) for m in [*ordered, *changed] if isinstance(m.get("user"), str)]
        authors = await self._authors(self._team, users)
        events: list[Event] = []
        for message in ordered:
            if (new := tr.translate_message(message, self._team, channel, authors)) is not None:
                events.append(replace(new, backfilled=True))
        for message in changed:
            if (edit := tr.translate_edit(message, self._team, channel, authors)) is not None:
                events.append(edit)
        return events

    @staticmethod
    def _edited_since(message: dict[str, Any], since: str) -> bool:
        edited = str((message.get("edited") or {}).get("ts"))
        return tr.is_ts(edited) and tr.ts_to_cursor(edited) > since

    # -- outbound ----------------------------------------------------------------------

    @asynccontextmanager
    async def _paced(self, channel: str) -> AsyncIterator[None]:
        """At most one post per `post_interval` per channel, in arrival order."""
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            wait = self._last_post.get(channel, float("-inf")) + self._post_interval
            delay = wait - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                yield
            finally:
                self._last_post[channel] = time.monotonic()

    async def perform(self, action: Action) -> MessageRef | None:
        """Carry out one action; Slack's refusals become `PlatformError`."""
        return await self._checked(action, None, resend=False)

    async def perform_once(self, action: Action, *, key: str, resend: bool) -> MessageRef | None:
        """Carry out an outbox row's action: posts carry the key in their message metadata,
        and a resend first looks for a post with that key (history read with its metadata)
        and adopts it instead of posting again."""
        return await self._checked(action, key, resend=resend)

    async def _checked(self, action: Action, key: str | None, *, resend: bool) -> MessageRef | None:
        try:
            return await self._perform(action, key, resend)
        except SlackApiError as error:
            problem = error.response.get("error")
            status = getattr(error.response, "status_code", 200)
            if status >= 500 or problem in _TRANSIENT:
                raise PlatformUnavailable(f"slack: {problem} ({type(action).__name__})") from None
            raise PlatformError(f"slack: {problem} ({type(action).__name__})") from None
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise PlatformUnavailable(
                f"slack: {type(error).__name__} ({type(action).__name__})"
            ) from None

    async def _perform(
        self, action: Action, key: str | None = None, resend: bool = False
    ) -> MessageRef | None:
        match action:
            case Post():
                thread = None
                if action.thread is not None:
                    thread = action.thread.thread or action.thread.message
                return await self._post(action.channel.channel, action.content, thread, key, resend)
            case React():
                await self._react(action.message, action.emoji, add=True)
                return None
            case Unreact():
                await self._react(action.message, action.emoji, add=False)
                return None
            case SendDirect():
                return await self._send_direct(action, key, resend)
            case Answer():
                await self._answer(action)
                return None
            case Edit():
                message = slack_render.render_content(action.content)[0]
                await self.client.chat_update(
                    channel=action.message.channel.channel,
                    ts=action.message.message,
                    text=message.text,
                    blocks=message.blocks,
                )
                return action.message
            case MirrorGathering():
                raise PlatformError("slack: there are no scheduled events to mirror into")
            case PublishHome():
                await self._publish_home(action)
                return None

    async def _post(
        self,
        channel: str,
        content: Content,
        thread: str | None,
        key: str | None = None,
        resend: bool = False,
    ) -> MessageRef:
        if key is not None and resend:
            found = await self._posted_with(channel, thread, key)
            if found is not None:
                log.info("slack: a resent post was already in %s; adopted it", channel)
                return found
        first: MessageRef | None = None
        for index, message in enumerate(slack_render.render_content(content)):
            extra: dict[str, Any] = {}
            if key is not None:
                extra["metadata"] = {
                    "event_type": EFFECT_EVENT_TYPE,
                    "event_payload": {"key": key, "part": index},
                }
            async with self._paced(channel):
                sent = await self.client.chat_postMessage(
                    channel=channel,
                    text=message.text,
                    blocks=message.blocks,
                    thread_ts=thread,
                    unfurl_links=False,
                    **extra,
                )
            if first is None:
                first = MessageRef(tr.channel_ref(self._team, channel), str(sent["ts"]), thread)
        if content.attachment is not None:
            await self._upload(channel, content.attachment, thread)
        assert first is not None  # render_content always yields a message
        return first

    async def _posted_with(self, channel: str, thread: str | None, key: str) -> MessageRef | None:
        """The first message of a post made with outbox `key`, among the recent ones (read
        with their metadata; paced by Slack's Retry-After through the client's retry handler)."""
        if thread is not None:
            listed = await self.client.conversations_replies(
                channel=channel, ts=thread, limit=200, include_all_metadata=True
            )
        else:
            listed = await self.client.conversations_history(
                channel=channel, limit=100, include_all_metadata=True
            )
        for message in listed.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == EFFECT_EVENT_TYPE
                and payload.get("key") == key
                and payload.get("part", 0) == 0
            ):
                return MessageRef(tr.channel_ref(self._team, channel), str(message["ts"]), thread)
        return None

    async def _upload(self, channel: str, attachment: Attachment, thread: str | None) -> None:
        async with self._paced(channel):
            await self.client.files_upload_v2(
                channel=channel,
                file=attachment.data,
                filename=attachment.filename,
                title=attachment.filename,
                thread_ts=thread,
            )

    async def _publish_home(self, action: PublishHome) -> None:
        """views.publish, at most once per member per `home_interval` (the rows of one
        member's Home are one outbox lane, so waiting here holds back nobody else)."""
        user = action.member.member
        lock = self._locks.setdefault("home:" + user, asyncio.Lock())
        async with lock:
            delay = self._last_home.get(user, float("-inf")) + self._home_interval
            delay -= time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await self.client.views_publish(
                    user_id=user, view=slack_render.home_view(action.page)
                )
            finally:
                self._last_home[user] = time.monotonic()

    async def _react(self, message: MessageRef, emoji: str, *, add: bool) -> None:
        name = emoji.strip(":")
        try:
            if add:
                await self.client.reactions_add(
                    channel=message.channel.channel, timestamp=message.message, name=name
                )
            else:
                await self.client.reactions_remove(
                    channel=message.channel.channel, timestamp=message.message, name=name
                )
        except SlackApiError as error:
            if error.response.get("error") not in ("already_reacted", "no_reaction"):
                raise

    async def _open_direct(self, user: str) -> str:
        # A member's DM with the bot keeps its id: open it once, not before every message, and
        # not twice when an answer's file and a direct message (two lanes) go out at once.
        if user not in self._dm_channels:
            async with self._lookup_lock("dm:" + user):
                if user not in self._dm_channels:
                    opened = await self.client.conversations_open(users=user)
                    self._dm_channels[user] = str((opened.get("channel") or {}).get("id"))
        return self._dm_channels[user]

    async def _send_direct(
        self, action: SendDirect, key: str | None = None, resend: bool = False
    ) -> MessageRef | None:
        try:
            channel = await self._open_direct(action.member.member)
            return await self._post(channel, action.content, None, key, resend)
        except SlackApiError as error:
            if action.fallback is None:
                raise
            log.info(
                "slack: direct message refused (%s); answering privately instead",
                error.response.get("error"),
            )
            await self._answer(Answer(to=action.fallback, content=action.refused or action.content))
            return None

    async def _answer(self, action: Answer) -> None:
        try:
            target = tr.ReplyTarget.decode(action.to.token)
        except ValueError as error:
            raise PlatformError(f"slack: cannot answer: {error}") from None
        messages = slack_render.render_content(action.content)
        from_home = not target.channel
        if from_home:
            # A button on the member's Home: no channel, no response_url; their DM with the
            # bot (which only they read) is where the answer goes.
            target = replace(target, channel=await self._open_direct(target.user))
        for index, message in enumerate(messages):
            replace_original = action.in_place and index == 0
            if target.response_url and await self._respond(
                target.response_url, message, action, replace_original=replace_original
            ):
                continue
            if action.ephemeral and not from_home:
                await self.client.chat_postEphemeral(
                    channel=target.channel,
                    user=target.user,
                    text=message.text,
                    blocks=message.blocks,
                )
            else:
                async with self._paced(target.channel):
                    await self.client.chat_postMessage(
                        channel=target.channel, text=message.text, blocks=message.blocks
                    )
        if action.content.attachment is not None:
            channel = await self._open_direct(target.user)
            await self._upload(channel, action.content.attachment, None)

    async def _respond(
        self,
        url: str,
        message: slack_render.SlackMessage,
        action: Answer,
        *,
        replace_original: bool = False,
    ) -> bool:
        """Answer through a response_url (redrawing the message a button or menu was used
        on, when `replace_original`); False when it has expired or is used up."""
        webhook = AsyncWebhookClient(url=url, retry_handlers=list(self._retry_handlers))
        try:
            response = await webhook.send(
                text=message.text,
                blocks=message.blocks,
                response_type="ephemeral" if action.ephemeral else "in_channel",
                replace_original=replace_original,
            )
        except SlackClientError as error:
            log.info("slack: response_url failed (%s); posting instead", error)
            return False
        if response.status_code != 200:
            log.info("slack: response_url answered %s; posting instead", response.status_code)
            return False
        return True


def create_platform(
    config: Config,
    secrets: Secrets,
    directory: CommunityDirectory,
    commands: CommandTable,
    clock: Clock,
) -> Platform:
    """The Slack platform for `facilitator run` (called when SLACK_BOT_TOKEN is set)."""
    return SlackPlatform(config, secrets, directory, commands, clock)
