"""Members and memberships seen in a batch of events, and the write cache that spares
rewriting a busy member's rows for every batch."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from functools import partial

from bot.core.events import Author, Event, MemberJoined, event_time
from bot.runtime.service import Transaction
from bot.storage.members import touch_members, zones_from_profiles
from bot.storage.memberships import Sighting, touch_memberships

FRESH_FOR = timedelta(minutes=1)  # a member written this recently is not rewritten
BURST_SPAN = timedelta(hours=1)  # ... while their events are this close (backfill bursts)


class RecentWrites:
    """What this process last wrote about members and memberships.

    A busy member sends many events a minute; rewriting their row for each batch costs a
    statement per batch and tells nothing new. A membership written less than a minute ago
    (this process's clock) is not rewritten for an event less than an hour after the one
    written: live, `last_active_at` lags by under a minute; in a backfill burst (old events
    arriving fast) by under an hour. Drift is judged in days. Entries are remembered only after
    a commit.
    """

    def __init__(self) -> None:
        self.members: dict[str, tuple[str, datetime]] = {}
        # (community, member) -> (facilitator, event time written, when it was written)
        self.memberships: dict[tuple[str, str], tuple[bool, datetime, datetime]] = {}

    def member_is_fresh(self, ref: str, name: str, now: datetime) -> bool:
        """Whether the member's row was written with this name less than a minute ago."""
        known = self.members.get(ref)
        return known is not None and known[0] == name and timedelta(0) <= now - known[1] < FRESH_FOR

    def sighting_is_fresh(self, seen: Sighting, now: datetime) -> bool:
        """Whether writing this sighting would tell the membership row nothing new yet."""
        known = self.memberships.get((seen.community, seen.member_ref))
        return (
            known is not None
            and seen.active
            and not seen.contacted
            and known[0] == seen.facilitator
            and timedelta(0) <= seen.at - known[1] < BURST_SPAN
            and timedelta(0) <= now - known[2] < FRESH_FOR
        )

    async def remember(
        self, members: dict[str, tuple[str, str]], sightings: list[Sighting], now: datetime
    ) -> None:
        """Note what a committed batch wrote."""
        if len(self.members) > 100_000 or len(self.memberships) > 100_000:
            self.members.clear()
            self.memberships.clear()
        for ref, (_platform, name) in members.items():
            self.members[ref] = (name, now)
        for seen in sightings:
            key = (seen.community, seen.member_ref)
            if seen.active and (key not in self.memberships or seen.at > self.memberships[key][1]):
                self.memberships[key] = (seen.facilitator, seen.at, now)


class BatchSightings:
    """The members (with their profiles' zones) and memberships one batch of events saw."""

    def __init__(self) -> None:
        self.members: dict[str, tuple[str, str]] = {}  # ref -> (platform, display name)
        self.profile_zones: dict[str, str] = {}
        self.sightings: list[Sighting] = []

    def note(self, event: Event, community: str, *, facilitator: bool, contacted: bool) -> None:
        """Note who an event shows in `community`: its human author, or a member who joined."""
        human = getattr(event, "author", None)
        if isinstance(human, Author) and not human.is_bot:
            self.members[str(human.ref)] = (human.ref.platform, human.name)
            if human.timezone:
                self.profile_zones[str(human.ref)] = human.timezone
            self.sightings.append(
                Sighting(
                    community=community,
                    member_ref=str(human.ref),
                    at=event_time(event),
                    active=True,
                    contacted=contacted,
                    facilitator=facilitator,
                )
            )
        elif isinstance(event, MemberJoined) and not event.member.is_bot:
            self.sightings.append(
                Sighting(
                    community=community,
                    member_ref=str(event.member.ref),
                    at=event.joined_at,
                    active=False,
                    contacted=False,
                    facilitator=False,
                )
            )

    def drop_fresh(self, written: RecentWrites, forgotten: Collection[str], now: datetime) -> None:
        """Leave out what this process wrote a moment ago (a forgotten member is rewritten)."""
        self.members = {
            ref: about
            for ref, about in self.members.items()
            if ref in forgotten or not written.member_is_fresh(ref, about[1], now)
        }
        self.sightings = [
            sighting
            for sighting in self.sightings
            if sighting.member_ref in forgotten or not written.sighting_is_fresh(sighting, now)
        ]

    async def write_members(self, tx: Transaction) -> None:
        """Create or refresh the members' rows, taking their profiles' zones with them."""
        await touch_members(tx.conn, self.members, tx.now)
        # A profile's zone is taken when the member's row is written (at most once a minute).
        zones = {ref: zone for ref, zone in self.profile_zones.items() if ref in self.members}
        if zones:
            await zones_from_profiles(tx.conn, zones)

    async def write_memberships(self, tx: Transaction, written: RecentWrites) -> None:
        """Record the memberships, and let `written` remember both after the commit."""
        await touch_memberships(tx.conn, self.sightings)
        if self.members or self.sightings:
            tx.after_commit(partial(written.remember, self.members, self.sightings, tx.now))
