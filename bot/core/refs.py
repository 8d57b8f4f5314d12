"""Platform-qualified references to channels, messages, members and interactions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A channel on one platform: `space` is the guild/team id ("" where there is none)."""

    platform: str
    space: str
    channel: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.space}/{self.channel}"

    @classmethod
    def parse(cls, text: str) -> ChannelRef:
        """Read back the form written by `str()`."""
        platform, _, rest = text.partition(":")
        space, _, channel = rest.rpartition("/")
        if not platform or not channel:
            raise ValueError(f"not a channel reference: {text!r}")
        return cls(platform, space, channel)


@dataclass(frozen=True, slots=True)
class MessageRef:
    """One message; `thread` is the id of the thread's root message when it is a reply."""

    channel: ChannelRef
    message: str
    thread: str | None = None

    def __str__(self) -> str:
        return f"{self.channel}/{self.message}"


@dataclass(frozen=True, slots=True)
class MemberRef:
    """A person's account on one platform; `space` is "" where user ids are global (Discord)."""

    platform: str
    space: str
    member: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.space}/{self.member}"

    @classmethod
    def parse(cls, text: str) -> MemberRef:
        """Read back the form written by `str()`."""
        platform, _, rest = text.partition(":")
        space, _, member = rest.rpartition("/")
        if not platform or not member:
            raise ValueError(f"not a member reference: {text!r}")
        return cls(platform, space, member)


@dataclass(frozen=True, slots=True)
class InteractionRef:
    """Where to answer a command or button press (adapter-specific token, never stored)."""

    platform: str
    token: str
    channel: ChannelRef | None = None
