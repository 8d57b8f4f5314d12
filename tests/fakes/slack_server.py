"""A Slack-compatible Web API, Socket Mode websocket and request signer for tests.

Serves on 127.0.0.1 port 0. Point the real `AsyncWebClient` at `server.api_url`; Socket Mode
finds the websocket through `apps.connections.open`. Every call is recorded so tests can assert
what the bot did, and any method can be made to answer 429 with a Retry-After.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-test-app-token"
SIGNING_SECRET = "test-signing-secret"

ALL_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:write",
    "groups:history",
    "groups:read",
    "im:history",
    "im:write",
    "reactions:read",
    "reactions:write",
    "usergroups:read",
    "users:read",
)


# The scope each Web API method needs (one of them, where several would do).
NEEDED_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "reactions.add": ("reactions:write",),
    "reactions.remove": ("reactions:write",),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history"),
    "conversations.list": ("channels:read",),
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.open": ("im:write",),
    "users.info": ("users:read",),
    "usergroups.list": ("usergroups:read",),
    "usergroups.users.list": ("usergroups:read",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "views.publish": (),  # any bot token may publish its Home tab
}


@dataclass
class Call:
    """One Web API call as the fake received it."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class FakeChannel:
    """A channel with its history."""

    id: str
    name: str
    members: set[str] = field(default_factory=set)
    is_private: bool = False
    is_im: bool = False
    messages: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeUser:
    """A workspace member."""

    id: str
    name: str
    tz: str = "UTC"
    is_bot: bool = False
    bot_id: str | None = None


@dataclass
class FakeUserGroup:
    """A user group (facilitators are often one)."""

    id: str
    handle: str
    users: list[str] = field(default_factory=list)


