"""A Discord-compatible REST + gateway server on 127.0.0.1, for driving the real discord.py.

It keeps just enough state (one application, guilds with roles, channels, threads and
members, messages, reactions, commands) to answer what the adapter asks, records every request
so tests can assert on them, and echoes the bot's own messages back through the gateway the
way Discord does. Tests push gateway events with `message()`, `interaction()`, `react()` and
friends, can make any route answer 429 with `rate_limit()` or fail with `fail()`, and can
slow history down with `history_delay`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

DISCORD_EPOCH_MS = 1420070400000
MESSAGE_CONTENT_FLAG = 1 << 18
ALL_PERMISSIONS = (1 << 41) - 1
JSON = {"Content-Type": "application/json"}

Payload = dict[str, Any]


def snowflake_at(when: datetime, counter: int = 0) -> int:
    """A snowflake for a moment (tests use it to build ids in time order)."""
    return ((int(when.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22) | (counter & 0x3FFFFF)


@dataclass
class Request:
    """One recorded REST request."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    at: float


@dataclass
class RateLimit:
    """Answer the next `times` matching requests with 429 and `retry_after`."""

    method: str
    pattern: re.Pattern[str]
    retry_after: float
    times: int
    is_global: bool = False


@dataclass
class Failure:
    """Answer matching requests with `status` (all of them, or the next `times`)."""

    method: str
    pattern: re.Pattern[str]
    status: int
    times: int | None


@dataclass
class Session:
    """One gateway session (survives a RESUME)."""

    session_id: str
    seq: int = 0
    sent: list[Payload] = field(default_factory=list)
    intents: int = 0
    identify: Payload = field(default_factory=dict)


class GatewayConnection:
    """One open websocket, with its own zlib stream when asked for."""

    def __init__(self, ws: web.WebSocketResponse, compress: bool) -> None:
        self.ws = ws
        self._zlib = zlib.compressobj() if compress else None
        self.session: Session | None = None
        self.lock = asyncio.Lock()

    async def send(self, payload: Payload) -> None:
        """Send one frame: zlib-stream binary when negotiated, JSON text otherwise."""
        text = json.dumps(payload)
        async with self.lock:
            if self.ws.closed:
                return
            if self._zlib is not None:
                data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)


