"""The Discord platform: discord.py's `AutoShardedClient` as a thin shell over `translate`,
`render` and `commands`.

Inbound, every gateway dispatch reaches us as its raw JSON (`on_socket_raw_receive`), goes
into one ordered queue, is translated to a core event and handed to the sink; REST history
(backfill) uses the very same translation. Outbound, actions are rendered to raw message
bodies and sent through discord.py's HTTP client, which handles rate limits per route.

Commands are registered as raw application-command JSON built from the neutral
`CommandTable` (one bulk upsert, only when what Discord holds differs from what we would
send) and answered centrally from INTERACTION_CREATE: a neutral command layer needs no
`app_commands` callbacks, and typed options arrive as the `options` of `CommandInvoked`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import heapq
import json
import logging
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord import commands as discord_commands
from adapters.discord import render, translate
from bot.core.actions import (
    Action,
    Answer,
    Button,
    Content,
    Edit,
    MirrorGathering,
    Post,
    React,
    SendDirect,
    Unreact,
)
from bot.core.clock import Clock
from bot.core.commands import CommandSpec, CommandTable, UsageError, needs_form
from bot.core.communities import CommunityDirectory, Purpose
from bot.core.config import Config, Secrets
from bot.core.events import ButtonPressed, CommandInvoked, Event
from bot.core.platform import (
    Capability,
    ChannelBinding,
    EventSink,
    PlatformError,
    PlatformUnavailable,
    SpaceBinding,
    UnreadRange,
)
from bot.core.refs import ChannelRef, InteractionRef, MessageRef
from bot.core.suggestions import SuggestionRequest
from bot.core.urls import extract_links

log = logging.getLogger("facilitator.discord")

Payload = dict[str, Any]
_PRIVATE_THREAD = 12  # Discord's channel type: only those invited (and moderators) read it


def _private(channel_type: object) -> bool:
    """A private thread: what members write there was not written for the community, so it
    is never collected as the watched channel's (nor quoted)."""
    return channel_type == _PRIVATE_THREAD


_HANDLED = frozenset(
    {
        "MESSAGE_CREATE",
        "MESSAGE_UPDATE",
        "MESSAGE_DELETE",
        "MESSAGE_REACTION_ADD",
        "MESSAGE_REACTION_REMOVE",
        "INTERACTION_CREATE",
        "GUILD_SCHEDULED_EVENT_USER_ADD",
        "GUILD_SCHEDULED_EVENT_USER_REMOVE",
    }
)
_NEEDED = {
    "view_channel": "View Channel",
    "read_message_history": "Read Message History",
    "send_messages": "Send Messages",
    "add_reactions": "Add Reactions",
    "create_public_threads": "Create Public Threads",
    "send_messages_in_threads": "Send Messages in Threads",
    "embed_links": "Embed Links",
    "attach_files": "Attach Files",
}  # Manage Events is a server permission: checked once per server, not per channel
_DM_REFUSED = 50007
_ALREADY_ACKNOWLEDGED = 40060
_LOADING_FLAG = 1 << 7  # a deferral's "thinking" message
_UNKNOWN_CHANNEL = 10003
_INTERACTION_LIFETIME = 15 * 60.0
_AUTOCOMPLETE_WITHIN = 2.5  # seconds: Discord drops an autocomplete answer after 3
_SCHEDULED_EVENTS_CAP = 100  # Discord's limit of upcoming scheduled events per server
_PAGE = 100  # messages per history page (Discord's most)
_ARCHIVED_PAGES = 50  # archived-thread listings per channel per pass


def intents() -> discord.Intents:
    """Guilds, guild messages, message content, reactions, DMs: and nothing privileged else."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    wanted.reactions = True  # guild and DM reactions
    wanted.dm_messages = True
    wanted.guild_scheduled_events = True  # "Interested" on a mirrored session is an RSVP
    return wanted


class _Client(discord.AutoShardedClient):
    """The client, with the pause before a re-IDENTIFY made configurable (tests use 0)."""

    def __init__(self, *, identify_delay: float, **options: Any) -> None:
        super().__init__(**options)
        self._identify_delay = identify_delay

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Pause before identifying again: Discord allows one IDENTIFY per 5 s per bucket."""
        if not initial:
            await asyncio.sleep(self._identify_delay)


def _weekly_rule(starts_at: datetime, every_weeks: int) -> Payload:
    """Discord's recurrence rule for a session every `every_weeks` weeks (its weekdays count
    from Monday, 0, like Python's)."""
    return {
        "start": starts_at.isoformat(),
        "end": None,
        "frequency": 2,  # WEEKLY
        "interval": every_weeks,
        "by_weekday": [starts_at.weekday()],
        "by_n_weekday": None,
        "by_month": None,
        "by_month_day": None,
        "by_year_day": None,
        "count": None,
    }


@dataclass(slots=True)
class _Interaction:
    """An interaction we may still answer: acknowledged once, then edited / followed up."""

    interaction_id: str
    token: str
    private: bool
    created: float
    state: str = "new"  # "new" | "deferred" | "updating" | "answered"
    on_component: bool = False  # a button or menu: its message can be redrawn in place
    # A form's submission: its command and what was typed, to fill the form in again when
    # the answer refuses a value (the answer's Edit button).
    form: tuple[tuple[str, ...], dict[str, str]] | None = None
    guild: str | None = None  # where it was used (None: a DM), for command mentions
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    timer: asyncio.TimerHandle | None = None


@dataclass(slots=True)
class _Stream:
    """A channel or a thread of an unread range, read forward page by page."""

    unread: UnreadRange
    channel_id: str
    after: int
    is_thread: bool
    buffer: deque[Payload] = field(default_factory=deque)
    exhausted: bool = False


@dataclass(slots=True)
class _Progress:
    """How far a pass read one range: every message of it up to `position` is delivered."""

    unread: UnreadRange
    position: int
    listed_all: bool  # every thread listing of the range answered
    marked: int = 0
    broken: bool = False  # a page failed: the range is read again from what was committed

    def __post_init__(self) -> None:
        self.marked = self.position


def _quiet_since(thread: Payload, after: int) -> bool:
    """Whether a listed thread has had no message after `after` (when Discord says so)."""
    last = thread.get("last_message_id")
    return last is not None and str(last).isdigit() and int(last) <= after


def _callback_route(interaction_id: str, token: str) -> Route:
    """The route of an interaction's first response (deferral, answer, modal, choices)."""
    return Route(
        "POST",
        "/interactions/{interaction_id}/{interaction_token}/callback",
        interaction_id=interaction_id,
        interaction_token=token,
    )


def _problem(error: Exception) -> str:
    """What failed, for a log line (statuses and codes, never a body's message text)."""
    if isinstance(error, discord.HTTPException):
        return f"{error.status}" + (f", code {error.code}" if error.code else "")
    return type(error).__name__


@dataclass(frozen=True, slots=True)
class _Watched:
    """A resolved channel of a community."""

    ref: ChannelRef
    community: str
    name: str
    purposes: frozenset[Purpose]