class FakeSlack:
    """The fake server: Web API under /api/, Socket Mode at /link/, response URLs, uploads."""

    def __init__(
        self,
        *,
        team_id: str = "T0001",
        bot_user: str = "UBOT",
        bot_id: str = "BBOT",
        scopes: tuple[str, ...] = ALL_SCOPES,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
    ) -> None:
        self.team_id, self.bot_user, self.bot_id = team_id, bot_user, bot_id
        self.scopes = scopes
        self.bot_token, self.app_token = bot_token, app_token
        self.calls: list[Call] = []
        self.channels: dict[str, FakeChannel] = {}
        self.users: dict[str, FakeUser] = {
            bot_user: FakeUser(bot_user, "facilitator", is_bot=True, bot_id=bot_id)
        }
        self.usergroups: dict[str, FakeUserGroup] = {}
        self.responses: dict[str, list[dict[str, Any]]] = {}  # response_url id -> posts
        self.response_times: dict[str, list[float]] = {}  # response_url id -> monotonic times
        self.uploads: dict[str, bytes] = {}
        self.views: list[dict[str, Any]] = []
        self.used_triggers: set[str] = set()
        self.homes: dict[str, dict[str, Any]] = {}  # user -> the Home view published last
        self.home_publishes: list[tuple[str, float]] = []  # (user, monotonic time) per publish
        self.acks: dict[str, dict[str, Any] | None] = {}
        self.socket_connections = 0
        self.echo_own_messages = True
        # Posts carrying message metadata, counted by the outbox key in their payload.
        self.creations_per_metadata_key: dict[str, int] = {}
        self.echoed: list[str] = []  # envelope ids of echoed bot posts
        self._rate_limits: dict[str, list[int]] = {}  # method -> [remaining, retry_after]
        self._failing: dict[str, list[Any]] = {}  # method -> [skip, remaining, error]
        self.history_delay = 0.0  # seconds history and replies wait before they are answered
        self.history_answered = 0  # conversations.history pages answered so far
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._base = 1_790_000_000
        self._sockets: list[web.WebSocketResponse] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        """Serve on 127.0.0.1 with a free port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/link/", self._link)
        app.router.add_post("/response/{id}", self._response)
        app.router.add_post("/upload/{id}", self._upload)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        """Close websockets and stop serving."""
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What to give `AsyncWebClient(base_url=...)`."""
        return f"{self.base_url}/api/"

    # -- world building ----------------------------------------------------------------

    def add_user(self, user_id: str, name: str, *, tz: str = "UTC", is_bot: bool = False) -> None:
        """Add a workspace member."""
        self.users[user_id] = FakeUser(user_id, name, tz, is_bot, f"B{user_id}" if is_bot else None)

    def add_channel(
        self, channel_id: str, name: str, *, bot_member: bool = True, private: bool = False
    ) -> FakeChannel:
        """Add a channel; the bot is a member unless told otherwise."""
        channel = FakeChannel(channel_id, name, is_private=private)
        if bot_member:
            channel.members.add(self.bot_user)
        self.channels[channel_id] = channel
        return channel

    def add_usergroup(self, group_id: str, handle: str, users: list[str]) -> None:
        """Add a user group."""
        self.usergroups[group_id] = FakeUserGroup(group_id, handle, list(users))

    def next_ts(self) -> str:
        """A fresh, increasing message timestamp."""
        n = next(self._ts)
        return f"{self._base + n}.{n:06d}"

    def add_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        bot_id: str | None = None,
    ) -> dict[str, Any]:
        """Put a message into a channel's history (as if posted while the bot was away)."""
        message: dict[str, Any] = {"type": "message", "user": user, "text": text}
        message["ts"] = ts or self.next_ts()
        if bot_id:
            message["bot_id"] = bot_id
        if thread_ts and thread_ts != message["ts"]:
            message["thread_ts"] = thread_ts
            parent = self._find(channel, thread_ts)
            if parent is not None:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = max(parent.get("latest_reply", "0"), message["ts"])
        self.channels[channel].messages.append(message)
        return message

    def edit_message(self, channel: str, ts: str, text: str) -> dict[str, Any]:
        """A member edits a message; returns the `message_changed` event Slack would send."""
        message = self._find(channel, ts)
        assert message is not None, f"no message {ts} in {channel}"
        previous = dict(message)
        edited_ts = self.next_ts()
        message["text"] = text
        message["edited"] = {"user": message["user"], "ts": edited_ts}
        return {
            "type": "message",
            "subtype": "message_changed",
            "channel": channel,
            "hidden": True,
            "message": dict(message),
            "previous_message": previous,
            "event_ts": edited_ts,
            "ts": edited_ts,
        }

    def _find(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.channels[channel].messages if m["ts"] == ts), None)

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Make the next `times` calls of `method` answer 429 with Retry-After."""
        self._rate_limits[method] = [times, retry_after]

    def fail(
        self, method: str, error: str = "internal_error", *, times: int = 1, after: int = 0
    ) -> None:
        """After `after` more calls of `method` succeed, answer the next `times` with `error`."""
        self._failing[method] = [after, times, error]

    def new_response_url(self) -> str:
        """A fresh response_url that records what is posted to it."""
        rid = f"R{next(self._ids)}"
        self.responses[rid] = []
        return f"{self.base_url}/response/{rid}"

    # -- assertions --------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of one method (including those answered with 429)."""
        return [call for call in self.calls if call.method == method]

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Successful chat.postMessage arguments, optionally for one channel."""
        return [
            call.args
            for call in self.calls_to("chat.postMessage")
            if call.args.get("_ok") and (channel is None or call.args.get("channel") == channel)
        ]

    async def wait_for(self, predicate: Any, within: float = 5.0) -> None:
        """Wait until `predicate()` is true (re-checked whenever the fake records something)."""

        async def check() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        await asyncio.wait_for(check(), within)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- Socket Mode -------------------------------------------------------------------

    async def _echo(self, channel: str, message: dict[str, Any]) -> None:
        """Like Slack, send the bot's own post back to it as a message event."""
        if not self._sockets:
            return
        event = {**message, "channel": channel, "event_ts": message["ts"]}
        event["channel_type"] = "im" if channel.startswith("D") else "channel"
        body = event_callback(event, event_id=f"Echo{next(self._ids)}", team_id=self.team_id)
        self.echoed.append(await self.push_envelope("events_api", body))

    async def push_envelope(
        self, kind: str, payload: Mapping[str, Any], *, retry_attempt: int = 0
    ) -> str:
        """Send an envelope (`events_api`, `slash_commands`, `interactive`) to the bot."""
        if not self._sockets:
            raise RuntimeError("no Socket Mode connection")
        envelope_id = f"env-{next(self._ids)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": dict(payload),
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        await self._sockets[-1].send_str(json.dumps(envelope))
        return envelope_id

    async def wait_ack(self, envelope_id: str, within: float = 5.0) -> dict[str, Any] | None:
        """Wait for the bot to acknowledge an envelope; returns the ack's payload, if any."""
        await self.wait_for(lambda: envelope_id in self.acks, within)
        return self.acks[envelope_id]

    @property
    def connected(self) -> bool:
        """True while a Socket Mode client is connected."""
        return bool(self._sockets)

    async def wait_connected(self, within: float = 5.0) -> None:
        """Wait until a Socket Mode client is connected."""
        await self.wait_for(lambda: bool(self._sockets), within)

    async def ask_to_reconnect(self) -> None:
        """Send Slack's periodic `disconnect` (refresh_requested) on the current socket."""
        await self._sockets[-1].send_str(
            json.dumps({"type": "disconnect", "reason": "refresh_requested"})
        )

    async def drop_connections(self) -> None:
        """Close every websocket (the client should reconnect)."""
        for socket in list(self._sockets):
            await socket.close()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.append(socket)
        self.socket_connections += 1
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        await self._notify()
        try:
            async for message in socket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                if "envelope_id" in data:
                    self.acks[data["envelope_id"]] = data.get("payload")
                    await self._notify()
        finally:
            self._sockets.remove(socket)
        return socket

    # -- response_url and uploads ------------------------------------------------------

    async def _response(self, request: web.Request) -> web.Response:
        rid = request.match_info["id"]
        if rid not in self.responses:
            return web.Response(status=404, text="expired_url")
        posted = await request.json()
        if not _valid_blocks(posted.get("blocks") or []):
            return web.Response(status=400, text="invalid_blocks")
        self.responses[rid].append(posted)
        self.response_times.setdefault(rid, []).append(time.monotonic())
        await self._notify()
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["id"]] = await request.read()
        await self._notify()
        return web.Response(text="OK - uploaded")

    # -- Web API -----------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.body_exists:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(dict(await request.post()))
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        token = token or args.pop("token", None)
        call = Call(method, args, token)
        self.calls.append(call)
        limit = self._rate_limits.get(method)
        if limit and limit[0] > 0:
            limit[0] -= 1
            await self._notify()
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(limit[1])},
            )
        if self.history_delay and method in ("conversations.history", "conversations.replies"):
            await self._notify()  # the call is seen at once; its answer comes later
            await asyncio.sleep(self.history_delay)  # a slow platform: the wire waits
        failing = self._failing.get(method)
        if failing and failing[0] > 0:
            failing[0] -= 1
        elif failing and failing[1] > 0:
            failing[1] -= 1
            await self._notify()
            return web.json_response({"ok": False, "error": failing[2]})
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            await self._notify()
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        needed = NEEDED_SCOPES.get(method, ())
        if needed and not set(needed) & set(self.scopes):
            body = {"ok": False, "error": "missing_scope", "needed": needed[0]}
        elif handler is None:
            body: dict[str, Any] = {"ok": False, "error": "unknown_method"}
        else:
            body = handler(args)
        args["_ok"] = body.get("ok", False)
        if method == "chat.postMessage" and body.get("ok") and self.echo_own_messages:
            await self._echo(body["channel"], body["message"])
        headers = {}
        if method == "auth.test":
            headers["x-oauth-scopes"] = ",".join(self.scopes)
        await self._notify()
        return web.json_response(body, headers=headers)

    def _channel(self, args: Mapping[str, Any]) -> FakeChannel | None:
        return self.channels.get(str(args.get("channel", "")))

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.test/",
            "team": "Fake Team",
            "user": "facilitator",
            "team_id": self.team_id,
            "user_id": self.bot_user,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/"}

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if self.bot_user not in channel.members:
            return {"ok": False, "error": "not_in_channel"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if blocks is not None and not _valid_blocks(blocks):
            return {"ok": False, "error": "invalid_blocks"}
        if len(str(args.get("text", ""))) > 40_000:
            return {"ok": False, "error": "msg_too_long"}
        message = self.add_message(
            channel.id,
            self.bot_user,
            str(args.get("text", "")),
            thread_ts=args.get("thread_ts"),
            bot_id=self.bot_id,
        )
        if blocks is not None:
            message["blocks"] = blocks
        metadata = args.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if isinstance(metadata, dict):
            message["metadata"] = metadata
            key = str((metadata.get("event_payload") or {}).get("key"))
            self.creations_per_metadata_key[key] = self.creations_per_metadata_key.get(key, 0) + 1
        shown = {k: v for k, v in message.items() if k != "metadata"}
        return {"ok": True, "channel": channel.id, "ts": message["ts"], "message": shown}

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._post(args)

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        message = self._find(channel.id, str(args.get("ts")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message["text"] = args.get("text", "")
        return {"ok": True, "channel": channel.id, "ts": message["ts"]}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self.next_ts()}

    def _reaction(self, args: dict[str, Any], add: bool) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        message = self._find(channel.id, str(args.get("timestamp")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        name = str(args.get("name"))
        reactions: list[dict[str, Any]] = message.setdefault("reactions", [])
        mine = next((r for r in reactions if r["name"] == name), None)
        if add:
            if mine and self.bot_user in mine["users"]:
                return {"ok": False, "error": "already_reacted"}
            if mine is None:
                mine = {"name": name, "users": [], "count": 0}
                reactions.append(mine)
            mine["users"].append(self.bot_user)
            mine["count"] += 1
        else:
            if mine is None or self.bot_user not in mine["users"]:
                return {"ok": False, "error": "no_reaction"}
            mine["users"].remove(self.bot_user)
            mine["count"] -= 1
        return {"ok": True}

    def _m_reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._reaction(args, True)

    def _m_reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._reaction(args, False)

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        if users not in self.users:
            return {"ok": False, "error": "user_not_found"}
        channel_id = "D" + users
        if channel_id not in self.channels:
            channel = self.add_channel(channel_id, users)
            channel.is_im = True
            channel.members.add(users)
        return {"ok": True, "channel": {"id": channel_id}}

    def _page(self, items: list[dict[str, Any]], args: Mapping[str, Any]) -> tuple[list[Any], str]:
        limit = int(args.get("limit") or 100)
        start = int(args.get("cursor") or 0)
        page = items[start : start + limit]
        more = start + limit < len(items)
        return page, str(start + limit) if more else ""

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if self.bot_user not in channel.members:
            return {"ok": False, "error": "not_in_channel"}
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or 1e12)
        top = [
            m
            for m in channel.messages
            if oldest < _number(m["ts"]) < latest and m.get("thread_ts", m["ts"]) == m["ts"]
        ]
        top.sort(key=lambda m: _number(m["ts"]), reverse=True)
        page, cursor = self._page(top, args)
        self.history_answered += 1
        return {
            "ok": True,
            "messages": _with_metadata(page, args),
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = str(args.get("ts"))
        oldest = float(args.get("oldest") or 0)
        parent = self._find(channel.id, ts)
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        replies = [
            m
            for m in channel.messages
            if m.get("thread_ts") == ts and m["ts"] != ts and _number(m["ts"]) > oldest
        ]
        replies.sort(key=lambda m: _number(m["ts"]))
        page, cursor = self._page([parent, *replies], args)
        return {
            "ok": True,
            "messages": _with_metadata(page, args),
            "has_more": bool(cursor),
            "response_metadata": {"next_cursor": cursor},
        }

    def _channel_json(self, channel: FakeChannel) -> dict[str, Any]:
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.is_im,
            "is_im": channel.is_im,
            "is_private": channel.is_private,
            "is_member": self.bot_user in channel.members,
        }

    def _m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": self._channel_json(channel)}

    def _m_conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        types = str(args.get("types") or "public_channel").split(",")
        if "private_channel" in types and "groups:read" not in self.scopes:
            return {"ok": False, "error": "missing_scope", "needed": "groups:read"}
        channels = [
            self._channel_json(c)
            for c in self.channels.values()
            if not c.is_im and ("private_channel" if c.is_private else "public_channel") in types
        ]
        page, cursor = self._page(channels, args)
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {
            "ok": True,
            "user": {
                "id": user.id,
                "team_id": self.team_id,
                "name": user.name,
                "real_name": user.name.title(),
                "tz": user.tz,
                "is_bot": user.is_bot,
                "profile": {"display_name": user.name, "real_name": user.name.title()},
            },
        }

    def _m_usergroups_list(self, args: dict[str, Any]) -> dict[str, Any]:
        groups = [
            {"id": g.id, "handle": g.handle, "name": g.handle} for g in self.usergroups.values()
        ]
        return {"ok": True, "usergroups": groups}

    def _m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(str(args.get("usergroup")))
        if group is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(group.users)}

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(args.get("trigger_id") or "")
        issued = trigger.removeprefix("trigger-")
        if not trigger.startswith("trigger-") or not issued.isdigit():
            return {"ok": False, "error": "invalid_trigger_id"}
        if trigger in self.used_triggers:  # a trigger opens one view
            return {"ok": False, "error": "trigger_exchanged"}
        if time.monotonic_ns() - int(issued) > 3_000_000_000:  # valid for 3 seconds
            return {"ok": False, "error": "expired_trigger_id"}
        self.used_triggers.add(trigger)
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        assert isinstance(view, dict)
        if (
            not _valid_blocks(view.get("blocks") or [], limit=100)
            or len(str(view.get("private_metadata") or "")) > 3000
        ):
            return {"ok": False, "error": "invalid_arguments"}
        for block in view.get("blocks") or []:
            element = block.get("element") or {}
            if element.get("type") == "static_select":
                options = element.get("options") or []
                if not options or len(options) > 100:
                    return {"ok": False, "error": "invalid_arguments"}
                if any(len(option["value"]) > 150 for option in options):
                    return {"ok": False, "error": "invalid_arguments"}
        view = {**view, "id": f"V{next(self._ids)}"}
        self.views.append(view)
        return {"ok": True, "view": view}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id", ""))
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        blocks = view.get("blocks") or []
        if not _valid_blocks(blocks, limit=100):
            return {"ok": False, "error": "invalid_blocks"}
        self.homes[user] = view
        self.home_publishes.append((user, time.monotonic()))
        return {"ok": True, "view": {**view, "id": f"VH{user}"}}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not args.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids)}"
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if isinstance(files, str):
            files = json.loads(files)
        assert isinstance(files, list)
        for item in files:
            if item["id"] not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}


