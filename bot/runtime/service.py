"""What every service implements, and what handlers receive.

Services get their collaborators through `__init__`; handlers get a `Transaction` (one
database transaction shared with the de-duplication key) and return actions, or emit
effects with it. Every one is an outbox row written in that transaction; only the outbox's
deliverer talks to platforms.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from aiohttp import web

from bot.core.actions import BUTTON_COMMAND_LIMIT, Action, Answer, Button, Content
from bot.core.commands import ArgumentValue, CommandSpec, command_line
from bot.core.config import CommunitySettings
from bot.core.events import (
    Author,
    ButtonPressed,
    CommandInvoked,
    Event,
    MessageReceived,
    Subject,
)
from bot.core.i18n import Catalog
from bot.core.markup import escape
from bot.core.refs import InteractionRef
from bot.core.suggestions import MAX_SUGGESTIONS, Suggestion
from bot.runtime.outbox import Effect, lane_of
from bot.runtime.scheduler import Job
from bot.runtime.sections import SectionProvider
from bot.storage import Connection


@dataclass(slots=True)
class Transaction:
    """One open database transaction: the effects emitted with it are written in it, and
    `after_commit` work (no platform calls: caches, reloads, fetches) runs once it is
    durable."""

    conn: Connection
    now: datetime
    isolate: bool = True  # False on the dispatcher's fast path: no savepoints around services
    _after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    _answer_lanes: dict[InteractionRef, str] = field(default_factory=dict)

    def emit(self, effect: Effect | Action) -> None:
        """Write a side effect with this transaction (before the handler's returned actions);
        an `Effect` can carry a stable key and a hook run when the platform confirms it."""
        self.effects.append(effect if isinstance(effect, Effect) else Effect(action=effect))

    def answer_in_lane(self, interaction: InteractionRef, lane: str) -> None:
        """Deliver this transaction's answers to `interaction` in `lane`, after what was
        emitted there: the welcome, emitted in the newcomer's DM lane, reaches them before the
        answer to the command that was their first contact."""
        self._answer_lanes[interaction] = lane

    def outgoing(self, actions: Sequence[Action]) -> list[Effect | Action]:
        """What to write: the emitted effects, then the returned actions, each in its lane."""
        written: list[Effect | Action] = [*self.effects, *actions]
        if not self._answer_lanes:
            return written
        routed: list[Effect | Action] = []
        for item in written:
            effect = item if isinstance(item, Effect) else Effect(action=item)
            action = effect.action
            lane = self._answer_lanes.get(action.to) if isinstance(action, Answer) else None
            if lane is not None and effect.lane is None and lane != lane_of(action):
                routed.append(replace(effect, lane=lane))
            else:
                routed.append(item)
        return routed

    @contextlib.asynccontextmanager
    async def isolated(self) -> AsyncIterator[None]:
        """A savepoint: when the block raises, its writes, effects and work are undone."""
        effects, after, lanes = len(self.effects), len(self._after_commit), dict(self._answer_lanes)
        try:
            async with self.conn.begin_nested():
                yield
        except BaseException:
            del self.effects[effects:]
            del self._after_commit[after:]
            self._answer_lanes = lanes
            raise

    def after_commit(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` (in the background) after this transaction commits. Platform effects
        are never work of this kind: `emit` them (or return them), so they are written with
        their cause."""
        self._after_commit.append(work)

    def take_after_commit(self) -> list[Callable[[], Awaitable[None]]]:
        """Hand over the queued work (the dispatcher calls this after commit)."""
        work, self._after_commit = self._after_commit, []
        return work


@dataclass(frozen=True, slots=True)
class Delivered:
    """An event with the community it belongs to, resolved by the dispatcher."""

    event: Event
    community: CommunitySettings
    texts: Catalog
    is_facilitator: bool
    is_watched: bool


@dataclass(frozen=True, slots=True)
class Invocation:
    """A parsed, permitted command: `arguments` are already validated against its spec."""

    event: CommandInvoked | ButtonPressed
    path: tuple[str, ...]
    spec: CommandSpec
    arguments: Mapping[str, ArgumentValue]
    community: CommunitySettings
    texts: Catalog
    is_facilitator: bool
    prefix: str = "/"

    @property
    def author(self) -> Author:
        """Who ran the command."""
        return self.event.author

    @property
    def subject(self) -> Subject | None:
        """The message the command was run on (from a message's menu), if it was."""
        return self.event.subject if isinstance(self.event, CommandInvoked) else None

    def answer(self, text: str, *, ephemeral: bool | None = None, **extra: object) -> Answer:
        """An answer to the caller (private unless the command says otherwise)."""
        private = self.spec.private if ephemeral is None else ephemeral
        content = Content(text=text, **extra)  # type: ignore[arg-type]
        return Answer(to=self.event.reply_to, content=content, ephemeral=private)


    def refuse(self, text: str, *, ephemeral: bool | None = None) -> Answer:
        """An answer saying what was wrong with the arguments (a platform whose form they came
        from may offer it again, filled in)."""
        return replace(self.answer(text, ephemeral=ephemeral), refused=True)

    def no_such(self, problem: str, offers: Sequence[Offer], *, param: str = "id") -> Answer:
        """The answer to an id that names nothing: what was wrong, then what the caller may
        name instead (the few newest), each with a button that runs this command with it."""
        shown = list(offers[:OFFERED])
        if not shown:
            return self.answer(f"{problem}\n{self.texts('common.offers_none')}")
        lines = [problem, self.texts("common.offers")]
        buttons: list[Button] = []
        for offer in shown:
            detail = f" · {offer.detail}" if offer.detail else ""
            lines.append(f"• `{offer.id}` {escape(offer.label)}{detail}")
            line = command_line(self.path, self.spec, {**self.arguments, param: offer.id})
            if line is not None and len(line) <= BUTTON_COMMAND_LIMIT:
                label = f"{offer.id} · {offer.label}"
                label = label if len(label) <= 60 else label[:59].rstrip() + "…"
                buttons.append(Button(label=label, action=line))
        return self.answer("\n".join(lines), buttons=tuple(buttons))


# How many existing things a "no such id" answer offers: the newest few.
OFFERED = 5


@dataclass(frozen=True, slots=True)
class Offer:
    """Something that exists, offered when a command named what does not: its id as members
    type it (`3`, `L12`), a short plain label, and markup shown after it in the list."""

    id: str
    label: str
    detail: str = ""


CommandHandler = Callable[[Invocation, Transaction], Awaitable[list[Action]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class SuggestionQuery:
    """What a suggestion source is asked: the text typed so far, by whom, where."""

    typed: str
    member: str  # the caller's member ref: their own things first, others' private never
    community: CommunitySettings
    is_facilitator: bool
    now: datetime
    texts: Catalog
    limit: int = MAX_SUGGESTIONS


# Reads only (the connection is outside any batch); answers best first, at most `limit`.
SuggestionSource = Callable[[SuggestionQuery, Connection], Awaitable[list[Suggestion]]]
# Runs work in a transaction of its own that also writes the effects it emits and returns.
Runner = Callable[[Callable[[Transaction], Awaitable[list[Action]]]], Awaitable[list[Action]]]


def thread_replies(batch: Sequence[Delivered]) -> list[tuple[Delivered, MessageReceived, str]]:
    """The new messages in `batch` that reply in a thread, each with the thread root's id."""
    found: list[tuple[Delivered, MessageReceived, str]] = []
    for delivered in batch:
        event = delivered.event
        if (
            isinstance(event, MessageReceived)
            and event.ref.thread is not None
            and event.ref.thread != event.ref.message
        ):
            found.append((delivered, event, event.ref.thread))
    return found


class Service:
    """Base class of what a feature builds: override what the service needs.

    The runtime asks every service of every feature for its commands, its event handler,
    its scheduled jobs, its digest sections, its web routes and the member data it holds;
    `start` and `stop` bracket the running application.
    """

    name: str = "service"
    # True: `on_events` also gets the batch's commands and button presses (to see who made
    # contact), before they run; their handlers still answer them.
    sees_commands: bool = False

    def jobs(self) -> Sequence[Job]:
        """Scheduled work known at start (more may be added while running)."""
        return ()

    def digest_sections(self) -> Sequence[SectionProvider]:
        """Sections this service adds to the weekly digest."""
        return ()

    def web_routes(self) -> Sequence[web.AbstractRouteDef]:
        """HTTP routes this service serves on the web server."""
        return ()

    async def start(self) -> None:
        """Prepare before platforms connect (load schedules, sync configured data)."""

    async def stop(self) -> None:
        """Let go of what `start` or running took (background tasks, connections)."""

    async def forget_member(self, conn: Connection, member_ref: str) -> None:
        """Clean up after `/forget-me` erased the member's rows (e.g. rows left orphaned)."""

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """Declared commands with a handler per path, e.g. {("goal", "set"): self.set_goal}."""
        return ()

    def suggestions(self) -> Mapping[str, SuggestionSource]:
        """Suggestion sources by name (what a `Param.suggests` names), e.g. {"sessions": ...}."""
        return {}

    async def on_events(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        """Handle a batch of non-command events (may be called with a batch of one)."""
        return []