class FakeDiscord:
    """The server. `await start()`, point `Route.BASE` at `api_base`, `await stop()`."""

    def __init__(
        self,
        *,
        token: str = "test-token",
        zlib_stream: bool = True,
        application_flags: int = MESSAGE_CONTENT_FLAG,
        heartbeat_interval_ms: int = 45_000,
    ) -> None:
        self.token = token
        self.zlib_stream = zlib_stream
        self.application_flags = application_flags
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self._ids = itertools.count(1)
        self.bot_id = self._new_id()
        self.application_id = self.bot_id
        self.bot_user: Payload = self.user_payload(self.bot_id, "facilitator", bot=True)
        self.users: dict[str, Payload] = {str(self.bot_id): self.bot_user}
        self.guilds: dict[str, Payload] = {}
        self.channels: dict[str, Payload] = {}
        self.messages: dict[str, dict[str, Payload]] = {}  # channel id -> message id -> payload
        self.reactions: dict[
            tuple[str, str], set[tuple[str, str]]
        ] = {}  # (chan, msg) -> {(emoji, user)}
        self.commands: dict[str | None, list[Payload]] = {}  # guild id (None: global) -> commands
        self.interaction_responses: dict[str, list[Payload]] = {}  # interaction token -> bodies
        self.interaction_kinds: dict[str, int] = {}  # interaction token -> interaction type
        self.refused_callbacks: list[tuple[str, str]] = []  # (token, why Discord refused)
        self.dm_channels: dict[str, str] = {}  # user id -> DM channel id
        self.refuse_dms: set[str] = set()  # user ids whose DMs fail with 50007
        self.scheduled_events: dict[str, dict[str, Payload]] = {}
        self.requests: list[Request] = []
        self.identifies: list[Payload] = []
        self.resumes: list[Payload] = []
        self.rate_limits: list[RateLimit] = []
        self.failures: list[Failure] = []
        self.history_delay = 0.0  # seconds each history page waits before it is answered
        self.slowed: list[tuple[str, re.Pattern[str], float]] = []  # method, path, seconds
        self.history_answered = 0  # history pages answered so far
        self.sessions: dict[str, Session] = {}
        self.connections: list[GatewayConnection] = []
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._identified = asyncio.Event()
        self.replay_on_resume = 0  # replay this many already-sent events on the next RESUME
        self.gateway_frames_sent = 0
        # Message nonces with `enforce_nonce`: a repeat within the window gets the message
        # created first; afterwards the nonce is forgotten, as Discord does after minutes.
        self.nonce_window = 300.0
        self.nonces: dict[tuple[str, str], tuple[str, float]] = {}
        self.creations_per_nonce: dict[str, int] = {}
        # When set (an unset Event), message creation answers only once the event is set.
        self.stall_after_create: asyncio.Event | None = None
        self.stalled: list[Payload] = []

    # ----------------------------------------------------------------- set-up

    def _new_id(self) -> int:
        return snowflake_at(datetime.now(UTC), next(self._ids))

    def new_id(self) -> str:
        """A fresh snowflake (increasing, in wall-clock order)."""
        return str(self._new_id())

    @property
    def api_base(self) -> str:
        """What to set `[discord] api_base_url` / `Route.BASE` to."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    @staticmethod
    def user_payload(user_id: int | str, name: str, *, bot: bool = False) -> Payload:
        """A Discord user object."""
        return {
            "id": str(user_id),
            "username": name,
            "global_name": name,
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
            "flags": 0,
        }

    def add_guild(self, name: str = "School", *, bot_permissions: int = ALL_PERMISSIONS) -> str:
        """A guild the bot is in; its @everyone role grants `bot_permissions`."""
        guild_id = self.new_id()
        self.guilds[guild_id] = {
            "id": guild_id,
            "name": name,
            "owner_id": self.new_id(),
            "roles": [self._role(guild_id, "@everyone", bot_permissions)],
            "members": {},
            "channel_ids": [],
            "threads": [],
        }
        self.commands.setdefault(guild_id, [])
        self.scheduled_events[guild_id] = {}
        self.add_member(guild_id, self.bot_id, "facilitator", bot=True)
        return guild_id

    @staticmethod
    def _role(role_id: str, name: str, permissions: int) -> Payload:
        return {
            "id": role_id,
            "name": name,
            "permissions": str(permissions),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def add_role(self, guild_id: str, name: str, permissions: int = 0) -> str:
        """A role in the guild."""
        role_id = self.new_id()
        role = self._role(role_id, name, permissions)
        role["position"] = len(self.guilds[guild_id]["roles"])
        self.guilds[guild_id]["roles"].append(role)
        return role_id

    def add_member(
        self,
        guild_id: str,
        user_id: int | str | None = None,
        name: str = "member",
        *,
        roles: tuple[str, ...] = (),
        bot: bool = False,
    ) -> str:
        """A member of the guild (a user, too)."""
        uid = str(user_id) if user_id is not None else self.new_id()
        user = self.users.setdefault(uid, self.user_payload(uid, name, bot=bot))
        self.guilds[guild_id]["members"][uid] = {
            "user": user,
            "roles": list(roles),
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
        }
        return uid

    def add_channel(
        self,
        guild_id: str,
        name: str,
        *,
        overwrites: list[Payload] | None = None,
        forum: bool = False,
    ) -> str:
        """A text channel in the guild (a forum channel, type 15, when `forum`: its posts are
        threads, and it holds no messages of its own)."""
        channel_id = self.new_id()
        self.channels[channel_id] = {
            "id": channel_id,
            "type": 15 if forum else 0,
            "guild_id": guild_id,
            "name": name,
            "position": len(self.guilds[guild_id]["channel_ids"]),
            "permission_overwrites": overwrites or [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }
        self.guilds[guild_id]["channel_ids"].append(channel_id)
        self.messages[channel_id] = {}
        return channel_id

    def add_thread(
        self,
        channel_id: str,
        root_message_id: str,
        name: str,
        *,
        archived: bool = False,
        private: bool = False,
    ) -> str:
        """A thread started from a message (its id is the root message's id): public, or
        private (type 12: only those invited read it)."""
        parent = self.channels[channel_id]
        thread = {
            "id": root_message_id,
            "type": 12 if private else 11,
            "guild_id": parent["guild_id"],
            "parent_id": channel_id,
            "name": name,
            "owner_id": str(self.bot_id),
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": archived,
                "auto_archive_duration": 1440,
                "archive_timestamp": datetime.now(UTC).isoformat(),
                "locked": False,
            },
        }
        self.channels[root_message_id] = thread
        self.messages.setdefault(root_message_id, {})
        self.guilds[parent["guild_id"]]["threads"].append(root_message_id)
        return root_message_id

    def guild_payload(self, guild_id: str) -> Payload:
        """The GUILD_CREATE payload of a guild."""
        guild = self.guilds[guild_id]
        threads = [
            self.channels[t]
            for t in guild["threads"]
            if not self.channels[t]["thread_metadata"]["archived"]
        ]
        return {
            "id": guild_id,
            "name": guild["name"],
            "unavailable": False,
            "owner_id": guild["owner_id"],
            "roles": guild["roles"],
            "channels": [self.channels[c] for c in guild["channel_ids"]],
            "threads": threads,
            "members": [guild["members"][str(self.bot_id)]],
            "member_count": len(guild["members"]),
            "emojis": [],
            "stickers": [],
            "features": [],
            "large": False,
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "premium_tier": 0,
            "system_channel_flags": 0,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "preferred_locale": "en-US",
            "joined_at": "2026-01-01T00:00:00+00:00",
            "afk_timeout": 300,
            "icon": None,
            "splash": None,
            "banner": None,
            "description": None,
            "vanity_url_code": None,
            "premium_subscription_count": 0,
        }

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        """Close every connection and the listener."""
        for connection in list(self.connections):
            await connection.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ----------------------------------------------------------------- assertions

    def requests_to(self, method: str, pattern: str) -> list[Request]:
        """Recorded requests whose method matches and path matches the regex `pattern`."""
        compiled = re.compile(pattern)
        return [r for r in self.requests if r.method == method and compiled.fullmatch(r.path)]

    async def wait_for_request(
        self, method: str, pattern: str, *, within: float = 5.0, count: int = 1
    ) -> list[Request]:
        """Wait until `count` matching requests were recorded; return them."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            found = self.requests_to(method, pattern)
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                seen = [f"{r.method} {r.path}" for r in self.requests]
                raise AssertionError(f"no {count}x {method} {pattern} within {within}s; saw {seen}")
            await asyncio.sleep(0.005)

    async def wait_identified(self, within: float = 5.0) -> Payload:
        """Wait for the first IDENTIFY and return its payload."""
        await asyncio.wait_for(self._identified.wait(), within)
        return self.identifies[0]

    def rate_limit(
        self,
        method: str,
        pattern: str,
        retry_after: float,
        *,
        times: int = 1,
        is_global: bool = False,
    ) -> None:
        """Answer the next `times` requests matching with 429 and this `retry_after`."""
        self.rate_limits.append(
            RateLimit(method, re.compile(pattern), retry_after, times, is_global)
        )

    def slow(self, method: str, pattern: str, seconds: float) -> None:
        """Answer every request matching only after `seconds`."""
        self.slowed.append((method, re.compile(pattern), seconds))

    def fail(
        self, method: str, pattern: str, status: int = 500, *, times: int | None = None
    ) -> None:
        """Answer requests matching with `status` (every one, or the next `times`)."""
        self.failures.append(Failure(method, re.compile(pattern), status, times))

    # ----------------------------------------------------------------- REST

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(
            body=json.dumps(data).encode(), status=status, headers={**JSON, **(headers or {})}
        )

    def _error(self, status: int, code: int, message: str) -> web.Response:
        return self._json({"code": code, "message": message}, status)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
            elif request.content_type.startswith("multipart/"):
                body = await self._read_multipart(request)
            else:
                body = await request.text()
        record = Request(
            request.method, path, dict(request.query), body, dict(request.headers), time.monotonic()
        )
        self.requests.append(record)
        if request.headers.get("Authorization") != f"Bot {self.token}" and not path.startswith(
            ("/interactions/", "/webhooks/")
        ):
            return self._error(401, 0, "401: Unauthorized")
        for method, pattern, seconds in self.slowed:
            if method == request.method and pattern.fullmatch(path):
                await asyncio.sleep(seconds)
        for limit in self.rate_limits:
            if limit.times > 0 and limit.method == request.method and limit.pattern.fullmatch(path):
                limit.times -= 1
                return self._json(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": limit.retry_after,
                        "global": limit.is_global,
                    },
                    429,
                    {"Via": "1.1 google", "Retry-After": str(limit.retry_after)},
                )
        for failure in self.failures:
            if (
                failure.times != 0
                and failure.method == request.method
                and failure.pattern.fullmatch(path)
            ):
                if failure.times is not None:
                    failure.times -= 1
                return self._error(failure.status, 0, f"{failure.status}: failing on purpose")
        for method, pattern, handler in self._routes():
            if method != request.method:
                continue
            match = re.fullmatch(pattern, path)
            if match:
                return await handler(record, *match.groups())
        return self._error(404, 0, f"404: Not Found ({request.method} {path})")

    @staticmethod
    async def _read_multipart(request: web.Request) -> Payload:
        reader = await request.multipart()
        out: Payload = {"files": {}}
        while True:
            part = await reader.next()
            if part is None:
                break
            if part.name == "payload_json":
                out.update(json.loads(await part.text()))  # type: ignore[union-attr]
            else:
                out["files"][part.filename or part.name] = await part.read()  # type: ignore[union-attr]
        return out

    def _routes(self) -> list[tuple[str, str, Callable[..., Any]]]:
        snow = r"(\d+)"
        return [
            ("GET", r"/users/@me", self._me),
            ("GET", r"/oauth2/applications/@me", self._application),
            ("GET", r"/applications/@me", self._application),
            ("GET", r"/gateway/bot", self._gateway_bot),
            ("GET", r"/gateway", self._gateway_bot),
            ("GET", rf"/channels/{snow}", self._get_channel),
            ("POST", rf"/channels/{snow}/messages", self._create_message),
            ("GET", rf"/channels/{snow}/messages", self._history),
            ("PATCH", rf"/channels/{snow}/messages/{snow}", self._edit_message),
            ("DELETE", rf"/channels/{snow}/messages/{snow}", self._delete_message),
            ("PUT", rf"/channels/{snow}/messages/{snow}/reactions/([^/]+)/@me", self._add_reaction),
            (
                "DELETE",
                rf"/channels/{snow}/messages/{snow}/reactions/([^/]+)/@me",
                self._remove_reaction,
            ),
            ("POST", rf"/channels/{snow}/messages/{snow}/threads", self._start_thread),
            ("GET", rf"/guilds/{snow}/threads/active", self._active_threads),
            ("GET", rf"/channels/{snow}/threads/archived/public", self._archived_threads),
            ("GET", rf"/applications/{snow}/commands", self._get_commands),
            ("PUT", rf"/applications/{snow}/commands", self._put_commands),
            ("GET", rf"/applications/{snow}/guilds/{snow}/commands", self._get_commands),
            ("PUT", rf"/applications/{snow}/guilds/{snow}/commands", self._put_commands),
            ("POST", rf"/interactions/{snow}/([^/]+)/callback", self._interaction_callback),
            ("GET", rf"/webhooks/{snow}/([^/]+)/messages/@original", self._get_original),
            ("PATCH", rf"/webhooks/{snow}/([^/]+)/messages/@original", self._edit_original),
            ("POST", rf"/webhooks/{snow}/([^/]+)", self._followup),
            ("POST", r"/users/@me/channels", self._open_dm),
            ("GET", rf"/guilds/{snow}/members/{snow}", self._get_member),
            ("GET", rf"/guilds/{snow}/scheduled-events", self._list_events),
            ("POST", rf"/guilds/{snow}/scheduled-events", self._create_event),
            ("PATCH", rf"/guilds/{snow}/scheduled-events/{snow}", self._edit_event),
            ("DELETE", rf"/guilds/{snow}/scheduled-events/{snow}", self._delete_event),
        ]

    async def _get_member(self, request: Request, guild_id: str, user_id: str) -> web.Response:
        member = self.guilds.get(guild_id, {}).get("members", {}).get(user_id)
        if member is None:
            return self._error(404, 10007, "Unknown Member")
        return self._json(member)

    async def _me(self, request: Request) -> web.Response:
        return self._json(self.bot_user)

    async def _application(self, request: Request) -> web.Response:
        return self._json(
            {
                "id": str(self.application_id),
                "name": "Facilitator",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.user_payload(self.new_id(), "owner"),
                "verify_key": "0" * 64,
                "flags": self.application_flags,
                "interactions_endpoint_url": None,
                "summary": "",
            }
        )

    async def _gateway_bot(self, request: Request) -> web.Response:
        return self._json(
            {
                "url": f"ws://127.0.0.1:{self.port}/gateway",
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    def message_payload(
        self,
        channel_id: str,
        author_id: str,
        content: str,
        *,
        message_id: str | None = None,
        embeds: list[Payload] | None = None,
        components: list[Payload] | None = None,
    ) -> Payload:
        """A message object as Discord sends it (with `member` inside guilds)."""
        mid = message_id or self.new_id()
        channel = self.channels.get(channel_id, {"id": channel_id, "type": 1})
        author = self.users[author_id]
        millis = (int(mid) >> 22) + DISCORD_EPOCH_MS
        payload: Payload = {
            "id": mid,
            "channel_id": channel_id,
            "author": author,
            "content": content,
            "timestamp": datetime.fromtimestamp(millis / 1000, UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": embeds or [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": components or [],
        }
        guild_id = channel.get("guild_id")
        if guild_id:
            payload["guild_id"] = guild_id
            member = self.guilds[guild_id]["members"].get(author_id)
            if member is not None:
                payload["member"] = {k: v for k, v in member.items() if k != "user"}
        return payload

    async def _get_channel(self, request: Request, channel_id: str) -> web.Response:
        channel = self.channels.get(channel_id)
        if channel is None:
            return self._error(404, 10003, "Unknown Channel")
        return self._json(channel)

    async def _create_message(self, request: Request, channel_id: str) -> web.Response:
        if channel_id not in self.messages:
            return self._error(404, 10003, "Unknown Channel")
        channel = self.channels.get(channel_id)
        if channel is not None and channel.get("type") == 1:
            recipient = channel["recipients"][0]["id"]
            if recipient in self.refuse_dms:
                return self._error(403, 50007, "Cannot send messages to this user")
        body = request.body or {}
        content = body.get("content") or ""
        if len(content) > 2000:
            return self._error(400, 50035, "Invalid Form Body: content must be 2000 or fewer")
        problem = components_problem(body)
        if problem is not None:
            return self._invalid_body(problem)
        nonce = str(body["nonce"]) if body.get("nonce") is not None else None
        if nonce is not None and body.get("enforce_nonce"):
            seen = self.nonces.get((channel_id, nonce))
            if seen is not None and time.monotonic() - seen[1] < self.nonce_window:
                existing = self.messages[channel_id].get(seen[0])
                if existing is not None:
                    return self._json(existing)  # Discord's answer to a repeated nonce
        payload = self.message_payload(
            channel_id,
            str(self.bot_id),
            content,
            embeds=body.get("embeds"),
            components=body.get("components"),
        )
        if "files" in body:
            payload["attachments"] = [
                {
                    "id": self.new_id(),
                    "filename": name,
                    "size": len(data),
                    "url": "",
                    "proxy_url": "",
                }
                for name, data in body["files"].items()
            ]
        self._store(channel_id, payload)
        if nonce is not None:
            payload["nonce"] = nonce
            self.nonces[(channel_id, nonce)] = (payload["id"], time.monotonic())
            self.creations_per_nonce[nonce] = self.creations_per_nonce.get(nonce, 0) + 1
        if self.stall_after_create is not None:
            # The message exists; the answer never comes (the sender dies waiting for it).
            self.stalled.append(payload)
            await self.stall_after_create.wait()
        await self.dispatch("MESSAGE_CREATE", payload)  # Discord echoes the bot's own messages
        return self._json(payload)

    async def _history(self, request: Request, channel_id: str) -> web.Response:
        if self.history_delay:
            await asyncio.sleep(self.history_delay)  # a slow platform: the wire waits
        if channel_id not in self.messages:
            return self._error(404, 10003, "Unknown Channel")
        if self.channels.get(channel_id, {}).get("type") == 15:
            # A forum holds no messages: its posts are threads, read one by one.
            return self._error(400, 50024, "Cannot execute action on this channel type")
        self.history_answered += 1
        limit = int(request.query.get("limit", "50"))
        ordered = sorted(self.messages[channel_id].values(), key=lambda m: int(m["id"]))
        if "after" in request.query:
            after = int(request.query["after"])
            ordered = [m for m in ordered if int(m["id"]) > after][:limit]
        elif "before" in request.query:
            before = int(request.query["before"])
            ordered = [m for m in ordered if int(m["id"]) < before][-limit:]
        else:
            ordered = ordered[-limit:]
        return self._json(list(reversed(ordered)))  # newest first, as Discord does

    async def _edit_message(
        self, request: Request, channel_id: str, message_id: str
    ) -> web.Response:
        message = self.messages.get(channel_id, {}).get(message_id)
        if message is None:
            return self._error(404, 10008, "Unknown Message")
        body = request.body or {}
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key]
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        await self.dispatch("MESSAGE_UPDATE", message)
        return self._json(message)

    async def _delete_message(
        self, request: Request, channel_id: str, message_id: str
    ) -> web.Response:
        message = self.messages.get(channel_id, {}).pop(message_id, None)
        if message is None:
            return self._error(404, 10008, "Unknown Message")
        await self.dispatch(
            "MESSAGE_DELETE",
            {"id": message_id, "channel_id": channel_id, "guild_id": message.get("guild_id")},
        )
        return web.Response(status=204)

    async def _add_reaction(
        self, request: Request, channel_id: str, message_id: str, emoji: str
    ) -> web.Response:
        if message_id not in self.messages.get(channel_id, {}):
            return self._error(404, 10008, "Unknown Message")
        self.reactions.setdefault((channel_id, message_id), set()).add((emoji, str(self.bot_id)))
        return web.Response(status=204)

    async def _remove_reaction(
        self, request: Request, channel_id: str, message_id: str, emoji: str
    ) -> web.Response:
        self.reactions.get((channel_id, message_id), set()).discard((emoji, str(self.bot_id)))
        return web.Response(status=204)

    async def _start_thread(
        self, request: Request, channel_id: str, message_id: str
    ) -> web.Response:
        if message_id not in self.messages.get(channel_id, {}):
            return self._error(404, 10008, "Unknown Message")
        thread_id = self.add_thread(channel_id, message_id, (request.body or {}).get("name", ""))
        return self._json(self.channels[thread_id], 201)

    def _threads(self, guild_id: str, archived: bool) -> list[Payload]:
        return [
            self.channels[t]
            for t in self.guilds[guild_id]["threads"]
            if self.channels[t]["thread_metadata"]["archived"] is archived
        ]

    async def _active_threads(self, request: Request, guild_id: str) -> web.Response:
        if guild_id not in self.guilds:
            return self._error(404, 10004, "Unknown Guild")
        return self._json({"threads": self._threads(guild_id, False), "members": []})

    async def _archived_threads(self, request: Request, channel_id: str) -> web.Response:
        channel = self.channels.get(channel_id)
        if channel is None:
            return self._error(404, 10003, "Unknown Channel")
        threads = [
            t for t in self._threads(channel["guild_id"], True) if t["parent_id"] == channel_id
        ]
        return self._json({"threads": threads, "members": [], "has_more": False})

    async def _get_commands(
        self, request: Request, application_id: str, guild_id: str | None = None
    ) -> web.Response:
        return self._json(self.commands.get(guild_id, []))

    async def _put_commands(
        self, request: Request, application_id: str, guild_id: str | None = None
    ) -> web.Response:
        stored = []
        for command in request.body or []:
            problem = self._command_problem(command)
            if problem is not None:
                return self._json(
                    {"code": 50035, "message": "Invalid Form Body", "errors": problem}, 400
                )
            stored.append(
                {
                    **command,
                    "id": self.new_id(),
                    "application_id": application_id,
                    "version": self.new_id(),
                    "type": command.get("type", 1),
                    # Discord keeps what was sent (a permission bit set as a string, or null)
                    "default_member_permissions": command.get("default_member_permissions"),
                    "contexts": command.get("contexts"),
                    "nsfw": False,
                    **({"guild_id": guild_id} if guild_id else {}),
                }
            )
        self.commands[guild_id] = stored
        return self._json(stored)

    @staticmethod
    def _command_problem(command: Payload) -> str | None:
        """Why Discord would refuse one application command of a bulk upsert, if it would."""
        kind = command.get("type", 1)
        if kind not in (1, 2, 3):
            return f"type {kind!r} is not an application command type"
        permissions = command.get("default_member_permissions")
        if permissions is not None and not (isinstance(permissions, str) and permissions.isdigit()):
            return "default_member_permissions must be a string of digits or null"
        contexts = command.get("contexts")
        if contexts is not None and (not contexts or not set(contexts) <= {0, 1, 2}):
            return "contexts must be a non-empty list of 0, 1 and 2"
        if kind in (2, 3) and (command.get("description") or command.get("options")):
            return "user and message commands take no description or options"
        if kind == 1 and not 1 <= len(str(command.get("description") or "")) <= 100:
            return "a slash command needs a description of 1 to 100 characters"
        return None

    def _check_registered(
        self, guild_id: str | None, name: str, options: list[Payload], kind: int = 1
    ) -> None:
        """Discord sends only commands it holds: refuse a test that invokes another one."""
        if not any(self.commands.values()):
            return  # nothing registered yet: a test of the bare client
        # (in a DM, this fake lets any guild's commands through, as the tests always have)
        scopes = [guild_id, None] if guild_id else list(self.commands)
        found = [
            c
            for scope in scopes
            for c in self.commands.get(scope, [])
            if c["name"] == name and c.get("type", 1) == kind
        ]
        if not found:
            raise AssertionError(f"{name!r} is not a registered command of type {kind}")
        subs = [o for o in found[0].get("options") or [] if o.get("type") in (1, 2)]
        if subs and not (options and options[0].get("name") in {o["name"] for o in subs}):
            raise AssertionError(f"/{name} has no such subcommand: {options[:1]}")

    def registered(self, guild_id: str | None, name: str, kind: int = 1) -> Payload:
        """The stored application command called `name` (of `kind`) in a guild (None: global)."""
        for command in self.commands.get(guild_id, []):
            if command["name"] == name and command.get("type", 1) == kind:
                return command
        raise KeyError(f"no command {name!r} of type {kind} registered")

    async def _interaction_callback(
        self, request: Request, interaction_id: str, token: str
    ) -> web.Response:
        responses = self.interaction_responses.setdefault(token, [])
        if responses:
            return self._error(400, 40060, "Interaction has already been acknowledged.")
        body = request.body or {}
        problem = self._callback_problem(self.interaction_kinds.get(token), body)
        if problem is not None:
            self.refused_callbacks.append((token, problem))
            return self._json(
                {"code": 50035, "message": "Invalid Form Body", "errors": problem}, 400
            )
        responses.append({"kind": "callback", **body})
        return web.Response(status=204)

    def _invalid_body(self, problem: str) -> web.Response:
        return self._json({"code": 50035, "message": "Invalid Form Body", "errors": problem}, 400)

    @staticmethod
    def _callback_problem(interaction_type: int | None, body: Payload) -> str | None:
        """Why Discord would refuse this first response to an interaction, if it would."""
        kind = body.get("type")
        data = body.get("data") or {}
        if interaction_type == 4:  # APPLICATION_COMMAND_AUTOCOMPLETE: type 8 or nothing
            if kind != 8:
                return f"an autocomplete interaction takes only type 8, not {kind!r}"
            choices = data.get("choices")
            if not isinstance(choices, list) or len(choices) > 25:
                return "choices: a list of at most 25"
            for choice in choices:
                name, value = choice.get("name"), choice.get("value")
                if not isinstance(name, str) or not 1 <= len(name) <= 100:
                    return "a choice's name must be 1 to 100 characters"
                if isinstance(value, str) and not 1 <= len(value) <= 100:
                    return "a choice's string value must be 1 to 100 characters"
            return None
        if kind == 8:
            return "type 8 answers only an autocomplete interaction"
        if kind == 9:  # MODAL: not to a modal submission, at most five rows of one input
            if interaction_type == 5:
                return "a modal submission cannot be answered with a modal"
            rows = data.get("components") or []
            if not 1 <= len(rows) <= 5:
                return "a modal has 1 to 5 components"
            if not data.get("custom_id") or not data.get("title"):
                return "a modal needs a custom_id and a title"
            if len(str(data["title"])) > 45:
                return "a modal's title is at most 45 characters"
            for row in rows:
                inputs = row.get("components") or []
                if row.get("type") != 1 or len(inputs) != 1 or inputs[0].get("type") != 4:
                    return "each modal row holds one text input"
                field = inputs[0]
                if len(str(field.get("label") or "")) > 45 or not field.get("custom_id"):
                    return "a text input needs a custom_id and a label of at most 45 characters"
                if len(str(field.get("value") or "")) > 4000:
                    return "a text input's value is at most 4000 characters"
            return None
        if kind not in (4, 5, 6, 7):
            return f"unknown callback type {kind!r}"
        if kind in (6, 7) and interaction_type != 3 and interaction_type != 5:
            return "types 6 and 7 answer only components and modal submissions"
        return components_problem(data)

    async def _edit_original(
        self, request: Request, application_id: str, token: str
    ) -> web.Response:
        responses = self.interaction_responses.get(token)
        if not responses:
            return self._error(404, 10015, "Unknown Webhook")
        problem = components_problem(request.body or {})
        if problem is not None:
            return self._invalid_body(problem)
        responses.append({"kind": "edit_original", **(request.body or {})})
        return self._json({"id": self.new_id(), "channel_id": "0", **(request.body or {})})

    async def _get_original(
        self, request: Request, application_id: str, token: str
    ) -> web.Response:
        message = self.original_response(token)
        if message is None:
            return self._error(404, 10008, "Unknown Message")
        return self._json({"id": self.new_id(), "channel_id": "0", **message})

    def original_response(self, token: str) -> Payload | None:
        """The message an interaction's first response made, as edited since (Discord's
        `GET .../messages/@original`); None before any response, or for a modal or choices."""
        responses = self.interaction_responses.get(token) or []
        if not responses:
            return None
        first = responses[0]
        kind, data = first.get("type"), dict(first.get("data") or {})
        if kind in (4, 7):
            message: Payload = data
        elif kind in (5, 6):  # a deferral: the "thinking" message (6: the component's own)
            message = {"content": "", "flags": (data.get("flags") or 0) | (128 if kind == 5 else 0)}
        else:
            return None
        for edit in responses[1:]:
            if edit["kind"] == "edit_original":
                message.update({k: v for k, v in edit.items() if k != "kind"})
                message["flags"] = (message.get("flags") or 0) & ~128
        return message

    async def _followup(self, request: Request, application_id: str, token: str) -> web.Response:
        responses = self.interaction_responses.get(token)
        if not responses:
            return self._error(404, 10015, "Unknown Webhook")
        problem = components_problem(request.body or {})
        if problem is not None:
            return self._invalid_body(problem)
        responses.append({"kind": "followup", **(request.body or {})})
        return self._json({"id": self.new_id(), "channel_id": "0", **(request.body or {})})

    async def _open_dm(self, request: Request) -> web.Response:
        recipient = str((request.body or {}).get("recipient_id"))
        if recipient not in self.users:
            return self._error(400, 50035, "Invalid Form Body")
        channel_id = self.dm_channels.get(recipient)
        if channel_id is None:
            channel_id = self.new_id()
            self.dm_channels[recipient] = channel_id
            self.channels[channel_id] = {
                "id": channel_id,
                "type": 1,
                "recipients": [self.users[recipient]],
                "last_message_id": None,
            }
            self.messages[channel_id] = {}
        return self._json(self.channels[channel_id])

    async def _list_events(self, request: Request, guild_id: str) -> web.Response:
        return self._json(list(self.scheduled_events.get(guild_id, {}).values()))

    async def _create_event(self, request: Request, guild_id: str) -> web.Response:
        event = {
            **(request.body or {}),
            "id": self.new_id(),
            "guild_id": guild_id,
            "creator_id": str(self.bot_id),
            "status": 1,
        }
        self.scheduled_events.setdefault(guild_id, {})[event["id"]] = event
        return self._json(event)

    async def _edit_event(self, request: Request, guild_id: str, event_id: str) -> web.Response:
        event = self.scheduled_events.get(guild_id, {}).get(event_id)
        if event is None:
            return self._error(404, 10070, "Unknown Guild Scheduled Event")
        event.update(request.body or {})
        return self._json(event)

    async def _delete_event(self, request: Request, guild_id: str, event_id: str) -> web.Response:
        if self.scheduled_events.get(guild_id, {}).pop(event_id, None) is None:
            return self._error(404, 10070, "Unknown Guild Scheduled Event")
        return web.Response(status=204)

    # ----------------------------------------------------------------- gateway

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        compress = self.zlib_stream and request.query.get("compress") == "zlib-stream"
        connection = GatewayConnection(ws, compress)
        self.connections.append(connection)
        try:
            await connection.send(
                {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
            )
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                await self._gateway_op(connection, json.loads(message.data))
        finally:
            if connection in self.connections:
                self.connections.remove(connection)
        return ws

    async def _gateway_op(self, connection: GatewayConnection, frame: Payload) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            await connection.send({"op": 11})
        elif op == 2:
            if data.get("token") != self.token:
                await connection.ws.close(code=4004, message=b"Authentication failed.")
                return
            self.identifies.append(data)
            session = Session(
                session_id=f"session-{len(self.sessions) + 1}", intents=data["intents"]
            )
            session.identify = data
            self.sessions[session.session_id] = session
            connection.session = session
            await self._send_dispatch(
                connection,
                "READY",
                {
                    "v": 10,
                    "user": self.bot_user,
                    "session_id": session.session_id,
                    "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
                    "guilds": [{"id": g, "unavailable": True} for g in self.guilds],
                    "application": {
                        "id": str(self.application_id),
                        "flags": self.application_flags,
                    },
                    "shard": data.get("shard", [0, 1]),
                },
            )
            self._identified.set()
            for guild_id in self.guilds:
                await self._send_dispatch(connection, "GUILD_CREATE", self.guild_payload(guild_id))
        elif op == 6:
            self.resumes.append(data)
            found = self.sessions.get(data.get("session_id"))
            if found is None:
                await connection.send({"op": 9, "d": False})
                return
            connection.session = found
            seq = int(data.get("seq") or 0) - self.replay_on_resume
            self.replay_on_resume = 0
            for payload in list(found.sent):
                if payload["s"] > seq:
                    await connection.send(payload)
            await self._send_dispatch(connection, "RESUMED", {})

    async def _send_dispatch(
        self, connection: GatewayConnection, event: str, data: Payload
    ) -> None:
        session = connection.session
        assert session is not None
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.sent.append(payload)
        self.gateway_frames_sent += 1
        await connection.send(payload)

    async def dispatch(self, event: str, data: Payload) -> None:
        """Send one dispatch to every identified connection (events never pile up unsent)."""
        for connection in list(self.connections):
            if connection.session is not None and not connection.ws.closed:
                await self._send_dispatch(connection, event, data)

    async def reconnect(self, *, replay: int = 0) -> None:
        """Ask every client to reconnect (op 7); on RESUME, re-send the last `replay` events."""
        self.replay_on_resume = replay
        for connection in list(self.connections):
            await connection.send({"op": 7, "d": None})

    async def drop_connections(self) -> None:
        """Close every gateway connection abruptly (code 1011), as an outage would."""
        for connection in list(self.connections):
            await connection.ws.close(code=4000, message=b"Unknown error")

    # ----------------------------------------------------------------- pushing events

    def post(self, channel_id: str, author_id: str, content: str) -> Payload:
        """Store a message (as if sent while nobody listened) and return it."""
        payload = self.message_payload(channel_id, author_id, content)
        self._store(channel_id, payload)
        return payload

    def _store(self, channel_id: str, payload: Payload) -> None:
        """Keep a new message; like Discord, its channel's `last_message_id` follows."""
        self.messages[channel_id][payload["id"]] = payload
        channel = self.channels.get(channel_id)
        if channel is not None:
            channel["last_message_id"] = payload["id"]

    def forum_post(self, forum_id: str, author_id: str, title: str, content: str) -> Payload:
        """A post in a forum channel, made while nobody listened: a thread whose starter
        message (the same id) lives in the thread itself. Returns the starter message."""
        thread_id = self.new_id()
        self.add_thread(forum_id, thread_id, title)
        self.channels[thread_id]["owner_id"] = author_id
        payload = self.message_payload(thread_id, author_id, content, message_id=thread_id)
        self._store(thread_id, payload)
        self.channels[forum_id]["last_message_id"] = thread_id
        return payload

    async def post_in_forum(
        self, forum_id: str, author_id: str, title: str, content: str
    ) -> Payload:
        """A member posts in a forum: THREAD_CREATE, then the starter's MESSAGE_CREATE."""
        payload = self.forum_post(forum_id, author_id, title, content)
        await self.dispatch(
            "THREAD_CREATE", {**self.channels[payload["id"]], "newly_created": True}
        )
        await self.dispatch("MESSAGE_CREATE", payload)
        return payload

    async def interested(
        self, guild_id: str, event_id: str, user_id: str, *, remove: bool = False
    ) -> None:
        """A member marks (or unmarks) Interested on a scheduled event."""
        event = self.scheduled_events[guild_id][event_id]
        event["user_count"] = max(0, int(event.get("user_count") or 0) + (-1 if remove else 1))
        kind = "REMOVE" if remove else "ADD"
        await self.dispatch(
            f"GUILD_SCHEDULED_EVENT_USER_{kind}",
            {"guild_scheduled_event_id": event_id, "user_id": user_id, "guild_id": guild_id},
        )

    async def message(self, channel_id: str, author_id: str, content: str) -> Payload:
        """A member posts a message: stored and sent as MESSAGE_CREATE."""
        payload = self.post(channel_id, author_id, content)
        await self.dispatch("MESSAGE_CREATE", payload)
        return payload

    async def edit(self, channel_id: str, message_id: str, content: str) -> Payload:
        """A member edits a message: MESSAGE_UPDATE."""
        message = self.messages[channel_id][message_id]
        message["content"] = content
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        await self.dispatch("MESSAGE_UPDATE", dict(message))
        return message

    async def delete(self, channel_id: str, message_id: str) -> None:
        """A member deletes a message: MESSAGE_DELETE."""
        message = self.messages[channel_id].pop(message_id)
        await self.dispatch(
            "MESSAGE_DELETE",
            {"id": message_id, "channel_id": channel_id, "guild_id": message.get("guild_id")},
        )

    async def react(
        self, channel_id: str, message_id: str, user_id: str, emoji: str, *, remove: bool = False
    ) -> None:
        """A member adds (or removes) a reaction."""
        channel = self.channels[channel_id]
        data: Payload = {
            "user_id": user_id,
            "channel_id": channel_id,
            "message_id": message_id,
            "emoji": {"id": None, "name": emoji},
            "type": 0,
            "burst": False,
        }
        if channel.get("guild_id"):
            data["guild_id"] = channel["guild_id"]
            if not remove:
                member = self.guilds[channel["guild_id"]]["members"][user_id]
                data["member"] = member
        await self.dispatch("MESSAGE_REACTION_REMOVE" if remove else "MESSAGE_REACTION_ADD", data)

    async def submit_form(
        self, channel_id: str, user_id: str, custom_id: str, values: dict[str, str]
    ) -> Payload:
        """A member submits a form (modal) the bot opened: a MODAL_SUBMIT interaction."""
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": name, "value": value}]}
            for name, value in values.items()
        ]
        return await self._push_interaction(
            channel_id, user_id, 5, {"custom_id": custom_id, "components": rows}
        )

    async def _push_interaction(
        self,
        channel_id: str,
        user_id: str,
        kind: int,
        data: Payload,
        message: Payload | None = None,
    ) -> Payload:
        """Send INTERACTION_CREATE as Discord does, from `user_id` in `channel_id`."""
        channel = self.channels[channel_id]
        interaction_id = self.new_id()
        self.interaction_kinds[f"token-{interaction_id}"] = kind
        payload: Payload = {
            "id": interaction_id,
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "channel_id": channel_id,
            "channel": {k: v for k, v in channel.items() if k != "recipients"},
            "token": f"token-{interaction_id}",
            "version": 1,
            "app_permissions": str(ALL_PERMISSIONS),
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 0,
            "attachment_size_limit": 10_485_760,
        }
        if message is not None:
            payload["message"] = message
        guild_id = channel.get("guild_id")
        if guild_id:
            payload["guild_id"] = guild_id
            payload["guild_locale"] = "en-US"
            member = dict(self.guilds[guild_id]["members"][user_id])
            member["permissions"] = "0"
            payload["member"] = member
        else:
            payload["user"] = self.users[user_id]
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def pick(
        self, channel_id: str, user_id: str, message: Payload, custom_id: str, value: str
    ) -> Payload:
        """A member picks `value` in the select `custom_id` of `message` (a component
        interaction, component_type 3), as Discord allows only an option the select lists."""
        for row in message.get("components") or ():
            for select in row.get("components") or ():
                if select.get("type") == 3 and select.get("custom_id") == custom_id:
                    values = [option["value"] for option in select.get("options") or ()]
                    if value not in values:
                        raise AssertionError(f"{value!r} is not an option of {custom_id!r}")
                    data = {"custom_id": custom_id, "component_type": 3, "values": [value]}
                    return await self._push_interaction(channel_id, user_id, 3, data, message)
        raise AssertionError(f"the message has no select {custom_id!r}")

    async def message_command(
        self, channel_id: str, user_id: str, name: str, target: Payload
    ) -> Payload:
        """A member picks `name` in the menu of the message `target` (a message command)."""
        self._check_registered(self.channels[channel_id].get("guild_id"), name, [], kind=3)
        data = {
            "id": self.new_id(),
            "name": name,
            "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}},
        }
        return await self._push_interaction(channel_id, user_id, 2, data)

    async def interaction(
        self,
        channel_id: str,
        user_id: str,
        name: str,
        options: list[Payload] | None = None,
        *,
        component: str | None = None,
        message: Payload | None = None,
        autocomplete: bool = False,
    ) -> Payload:
        """A member runs a slash command, presses the button `component`, or types into an
        option marked `focused` (`autocomplete=True`)."""
        channel = self.channels[channel_id]
        if component is None:
            self._check_registered(channel.get("guild_id"), name, options or [])
        data: Payload
        if component is not None:
            kind = 3
            data = {"custom_id": component, "component_type": 2}
        else:
            kind = 4 if autocomplete else 2
            data = {"id": self.new_id(), "name": name, "type": 1, "options": options or []}
        return await self._push_interaction(channel_id, user_id, kind, data, message)


def components_problem(message: Payload) -> str | None:
    """Why Discord would refuse a message's components, if it would: at most five action
    rows, each five buttons or one select of 1-25 options, custom_ids and values of at most
    100 characters, unique custom_ids."""
    rows = message.get("components") or []
    if len(rows) > 5:
        return "a message holds at most five action rows"
    seen: set[str] = set()
    for row in rows:
        parts = row.get("components") or []
        if row.get("type") != 1 or not 1 <= len(parts) <= 5:
            return "an action row holds 1 to 5 components"
        if any(part.get("type") == 3 for part in parts) and len(parts) != 1:
            return "a select fills its action row alone"
        for part in parts:
            custom_id = str(part.get("custom_id") or "")
            if not 1 <= len(custom_id) <= 100 or custom_id in seen:
                return "each component needs a unique custom_id of 1 to 100 characters"
            seen.add(custom_id)
            if part.get("type") == 3:
                options = part.get("options") or []
                if not 1 <= len(options) <= 25 or len(str(part.get("placeholder") or "")) > 150:
                    return "a select lists 1 to 25 options; its placeholder is at most 150"
                for option in options:
                    if not 1 <= len(str(option.get("label") or "")) <= 100:
                        return "an option's label is 1 to 100 characters"
                    if not 1 <= len(str(option.get("value") or "")) <= 100:
                        return "an option's value is 1 to 100 characters"
                if len({option["value"] for option in options}) != len(options):
                    return "a select's option values are unique"
            elif part.get("type") == 2:
                if len(str(part.get("label") or "")) > 80:
                    return "a button's label is at most 80 characters"
            else:
                return f"unknown component type {part.get('type')!r}"
    return None