def _number(ts: str) -> float:
    """A ts as a number; an unreadable one (a test planting garbage) sorts as the newest."""
    try:
        return float(ts)
    except ValueError:
        return 1e11


def _valid_blocks(blocks: list[dict[str, Any]], limit: int = 50) -> bool:
    """Slack's documented Block Kit limits that the bot must respect (50 blocks in a message,
    100 in a modal or Home tab)."""
    if len(blocks) > limit:
        return False
    for block in blocks:
        kind = block.get("type")
        if kind == "section" and len(block["text"]["text"]) > 3000:
            return False
        if kind == "header" and len(block["text"]["text"]) > 150:
            return False
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "static_select":
            options = accessory.get("options") or []
            if not 1 <= len(options) <= 100 or len(accessory["placeholder"]["text"]) > 150:
                return False
            for option in options:
                if len(option["text"]["text"]) > 75 or not 1 <= len(option["value"]) <= 150:
                    return False
            initial = accessory.get("initial_option")
            if initial is not None and initial not in options:
                return False
        if kind == "actions":
            elements = block["elements"]
            if len(elements) > 25:
                return False
            for element in elements:
                if len(element["text"]["text"]) > 75 or len(element.get("value", "")) > 2000:
                    return False
    return True


# -- signed requests to an HTTP endpoint ----------------------------------------------


