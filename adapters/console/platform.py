"""The console adapter: chat with the bot in a terminal, or pipe a script through it.

Input lines (see `translate.SYNTAX`): `alice: text`, `alice@resources: text`, `alice: /profile`,
`alice>12: reply in 12's thread`, `alice~12: edited text`, `alice-12` (delete),
`alice+12 :bookmark:` / `alice-12 :bookmark:` (react / unreact), `!clock +1d`, `!help`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from adapters.console import render, translate
from bot.core import (
    Action,
    AdjustableClock,
    Answer,
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
    EventSink,
    InteractionRef,
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    MessageRef,
    Post,
    Purpose,
    React,
    ReactionAdded,
    ReactionRemoved,
    Secrets,
    SendDirect,
    Unreact,
)
from bot.core.commands import quoted

log = logging.getLogger("adapters.console")

PLATFORM = translate.PLATFORM
BOT_NAME = "Facilitator"


@dataclass(frozen=True, slots=True)
class _Posted:
    ref: MessageRef
    author: str  # member name, or "" for the bot


async def stdin_lines() -> AsyncIterator[bytes]:
    """Lines from standard input, read on a daemon thread (works for ttys, pipes and files)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def read() -> None:
        try:
            for line in sys.stdin.buffer:
                loop.call_soon_threadsafe(queue.put_nowait, line)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="console-stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line


