"""Engagement in Jarche's loop, as plain arithmetic: what counts for which stage, who is
drifting away, and how concentrated the community's attention is.

Stages and what counts for each:
- seek: questions asked (`/seek`), links found (links a member was first to bring in);
- sense: reflections, replies in threads, annotations, reactions (responding to a peer);
- share: links shared (with or without a note), posts on the member's own blog;
- presence: RSVPs (going or maybe) and takeaways after live sessions.
Other talk in the channels is activity too (it keeps a member from counting as drifting) but
belongs to no stage.

Who is drifting (a nudge candidate), for a member who joined more than `joined_days` ago:
- inactive: no activity at all in the last `recent_days`; or
- fell: activity fell to a third or less of their own earlier rate (over up to
  `EARLIER_PERIODS` earlier periods, at least `MIN_EARLIER` actions per period on average),
  *and* they are in the cohort's lower quartile now. Being in the lower quartile alone never
  counts: some people are quiet by nature, and that is their right.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Protocol

STAGES = ("seek", "sense", "share", "presence")
KIND_STAGE = {
    "questions": "seek",
    "links_found": "seek",
    "reflections": "sense",
    "replies": "sense",
    "annotations": "sense",
    "reactions": "sense",
    "links_shared": "share",
    "blog_posts": "share",
    "rsvps": "presence",
    "takeaways": "presence",
    "messages": None,
}
EARLIER_PERIODS = 4  # the earlier level is measured over up to this many periods before
FALL_RATIO = 1 / 3  # "well below": a third or less of their own earlier rate
MIN_EARLIER = 3.0  # an earlier level below this per period is too little to fall from


class DriftWindow(Protocol):
    """The settings the drift rule reads (a community's nudge settings have them)."""

    @property
    def inactive_days(self) -> int: ...

    @property
    def joined_days(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Activity:
    """What one member did in one period, by kind."""

    questions: int = 0
    links_found: int = 0
    reflections: int = 0
    replies: int = 0
    annotations: int = 0
    reactions: int = 0
    links_shared: int = 0
    blog_posts: int = 0
    rsvps: int = 0
    takeaways: int = 0
    messages: int = 0

    def stage(self, stage: str) -> int:
        """The member's count for one stage of the loop."""
        return sum(_STAGE_KINDS[stage](self))

    def stages(self) -> dict[str, int]:
        """Counts for every stage, in loop order."""
        return {stage: sum(kinds(self)) for stage, kinds in _STAGE_KINDS.items()}

    @property
    def total(self) -> int:
        """Every action, stages and talk."""
        return sum(_ALL_KINDS(self))

    def __add__(self, other: Activity) -> Activity:
        return Activity(
            **{
                kind.name: getattr(self, kind.name) + getattr(other, kind.name)
                for kind in fields(self)
            }
        )

    def weakest_stage(self) -> str:
        """The stage with the fewest actions (ties: the earlier one in the loop)."""
        counts = self.stages()
        return min(STAGES, key=lambda stage: (counts[stage], STAGES.index(stage)))


def _kinds_getter(kinds: Iterable[str]) -> Callable[[Activity], tuple[int, ...]]:
    """The counts of these kinds in one C call (attrgetter of one name returns no tuple)."""
    names = tuple(kinds)
    if len(names) == 1:
        return lambda activity: (getattr(activity, names[0]),)
    return attrgetter(*names)


# Each stage's kinds (as KIND_STAGE groups them) and every kind: the report asks them of every
# member for every week.
_STAGE_KINDS = {
    stage: _kinds_getter(kind for kind, owner in KIND_STAGE.items() if owner == stage)
    for stage in STAGES
}
_ALL_KINDS = _kinds_getter(kind.name for kind in fields(Activity))

NOTHING = Activity()


def total(activities: Iterable[Activity]) -> Activity:
    """The sum of several periods' activity."""
    result = NOTHING
    for activity in activities:
        result = result + activity
    return result


@dataclass(frozen=True, slots=True)
class DriftRules:
    """The thresholds for who counts as drifting."""

    recent_days: int = 14
    joined_days: int = 7

    @classmethod
    def of(cls, settings: DriftWindow) -> DriftRules:
        """The thresholds a community set in `[communities.nudges]`."""
        return cls(recent_days=settings.inactive_days, joined_days=settings.joined_days)


@dataclass(frozen=True, slots=True)
class MemberHistory:
    """One member's activity now and before, as the drift rule needs it."""

    member_ref: str
    joined_at: datetime
    recent: int  # actions in the last `recent_days`
    earlier: int  # actions in the (up to) `EARLIER_PERIODS` periods before
    last_active_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Drift:
    """A member drifting away, and why."""

    member_ref: str
    reason: str  # "inactive" | "fell"
    recent: int
    earlier_rate: float | None  # their own earlier actions per period, where known
    last_active_at: datetime | None


def earlier_rate(history: MemberHistory, now: datetime, rules: DriftRules) -> float | None:
    """Actions per period before the recent one, over the time they were a member then."""
    period = timedelta(days=rules.recent_days)
    recent_start = now - period
    observed = min(recent_start - history.joined_at, period * EARLIER_PERIODS)
    if observed < period:  # less than one whole earlier period: no level to fall from
        return None
    return history.earlier * (period / observed)


def lower_quartile(values: Iterable[int]) -> float:
    """The 25th percentile (linear interpolation between closest ranks); 0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * 0.25
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def drifting(histories: Iterable[MemberHistory], now: datetime, rules: DriftRules) -> list[Drift]:
    """The members among `histories` who are drifting away, in the order given.

    `histories` is the cohort: everyone who could be nudged (no facilitators, no bots); the
    lower quartile is taken over those who joined long enough ago to be judged.
    """
    settled = [
        history
        for history in histories
        if now - history.joined_at > timedelta(days=rules.joined_days)
    ]
    quartile = lower_quartile(history.recent for history in settled)
    found: list[Drift] = []
    for history in settled:
        rate = earlier_rate(history, now, rules)
        if history.recent == 0:
            reason = "inactive"
        elif (
            rate is not None
            and rate >= MIN_EARLIER
            and history.recent <= rate * FALL_RATIO
            and history.recent <= quartile
        ):
            reason = "fell"
        else:
            continue
        found.append(
            Drift(
                member_ref=history.member_ref,
                reason=reason,
                recent=history.recent,
                earlier_rate=rate,
                last_active_at=history.last_active_at,
            )
        )
    return found


def gini(values: Iterable[int]) -> float:
    """The Gini coefficient of non-negative counts: 0 when all are equal, near 1 when one
    member has everything. 0 for no values or an all-zero list."""
    ordered = sorted(values)
    count, whole = len(ordered), sum(ordered)
    if count == 0 or whole == 0:
        return 0.0
    weighted = sum((index + 1) * value for index, value in enumerate(ordered))
    return (2 * weighted) / (count * whole) - (count + 1) / count


def top_share(values: Mapping[str, int], fraction: float = 0.1) -> float:
    """The share of the total held by the top `fraction` of members (at least one member)."""
    ordered = sorted(values.values(), reverse=True)
    whole = sum(ordered)
    if whole == 0:
        return 0.0
    top = max(1, math.ceil(len(ordered) * fraction))
    return sum(ordered[:top]) / whole


def answered_at(
    sent_at: datetime, last_active_at: datetime | None, answer_days: int
) -> datetime | None:
    """When a nudge counts as answered: the member's last own action, if it came after the
    nudge and within `answer_days` of it; else None (not, or not yet, answered)."""
    if last_active_at is None or last_active_at <= sent_at:
        return None
    return last_active_at if last_active_at - sent_at <= timedelta(days=answer_days) else None