def sign(secret: str, timestamp: int, body: str) -> str:
    """Slack's v0 signature of a request body."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


async def post_signed(
    session: aiohttp.ClientSession,
    url: str,
    body: str,
    *,
    content_type: str = "application/json",
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    retry_num: int | None = None,
) -> tuple[int, str]:
    """POST a body as Slack would (signed); returns (status, response text)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(secret, stamp, body),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    async with session.post(url, data=body.encode(), headers=headers) as response:
        return response.status, await response.text()


def event_callback(
    event: Mapping[str, Any], *, event_id: str, team_id: str = "T0001", event_time: int = 0
) -> dict[str, Any]:
    """An Events API `event_callback` body."""
    return {
        "token": "legacy",
        "team_id": team_id,
        "api_app_id": "A0001",
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time or int(time.time()),
        "authorizations": [
            {"team_id": team_id, "user_id": "UBOT", "is_bot": True, "enterprise_id": None}
        ],
    }


def message_event(
    channel: str,
    user: str,
    text: str,
    ts: str,
    *,
    thread_ts: str | None = None,
    channel_type: str = "channel",
    **extra: Any,
) -> dict[str, Any]:
    """A `message` event."""
    event = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": channel_type,
        **extra,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def slash_command(
    command: str,
    text: str,
    *,
    user: str,
    channel: str,
    response_url: str,
    team_id: str = "T0001",
    trigger_id: str = "",
    channel_name: str = "general",
) -> dict[str, str]:
    """A slash command's form fields."""
    return {
        "token": "legacy",
        "team_id": team_id,
        "team_domain": "fake",
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0001",
        "response_url": response_url,
        "trigger_id": trigger_id or f"trigger-{time.monotonic_ns()}",
    }


