"""One small driver per platform, so that one suite of cases runs against every adapter.

A driver starts the real application with one small community (#general and #resources,
a member `alice`), acts as `alice` the way the platform lets a person act, and reads back what
the platform received from the bot. Messages are named by the reference the bot stores them
under (`str(MessageRef)`), so a case can look them up in the database without knowing the
platform.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from adapters.console.platform import ConsolePlatform
from adapters.discord.platform import DiscordPlatform
from adapters.slack.platform import SlackPlatform
from bot.app import Application
from bot.core.clock import ManualClock
from bot.core.commands import parse_arguments
from bot.core.platform import Capability
from tests.fakes.slack_server import FakeSlack, block_actions, message_event
from tests.helpers import (
    ConsoleStory,
    DiscordStory,
    SlackStory,
    World,
    make_config,
    make_world,
    story_config,
)

WITHIN = 10.0  # seconds any one effect may take on a busy two-core machine

# What every community in this suite turns off: no welcome DMs or threads crossing the cases.
MEMBERS: dict[str, Any] = {"welcome": False}


async def eventually(
    check: Callable[[], object],
    *,
    app: Application | None = None,
    within: float = WITHIN,
    what: str = "condition",
) -> None:
    """Poll `check` (sync, or returning an awaitable) until its result is truthy; drain `app`
    before each try. Bounded by `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if app is not None:
            await app.drain()
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what} never held within {within:.0f} s")
        await asyncio.sleep(0.01)


@dataclass
class Reply:
    """What the caller was shown in answer to a command or a button press."""

    text: str
    private: bool
    buttons: list[str] = field(default_factory=list)  # each button's action (a command line)
    handle: Any = None  # what the driver needs to press a button on it


class Driver(Protocol):
    """Act as member `alice` on one platform and read what that platform received."""

    name: str
    capabilities: frozenset[Capability]
    redelivers: bool  # the platform can deliver one event twice (retries, RESUME replays)

    @property
    def app(self) -> Application:
        """The running application (its `database` is what the cases read)."""
        ...

    async def __aenter__(self) -> Driver: ...

    async def __aexit__(self, *_: object) -> None: ...

    async def post(self, text: str) -> str:
        """Alice posts `text` in the watched #general; returns the message's stored ref."""
        ...

    async def reply(self, root: str, text: str) -> str:
        """Alice replies in the thread of message `root` (a ref); returns the reply's ref."""
        ...

    async def redeliver(self, ref: str) -> None:
        """The platform delivers the event of message `ref` once more (same event id)."""
        ...

    async def command(self, line: str) -> Reply:
        """Alice runs the command `line` (e.g. "profile") in #general; returns the answer."""
        ...

    async def press(self, reply: Reply, action: str) -> Reply:
        """Alice presses the button whose action is `action` on the bot's `reply`."""
        ...

    async def direct_message(self, text: str) -> None:
        """Alice writes `text` to the bot in a direct message."""
        ...

    def reactions(self, ref: str) -> list[str]:
        """Every reaction the bot put on message `ref` (by emoji name), in order."""
        ...

    def direct_messages(self) -> list[str]:
        """The text of every direct message the bot sent alice, in order."""
        ...


def _native(ref: str) -> str:
    """The platform's own id of a message, from its stored ref."""
    return ref.rsplit("/", 1)[1]


# --------------------------------------------------------------------------------- Discord

_EMOJI_NAMES = {"🔖": "bookmark"}


class DiscordDriver:
    """The real discord.py client against tests/fakes/discord_server.py."""

    name = "discord"
    capabilities = DiscordPlatform.capabilities
    redelivers = True

    def __init__(self, db_url: str, clock: ManualClock) -> None:
        self._db_url = db_url
        self._clock = clock
        self._world: World | None = None
        self._story: DiscordStory | None = None
        self._payloads: dict[str, dict[str, Any]] = {}

    @property
    def world(self) -> World:
        assert self._world is not None, "not started"
        return self._world

    @property
    def app(self) -> Application:
        assert self._story is not None, "not started"
        return self._story.app

    async def __aenter__(self) -> DiscordDriver:
        self._world = await make_world()
        world = self._world
        config = make_config(
            self._db_url,
            discord={"api_base_url": world.fake.api_base},
            console={"enabled": False},
            fetch={"previews": False},
            communities=[
                {
                    "name": "school",
                    "timezone": "Europe/Berlin",
                    "members": MEMBERS,
                    "discord": {
                        "guild": world.guild,
                        "channels": ["general", "resources"],
                        "announcements": "general",
                        "facilitator_roles": ["Facilitators"],
                    },
                }
            ],
        )
        self._story = DiscordStory(config, self._clock)
        try:
            await self._story.__aenter__()
        except BaseException:
            await world.fake.stop()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        try:
            if self._story is not None:
                await self._story.__aexit__()
        finally:
            await self.world.fake.stop()

    def _ref(self, message_id: str) -> str:
        return f"discord:{self.world.guild}/{self.world.general}/{message_id}"

    async def post(self, text: str) -> str:
        sent = await self.world.fake.message(self.world.general, self.world.alice, text)
        ref = self._ref(sent["id"])
        self._payloads[ref] = sent
        return ref

    async def reply(self, root: str, text: str) -> str:
        fake, root_id = self.world.fake, _native(root)
        if root_id not in fake.channels:  # a member opens a thread on the message
            fake.add_thread(self.world.general, root_id, "a thread")
        sent = await fake.message(root_id, self.world.alice, text)
        ref = self._ref(sent["id"])
        self._payloads[ref] = sent
        return ref

    async def redeliver(self, ref: str) -> None:
        await self.world.fake.dispatch("MESSAGE_CREATE", dict(self._payloads[ref]))

    async def _answer(self, sent: dict[str, Any]) -> Reply:
        fake = self.world.fake
        await fake.wait_for_request("POST", rf"/interactions/{sent['id']}/[^/]+/callback")
        responses = fake.interaction_responses[sent["token"]]

        def final() -> bool:  # an answer, or a deferral then its edit
            return responses[0].get("type") == 4 or len(responses) > 1

        await eventually(final, what="the interaction's answer")
        first = responses[0]
        last = responses[-1] if len(responses) > 1 else first
        data = last.get("data", last)
        buttons = [
            component["custom_id"]
            for row in data.get("components") or []
            for component in row.get("components", [])
            if component.get("type") == 2 and "custom_id" in component
        ]
        flags = int(first.get("data", {}).get("flags") or 0)
        return Reply(
            text=str(data.get("content") or ""),
            private=bool(flags & 64),
            buttons=buttons,
            handle=data,
        )

    async def command(self, line: str) -> Reply:
        path, rest = self.app.commands.split_line(line)
        options: list[dict[str, Any]] = []
        if rest.strip():  # typed as Discord's client sends them: one option per argument
            spec = self.app.commands.resolve(path).spec
            values = parse_arguments(spec, rest)
            options = [{"name": name, "type": 3, "value": str(v)} for name, v in values.items()]
        if len(path) > 1:
            options = [{"name": path[1], "type": 1, "options": options}]
        sent = await self.world.fake.interaction(
            self.world.general, self.world.alice, path[0], options
        )
        return await self._answer(sent)

    async def press(self, reply: Reply, action: str) -> Reply:
        fake = self.world.fake
        shown = reply.handle or {}
        message = fake.message_payload(
            self.world.general,
            str(fake.bot_id),
            str(shown.get("content") or ""),
            components=shown.get("components"),
        )
        message["flags"] = 64 if reply.private else 0
        sent = await fake.interaction(
            self.world.general, self.world.alice, "", component=action, message=message
        )
        return await self._answer(sent)

    async def direct_message(self, text: str) -> None:
        fake = self.world.fake
        channel = fake.dm_channels.get(self.world.alice)
        if channel is None:  # alice opens the DM herself
            channel = fake.new_id()
            fake.dm_channels[self.world.alice] = channel
            fake.channels[channel] = {
                "id": channel,
                "type": 1,
                "recipients": [fake.users[self.world.alice]],
                "last_message_id": None,
            }
            fake.messages[channel] = {}
        await fake.message(channel, self.world.alice, text)

    def reactions(self, ref: str) -> list[str]:
        pattern = rf"/channels/\d+/messages/{_native(ref)}/reactions/[^/]+/@me"
        names = []
        for request in self.world.fake.requests_to("PUT", pattern):
            emoji = urllib.parse.unquote(request.path.split("/reactions/", 1)[1].split("/")[0])
            names.append(_EMOJI_NAMES.get(emoji, emoji))
        return names

    def direct_messages(self) -> list[str]:
        fake = self.world.fake
        channel = fake.dm_channels.get(self.world.alice)
        if channel is None:
            return []
        return [
            str(message["content"])
            for message in fake.messages.get(channel, {}).values()
            if message["author"]["id"] == str(fake.bot_id)
        ]


# ----------------------------------------------------------------------------------- Slack


class SlackDriver:
    """The real slack-bolt app over Socket Mode against tests/fakes/slack_server.py."""

    name = "slack"
    capabilities = SlackPlatform.capabilities
    redelivers = True
    member = "UALICE"
    channel = "C0GENERAL"

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self._fake: FakeSlack | None = None
        self._story: SlackStory | None = None
        self._events: dict[str, tuple[dict[str, Any], str]] = {}  # ref -> (event, event id)
        self._ids = 0

    @property
    def fake(self) -> FakeSlack:
        assert self._fake is not None, "not started"
        return self._fake

    @property
    def app(self) -> Application:
        assert self._story is not None, "not started"
        return self._story.app

    @property
    def story(self) -> SlackStory:
        assert self._story is not None, "not started"
        return self._story

    async def __aenter__(self) -> SlackDriver:
        fake = FakeSlack()
        fake.add_channel("C0GENERAL", "general")
        fake.add_channel("C0RESOURCE", "resources")
        fake.add_user("UALICE", "alice", tz="Europe/Berlin")
        fake.add_user("UFRAN", "fran")
        fake.add_usergroup("S0FACILS", "facilitators", ["UFRAN"])
        await fake.start()
        self._fake = fake
        config = story_config(fake, self._tmp_path, members=MEMBERS)
        self._story = SlackStory(fake, config)
        try:
            await self._story.__aenter__()
        except BaseException:
            await fake.stop()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        try:
            if self._story is not None:
                await self._story.__aexit__()
        finally:
            await self.fake.stop()

    def _event_id(self) -> str:
        self._ids += 1
        return f"EvContract{self._ids}"

    def _ref(self, channel: str, ts: str) -> str:
        return f"slack:{self.fake.team_id}/{channel}/{ts}"

    async def _send(self, channel: str, text: str, **options: Any) -> str:
        if channel in self.fake.channels:
            ts = self.fake.add_message(
                channel, self.member, text, thread_ts=options.get("thread_ts")
            )["ts"]
        else:
            ts = self.fake.next_ts()
        event = message_event(channel, self.member, text, ts, **options)
        event_id = self._event_id()
        await self.story.event(event, event_id)
        ref = self._ref(channel, ts)
        self._events[ref] = (event, event_id)
        return ref

    async def post(self, text: str) -> str:
        return await self._send(self.channel, text)

    async def reply(self, root: str, text: str) -> str:
        return await self._send(self.channel, text, thread_ts=_native(root))

    async def redeliver(self, ref: str) -> None:
        event, event_id = self._events[ref]
        await self.story.event(event, event_id, retry=1)  # an Events API retry

    @staticmethod
    def _reply(post: dict[str, Any]) -> Reply:
        blocks = post.get("blocks") or []
        sections = [b["text"]["text"] for b in blocks if b.get("type") == "section"]
        buttons = [
            str(element["value"])
            for block in blocks
            if block.get("type") == "actions"
            for element in block.get("elements", [])
            if element.get("type") == "button"
        ]
        return Reply(
            text="\n".join(sections) or str(post.get("text") or ""),
            private=post.get("response_type") == "ephemeral",
            buttons=buttons,
            handle=post,
        )

    async def _answer(self, posts: list[dict[str, Any]]) -> Reply:
        await eventually(lambda: bool(posts), app=self.app, what="the response_url post")
        return self._reply(posts[0])

    async def command(self, line: str) -> Reply:
        return await self._answer(await self.story.command(line, self.member, self.channel))

    async def press(self, reply: Reply, action: str) -> Reply:
        url = self.fake.new_response_url()
        pressed = block_actions(
            action,
            user=self.member,
            channel=self.channel,
            message_ts=self.fake.next_ts(),
            response_url=url,
        )
        await self.fake.wait_ack(await self.fake.push_envelope("interactive", pressed))
        return await self._answer(self.fake.responses[url.rsplit("/", 1)[1]])

    async def direct_message(self, text: str) -> None:
        await self._send(f"D{self.member}", text, channel_type="im")

    def reactions(self, ref: str) -> list[str]:
        _, channel, ts = ref.split(":", 1)[1].split("/")
        return [
            str(call.args["name"])
            for call in self.fake.calls_to("reactions.add")
            if call.args.get("_ok")
            and call.args.get("channel") == channel
            and call.args.get("timestamp") == ts
        ]

    def direct_messages(self) -> list[str]:
        return [str(post.get("text") or "") for post in self.fake.posted(f"D{self.member}")]


# --------------------------------------------------------------------------------- Console

_POSTED = re.compile(r"^\[(\d+)\] #\S+(?: \(thread of \d+\))? alice: ", re.MULTILINE)
_BUTTON = re.compile(r"\[button (\d+): .*? → /(.+?)\]")


class ConsoleDriver:
    """The console adapter, typed at line by line (tests/console_harness.py)."""

    name = "console"
    capabilities = ConsolePlatform.capabilities
    redelivers = False  # every typed line is a new event: nothing is ever delivered twice

    def __init__(self, db_url: str, clock: ManualClock, tmp_path: Path) -> None:
        config = make_config(
            db_url,
            fetch={"previews": False},
            communities=[
                {
                    "name": "demo",
                    "timezone": "Europe/Berlin",
                    "members": MEMBERS,
                    "console": {"channels": ["general", "resources"]},
                }
            ],
        )
        self._story = ConsoleStory(config, clock, tmp_path / "exports")
        self._numbers: dict[str, int] = {}  # ref -> the post's number on screen

    @property
    def app(self) -> Application:
        return self._story.app

    async def __aenter__(self) -> ConsoleDriver:
        await self._story.__aenter__()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._story.__aexit__()

    async def _say(self, line: str) -> str:
        return await self._story.say(line)

    def _screen(self) -> str:
        """Everything the console printed so far."""
        return self._story.out.getvalue()

    def _posted(self, shown: str) -> str:
        match = _POSTED.search(shown)
        assert match is not None, f"the console did not show the post: {shown!r}"
        number = int(match.group(1))
        ref = str(self._story.console._posts[number].ref)
        self._numbers[ref] = number
        return ref

    async def post(self, text: str) -> str:
        return self._posted(await self._say(f"alice: {text}"))

    async def reply(self, root: str, text: str) -> str:
        return self._posted(await self._say(f"alice>{self._numbers[root]}: {text}"))

    async def redeliver(self, ref: str) -> None:
        raise NotImplementedError("the console never delivers one line twice")

    async def command(self, line: str) -> Reply:
        shown = await self._say(f"alice: /{line}")
        return Reply(
            text=shown,
            private="(only alice sees this)" in shown,
            buttons=[action for _, action in _BUTTON.findall(shown)],
            handle=shown,
        )

    async def press(self, reply: Reply, action: str) -> Reply:
        numbers = [number for number, shown in _BUTTON.findall(reply.handle) if shown == action]
        assert numbers, f"no button {action!r} in {reply.handle!r}"
        shown = await self._say(f"alice!press {numbers[0]}")
        return Reply(
            text=shown,
            private="(only alice sees this)" in shown,
            buttons=[action for _, action in _BUTTON.findall(shown)],
            handle=shown,
        )

    async def direct_message(self, text: str) -> None:
        await self._say(f"alice@dm: {text}")

    def reactions(self, ref: str) -> list[str]:
        number = self._numbers.get(ref)
        pattern = re.compile(rf"^\s*\[{number}\] Facilitator reacted :([^:\s]+):", re.MULTILINE)
        return pattern.findall(self._screen())

    def direct_messages(self) -> list[str]:
        parts = self._screen().split("✉ to alice: ")[1:]
        return [part.split("\n✉", 1)[0].split("\n  ↳ ", 1)[0] for part in parts]
