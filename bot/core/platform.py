"""The seam between the core and each chat platform."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.core.actions import Action
from bot.core.communities import CommunityDirectory, Purpose
from bot.core.events import Author, Event
from bot.core.refs import ChannelRef, MessageRef

if TYPE_CHECKING:  # the core needs aiohttp's route type only to describe it, never at run time
    from aiohttp.web import AbstractRouteDef


class Capability(StrEnum):
    """What a platform can do; services degrade when one is missing."""

    THREADS = "threads"
    REACTIONS = "reactions"
    BUTTONS = "buttons"
    SCHEDULED_EVENTS = "scheduled_events"
    EPHEMERAL = "ephemeral"
    FILES = "files"
    DIRECT_MESSAGES = "direct_messages"
    # May DM members who never talked to the bot. Discord lacks it: unsolicited DMs from bots
    # look like spam there, so those members are reached through the channel instead.
    UNSOLICITED_DIRECT_MESSAGES = "unsolicited_direct_messages"


def may_message_unasked(capabilities: frozenset[Capability], *, talked_to_bot: bool) -> bool:
    """May the bot DM a member who did not ask for it, on a platform with `capabilities`? Where
    unsolicited DMs look like spam (Discord), only once the member talked to the bot."""
    if Capability.DIRECT_MESSAGES not in capabilities:
        return False
    return Capability.UNSOLICITED_DIRECT_MESSAGES in capabilities or talked_to_bot


@dataclass(frozen=True, slots=True)
class ChannelBinding:
    """A channel an adapter resolved at start: its community and what it is for."""

    channel: ChannelRef
    community: str
    purposes: frozenset[Purpose]
    private: bool = False  # only invited members read it: their words there are never quoted


@dataclass(frozen=True, slots=True)
class SpaceBinding:
    """A whole guild/team an adapter found for a community (its commands work anywhere there)."""

    platform: str
    space: str
    community: str


Bound = ChannelBinding | SpaceBinding


@dataclass(frozen=True, slots=True)
class UnreadRange:
    """Part of a channel's history (its threads included) that backfill has not read yet: the
    messages after the cursor `after` and, once known, before `until`. It is stored until
    backfill has read through it, so a stop or a crash during backfill resumes it."""

    id: int
    channel: ChannelRef
    after: str
    until: str | None = None
    resumed: bool = False  # left open by an earlier run or connection


def apply_binding(directory: CommunityDirectory, binding: Bound) -> None:
    """Record what a platform bound in the directory (the runtime's side of `EventSink.bind`)."""
    match binding:
        case ChannelBinding():
            directory.bind_channel(
                binding.channel, binding.community, set(binding.purposes), private=binding.private
            )
        case SpaceBinding():
            directory.bind_space(binding.platform, binding.space, binding.community)


@dataclass(frozen=True, slots=True, kw_only=True)
class SuggestionRequest:
    """A member is picking a value of kind `picks` (a session, a link, a week: see
    `bot.core.commands.PICKS`) in a form opened in `channel`, and has typed `query` so far."""

    picks: str
    query: str
    author: Author
    channel: ChannelRef


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One value to offer: what the member sees, and what the command receives."""

    label: str
    value: str


MAX_SUGGESTIONS = 100  # Slack's external select; Discord's autocomplete takes 25


class EventSink(Protocol):
    """What an adapter hands its events to (the dispatcher)."""

    def bind(self, binding: Bound) -> None:
        """Record a channel or space the platform resolved; applied before this returns, so
        every event delivered afterwards is resolved with it. Raises `KeyError` for an unknown
        community and `ValueError` for a channel configured for two communities."""
        ...

    async def deliver(self, event: Event) -> None:
        """Queue one event; returns once it is accepted (not necessarily processed)."""
        ...

    async def claim(self, event: Event) -> bool:
        """Take an interaction for this process before acknowledging it: True once, for the
        one process (of several on one database) that will answer it; False for a repeat."""
        ...

    async def cursor(self, channel: ChannelRef) -> str | None:
        """The position of the last committed live message in `channel`, if any."""
        ...

    async def open_backfill(
        self,
        channels: Sequence[ChannelRef],
        *,
        unseen_from_oldest: bool = False,
        begins: Mapping[ChannelRef, str] | None = None,
    ) -> list[UnreadRange]:
        """Record durably what each channel has not read, from its last committed live
        message on (a channel with none: from the oldest of the others' when
        `unseen_from_oldest`, else nothing), unless an open range already reaches that far;
        return every open range of these channels, those left open before first. Call it
        before any live event of these channels is delivered: everything delivered earlier is
        committed first, so no live message can move the cursor over what is unread.
        `begins` gives a channel's newest position now (its last message, "0" when empty):
        a channel never seen and with nothing to read takes it as its cursor, so what is said
        from here on is read by a later start even if this one stores nothing."""
        ...

    async def advance_backfill(
        self, unread: UnreadRange, *, after: str | None = None, until: str | None = None
    ) -> None:
        """Narrow a range: everything delivered so far read it up to `after` (or down to
        `until`). Queued behind those deliveries and committed with the last of them."""
        ...

    async def close_backfill(self, unread: UnreadRange, *, read_to: str | None = None) -> None:
        """Delete a range backfill has read through, once everything delivered so far is
        committed; `read_to` (a position up to which every message was read or delivered live)
        moves the channel's cursor there, so the next start reads less."""
        ...

    async def drain(self) -> None:
        """Wait until everything delivered so far is committed and its actions performed."""
        ...

    async def suggest(self, request: SuggestionRequest) -> list[Suggestion]:
        """What the member may pick, best first (at most `MAX_SUGGESTIONS`), read from what is
        committed; answered at once (the platform waits at most 3 s), [] when nothing fits."""
        ...


class Platform(Protocol):
    """A chat platform adapter."""

    name: str
    capabilities: frozenset[Capability]

    async def start(self, sink: EventSink) -> None:
        """Connect, report what it bound through `sink.bind`, then deliver events to `sink`;
        returns once connected."""
        ...

    async def perform(self, action: Action) -> MessageRef | None:
        """Carry out one action; returns the new message's ref when one was posted."""
        ...

    async def stop(self) -> None:
        """Disconnect cleanly."""
        ...


class PlatformError(Exception):
    """An action the platform refused (no permission, DMs closed, unknown channel...)."""


class PlatformUnavailable(PlatformError):
    """The platform could not take the action now (5xx, rate limit, network, not connected):
    the same action may succeed later, so it is retried rather than given up."""


@runtime_checkable
class PerformsOnce(Protocol):
    """A platform that can make a repeated send harmless: `key` names the effect (the outbox
    key) and `resend` says an earlier attempt may have reached the platform already."""

    async def perform_once(self, action: Action, *, key: str, resend: bool) -> MessageRef | None:
        """Carry out one action at most once per `key`, as far as the platform allows."""
        ...


@runtime_checkable
class RunsUntilDone(Protocol):
    """A platform that can end on its own (the console at end of input)."""

    async def wait_done(self) -> None:
        """Return when the platform has nothing more to deliver."""
        ...


@runtime_checkable
class ServesHttp(Protocol):
    """A platform with HTTP endpoints for the app's web server (Slack in HTTP mode)."""

    def http_routes(self) -> Sequence[AbstractRouteDef]:
        """The routes to mount (none when the platform does not need the web server)."""
        ...
