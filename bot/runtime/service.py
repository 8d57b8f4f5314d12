"""What every service implements, and what handlers receive.

Services get their collaborators through `__init__`; handlers get a `Transaction` (one
database transaction shared with the de-duplication key) and return actions. Only the
dispatcher talks to platforms.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from bot.core.actions import Action, Answer, Content, SendDirect
from bot.core.commands import ArgumentValue, CommandSpec
from bot.core.config import CommunitySettings
from bot.core.events import Author, ButtonPressed, CommandInvoked, Event, MessageReceived
from bot.core.i18n import Catalog
from bot.core.refs import MessageRef
from bot.runtime.outbox import Effect
from bot.runtime.scheduler import Job
from bot.runtime.sections import SectionProvider
from bot.storage import Connection

log = logging.getLogger(__name__)

Perform = Callable[[Action], Awaitable[MessageRef | None]]


async def send_direct(perform: Perform, action: SendDirect, what: str) -> MessageRef | None:
    """Send a scheduled direct message; None when it could not be delivered (logged): one
    member whose DMs are closed must not fail, and so repeat, a whole run."""
    try:
        return await perform(action)
    except Exception:
        log.warning("could not send %s to %s", what, action.member, exc_info=True)
        return None


@dataclass(slots=True)
class Transaction:
    """One open database transaction; `after_commit` work runs only once it is durable."""

    conn: Connection
    now: datetime
    isolate: bool = True  # False on the dispatcher's fast path: no savepoints around services
    _after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _before_actions: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)

    def emit(self, effect: Effect | Action) -> None:
        """Write a side effect with this transaction (before the handler's returned actions);
        an `Effect` can carry a stable key and a hook run when the platform confirms it."""
        self.effects.append(effect if isinstance(effect, Effect) else Effect(action=effect))

    def after_commit(self, work: Callable[[], Awaitable[None]], *, first: bool = False) -> None:
        """Run `work` (in the background) after this transaction commits.

        With `first`, it runs before the transaction's actions are performed (a welcome must
        reach a newcomer before anything else the same batch says to them).
        """
        (self._before_actions if first else self._after_commit).append(work)

    def take_after_commit(self) -> list[Callable[[], Awaitable[None]]]:
        """Hand over the queued work (the dispatcher calls this after commit)."""
        work, self._after_commit = self._after_commit, []
        return work

    def take_before_actions(self) -> list[Callable[[], Awaitable[None]]]:
        """Hand over the work queued with `first=True` (run before the actions)."""
        work, self._before_actions = self._before_actions, []
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

    def answer(self, text: str, *, ephemeral: bool | None = None, **extra: object) -> Answer:
        """An answer to the caller (private unless the command says otherwise)."""
        private = self.spec.private if ephemeral is None else ephemeral
        content = Content(text=text, **extra)  # type: ignore[arg-type]
        return Answer(to=self.event.reply_to, content=content, ephemeral=private)


CommandHandler = Callable[[Invocation, Transaction], Awaitable[list[Action]]]
# Runs work in a transaction of its own, then performs the actions it returns.
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

    async def on_events(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        """Handle a batch of non-command events (may be called with a batch of one)."""
        return []
