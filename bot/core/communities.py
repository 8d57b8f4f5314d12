"""Which community a channel belongs to, and who facilitates it.

Adapters bind the channels they resolved at start (names to ids); the dispatcher asks here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.config import CommunitySettings, Config
from bot.core.events import Author
from bot.core.refs import ChannelRef, MemberRef


class Purpose(StrEnum):
    """What a bound channel is for."""

    WATCHED = "watched"
    ANNOUNCEMENTS = "announcements"
    DIGEST = "digest"


@dataclass(frozen=True, slots=True)
class Binding:
    """A channel's community and purposes."""

    community: str
    purposes: frozenset[Purpose]
    private: bool = False  # only some of the community's members can read it


class CommunityDirectory:
    """Maps platform channels and spaces (guilds, teams) to communities."""

    def __init__(self, config: Config) -> None:
        self._communities = {community.name: community for community in config.communities}
        self._console_facilitators = frozenset(config.console.facilitators)
        self._prefixes = {"slack": config.slack.command + " "}
        self._channels: dict[ChannelRef, Binding] = {}
        self._spaces: dict[tuple[str, str], str] = {}
        self._channel_by_purpose: dict[tuple[str, str, Purpose], ChannelRef] = {}

    @property
    def names(self) -> frozenset[str]:
        """The configured communities' names."""
        return frozenset(self._communities)

    @property
    def communities(self) -> list[CommunitySettings]:
        """Every configured community."""
        return list(self._communities.values())

    def command_prefix(self, platform: str) -> str:
        """How members type commands on a platform: "/" (slash commands and the console), or
        Slack's one configured command and a space ("/facilitator ")."""
        return self._prefixes.get(platform, "/")

    def settings(self, community: str) -> CommunitySettings:
        """A community's settings."""
        return self._communities[community]

    def bind_channel(
        self, channel: ChannelRef, community: str, purposes: set[Purpose], *, private: bool = False
    ) -> None:
        """Record that `channel` belongs to `community` for `purposes` (`private`: only the
        members invited to it can read it, such as a private Slack channel)."""
        if community not in self._communities:
            raise KeyError(community)
        existing = self._channels.get(channel)
        if existing is not None and existing.community != community:
            raise ValueError(
                f"{channel} is configured for both {existing.community} and {community}"
            )
        merged = set(purposes) | (set(existing.purposes) if existing else set())
        was_private = existing.private if existing else False
        self._channels[channel] = Binding(community, frozenset(merged), private or was_private)
        for purpose in purposes:
            self._channel_by_purpose.setdefault((community, channel.platform, purpose), channel)

    def bind_space(self, platform: str, space: str, community: str) -> None:
        """Record that a whole guild/team belongs to `community` (for commands anywhere)."""
        if community not in self._communities:
            raise KeyError(community)
        self._spaces[(platform, space)] = community

    def community_for(self, channel: ChannelRef) -> str | None:
        """The community a channel belongs to, by binding or by its space."""
        binding = self._channels.get(channel)
        if binding is not None:
            return binding.community
        return self._spaces.get((channel.platform, channel.space))

    def default_community(self, platform: str) -> str | None:
        """The first community present on `platform` (for direct messages)."""
        for channel, binding in self._channels.items():
            if channel.platform == platform:
                return binding.community
        for (bound_platform, _), community in self._spaces.items():
            if bound_platform == platform:
                return community
        return None

    def is_watched(self, channel: ChannelRef) -> bool:
        """True when messages in `channel` are collected."""
        binding = self._channels.get(channel)
        return binding is not None and Purpose.WATCHED in binding.purposes

    def is_read_by_all(self, channel: ChannelRef) -> bool:
        """True when `channel` is watched and every member can read it, so what members wrote
        there was written for the community; a direct message, a private channel or an
        unwatched one is not."""
        binding = self._channels.get(channel)
        return binding is not None and Purpose.WATCHED in binding.purposes and not binding.private

    def is_public(self, channel: str) -> bool:
        """`is_read_by_all` for a stored channel (`str(ChannelRef)`)."""
        try:
            return self.is_read_by_all(ChannelRef.parse(channel))
        except ValueError:
            return False

    def channel(self, community: str, platform: str, purpose: Purpose) -> ChannelRef | None:
        """The community's channel for `purpose` on `platform`, if one is bound."""
        return self._channel_by_purpose.get((community, platform, purpose))

    def channels(self, community: str, purpose: Purpose) -> list[ChannelRef]:
        """The community's channels for `purpose` on every platform."""
        return [
            channel
            for (name, _, bound_purpose), channel in self._channel_by_purpose.items()
            if name == community and bound_purpose is purpose
        ]

    def home_channel(self, community: str, platform: str) -> ChannelRef | None:
        """Where the bot posts for `community` on `platform`: its announcements channel, else
        its first watched one (None when it has neither there)."""
        for purpose in (Purpose.ANNOUNCEMENTS, Purpose.WATCHED):
            for channel in self.channels(community, purpose):
                if channel.platform == platform:
                    return channel
        return None

    def home_channels(self, community: str) -> list[ChannelRef]:
        """`home_channel` on every platform the community has one, in platform order."""
        platforms = sorted({channel.platform for channel in self.bound_channels(community)})
        found = (self.home_channel(community, platform) for platform in platforms)
        return [channel for channel in found if channel is not None]

    def bound_channels(self, community: str) -> list[ChannelRef]:
        """Every channel bound to `community`, whatever its purpose."""
        return [
            channel for channel, bound in self._channels.items() if bound.community == community
        ]

    def named_facilitator(self, community: str, member_ref: str) -> bool:
        """True when the configuration names this member a facilitator by id (roles are only
        known from what a member does: memberships keep the role as last seen)."""
        return self.is_facilitator(community, Author(ref=MemberRef.parse(member_ref), name=""))

    def is_facilitator(self, community: str, author: Author) -> bool:
        """True when the configuration makes `author` a facilitator of `community`."""
        settings = self._communities.get(community)
        if settings is None:
            return False
        if author.ref.platform == "console" and author.ref.member in self._console_facilitators:
            return True
        section = settings.platforms.get(author.ref.platform)
        if section is None:
            return False
        # Ids only: display names are chosen by members themselves (on Slack anyone can call
        # themselves "U0123456"), so a name must never grant a role. Console ids are names.
        if author.ref.member in section.facilitators:
            return True
        return bool(author.roles & set(section.facilitator_roles))