def form_body(fields: Mapping[str, str]) -> str:
    """Form-encode fields (slash commands, interactivity)."""
    return urllib.parse.urlencode(fields)


def block_actions(
    value: str,
    *,
    user: str,
    channel: str,
    message_ts: str,
    response_url: str,
    team_id: str = "T0001",
    action_id: str = "facilitator:0",
    picked: bool = False,
) -> dict[str, Any]:
    """A `block_actions` interactivity payload for a pressed button (or, `picked`, for the
    option whose value is `value` picked in a static select)."""
    action: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "block_id": "buttons",
        "value": value,
        "text": {"type": "plain_text", "text": "press"},
        "action_ts": f"{time.time():.6f}",
    }
    if picked:
        action = {
            "type": "static_select",
            "action_id": action_id,
            "block_id": "menu",
            "selected_option": {"text": {"type": "plain_text", "text": "pick"}, "value": value},
            "action_ts": f"{time.time():.6f}",
        }
    return {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": team_id},
        "api_app_id": "A0001",
        "token": "legacy",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "trigger_id": f"trigger-{time.monotonic_ns()}",
        "channel": {"id": channel, "name": "general"},
        "message": {"type": "message", "ts": message_ts, "user": "UBOT", "text": ""},
        "response_url": response_url,
        "actions": [action],
    }


