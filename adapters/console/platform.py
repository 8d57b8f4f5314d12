"""The console adapter: chat with the bot in a terminal, or pipe a script through it.

Input lines (see `translate.SYNTAX`): `alice: text`, `alice@resources: text`, `alice: /profile`,
`alice>12: reply in 12's thread`, `alice~12: edited text`, `alice-12` (delete),
`alice+12 :bookmark:` / `alice-12 :bookmark:` (react / unreact), `alice@dm: text` (a direct
message), `alice!press 3` (a button), `alice!form /goal set` (a form), `!clock +1d`, `!help`.

Every flow of the other platforms can be tried here: the bot's direct messages are answered
with `alice@dm: …`; buttons are numbered across the session and pressed by number; where
Slack opens a modal (a command that needs two or more arguments, typed bare) the console asks
for each argument in turn, checked as the typed command checks it. Times in what one member
alone reads (an answer only they see, a DM) are shown in the zone they set with `/timezone`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
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
    EventSink,
    HomeOpened,
    HomePage,
    InteractionRef,
    MemberRef,
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    MessageRef,
    Post,
    PublishHome,
    Purpose,
    React,
    ReactionAdded,
    ReactionRemoved,
    Secrets,
    SendDirect,
    Unreact,
)
from bot.core.commands import (
    CommandSpec,
    MessageAction,
    Param,
    ParamKind,
    Resolved,
    Role,
    UsageError,
    check_field,
    quoted,
    wants_form,
)
from bot.core.urls import extract_links

log = logging.getLogger("adapters.console")

PLATFORM = translate.PLATFORM
BOT_NAME = "Facilitator"


@dataclass(frozen=True, slots=True)
class _Posted:
    ref: MessageRef
    author: str  # member name, or "" for the bot
    text: str = ""  # as shown (the bot's: rendered), for the message shortcuts


@dataclass(frozen=True, slots=True)
class _Shown:
    """A button on screen: what it runs, the message it is on, who may press it."""

    label: str
    action: str
    message: MessageRef
    only: str | None  # the one member it was shown to (their answer, their DM), else None


@dataclass(slots=True)
class _Form:
    """A command whose arguments a member gives one at a time, as in a platform's modal."""

    path: tuple[str, ...]
    spec: CommandSpec
    channel: ChannelRef
    is_direct: bool
    values: dict[str, str]
    field: int = 0  # the parameter being asked for

    @property
    def param(self) -> Param:
        """The field being asked for."""
        return self.spec.params[self.field]


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
        self._answer_numbers = itertools.count(1)  # nor are answers (their buttons need a ref)
        self._posts: dict[int, _Posted] = {}
        self._by_ref: dict[MessageRef, int] = {}
        self._buttons: dict[int, _Shown] = {}  # numbered across the session, like posts
        self._forms: dict[str, _Form] = {}  # member name -> the form they are filling
        self._sent: dict[str, _Form] = {}  # member name -> the last form they sent
        self._told_dm: set[str] = set()  # members shown how to answer a DM
        # Each member's home page as last published; printed when they open it (`!home`),
        # kept quietly when refreshed, as Slack's Home tab changes unseen.
        self._homes: dict[str, HomePage] = {}
        # `alice!share 12`: each command offered in a message's menu, by its name
        self._shortcuts = {action.spec.name: action for action in commands.message_actions()}
        self._opening_home: set[str] = set()
        self._channels: dict[str, ChannelRef] = {}
        self._default: ChannelRef | None = None
        self._sink: EventSink | None = None
        self._reader: asyncio.Task[None] | None = None
        self._done = asyncio.Event()
        self._performing = asyncio.Lock()
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
            "commands, `alice@dm: hi` to write to the bot directly, `alice!press 1` to press "
            "button 1, `!help` for the syntax. End input (Ctrl-D) to quit."
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
        """Show what the bot does, in the order it was asked to."""
        # Looking up a reader's zone awaits the database: without the lock, two actions
        # performed at once (a DM and an answer) would print in whichever order it answers.
        async with self._performing:
            return await self._show(action)

    async def _show(self, action: Action) -> MessageRef | None:
        match action:
            case Post():
                thread = action.thread
                ref = MessageRef(
                    action.channel,
                    self._new_id(),
                    thread.thread or thread.message if thread else None,
                )
                number = self._remember(ref, "", action.content.text)
                where = f"#{action.channel.channel}" + (
                    f" (thread of {self._by_ref.get(thread, '?')})" if thread else ""
                )
                shown = self._render(action.content, self._zone(action.channel), ref)
                self._print(f"[{number}] {where} {BOT_NAME}: {shown}")
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
                member = action.member.member
                # Like the other platforms: a ref means delivered (None: the DM was refused).
                dm = translate.direct_channel(member)
                ref = MessageRef(dm, f"{self._session}.dm{next(self._direct_numbers)}")
                zone = await self._reader_zone(member, dm)
                self._print(f"✉ to {member}: {self._render(action.content, zone, ref, member)}")
                if action.content.attachment is not None:
                    self._save(member, action.content)
                if member not in self._told_dm:
                    self._told_dm.add(member)
                    self._print(f"  ↳ {member} answers with `{member}@{translate.DM}: …`")
                return ref
            case Answer():
                who = action.to.token.split(":", 1)[0]
                prefix = f"(only {who} sees this)" if action.ephemeral else f"{BOT_NAME}:"
                channel = action.to.channel or self._default
                assert channel is not None
                # Buttons need a message to be on: an answer is one, though nothing refers to it.
                on = MessageRef(channel, f"{self._session}.a{next(self._answer_numbers)}")
                zone = (
                    await self._reader_zone(who, channel)
                    if action.ephemeral
                    else self._zone(channel)
                )
                shown = self._render(action.content, zone, on, who if action.ephemeral else None)
                self._print(f"{prefix} {shown}")
            case PublishHome():
                member = action.member.member
                self._homes[member] = action.page
                if member in self._opening_home:
                    self._opening_home.discard(member)
                    await self._show_home(member)
            case Edit():
                only = self._dm_member(action.message.channel)
                zone = (
                    await self._reader_zone(only, action.message.channel)
                    if only is not None
                    else self._zone(action.message.channel)
                )
                shown = self._render(action.content, zone, action.message, only)
                self._print(f"[{self._number(action.message)}] {BOT_NAME} edited: {shown}")
        return None

    async def _show_home(self, member: str) -> None:
        """Print `member`'s home page, its buttons numbered for them alone."""
        page = self._homes[member]
        dm = translate.direct_channel(member)
        zone = await self._reader_zone(member, dm)
        on = MessageRef(dm, f"{self._session}.home{next(self._answer_numbers)}")
        parts = [f"⌂ {member}'s home page: {render.markup_text(page.title, zone).upper()}"]
        for panel in page.panels:
            text = f"— {panel.heading} —\n{panel.text}" if panel.text else f"— {panel.heading} —"
            parts.append(self._render(Content(text=text, buttons=panel.buttons), zone, on, member))
        self._print("\n".join(parts))

    # --- rendering ----------------------------------------------------------------------

    def _print(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    def _zone(self, channel: ChannelRef | None = None) -> ZoneInfo:
        """The zone of the community `channel` belongs to (the first community's otherwise)."""
        community = self._directory.community_for(channel) if channel is not None else None
        if community is None:
            return self._directory.communities[0].zone
        return self._directory.settings(community).zone

    async def _reader_zone(self, member: str, channel: ChannelRef) -> ZoneInfo:
        """The zone `member` set (`/timezone`), else the community's: they alone read this."""
        assert self._sink is not None
        name = await self._sink.reader_zone(MemberRef(PLATFORM, "", member))
        if name:
            try:
                return ZoneInfo(name)
            except (ValueError, KeyError):  # a zone tzdata no longer knows
                log.warning(
                    "console: %s's zone %r is unknown; showing the community's", member, name
                )
        return self._zone(channel)

    def _render(
        self, content: Content, zone: ZoneInfo, on: MessageRef, only: str | None = None
    ) -> str:
        """Content as text; its menus' options, then its buttons, get the next numbers of
        the session (a pick is a press)."""
        first = len(self._buttons) + 1
        choices = [(o.label, o.action) for menu in content.menus for o in menu.options]
        choices += [(button.label, button.action) for button in content.buttons]
        for number, (label, action) in enumerate(choices, first):
            self._buttons[number] = _Shown(label, action, on, only)
        return render.content(content, zone, first)

    def _dm_member(self, channel: ChannelRef) -> str | None:
        """The member whose conversation with the bot `channel` is, if it is one."""
        name = channel.channel
        if name.startswith("dm-") and name not in self._channels:
            return name.removeprefix("dm-")
        return None

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

    def _remember(self, ref: MessageRef, author: str, text: str = "") -> int:
        number = int(ref.message.rsplit(".", 1)[1])
        self._posts[number] = _Posted(ref, author, text)
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
            if press := translate.PRESS.match(line.strip()):
                await self._press(None, press.group("button") or "", key)
                return
            self._console_instruction(line.strip())
            return
        if match := translate.MEMBER_INSTRUCTION.match(line):
            await self._member_instruction(match, key)
            return
        if match := translate.REACT.match(line):
            posted = self._target(match.group("target"))
            if posted is None or not self._may_see(
                match.group("name"), posted, match.group("target")
            ):
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
        op, target = match.group("op"), match.group("target")
        form = self._forms.get(author.name)
        if form is not None and op is None:
            await self._fill(author, form, text, key)
            return
        channel = self._channel(match.group("channel"), author.name)
        if channel is None:
            return
        if op == "~":
            posted = self._target(target)
            if posted is None:
                return
            if posted.author != author.name:
                self._print(f"! {author.name} can only edit their own posts")
                return
            self._print(f"[{target}] #{posted.ref.channel.channel} {author.name} (edited): {text}")
            self._posts[int(target)] = _Posted(posted.ref, posted.author, text)
            await self._sink.deliver(
                MessageEdited(
                    key=key, ref=posted.ref, author=author, text=text, sent_at=now, edited_at=now
                )
            )
            return
        if text.lstrip().startswith("/"):
            path, rest = self._commands.split_line(text.lstrip())
            if op is None and self._opens_form(path, rest, author, channel):
                self._open_form(author.name, path, channel)
                return
            await self._invoke(author, channel, path, key, text=rest)
            return
        thread: str | None = None
        if op == ">":
            posted = self._target(target)
            if posted is None or not self._may_see(author.name, posted, target):
                return
            channel = posted.ref.channel
            thread = posted.ref.thread or posted.ref.message
        ref = MessageRef(channel, self._new_id(), thread)
        number = self._remember(ref, author.name, text)
        direct = self._dm_member(channel) is not None
        where = "✉ from" if direct else f"#{channel.channel}"
        where += f" (thread of {target})" if thread else ""
        self._print(f"[{number}] {where} {author.name}: {text}")
        await self._sink.deliver(
            MessageReceived(
                key=key,
                ref=ref,
                author=author,
                text=text,
                sent_at=now,
                cursor=None if direct else f"{number:012d}",
                is_direct=direct,
            )
        )

    async def _invoke(
        self,
        author: Author,
        channel: ChannelRef,
        path: tuple[str, ...],
        key: str,
        *,
        text: str = "",
        options: dict[str, str] | None = None,
    ) -> None:
        assert self._sink is not None
        reply_to = InteractionRef(PLATFORM, f"{author.name}:{key}", channel)
        await self._sink.deliver(
            CommandInvoked(
                key=key,
                path=path,
                author=author,
                channel=channel,
                invoked_at=self._clock.now(),
                reply_to=reply_to,
                text=text,
                options=options,
                is_direct=self._dm_member(channel) is not None,
            )
        )

    # --- buttons and forms ----------------------------------------------------------------

    async def _member_instruction(self, match: re.Match[str], key: str) -> None:
        name, instruction = match.group("name"), match.group("instruction")
        rest = (match.group("rest") or "").strip()
        if instruction == "press":
            await self._press(name, rest, key)
        elif instruction == "cancel":
            form = self._forms.pop(name, None)
            if form is None:
                self._print(f"! {name} has no form open")
            else:
                self._print(f"📝 {name} closed the form /{' '.join(form.path)}; nothing was sent")
        elif instruction == "form":
            self._form_instruction(name, rest)
        elif instruction == "send":
            await self._send_form(name, key)
        elif instruction == "home":
            await self._open_home(name, key)
        elif (shortcut := self._shortcuts.get(instruction)) is not None:
            self._shortcut(name, shortcut, rest)
        else:
            shortcuts = "".join(f"{name}!{command} N, " for command in self._shortcuts)
            self._print(
                f"! unknown instruction {quoted('!' + instruction)}; {name} can use "
                f"{name}!press N, {name}!form /command, {name}!send, {name}!cancel, "
                f"{shortcuts}{name}!home (see !help)"
            )

    async def _open_home(self, name: str, key: str) -> None:
        """`alice!home`: alice opens her home page (Slack's App Home tab); the page the bot
        publishes for the opening is printed."""
        assert self._sink is not None
        self._opening_home.add(name)
        await self._sink.deliver(
            HomeOpened(
                key=key,
                member=translate.author(name),
                channel=translate.direct_channel(name),
                opened_at=self._clock.now(),
            )
        )

    async def _press(self, name: str | None, given: str, key: str) -> None:
        assert self._sink is not None
        if not given.isdigit():
            who = name or "alice"
            self._print(
                f"! {quoted(given)} is not a button number; write {who}!press 3 (the number "
                "shown as [button 3: …])"
            )
            return
        shown = self._buttons.get(int(given))
        if shown is None:
            self._print(f"! there is no button {given}")
            return
        if name is None:
            if shown.only is None:
                self._print(
                    f"! everyone sees button {given}; say who presses it: alice!press {given}"
                )
                return
            name = shown.only
        elif shown.only is not None and shown.only != name:
            self._print(f"! only {shown.only} sees button {given}")
            return
        author = translate.author(name)
        self._print(f"  {name} pressed [button {given}: {shown.label}]")
        found = self._commands.form_for_line(shown.action)
        if found is not None and self._may_fill(found[0], author, shown.message.channel):
            # Finish of a self-evaluation: the fields it lacks are asked for, as in a modal.
            self._open_form(name, found[0].path, shown.message.channel, found[1])
            return
        await self._sink.deliver(
            ButtonPressed(
                key=key,
                action=shown.action,
                author=author,
                message=shown.message,
                pressed_at=self._clock.now(),
                reply_to=InteractionRef(PLATFORM, f"{name}:{key}", shown.message.channel),
            )
        )

    def _opens_form(
        self, path: tuple[str, ...], text: str, author: Author, channel: ChannelRef
    ) -> bool:
        """Would a platform with forms ask for this command's arguments in one (Slack's rule)?"""
        try:
            resolved = self._commands.resolve(path)
        except UsageError:
            return False
        if not wants_form(resolved.spec, text):
            return False
        return self._may_fill(resolved, author, channel)

    def _may_fill(self, resolved: Resolved, author: Author, channel: ChannelRef) -> bool:
        """Whether `author` is asked for the command's fields, rather than refused at once (a
        member would fill a facilitator's form only to be refused)."""
        if resolved.role is Role.FACILITATOR:
            community = self._directory.community_for(channel) or self._directory.default_community(
                PLATFORM
            )
            return community is not None and self._directory.is_facilitator(community, author)
        return True

    def _form_instruction(self, name: str, rest: str) -> None:
        if not rest:
            last = self._sent.get(name)
            if last is None:
                self._print(f"! write the command the form is for: {name}!form /goal set")
                return
            # the form again, as it was sent: after a refusal, fix one field, keep the rest
            again = _Form(last.path, last.spec, last.channel, last.is_direct, dict(last.values))
            self._forms[name] = again
            self._print(
                f"📝 /{' '.join(again.path)} again for {name}: `{name}: {translate.KEEP}` keeps "
                f"a field as it was sent, `{name}!send` sends it, `{name}!cancel` closes it."
            )
            self._ask(name, again)
            return
        if not rest.startswith("/"):
            self._print(f"! write the command the form is for: {name}!form /goal set")
            return
        path, extra = self._commands.split_line(rest)
        try:
            resolved = self._commands.resolve(path)
        except UsageError as problem:
            self._print(f"! {problem}; /help lists the commands")
            return
        if extra.strip():
            self._print(f"! a form starts empty; type {rest[:80]} to run it with those arguments")
            return
        if not resolved.spec.params:
            self._print(f"! /{' '.join(resolved.path)} takes no arguments; just type it")
            return
        channel = self._default
        assert channel is not None
        self._open_form(name, resolved.path, channel)

    def _shortcut(self, name: str, shortcut: MessageAction, given: str) -> None:
        """A platform's message shortcut (`alice!share 12`: a command offered in a message's
        menu): the command's form, the post's link filled in."""
        if not given.isdigit():
            self._print(f"! write the post's number: {name}!{shortcut.spec.name} 12")
            return
        posted = self._target(given)
        if posted is None:
            return
        if not self._may_see(name, posted, given):
            return
        found = extract_links(posted.text)
        if not found and shortcut.needs_link:
            self._print(f"! post {given} has no link for {shortcut.label}")
            return
        values = {shortcut.link: found[0].url} if found else {}
        channel = posted.ref.channel
        intro = f"{shortcut.label}: {shortcut.intro}"
        self._open_form(name, (shortcut.spec.name,), channel, values, intro=intro)

    def _open_form(
        self,
        name: str,
        path: tuple[str, ...],
        channel: ChannelRef,
        values: dict[str, str] | None = None,
        *,
        intro: str = "",
    ) -> None:
        spec = self._commands.resolve(path).spec
        form = _Form(path, spec, channel, self._dm_member(channel) is not None, dict(values or {}))
        # fields a shortcut filled in are not asked again
        while form.field < len(spec.params) - 1 and form.param.name in form.values:
            form.field += 1
        self._forms[name] = form
        if intro:
            self._print(f"📝 {intro}")
        self._print(
            f"📝 /{' '.join(path)}: a form for {name}, one field at a time. `{name}: …` fills "
            f"a field, `{name}: {translate.SKIP}` leaves an optional one empty, `{name}!send` "
            f"sends it once the required ones are filled, `{name}!cancel` closes it."
        )
        self._ask(name, form)

    def _ask(self, name: str, form: _Form) -> None:
        param = form.param
        kind = "" if param.required else ", optional"
        choices = ""
        if param.choices:
            choices = f" ({' | '.join(param.choices)})"
        elif param.kind is ParamKind.BOOLEAN:
            choices = " (on | off)"
        total = len(form.spec.params)
        done = all(p.name in form.values for p in form.spec.params if p.required)
        send = f" ({name}!send sends the form as it is)" if done else ""
        if param.name in form.values:
            now = quoted(form.values[param.name])
            send = f" (now {now}; `{name}: {translate.KEEP}` keeps it)" + send
        self._print(
            f"📝 {name}, {param.name} ({form.field + 1}/{total}{kind}): {param.help}{choices}"
            + send
        )

    async def _fill(self, author: Author, form: _Form, text: str, key: str) -> None:
        name, param = author.name, form.param
        if text.lstrip().startswith("/"):
            self._print(
                f"! {name} is filling the form /{' '.join(form.path)}: answer {param.name}, "
                f"or {name}!cancel to close it first"
            )
            return
        value = text.strip()
        if value == translate.KEEP and param.name in form.values:
            pass  # as it was sent
        elif value == translate.SKIP:
            if param.required:
                self._print(f"! {param.name} is required; {name}, {param.name} again:")
                return
            form.values.pop(param.name, None)
        else:
            try:
                check_field(form.spec, param, value)
            except UsageError as problem:
                self._print(f"! {str(problem).capitalize()}; {name}, {param.name} again:")
                return
            form.values[param.name] = value
        form.field += 1
        if form.field < len(form.spec.params):
            self._ask(name, form)
            return
        await self._send_form(name, key)

    async def _send_form(self, name: str, key: str) -> None:
        """Submit a form: the rest of its fields, all optional, stay empty."""
        form = self._forms.get(name)
        if form is None:
            self._print(f"! {name} has no form open")
            return
        missing = [
            param.name
            for param in form.spec.params
            if param.required and param.name not in form.values
        ]
        if missing:
            self._print(f"! {', '.join(missing)} still to fill; {name}, {form.param.name}:")
            return
        del self._forms[name]
        self._sent[name] = form
        self._print(f"📝 {name} sent /{' '.join(form.path)} ({name}!form opens it again)")
        author = translate.author(name)
        await self._invoke(author, form.channel, form.path, key, options=form.values)

    def _target(self, number: str) -> _Posted | None:
        posted = self._posts.get(int(number))
        if posted is None:
            self._print(f"! there is no post {number}")
        return posted

    def _may_see(self, member: str, posted: _Posted, number: str) -> bool:
        """Whether `member` can see post `number` (a DM only its member does); says why not."""
        owner = self._dm_member(posted.ref.channel)
        if owner is not None and owner != member:
            self._print(f"! post {number} is {owner}'s direct message")
            return False
        return True

    def _channel(self, name: str | None, member: str) -> ChannelRef | None:
        if name is None:
            return self._default
        if name == translate.DM:
            return translate.direct_channel(member)
        channel = self._channels.get(name)
        if channel is None:
            known = ", ".join(f"#{known}" for known in self._channels)
            self._print(
                f"! there is no channel #{name}; channels: {known} "
                f"(and {member}@{translate.DM}, {member}'s direct messages with the bot)"
            )
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