class ConsolePlatform:
    """A platform whose members are lines of text and whose screen is a text stream."""

    name = PLATFORM
    capabilities = frozenset(
        {
            Capability.THREADS,
            Capability.REACTIONS,
            Capability.EPHEMERAL,
            Capability.FILES,
            Capability.DIRECT_MESSAGES,
            Capability.UNSOLICITED_DIRECT_MESSAGES,
            Capability.BUTTONS,
        }
    )

    def __init__(
        self,
        config: Config,
        directory: CommunityDirectory,
        commands: CommandTable,
        clock: Clock,
        *,
        lines: AsyncIterator[bytes] | None = None,
        out: TextIO | None = None,
        export_dir: Path = Path("exports"),
    ) -> None:
        self._config = config
        self._directory = directory
        self._commands = commands
        self._clock = clock
        self._lines = lines
        self._out = out or sys.stdout
        self._export_dir = export_dir
        self._session = uuid.uuid4().hex[:8]
        self._numbers = itertools.count(1)
        self._direct_numbers = itertools.count(1)  # DMs are not numbered posts
        self._posts: dict[int, _Posted] = {}
        self._by_ref: dict[MessageRef, int] = {}
        self._channels: dict[str, ChannelRef] = {}
        self._default: ChannelRef | None = None
        self._sink: EventSink | None = None
        self._reader: asyncio.Task[None] | None = None
        self._done = asyncio.Event()
        self._line_number = 0
        self._handled = 0

    # --- Platform -----------------------------------------------------------------------

    async def start(self, sink: EventSink) -> None:
        """Bind the console channels of every community and start reading input."""
        self._sink = sink
        for community in self._directory.communities:
            section = community.platforms.get(PLATFORM)
            if section is None:
                continue
            for name in section.all_channels():
                purposes: set[Purpose] = set()
                if name in section.channels:
                    purposes.add(Purpose.WATCHED)
                if name == section.announcements:
                    purposes.add(Purpose.ANNOUNCEMENTS)
                if name == section.digest:
                    purposes.add(Purpose.DIGEST)
                ref = ChannelRef(PLATFORM, "", name)
                sink.bind(ChannelBinding(ref, community.name, frozenset(purposes)))
                self._channels.setdefault(name, ref)
                if self._default is None:
                    self._default = ref
        if self._default is None:
            first = self._directory.communities[0]
            self._default = ChannelRef(PLATFORM, "", "general")
            sink.bind(ChannelBinding(self._default, first.name, frozenset({Purpose.WATCHED})))
            self._channels["general"] = self._default
        self._print(
            "Facilitator console: type `alice: hello` to speak as alice, `alice: /help` for "
            "commands, `!help` for the syntax. End input (Ctrl-D) to quit."
        )
        self._reader = asyncio.create_task(self._read(), name="console-reader")

    async def stop(self) -> None:
        """Stop reading input."""
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._done.set()

    async def wait_done(self) -> None:
        """Return once input has ended and every line has been handled."""
        await self._done.wait()

    async def perform(self, action: Action) -> MessageRef | None:
        """Show what the bot does."""
        match action:
            case Post():
                thread = action.thread
                ref = MessageRef(
                    action.channel,
                    self._new_id(),
                    thread.thread or thread.message if thread else None,
                )
                number = self._remember(ref, "")
                where = f"#{action.channel.channel}" + (
                    f" (thread of {self._by_ref.get(thread, '?')})" if thread else ""
                )
                self._print(f"[{number}] {where} {BOT_NAME}: {self._render(action.content)}")
                return ref
            case React():
                self._print(
                    f"  [{self._number(action.message)}] {BOT_NAME} reacted :{action.emoji}:"
                )
            case Unreact():
                self._print(
                    f"  [{self._number(action.message)}] {BOT_NAME} removed :{action.emoji}:"
                )
            case SendDirect():
                self._print(f"✉ to {action.member.member}: {self._render(action.content)}")
                if action.content.attachment is not None:
                    self._save(action.member.member, action.content)
                # Like the other platforms: a ref means delivered (None: the DM was refused).
                dm = ChannelRef(PLATFORM, "", f"dm-{action.member.member}")
                return MessageRef(dm, f"{self._session}.dm{next(self._direct_numbers)}")
            case Answer():
                who = action.to.token.split(":", 1)[0]
                prefix = f"(only {who} sees this)" if action.ephemeral else f"{BOT_NAME}:"
                self._print(f"{prefix} {self._render(action.content)}")
            case Edit():
                shown = self._render(action.content)
                self._print(f"[{self._number(action.message)}] {BOT_NAME} edited: {shown}")
        return None

    # --- rendering ----------------------------------------------------------------------

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    def _zone(self) -> ZoneInfo:
        return self._directory.communities[0].zone

    def _render(self, content: Content) -> str:
        return render.content(content, self._zone())

    def _save(self, member: str, content: Content) -> None:
        attachment = content.attachment
        assert attachment is not None
        try:
            self._export_dir.mkdir(parents=True, exist_ok=True)
            path = self._export_dir / Path(attachment.filename).name
            path.write_bytes(attachment.data)
            self._print(f"  (file for {member} written to {path})")
        except OSError as error:
            self._print(f"  (could not write the file for {member}: {error.strerror})")

    # --- input --------------------------------------------------------------------------

    def _new_id(self) -> str:
        return f"{self._session}.{next(self._numbers)}"

    def _remember(self, ref: MessageRef, author: str) -> int:
        number = int(ref.message.rsplit(".", 1)[1])
        self._posts[number] = _Posted(ref, author)
        self._by_ref[ref] = number
        return number

    def _number(self, ref: MessageRef) -> str:
        return str(self._by_ref.get(ref, "?"))

    async def _read(self) -> None:
        try:
            lines = self._lines if self._lines is not None else stdin_lines()
            async for raw in lines:
                self._line_number += 1
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    self._print(f"! line {self._line_number}: not valid UTF-8; skipped")
                    continue
                line = translate.clean(line)
                if not line.strip():
                    continue
                try:
                    await self.handle_line(line)
                except Exception:
                    log.exception("console line %d could not be handled", self._line_number)
                    self._print(f"! line {self._line_number}: something went wrong; see the log")
                assert self._sink is not None
                await self._sink.drain()  # one line's effects are shown before the next
        finally:
            self._done.set()

    async def handle_line(self, line: str) -> None:
        """Turn one input line into an event (or a console instruction)."""
        assert self._sink is not None
        now = self._clock.now()
        self._handled += 1
        key = f"console:{self._session}:{self._handled}"
        if line.startswith("!"):
            self._console_instruction(line.strip())
            return
        if match := translate.REACT.match(line):
            posted = self._target(match.group("target"))
            if posted is None:
                return
            author = translate.author(match.group("name"))
            emoji = match.group("emoji")
            if match.group("op") == "+":
                self._print(f"  [{match.group('target')}] {author.name} reacted :{emoji}:")
                await self._sink.deliver(
                    ReactionAdded(
                        key=key, message=posted.ref, author=author, emoji=emoji, reacted_at=now
                    )
                )
            else:
                await self._sink.deliver(
                    ReactionRemoved(
                        key=key, message=posted.ref, author=author, emoji=emoji, removed_at=now
                    )
                )
            return
        if match := translate.DELETE.match(line):
            posted = self._target(match.group("target"))
            if posted is None:
                return
            if posted.author != match.group("name"):
                self._print(f"! {match.group('name')} can only delete their own posts")
                return
            self._print(f"  [{match.group('target')}] deleted")
            await self._sink.deliver(MessageDeleted(key=key, ref=posted.ref, deleted_at=now))
            return
        match = translate.LINE.match(line)
        if match is None:
            self._print(f"! line {self._line_number}: not understood. {translate.SYNTAX}")
            return
        author = translate.author(match.group("name"))
        text = match.group("text")
        channel = self._channel(match.group("channel"))
        if channel is None:
            return
        op, target = match.group("op"), match.group("target")
        if op == "~":
            posted = self._target(target)
            if posted is None:
                return
            if posted.author != author.name:
                self._print(f"! {author.name} can only edit their own posts")
                return
            self._print(f"[{target}] #{posted.ref.channel.channel} {author.name} (edited): {text}")
            await self._sink.deliver(
                MessageEdited(
                    key=key, ref=posted.ref, author=author, text=text, sent_at=now, edited_at=now
                )
            )
            return
        if text.lstrip().startswith("/"):
            path, rest = self._commands.split_line(text.lstrip())
            reply_to = InteractionRef(PLATFORM, f"{author.name}:{key}", channel)
            await self._sink.deliver(
                CommandInvoked(
                    key=key,
                    path=path,
                    author=author,
                    channel=channel,
                    invoked_at=now,
                    reply_to=reply_to,
                    text=rest,
                )
            )
            return
        thread: str | None = None
        if op == ">":
            posted = self._target(target)
            if posted is None:
                return
            channel = posted.ref.channel
            thread = posted.ref.thread or posted.ref.message
        ref = MessageRef(channel, self._new_id(), thread)
        number = self._remember(ref, author.name)
        where = f"#{channel.channel}" + (f" (thread of {target})" if thread else "")
        self._print(f"[{number}] {where} {author.name}: {text}")
        await self._sink.deliver(
            MessageReceived(
                key=key, ref=ref, author=author, text=text, sent_at=now, cursor=f"{number:012d}"
            )
        )

    def _target(self, number: str) -> _Posted | None:
        posted = self._posts.get(int(number))
        if posted is None:
            self._print(f"! there is no post {number}")
        return posted

    def _channel(self, name: str | None) -> ChannelRef | None:
        if name is None:
            return self._default
        channel = self._channels.get(name)
        if channel is None:
            known = ", ".join(f"#{known}" for known in self._channels)
            self._print(f"! there is no channel #{name}; channels: {known}")
        return channel

    def _console_instruction(self, line: str) -> None:
        if line == "!help":
            self._print(translate.SYNTAX)
            return
        match = translate.CLOCK.match(line)
        if match is None:
            clock_line = translate.CLOCK_ANY.match(line)
            if clock_line is not None:
                given = quoted(clock_line.group("given") or "")
                self._print(f"! {given} is not a duration; write {translate.CLOCK_FORMS}")
                return
            self._print(f"! unknown instruction {quoted(line.split()[0])}; try !help")
            return
        moment = self._clock.now()
        if match.group("amount") is not None:
            if not hasattr(self._clock, "advance"):
                self._print("! this clock cannot be moved")
                return
            amount = int(match.group("amount")) * (-1 if match.group("sign") == "-" else 1)
            clock: AdjustableClock = self._clock  # type: ignore[assignment]
            try:
                delta = timedelta(**{translate.UNITS[match.group("unit")]: amount})
                moment = clock.advance(delta)
            except OverflowError:
                self._print(
                    f"! {quoted(line[7:].strip())} is too far; write {translate.CLOCK_FORMS}"
                )
                return
        local = moment.astimezone(self._zone())
        self._print(f"🕒 {local:%a %d %b %Y %H:%M %Z}")


def create_platform(
    config: Config,
    secrets: Secrets,
    directory: CommunityDirectory,
    commands: CommandTable,
    clock: Clock,
) -> ConsolePlatform:
    """The console on standard input and output."""
    return ConsolePlatform(config, directory, commands, clock)