def block_suggestion(
    view: Mapping[str, Any], block_id: str, value: str, *, user: str, team_id: str = "T0001"
) -> dict[str, Any]:
    """A `block_suggestion` payload: a member typed `value` into an external select."""
    element = next(b["element"] for b in view["blocks"] if b.get("block_id") == block_id)
    return {
        "type": "block_suggestion",
        "team": {"id": team_id, "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": team_id},
        "api_app_id": "A0001",
        "token": "legacy",
        "container": {"type": "view", "view_id": view.get("id")},
        "view": dict(view),
        "block_id": block_id,
        "action_id": element["action_id"],
        "value": value,
    }


def message_shortcut(
    callback_id: str,
    message: Mapping[str, Any],
    *,
    user: str,
    channel: str,
    response_url: str,
    team_id: str = "T0001",
    trigger_id: str = "",
) -> dict[str, Any]:
    """A `message_action` payload: a member chose a message shortcut on `message`."""
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "team": {"id": team_id, "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": team_id},
        "channel": {"id": channel, "name": "general"},
        "api_app_id": "A0001",
        "token": "legacy",
        "trigger_id": trigger_id or f"trigger-{time.monotonic_ns()}",
        "action_ts": f"{time.time():.6f}",
        "message_ts": message["ts"],
        "message": dict(message),
        "response_url": response_url,
    }


