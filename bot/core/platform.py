"""The seam between the core and each chat platform."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, runtime_checkable

from bot.core.actions import Action
from bot.core.events import Event
from bot.core.refs import ChannelRef, MessageRef


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


class EventSink(Protocol):
    """What an adapter hands its events to (the dispatcher)."""

    async def deliver(self, event: Event) -> None:
        """Queue one event; returns once it is accepted (not necessarily processed)."""
        ...

    async def cursor(self, channel: ChannelRef) -> str | None:
        """The backfill position of the last committed message in `channel`, if any."""
        ...

    async def drain(self) -> None:
        """Wait until everything delivered so far is committed and its actions performed."""
        ...


class Platform(Protocol):
    """A chat platform adapter."""

    name: str
    capabilities: frozenset[Capability]

    async def start(self, sink: EventSink) -> None:
        """Connect and start delivering events to `sink`; returns once connected."""
        ...

    async def perform(self, action: Action) -> MessageRef | None:
        """Carry out one action; returns the new message's ref when one was posted."""
        ...

    async def stop(self) -> None:
        """Disconnect cleanly."""
        ...


class PlatformError(Exception):
    """An action the platform refused (no permission, DMs closed, unknown channel...)."""


@runtime_checkable
class RunsUntilDone(Protocol):
    """A platform that can end on its own (the console at end of input)."""

    async def wait_done(self) -> None:
        """Return when the platform has nothing more to deliver."""
        ...