class DiscordPlatform:
    """A `bot.core.platform.Platform` for Discord."""

    name = "discord"
    capabilities = frozenset(
        {
            Capability.THREADS,
            Capability.REACTIONS,
            Capability.BUTTONS,
            Capability.EPHEMERAL,
            Capability.FILES,
            Capability.DIRECT_MESSAGES,
            Capability.SCHEDULED_EVENTS,
        }
    )

    def __init__(
        self,
        config: Config,
        token: str,
        directory: CommunityDirectory,
        commands: CommandTable,
        clock: Clock,
        *,
        guild_ready_timeout: float = 2.0,
        ready_timeout: float = 60.0,
        defer_after: float = 1.5,
        shard_count: int | None = None,
        identify_delay: float = 5.0,
    ) -> None:
        self._config = config
        self._token = token
        self._directory = directory
        self._commands = commands
        self._clock = clock
        self._guild_ready_timeout = guild_ready_timeout
        self._ready_timeout = ready_timeout
        self._defer_after = defer_after
        self._shard_count = shard_count
        self._identify_delay = identify_delay
        self._client: _Client | None = None
        self._sink: EventSink | None = None
        self._inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._live = asyncio.Event()
        self._ready = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connect_task: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._interactions: dict[str, _Interaction] = {}
        self._dm_channels: dict[str, str] = {}
        self._thread_parents: dict[str, str] = {}
        self._plain: set[str] = set()  # looked-up channels that are not threads
        # Watched forum channels: they hold no messages of their own; each post is a thread
        # whose starter message (with the thread's id) lives in the thread.
        self._forums: set[str] = set()
        # Registered commands' ids by guild ("" when registered globally), for mentions.
        self._mentions: dict[str, dict[str, str]] = {}
        self._watched: list[_Watched] = []
        self._guilds: set[str] = set()
        self._session: str | None = None  # the gateway session the last READY opened
        self._shards_connected: set[int] = set()  # shards whose READY came (for start-up)
        self._backfill_lock = asyncio.Lock()
        self.backfills = 0  # completed backfill passes (observable by tests and logs)
        self._received = 0  # gateway frames queued so far
        self._consumed = 0  # gateway frames taken from the queue so far
        self._opened_through = 0  # frames received before the last opening of unread ranges
        self._epoch = 0  # counts disconnections and new sessions (a pass compares it)
        self._awaiting_live: dict[ChannelRef, list[UnreadRange]] = {}
        self._live_until: dict[int, str] = {}  # range id -> first live message's cursor

    # ------------------------------------------------------------------ lifecycle

    async def start(self, sink: EventSink) -> None:
        """Log in, connect the gateway, bind channels, check set-up, sync commands, backfill."""
        self._sink = sink
        # discord.py builds every REST URL (and so the gateway URL it asks for) from this.
        Route.BASE = self._config.discord.api_base_url
        client = _Client(
            identify_delay=self._identify_delay,
            intents=intents(),
            shard_count=self._shard_count,
            guild_ready_timeout=self._guild_ready_timeout,
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            max_messages=None,
            enable_debug_events=True,
            # Longer waits on a 429 come back to the outbox, which re-checks its claim before
            # trying again (discord.py's own retry after a wait would not); 30 s is the least
            # discord.py accepts.
            max_ratelimit_timeout=30.0,
        )
        self._client = client
        client.event(self.on_socket_raw_receive)
        client.event(self.on_ready)
        client.event(self.on_shard_connect)
        client.event(self.on_socket_event_type)
        client.event(self.on_shard_disconnect)
        try:
            await client.login(self._token)
        except discord.LoginFailure:
            await client.close()
            self._client = None
            raise PlatformError(
                f"discord: the token in DISCORD_TOKEN was refused by {Route.BASE} (401 "
                "Unauthorized); copy a fresh one from the Developer Portal (your application → "
                "Bot → Reset Token) into DISCORD_TOKEN"
            ) from None
        except (discord.HTTPException, OSError) as error:
            await client.close()
            self._client = None
            raise PlatformError(
                f"discord: cannot log in at {Route.BASE} ({error}); check the network and "
                "[discord] api_base_url"
            ) from None
        try:
            shards, gateway_url, _ = await client.http.get_bot_gateway()
        except discord.GatewayNotFound:
            await client.close()
            self._client = None
            raise PlatformError(
                f"discord: {Route.BASE}/gateway/bot did not answer; check [discord] api_base_url"
            ) from None
        # discord.py falls back to this class attribute after an invalidated session; make it
        # the gateway this API announces, so a Discord-compatible server is never left.
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
        if self._shard_count is None:  # saves the client asking /gateway/bot a second time
            client.shard_count = shards
        self._connect_task = asyncio.create_task(self._run_client(client))
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait(
            {ready, self._connect_task},
            timeout=self._ready_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if ready not in done:
            ready.cancel()
            failure = self._connect_task.exception() if self._connect_task in done else None
            await self.stop()
            if isinstance(failure, discord.PrivilegedIntentsRequired):
                raise PlatformError(
                    "discord: the gateway refused the Message Content intent; turn on "
                    "Developer Portal → your application → Bot → Message Content Intent"
                )
            raise PlatformError(
                f"discord: the gateway did not become ready within {self._ready_timeout:.0f} s"
                + (f" ({failure})" if failure else "")
            )
        self._bind_and_check()
        assert client.application_id is not None
        registered = await discord_commands.sync_commands(
            self._request,
            client.application_id,
            discord_commands.command_payloads(self._commands),
            guilds=self._command_guilds(),
        )
        self._mentions = {
            guild: discord_commands.mention_ids(commands, self._commands)
            for guild, commands in registered.items()
        }
        self._log_hidden_commands()
        # Before the consumer runs: no live message of this connection can commit first.
        epoch = self._epoch
        unread = await self._open_ranges()
        self._consumer = asyncio.create_task(self._consume())
        self._live.set()
        self._spawn(self._backfill("start", unread, epoch))
        log.info("discord: connected as %s to %d guild(s)", client.user, len(client.guilds))

    async def _run_client(self, client: _Client) -> None:
        try:
            await client.connect(reconnect=True)
        except Exception:
            if self._live.is_set():
                log.exception("discord: the gateway connection ended with an error")
            raise

    async def stop(self) -> None:
        """Hand over what the gateway already sent, then disconnect and cancel background work."""
        if self._consumer is not None and not self._consumer.done():
            try:
                await asyncio.wait_for(self._inbox.join(), timeout=5.0)
            except TimeoutError:
                log.warning(
                    "discord: stopped with %d gateway events unhandled", self._inbox.qsize()
                )
        self._live.clear()
        for pending in self._interactions.values():
            if pending.timer is not None:
                pending.timer.cancel()
        tasks = [*self._tasks, *([self._consumer] if self._consumer else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            await self._client.close()
        if self._connect_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connect_task
        self._consumer = None
        self._tasks.clear()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ gateway callbacks

    async def on_socket_raw_receive(self, raw: str | bytes) -> None:
        """Queue every gateway frame in arrival order (handlers run as separate tasks); an
        autocomplete is answered at once instead, never behind the queue."""
        answer = self._answered_at_once(raw)
        if answer is not None:
            self._spawn(answer)
            return
        self._received += 1
        self._inbox.put_nowait(raw)

    def _answered_at_once(self, raw: str | bytes) -> Coroutine[Any, Any, None] | None:
        """What answers a frame at once, beside the ordered queue: an autocomplete, or a
        message-menu entry that opens a form. Discord wants either within 3 s, a form only as
        the first response, and neither changes anything, so both skip the batch and the
        delivery-key claim (a replayed one is answered again, and Discord refuses that)."""
        if not self._live.is_set():
            return None
        text = raw.decode() if isinstance(raw, bytes) else raw
        if "INTERACTION_CREATE" not in text:  # cheap: most frames are messages
            return None
        with contextlib.suppress(ValueError):
            frame = json.loads(text)
            data = frame.get("d")
            if frame.get("t") != "INTERACTION_CREATE" or not isinstance(data, dict):
                return None
            if data.get("type") == 4:
                return self._autocomplete(data)
            form = self._form_for(data)
            if form is not None:
                return self._open_form(*form)
        return None

    def _form_for(self, data: Payload) -> tuple[Payload, Payload] | None:
        """The form an interaction opens, if it opens one, with the interaction: a
        message-menu entry's (filled with the message's link), or that of a slash command,
        button or menu pick run without a field its form asks for (filled with what it
        gave)."""
        command = data.get("data") or {}
        if data.get("type") == 2 and command.get("type") == 3:
            spec = self._commands.on_message(str(command.get("name", "")))
            if spec is not None and spec.subject_link:
                modal = discord_commands.form_modal(spec, self._subject_values(spec, data))
                return (modal, data) if modal is not None else None
            return None
        if data.get("type") == 3:
            if command.get("component_type") == 3:
                picked = command.get("values") or ()
                line = str(picked[0]) if picked else ""
            else:
                line = str(command.get("custom_id", ""))
            if line.startswith(translate.EDIT_PREFIX):
                return self._form_again(line, data)
            found = self._commands.form_for_line(line)
            if found is None:
                return None
            resolved, given = found
        else:
            typed = translate.chat_input(data)
            if typed is None:
                return None
            try:
                resolved = self._commands.resolve(typed[0])
            except UsageError:
                return None
            given = typed[1]
            if not resolved.spec.form or not needs_form(resolved.spec, given):
                return None
        modal = discord_commands.form_modal(resolved.spec, given, resolved.path)
        return (modal, data) if modal is not None else None

    def _form_again(self, custom_id: str, data: Payload) -> tuple[Payload, Payload] | None:
        """The Edit button of a refused form's answer: the same form, filled in with what was
        typed (while the submission is remembered; empty after that, or after a restart)."""
        submitted, _, path_text = custom_id.removeprefix(translate.EDIT_PREFIX).partition(":")
        try:
            resolved = self._commands.resolve(tuple(path_text.split()))
        except UsageError:
            return None
        pending = self._interactions.get(submitted)
        values = pending.form[1] if pending is not None and pending.form else {}
        modal = discord_commands.form_modal(resolved.spec, values, resolved.path)
        return (modal, data) if modal is not None else None

    @staticmethod
    def _subject_values(spec: CommandSpec, data: Payload) -> dict[str, str]:
        """A menu form's link field: the message's first link, else the message's address."""
        command = data.get("data") or {}
        target_id = str(command.get("target_id"))
        target = ((command.get("resolved") or {}).get("messages") or {}).get(target_id) or {}
        values: dict[str, str] = {}
        if spec.subject_link:
            found = extract_links(str(target.get("content") or ""))
            values[spec.subject_link] = (
                found[0].url
                if found
                else translate.message_address(
                    str(data.get("guild_id") or "@me"),
                    str(target.get("channel_id") or data.get("channel_id")),
                    target_id,
                )
            )
        return values

    async def _open_form(self, modal: Payload, data: Payload) -> None:
        """Answer the interaction with a form (its first and only response)."""
        try:
            await self._request(_callback_route(str(data["id"]), str(data["token"])), json=modal)
        except discord.HTTPException as error:
            log.info("discord: a form was not opened: %s", _problem(error))

    async def on_ready(self) -> None:
        """All shards are ready (first connection)."""
        self._set_ready()

    def _set_ready(self) -> None:
        self._ready.set()
        # Every gateway event would otherwise schedule one more handler task, for nothing.
        with contextlib.suppress(AttributeError):
            delattr(self._client, "on_socket_event_type")

    async def on_shard_connect(self, shard_id: int) -> None:
        """A shard's READY was parsed: the guilds it listed are cached (unavailable yet)."""
        self._shards_connected.add(shard_id)

    async def on_socket_event_type(self, event_type: str) -> None:
        """Ready once every shard's READY came and each guild they listed has arrived."""
        # discord.py waits guild_ready_timeout after the last GUILD_CREATE before on_ready,
        # since it cannot tell that one was the last: READY's list can (2 s less per start).
        client = self._client
        if event_type != "GUILD_CREATE" or self._ready.is_set() or client is None:
            return
        if len(self._shards_connected) < (client.shard_count or 1):
            return
        if client.guilds and not any(guild.unavailable for guild in client.guilds):
            self._set_ready()

    async def on_shard_disconnect(self, shard_id: int) -> None:
        """A shard lost its connection: what a running pass found "read to the end" may now
        miss what is sent until the next session (that session opens its own range)."""
        self._epoch += 1

    # ------------------------------------------------------------------ inbound

    def _lookup(self) -> translate.Lookup:
        client = self._client
        assert client is not None and client.user is not None

        def role_name(guild_id: str, role_id: str) -> str | None:
            guild = client.get_guild(int(guild_id))
            role = guild.get_role(int(role_id)) if guild else None
            return role.name if role else None

        def thread_parent(channel_id: str) -> str | None:
            if channel_id in self._thread_parents:
                return self._thread_parents[channel_id]
            channel = client.get_channel(int(channel_id)) if channel_id.isdigit() else None
            if isinstance(channel, discord.Thread) and not _private(channel.type.value):
                return str(channel.parent_id)
            return None

        return translate.Lookup(str(client.user.id), role_name, thread_parent)

    async def _consume(self) -> None:
        await self._live.wait()
        while True:
            raw = await self._inbox.get()
            self._consumed += 1
            try:
                await self._handle_frame(raw)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("discord: could not handle a gateway event; skipped it")
            finally:
                self._inbox.task_done()

    async def _handle_frame(self, raw: str | bytes) -> None:
        text = raw.decode() if isinstance(raw, bytes) else raw
        frame = json.loads(text)
        kind = frame.get("t")
        if kind == "READY":
            self._session = str(frame["d"].get("session_id", ""))
        if kind in ("READY", "RESUMED") and self._consumed > self._opened_through:
            # A new session (or a resumed one) after a gap: record what it did not see before
            # handling any later frame, so none of its live messages commits first. Discord
            # replays what it kept before RESUMED; backfill covers what it did not.
            self._epoch += 1
            epoch = self._epoch
            unread = await self._open_ranges()
            self._spawn(self._backfill(f"gateway {kind.lower()}", unread, epoch))
        if kind not in _HANDLED:
            return
        seq = frame.get("s")
        delivery = f"{self._session}.{seq}" if self._session and seq is not None else None
        await self._handle_dispatch(kind, frame["d"], delivery)

    async def _handle_dispatch(self, kind: str, data: Payload, delivery: str | None) -> None:
        if data.get("guild_id") and data.get("channel_id"):
            await self._learn_channel(str(data["channel_id"]))
        lookup = self._lookup()
        now = self._clock.now()
        event: Event | None
        if kind == "MESSAGE_CREATE":
            if data.get("guild_id") and data.get("channel_id") and data.get("id"):
                channel = translate.channel_ref(
                    str(data["channel_id"]), str(data["guild_id"]), lookup
                )
                await self._note_live(channel, str(data["id"]))
            event = translate.message_received(data, lookup)
        elif kind == "MESSAGE_UPDATE":
            event = translate.message_edited(data, lookup)
        elif kind == "MESSAGE_DELETE":
            event = translate.message_deleted(data, lookup, now)
        elif kind in ("MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE"):
            event = translate.reaction(
                data, lookup, now, added=kind.endswith("ADD"), delivery=delivery
            )
        elif kind.startswith("GUILD_SCHEDULED_EVENT_USER_"):
            member = await self._guild_member(str(data.get("guild_id")), str(data.get("user_id")))
            event = translate.interest(
                data, member, lookup, now, added=kind.endswith("ADD"), delivery=delivery
            )
        elif data.get("type") == 4:  # only before the bot was live (see _answered_at_once)
            await self._autocomplete(data)
            return
        elif (form := self._form_for(data)) is not None:
            await self._open_form(*form)
            return
        else:
            menus = {spec.on_message: spec.name for spec in self._commands if spec.on_message}
            event = translate.interaction(data, lookup, now, menus)
            if event is not None:
                if str(data["id"]) in self._interactions:
                    return  # a RESUME replay: it is answered (or being answered) already
                assert self._sink is not None
                if not await self._sink.claim(event):
                    # Another process on this database owns it: it alone acknowledges it.
                    return
                self._track_interaction(data, event)
        if event is not None:
            await self._deliver(event)

    async def _learn_channel(self, channel_id: str) -> None:
        """Find the parent of a thread the cache does not know (created while we were away)."""
        client = self._client
        if client is None or channel_id in self._thread_parents or channel_id in self._plain:
            return
        if client.get_channel(int(channel_id)) is not None:
            return
        try:
            channel = await self._request(
                Route("GET", "/channels/{channel_id}", channel_id=channel_id)
            )
        except discord.HTTPException as error:
            log.warning("discord: cannot look up channel %s: %s", channel_id, error)
            return
        if channel.get("type") in (10, 11) and channel.get("parent_id"):
            self._thread_parents[channel_id] = str(channel["parent_id"])
        else:  # a private thread is a channel of its own: not one every member reads
            self._plain.add(channel_id)

    async def _guild_member(self, guild_id: str, user_id: str) -> Payload | None:
        """A guild member's payload (name, roles), asked of Discord: dispatches about
        scheduled events carry only ids, and without the members intent the cache rarely
        holds them. None when Discord does not say (the member is then named by id)."""
        try:
            found = await self._request(
                Route(
                    "GET",
                    "/guilds/{guild_id}/members/{user_id}",
                    guild_id=guild_id,
                    user_id=user_id,
                )
            )
        except discord.HTTPException as error:
            log.warning("discord: cannot look up a member of guild %s: %s", guild_id, error)
            return None
        return found if isinstance(found, dict) else None

    async def _deliver(self, event: Event) -> None:
        assert self._sink is not None
        await self._sink.deliver(event)

    async def _autocomplete(self, data: Payload) -> None:
        """Suggest choices for the option being typed: from the source its argument names
        (sessions, links, zones...), or from a long choice list. Only ever answered with
        type 8 (Discord refuses a deferral of an autocomplete)."""
        try:
            choices = await asyncio.wait_for(self._choices(data), _AUTOCOMPLETE_WITHIN)
        except TimeoutError:
            log.warning("discord: suggestions took too long; answered with none")
            choices = []
        try:
            await self._request(
                _callback_route(str(data["id"]), str(data["token"])),
                json={"type": 8, "data": {"choices": choices}},
            )
        except discord.HTTPException as error:
            # A RESUME replay of one already answered, or answered too late: nothing to do.
            log.info("discord: an autocomplete was not answered: %s", _problem(error))

    async def _choices(self, data: Payload) -> list[Payload]:
        found = discord_commands.focused_param(self._commands, data)
        if found is None:
            return []
        param, typed = found
        if not param.suggests:
            return discord_commands.autocomplete_choices(param, typed)
        caller = translate.autocomplete_caller(data, self._lookup())
        if caller is None or self._sink is None:
            return []
        author, channel, is_direct = caller
        suggestions = await self._sink.suggest(
            SuggestionRequest(
                source=param.suggests,
                typed=typed,
                author=author,
                channel=channel,
                is_direct=is_direct,
            )
        )
        return discord_commands.suggestion_choices(param, suggestions)

    def _track_interaction(self, data: Payload, event: Event) -> None:
        private = True
        line: tuple[str, ...] = ()
        if isinstance(event, CommandInvoked):
            line = event.path
        elif isinstance(event, ButtonPressed):
            line = self._commands.split_line(event.action)[0]
        with contextlib.suppress(UsageError):
            private = self._commands.resolve(line).spec.private
        if isinstance(event, CommandInvoked) and event.subject is not None:
            private = True  # run on someone's message: only the one who picked it hears back
        pending = _Interaction(
            str(data["id"]),
            str(data["token"]),
            private,
            time.monotonic(),
            on_component=data.get("type") == 3,
            form=(event.path, dict(event.options or {}))
            if isinstance(event, CommandInvoked) and data.get("type") == 5
            else None,
            guild=str(data["guild_id"]) if data.get("guild_id") else None,
        )
        self._forget_old_interactions()
        self._interactions[pending.interaction_id] = pending
        loop = asyncio.get_running_loop()
        pending.timer = loop.call_later(
            self._defer_after, lambda: self._spawn(self._defer(pending))
        )

    def _forget_old_interactions(self) -> None:
        horizon = time.monotonic() - _INTERACTION_LIFETIME
        for key in [k for k, p in self._interactions.items() if p.created < horizon]:
            del self._interactions[key]

    async def _defer(self, pending: _Interaction) -> None:
        """Acknowledge before Discord's 3 s limit when no answer is ready yet."""
        async with pending.lock:
            if pending.state != "new":
                return
            # A button's or menu's answer may redraw its message: defer as an update (type 6,
            # nothing shown); the answer then edits that message or follows up below it.
            body: Payload = {"type": 6 if pending.on_component else 5}
            if pending.private and not pending.on_component:
                body["data"] = {"flags": render.EPHEMERAL_FLAG}
            try:
                await self._request(
                    _callback_route(pending.interaction_id, pending.token),
                    json=body,
                )
                pending.state = "updating" if pending.on_component else "deferred"
            except discord.HTTPException as error:
                log.warning(
                    "discord: could not defer interaction %s: %s", pending.interaction_id, error
                )

    # ------------------------------------------------------------------ set-up

    def _bind_and_check(self) -> None:
        client, sink = self._client, self._sink
        assert client is not None and sink is not None
        flags = client.application_flags
        if not (flags.gateway_message_content or flags.gateway_message_content_limited):
            log.error(
                "discord: the Message Content intent is off for this application, so messages "
                "arrive without text; turn on Developer Portal → your application → Bot → "
                "Message Content Intent"
            )
        self._watched = []
        without_events: dict[int, tuple[str, list[str]]] = {}  # guild -> (name, communities)
        for community in self._directory.communities:
            section = community.platforms.get("discord")
            if section is None:
                continue
            guild = self._find_guild(community.name, section.space)
            if guild is None:
                continue
            sink.bind(SpaceBinding("discord", str(guild.id), community.name))
            self._guilds.add(str(guild.id))
            if not guild.me.guild_permissions.manage_events:
                without_events.setdefault(guild.id, (guild.name, []))[1].append(community.name)
            wanted: dict[str, set[Purpose]] = {}
            for name in section.channels:
                wanted.setdefault(name, set()).add(Purpose.WATCHED)
            if section.announcements:
                wanted.setdefault(section.announcements, set()).add(Purpose.ANNOUNCEMENTS)
            if section.digest:
                wanted.setdefault(section.digest, set()).add(Purpose.DIGEST)
            for name, purposes in wanted.items():
                channel = self._find_channel(guild, name)
                if channel is None:
                    log.error(
                        "discord: %s: channel %r is not in guild %s (or the bot cannot see "
                        "it); create it, let the bot's role view it, or fix "
                        "[communities.discord] in %s",
                        community.name,
                        name,
                        guild.name,
                        self._config.source,
                    )
                    continue
                ref = ChannelRef("discord", str(guild.id), str(channel.id))
                if isinstance(channel, discord.ForumChannel):
                    self._forums.add(str(channel.id))
                sink.bind(ChannelBinding(ref, community.name, frozenset(purposes)))
                self._watched.append(
                    _Watched(ref, community.name, channel.name, frozenset(purposes))
                )
                missing = [
                    label
                    for permission, label in _NEEDED.items()
                    if not getattr(channel.permissions_for(guild.me), permission)
                ]
                if missing:
                    log.error(
                        "discord: %s: in #%s the bot lacks %s; grant them to the bot's role in "
                        "the channel's permissions",
                        community.name,
                        channel.name,
                        ", ".join(missing),
                    )
        for guild_name, names in without_events.values():  # a server permission: one line each
            log.warning(
                "discord: %s: the bot lacks Manage Events in guild %s; grant it to the bot's "
                "role (Server Settings → Roles) so gatherings become Discord events",
                ", ".join(names),
                guild_name,
            )

    def _find_guild(self, community: str, wanted: str | None) -> discord.Guild | None:
        client = self._client
        assert client is not None
        guilds = list(client.guilds)
        if wanted is None:
            if len(guilds) == 1:
                return guilds[0]
            log.error(
                "discord: %s: no guild configured and the bot is in %d guilds; set "
                "[communities.discord] guild to one of: %s",
                community,
                len(guilds),
                ", ".join(f"{g.id} ({g.name})" for g in guilds) or "none",
            )
            return None
        for guild in guilds:
            if str(guild.id) == wanted or guild.name == wanted:
                return guild
        log.error(
            "discord: %s: the bot is not in guild %r; invite it (OAuth2 → URL Generator, scopes "
            "bot and applications.commands) or fix [communities.discord] guild (it is in: %s)",
            community,
            wanted,
            ", ".join(f"{g.id} ({g.name})" for g in guilds) or "none",
        )
        return None

    @staticmethod
    def _find_channel(
        guild: discord.Guild, wanted: str
    ) -> discord.TextChannel | discord.ForumChannel | None:
        bare = wanted.lstrip("#")
        found: list[discord.TextChannel | discord.ForumChannel] = [
            *guild.text_channels,
            *guild.forums,
        ]
        for channel in found:
            if str(channel.id) == bare or channel.name == bare:
                return channel
        return None

    def _log_hidden_commands(self) -> None:
        """Tell the server admin once per start how facilitators get to see their commands."""
        hidden = discord_commands.hidden_commands(self._commands)
        if not hidden:
            return
        roles = sorted(
            {
                role
                for community in self._directory.communities
                if "discord" in community.platforms
                for role in community.platforms["discord"].facilitator_roles
            }
        )
        log.info(
            "discord: facilitator commands (%s) are hidden from members; a server admin "
            "allows %s under Server Settings → Integrations → %s → Commands (the bot still "
            "checks who facilitates when one is run)",
            ", ".join(f"/{name}" for name in hidden),
            ", ".join(roles) if roles else "the facilitators",
            self._client.user if self._client is not None else "the bot",
        )

    def _command_guilds(self) -> list[str] | None:
        """The guilds to register commands in, or None for global registration."""
        sections = [
            c.platforms["discord"] for c in self._directory.communities if "discord" in c.platforms
        ]
        # Guild commands update at once; global ones (up to an hour) are for set-ups that
        # leave a community's guild unnamed.
        if all(section.space for section in sections):
            return sorted(self._guilds)
        return None

    # ------------------------------------------------------------------ backfill
    #
    # What a connection did not see is recorded as an unread range per watched channel (its
    # threads included) before any live message of that connection can commit: at start
    # before the consumer runs, after a reconnect when the consumer meets READY or RESUMED.
    # A pass reads the channel and its threads forward, merged in id order, so "read up to
    # here" is one position per range; that position is committed with the messages read,
    # and the range is deleted only once every stream of it was read through.

    async def _open_ranges(self) -> list[UnreadRange]:
        """Record what the watched channels have not read; return every open range of them."""
        assert self._sink is not None
        self._opened_through = self._received  # frames up to here come before this opening
        channels = [w.ref for w in self._watched if Purpose.WATCHED in w.purposes]
        unread = await self._sink.open_backfill(
            channels, unseen_from_oldest=True, begins=self._newest_positions(channels)
        )
        awaiting: dict[ChannelRef, list[UnreadRange]] = {}
        for found in unread:
            if found.until is None:
                awaiting.setdefault(found.channel, []).append(found)
        self._awaiting_live = awaiting
        resumed = [found for found in unread if found.resumed]
        if resumed:
            log.info(
                "discord: backfill resumes %d unread range(s) left open in %d channel(s)",
                len(resumed),
                len({found.channel for found in resumed}),
            )
        return unread

    def _newest_positions(self, channels: list[ChannelRef]) -> dict[ChannelRef, str]:
        """Each channel's last message as the gateway described it ("0": none yet), where a
        channel never seen starts: what follows is read by a later start if nothing commits."""
        client = self._client
        found: dict[ChannelRef, str] = {}
        for ref in channels:
            channel = client.get_channel(int(ref.channel)) if client is not None else None
            if isinstance(channel, discord.TextChannel | discord.ForumChannel):
                last = channel.last_message_id
                found[ref] = translate.cursor_of(str(last)) if last else translate.cursor_of("0")
        return found

    async def _note_live(self, channel: ChannelRef, message_id: str) -> None:
        """The first live message of a channel bounds its open ranges: everything before it
        is in the history, everything after it arrives live."""
        waiting = self._awaiting_live.pop(channel, None)
        if not waiting or self._sink is None:
            return
        position = translate.cursor_of(message_id)
        for unread in waiting:
            self._live_until[unread.id] = position
            await self._sink.advance_backfill(unread, until=position)

    async def _backfill(self, reason: str, unread: list[UnreadRange], epoch: int) -> None:
        """Feed messages missed while offline through the normal path, oldest first."""
        async with self._backfill_lock:
            try:
                total = await self._read_ranges(unread, epoch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "discord: backfill failed (%s); what it did not read stays unread", reason
                )
                return
            self.backfills += 1
            if total:
                log.info("discord: backfilled %d message(s) (%s)", total, reason)

    async def _read_ranges(self, unread: list[UnreadRange], epoch: int) -> int:
        assert self._sink is not None
        watched = {w.ref for w in self._watched if Purpose.WATCHED in w.purposes}
        ranges = [found for found in unread if found.channel in watched]
        if not ranges:
            return 0
        # Active threads are listed once per guild; archived ones per channel. Each listing
        # fails on its own: the others are still read, and a range whose listing failed is
        # read as far as it can be but stays open (its missing threads are read next time).
        active: dict[str, list[Payload] | None] = {}
        for guild in sorted({found.channel.space for found in ranges}):
            active[guild] = await self._active_threads(guild)
        progress: dict[int, _Progress] = {}
        streams: list[_Stream] = []
        for found in ranges:
            after = int(found.after)
            listed = active[found.channel.space]
            threads = [
                str(thread["id"])
                for thread in listed or []
                if str(thread.get("parent_id")) == found.channel.channel
                and not _private(thread.get("type"))
                and not _quiet_since(thread, after)
            ]
            archived = await self._archived_threads(found.channel, after)
            threads.extend(archived or [])
            progress[found.id] = _Progress(
                found, after, listed_all=listed is not None and archived is not None
            )
            if found.channel.channel not in self._forums:  # a forum's posts are its threads
                streams.append(_Stream(found, found.channel.channel, after, is_thread=False))
            for thread in dict.fromkeys(threads):
                self._thread_parents[thread] = found.channel.channel
                streams.append(_Stream(found, thread, after, is_thread=True))
        heap: list[tuple[int, int]] = []
        for index, stream in enumerate(streams):
            if not await self._next_page(stream):
                progress[stream.unread.id].broken = True
            if stream.buffer:
                heapq.heappush(heap, (int(stream.buffer[0]["id"]), index))
        lookup = self._lookup()
        total = 0
        while heap:
            message_id, index = heapq.heappop(heap)
            stream = streams[index]
            payload = stream.buffer.popleft()
            state = progress[stream.unread.id]
            if state.broken:
                continue  # abandoned: the range is read again from its committed position
            until = self._live_until.get(stream.unread.id) or stream.unread.until
            if until is not None and translate.cursor_of(message_id) >= until:
                continue  # from here on this stream arrived live
            payload.setdefault("guild_id", stream.unread.channel.space)  # history omits it
            event = translate.message_received(payload, lookup)
            if event is not None:
                await self._sink.deliver(replace(event, backfilled=True))
                total += 1
            state.position = max(state.position, message_id)
            if not stream.buffer and not stream.exhausted:
                await self._mark(state)  # commit what was read before waiting on the network
                if not await self._next_page(stream):
                    state.broken = True
            if stream.buffer:
                heapq.heappush(heap, (int(stream.buffer[0]["id"]), index))
        for state in progress.values():
            if state.broken or not state.listed_all:
                await self._mark(state)
                continue
            known_end = self._live_until.get(state.unread.id) or state.unread.until
            # Without a live message to bound it, "read to the end" holds only if the gateway
            # stayed connected: then everything later arrived live.
            vouched = state.position > int(state.unread.after) and (
                known_end is not None or epoch == self._epoch
            )
            await self._sink.close_backfill(
                state.unread, read_to=translate.cursor_of(state.position) if vouched else None
            )
            self._live_until.pop(state.unread.id, None)
        return total

    async def _mark(self, state: _Progress) -> None:
        """Commit how far a range is read (only when every thread of it was listed)."""
        assert self._sink is not None
        if state.listed_all and state.position > state.marked:
            state.marked = state.position
            await self._sink.advance_backfill(
                state.unread, after=translate.cursor_of(state.position)
            )

    async def _next_page(self, stream: _Stream) -> bool:
        """Read the next page of a stream into its buffer; False when the read failed."""
        try:
            page = await self._request(
                Route("GET", "/channels/{channel_id}/messages", channel_id=stream.channel_id),
                params={"after": str(stream.after), "limit": str(_PAGE)},
            )
        except (discord.NotFound, discord.Forbidden) as error:
            if not stream.is_thread:
                log.warning(
                    "discord: cannot read the history of channel %s (%s); it stays unread",
                    stream.channel_id,
                    error.status,
                )
                return False
            # A thread deleted, or one the bot may not read: waiting will not change that.
            log.warning(
                "discord: cannot read thread %s of channel %s (%s); skipped it",
                stream.channel_id,
                stream.unread.channel.channel,
                error.status,
            )
            stream.exhausted = True
            return True
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as error:
            log.warning(
                "discord: a history page of %s %s failed (%s); it stays unread for the next pass",
                "thread" if stream.is_thread else "channel",
                stream.channel_id,
                _problem(error),
            )
            return False
        ordered = sorted(page or [], key=lambda m: int(m["id"]))
        stream.buffer.extend(ordered)
        if ordered:
            stream.after = int(ordered[-1]["id"])
        if len(ordered) < _PAGE:
            stream.exhausted = True
        return True

    async def _active_threads(self, guild: str) -> list[Payload] | None:
        """The guild's active threads (one listing for all its channels); None if it failed."""
        try:
            listing = await self._request(
                Route("GET", "/guilds/{guild_id}/threads/active", guild_id=guild)
            )
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as error:
            log.warning(
                "discord: cannot list the active threads of guild %s (%s); archived threads "
                "are still read, the active ones at the next pass",
                guild,
                _problem(error),
            )
            return None
        return list((listing or {}).get("threads") or [])

    async def _archived_threads(self, channel: ChannelRef, after: int) -> list[str] | None:
        """Public threads of `channel` archived since `after` (newest first, paged); None if
        a listing failed."""
        since = translate.snowflake_time(after)
        found: list[str] = []
        before: str | None = None
        for _ in range(_ARCHIVED_PAGES):
            params = {"limit": "100", **({"before": before} if before else {})}
            try:
                listing = await self._request(
                    Route(
                        "GET",
                        "/channels/{channel_id}/threads/archived/public",
                        channel_id=channel.channel,
                    ),
                    params=params,
                )
            except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as error:
                log.warning(
                    "discord: cannot list the archived threads of channel %s (%s); they are "
                    "read at the next pass",
                    channel.channel,
                    _problem(error),
                )
                return None
            threads = list((listing or {}).get("threads") or [])
            oldest: str | None = None
            for thread in threads:
                stamp = (thread.get("thread_metadata") or {}).get("archive_timestamp")
                archived_at = translate.parse_time(stamp)
                if archived_at is None or archived_at >= since:
                    found.append(str(thread["id"]))
                if isinstance(stamp, str):
                    oldest = stamp
            oldest_at = translate.parse_time(oldest)
            if not listing.get("has_more") or oldest is None or (oldest_at and oldest_at < since):
                return found
            before = oldest
        return found

    # ------------------------------------------------------------------ outbound

    async def _request(self, route: Route, **kwargs: Any) -> Any:
        client = self._client
        if client is None:
            raise PlatformError("discord: not connected")
        return await client.http.request(route, **kwargs)

    async def perform(self, action: Action) -> MessageRef | None:
        """Carry out one action; Discord's refusals become `PlatformError` with the reason."""
        return await self._perform(action, None, resend=False)

    async def perform_once(self, action: Action, *, key: str, resend: bool) -> MessageRef | None:
        """Carry out an outbox row's action: new messages carry a nonce derived from `key`
        (Discord returns the message it created already, within its nonce window), and a
        resend beyond that window first looks for the same message among the bot's recent ones."""
        return await self._perform(action, key, resend=resend)

    async def _perform(self, action: Action, key: str | None, *, resend: bool) -> MessageRef | None:
        try:
            match action:
                case Post():
                    return await self._post(action, key, resend)
                case React():
                    await self._react(action.message, action.emoji, add=True)
                    return None
                case Unreact():
                    await self._react(action.message, action.emoji, add=False)
                    return None
                case Edit():
                    await self._edit(action)
                    return None
                case SendDirect():
                    return await self._send_direct(action, key, resend)
                case Answer():
                    content = self._with_edit_button(action)
                    await self._answer(
                        action.to,
                        content,
                        action.ephemeral,
                        in_place=action.in_place,
                        resend=resend,
                    )
                    return None
                case MirrorGathering():
                    return await self._mirror(action, resend=resend)
        except discord.RateLimited as error:
            raise PlatformUnavailable(
                f"discord: {type(action).__name__} is rate limited: {error}",
                retry_after=error.retry_after,
            ) from error
        except discord.DiscordServerError as error:
            raise PlatformUnavailable(f"discord: {type(action).__name__}: {error}") from error
        except discord.HTTPException as error:
            if error.status == 429:
                raise PlatformUnavailable(
                    f"discord: {type(action).__name__} is rate limited: {error}"
                ) from error
            raise PlatformError(f"discord: {type(action).__name__} failed: {error}") from error
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise PlatformUnavailable(
                f"discord: {type(action).__name__}: {type(error).__name__} {error}"
            ) from error
        except ValueError as error:
            raise PlatformError(f"discord: {type(action).__name__}: {error}") from error
        raise PlatformError(f"discord: cannot perform {type(action).__name__}")

    async def _mirror(self, action: MirrorGathering, *, resend: bool = False) -> MessageRef | None:
        """Keep a Guild Scheduled Event in step with a live session."""
        guild = action.space
        if action.cancelled:
            if action.mirror_id is not None:
                route = Route(
                    "DELETE",
                    "/guilds/{guild_id}/scheduled-events/{event_id}",
                    guild_id=guild,
                    event_id=action.mirror_id,
                )
                # Already gone (deleted by hand, or it ended) is fine too.
                with contextlib.suppress(discord.NotFound):
                    await self._request(route)
            return None
        body: Payload = {
            "name": action.title[:100],
            "description": action.description[:1000],
            "scheduled_start_time": action.starts_at.isoformat(),
            "scheduled_end_time": action.ends_at.isoformat(),
            "entity_metadata": {"location": action.location[:100]},
        }
        if action.every_weeks:
            body["recurrence_rule"] = _weekly_rule(action.starts_at, action.every_weeks)
        if action.mirror_id is not None:
            route = Route(
                "PATCH",
                "/guilds/{guild_id}/scheduled-events/{event_id}",
                guild_id=guild,
                event_id=action.mirror_id,
            )
            try:
                await self._request(route, json=body)
                return MessageRef(
                    ChannelRef("discord", guild, "scheduled-events"), action.mirror_id
                )
            except discord.NotFound:
                pass  # deleted by hand: make a new one
        listed = await self._request(
            Route("GET", "/guilds/{guild_id}/scheduled-events", guild_id=guild)
        )
        made = self._made_before(listed, body) if resend else None
        if made is not None:  # an earlier attempt created it, and died before recording it
            log.info("discord: a resent scheduled event was already in guild %s", guild)
            return MessageRef(ChannelRef("discord", guild, "scheduled-events"), made)
        if len(listed) >= _SCHEDULED_EVENTS_CAP:
            raise PlatformError(
                f"discord: the server already has {_SCHEDULED_EVENTS_CAP} scheduled events; "
                f"{action.title!r} is not mirrored (members still see it in /event list)"
            )
        created = await self._request(
            Route("POST", "/guilds/{guild_id}/scheduled-events", guild_id=guild),
            json={**body, "privacy_level": 2, "entity_type": 3},  # guild only, external
        )
        return MessageRef(ChannelRef("discord", guild, "scheduled-events"), str(created["id"]))

    def _made_before(self, listed: list[Payload], body: Payload) -> str | None:
        """The id of a scheduled event the bot made with this name and start, if any."""
        own = str(self._client.user.id) if self._client and self._client.user else None
        starts = datetime.fromisoformat(str(body["scheduled_start_time"]))
        for event in listed:
            if (
                str(event.get("creator_id")) == own
                and event.get("name") == body["name"]
                and datetime.fromisoformat(str(event.get("scheduled_start_time"))) == starts
            ):
                return str(event["id"])
        return None

    def _location(self, message: MessageRef) -> str:
        """The channel id a message lives in (a thread's root message lives in the parent,
        except a forum post's starter, which lives in its thread)."""
        if message.thread and (
            message.thread != message.message or message.channel.channel in self._forums
        ):
            return message.thread
        return message.channel.channel

    def _mentions_in(self, guild: str | None) -> dict[str, str]:
        """The command mentions that work in a guild's channels (None: a DM, where only
        globally registered commands run)."""
        return self._mentions.get(guild or "", {}) or (self._mentions.get("", {}) if guild else {})

    async def _send_bodies(
        self,
        channel_id: str,
        content: Content,
        key: str | None = None,
        resend: bool = False,
        *,
        guild: str | None = None,
    ) -> list[Payload]:
        sent: list[Payload] = []
        route_path = "/channels/{channel_id}/messages"
        bodies = render.message_payloads(content, self._mentions_in(guild))
        if key is not None and resend:
            found = await self._already_sent(channel_id, bodies)
            if found is not None:
                return found
        for index, body in enumerate(bodies):
            route = Route("POST", route_path, channel_id=channel_id)
            with_file = content if index == 0 and content.attachment else None
            if key is not None:
                body = {**body, "nonce": message_nonce(key, index), "enforce_nonce": True}
            sent.append(await self._send(route, body, with_file))
        return sent

    async def _already_sent(self, channel_id: str, bodies: list[Payload]) -> list[Payload] | None:
        """The bot's recent messages in the channel that are these bodies, if all are there
        (a resend after the nonce window: compare what the messages say)."""
        client = self._client
        if client is None or client.user is None:
            return None
        recent = await self._request(
            Route("GET", "/channels/{channel_id}/messages", channel_id=channel_id),
            params={"limit": 50},
        )
        own = [m for m in reversed(recent) if str(m["author"]["id"]) == str(client.user.id)]
        wanted = [_fingerprint(body) for body in bodies]
        for start in range(len(own) - len(wanted), -1, -1):
            window = own[start : start + len(wanted)]
            if [_fingerprint(message) for message in window] == wanted:
                log.info("discord: a resent message was already in channel %s", channel_id)
                return window
        return None

    async def _post(self, action: Post, key: str | None = None, resend: bool = False) -> MessageRef:
        thread_id: str | None = None
        channel_id = action.channel.channel
        if action.thread is not None:
            thread_id = action.thread.thread or action.thread.message
            channel_id = thread_id
        guild = action.channel.space or None
        try:
            sent = await self._send_bodies(channel_id, action.content, key, resend, guild=guild)
        except discord.NotFound as error:
            if action.thread is None or error.code != _UNKNOWN_CHANNEL:
                raise
            # No thread on that message yet: open one, then reply in it.
            assert thread_id is not None
            await self._start_thread(action.channel.channel, thread_id, action.content.text)
            sent = await self._send_bodies(thread_id, action.content, key, resend, guild=guild)
        first = str(sent[0]["id"])
        if action.start_thread and thread_id is None:
            await self._start_thread(action.channel.channel, first, action.start_thread)
        return MessageRef(action.channel, first, thread_id)

    async def _start_thread(self, channel_id: str, message_id: str, name: str) -> None:
        title = " ".join(name.split())[:100] or "Thread"
        await self._request(
            Route(
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                channel_id=channel_id,
                message_id=message_id,
            ),
            json={"name": title, "auto_archive_duration": 10080},
        )
        self._thread_parents[message_id] = channel_id

    async def _react(self, message: MessageRef, emoji: str, *, add: bool) -> None:
        await self._request(
            Route(
                "PUT" if add else "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                channel_id=self._location(message),
                message_id=message.message,
                emoji=render.emoji_to_discord(emoji),
            )
        )

    async def _edit(self, action: Edit) -> None:
        guild = action.message.channel.space or None
        body = render.message_payloads(action.content, self._mentions_in(guild))[0]
        body.setdefault("content", "")
        body.setdefault("embeds", [])
        body.setdefault("components", [])
        await self._request(
            Route(
                "PATCH",
                "/channels/{channel_id}/messages/{message_id}",
                channel_id=self._location(action.message),
                message_id=action.message.message,
            ),
            json=body,
        )

    async def _send_direct(
        self, action: SendDirect, key: str | None = None, resend: bool = False
    ) -> MessageRef | None:
        member = action.member.member
        channel_id = self._dm_channels.get(member)
        try:
            if channel_id is None:
                channel = await self._request(
                    Route("POST", "/users/@me/channels"), json={"recipient_id": member}
                )
                channel_id = str(channel["id"])
                self._dm_channels[member] = channel_id
            sent = await self._send_bodies(channel_id, action.content, key, resend)
        except discord.Forbidden as error:
            if error.code != _DM_REFUSED:
                raise
            if action.fallback is not None:
                await self._answer(
                    action.fallback, action.refused or action.content, ephemeral=True
                )
                return None
            # Refused for good: the outbox parks it (and sends its `on_park`, if any).
            raise PlatformError(
                f"discord: member {member} does not accept direct messages"
            ) from error
        return MessageRef(ChannelRef("discord", "", channel_id), str(sent[0]["id"]))

    def _with_edit_button(self, action: Answer) -> Content:
        """A refusal of what a form sent gets an Edit button that opens the form again, filled
        in (a modal cannot stay open with an error, as Slack's can)."""
        if not action.refused:
            return action.content
        with contextlib.suppress(ValueError):
            submitted, _ = translate.split_interaction_token(action.to)
            pending = self._interactions.get(submitted)
            if pending is not None and pending.form is not None:
                custom_id = f"{translate.EDIT_PREFIX}{submitted}:{' '.join(pending.form[0])}"
                if len(custom_id) <= render.CUSTOM_ID_LIMIT:
                    edit = Button(label=render.EDIT_LABEL, action=custom_id, style="primary")
                    return replace(action.content, buttons=(edit, *action.content.buttons))
        return action.content

    async def _answer(
        self,
        to: InteractionRef,
        content: Content,
        ephemeral: bool,
        *,
        in_place: bool = False,
        resend: bool = False,
    ) -> None:
        interaction_id, token = translate.split_interaction_token(to)
        flags = render.EPHEMERAL_FLAG if ephemeral else 0
        app = self._client.application_id if self._client else None
        webhook = "/webhooks/{webhook_id}/{webhook_token}"
        original = Route(
            "PATCH", webhook + "/messages/@original", webhook_id=app, webhook_token=token
        )
        pending = self._interactions.get(interaction_id)
        bodies = render.message_payloads(
            content, self._mentions_in(pending.guild if pending else None)
        )
        sent_before = False
        if pending is None:
            # Not in memory: after a restart, another process's, or a resend. Discord says what
            # the interaction shows, so an answer it already took is not given twice.
            state = await self._original_state(app, token, bodies[0]) if resend else "answered"
            sent_before = state == "sent"
            state = "answered" if sent_before else state
            pending = _Interaction(interaction_id, token, ephemeral, time.monotonic(), state)
        async with pending.lock:
            if pending.timer is not None:
                pending.timer.cancel()
            for index, body in enumerate(bodies):
                if index == 0 and sent_before:
                    continue
                with_file = content if index == 0 and content.attachment else None
                redraw = in_place and index == 0 and pending.on_component
                if redraw:  # what the old message showed goes unless drawn again
                    body = {"content": "", "embeds": [], "components": [], **body}
                if pending.state == "new":
                    callback = _callback_route(interaction_id, token)
                    answer = (
                        {"type": 7, "data": body}
                        if redraw
                        else {"type": 4, "data": {**body, "flags": flags}}
                    )
                    try:
                        await self._send(callback, answer, with_file)
                        pending.state = "answered"
                        continue
                    except discord.HTTPException as error:
                        if error.code != _ALREADY_ACKNOWLEDGED:
                            raise
                        pending.state = "answered"
                if pending.state == "deferred" or (pending.state == "updating" and redraw):
                    # The deferral's "thinking" message, or the button's own message.
                    await self._send(original, body, with_file)
                    pending.state = "answered"
                    continue
                pending.state = "answered"
                followup = Route("POST", webhook, webhook_id=app, webhook_token=token)
                await self._send(followup, {**body, "flags": flags}, with_file)

    async def _original_state(self, app: int | None, token: str, first: Payload) -> str:
        """What an interaction's original response shows: "new" (none yet), "deferred" (the
        thinking message), "sent" (this very answer) or "answered" (something else)."""
        route = Route(
            "GET",
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
            webhook_id=app,
            webhook_token=token,
        )
        try:
            message = await self._request(route)
        except discord.NotFound:
            return "new"
        if int(message.get("flags") or 0) & _LOADING_FLAG:
            return "deferred"
        return "sent" if _fingerprint(message) == _fingerprint(first) else "answered"

    async def _send(self, route: Route, body: Payload, with_file: Content | None) -> Any:
        """Send JSON, or multipart when the body carries the content's attachment."""
        if with_file is None:
            return await self._request(route, json=body)
        return await self._request(route, form=render.multipart_form(body, with_file))


def message_nonce(key: str, index: int = 0) -> str:
    """A message nonce for an outbox key: Discord takes at most 25 characters."""
    digest = hashlib.sha256(f"{key}#{index}".encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:25].lower()


def _fingerprint(message: Payload) -> str:
    """What a message says, to recognise one sent before (content and embeds' text)."""
    embeds = [
        (embed.get("title"), embed.get("description")) for embed in message.get("embeds") or []
    ]
    return hashlib.sha256(json.dumps([message.get("content") or "", embeds]).encode()).hexdigest()


def create_platform(
    config: Config,
    secrets: Secrets,
    directory: CommunityDirectory,
    commands: CommandTable,
    clock: Clock,
) -> DiscordPlatform:
    """The Discord platform for the application (needs DISCORD_TOKEN)."""
    if not secrets.discord_token:
        raise PlatformError("discord: DISCORD_TOKEN is not set; put the bot token there")
    return DiscordPlatform(config, secrets.discord_token, directory, commands, clock)


__all__ = ["DiscordPlatform", "create_platform", "intents"]