def app_home_opened(user: str, *, tab: str = "home") -> dict[str, Any]:
    """An `app_home_opened` event (a member opened the app's Home or Messages tab)."""
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + user,
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }


def home_press(value: str, *, user: str, team_id: str = "T0001", index: int = 0) -> dict[str, Any]:
    """A `block_actions` payload for a button on the member's Home tab (no channel, no
    response_url: Slack gives neither for a view)."""
    return {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": team_id},
        "api_app_id": "A0001",
        "token": "legacy",
        "container": {"type": "view", "view_id": f"VH{user}"},
        "trigger_id": f"trigger-{time.monotonic_ns()}",
        "view": {"id": f"VH{user}", "type": "home"},
        "actions": [
            {
                "type": "button",
                "action_id": f"facilitator:{index}",
                "block_id": "home",
                "value": value,
                "text": {"type": "plain_text", "text": "press"},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def view_submission(
    view: Mapping[str, Any], values: Mapping[str, str], *, user: str, team_id: str = "T0001"
) -> dict[str, Any]:
    """A `view_submission` payload for a modal the bot opened, with one value per input."""
    state: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        name = block["block_id"]
        if name not in values:
            state[name] = {element["action_id"]: {"type": element["type"], "value": None}}
            continue
        if element["type"] in ("static_select", "external_select"):
            option = {"text": {"type": "plain_text", "text": values[name]}, "value": values[name]}
            state[name] = {
                element["action_id"]: {"type": element["type"], "selected_option": option}
            }
        elif element["type"] == "users_select":
            picked = {"type": "users_select", "selected_user": values[name]}
            state[name] = {element["action_id"]: picked}
        elif element["type"] == "datepicker":
            picked = {"type": "datepicker", "selected_date": values[name]}
            state[name] = {element["action_id"]: picked}
        elif element["type"] == "timepicker":
            picked = {"type": "timepicker", "selected_time": values[name]}
            state[name] = {element["action_id"]: picked}
        else:
            state[name] = {element["action_id"]: {"type": element["type"], "value": values[name]}}
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": team_id},
        "api_app_id": "A0001",
        "trigger_id": f"trigger-{time.monotonic_ns()}",
        "view": {**view, "state": {"values": state}, "team_id": team_id},
    }


def _with_metadata(messages: list[dict[str, Any]], args: Mapping[str, Any]) -> list[Any]:
    """Messages as Slack lists them: their metadata only with `include_all_metadata`."""
    if str(args.get("include_all_metadata", "")).lower() in ("1", "true"):
        return messages
    return [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
