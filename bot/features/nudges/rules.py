"""Who gets a nudge now, as a pure function of candidates, their history and the clock.

The rules, for a member the drift rule (`bot.features.engagement.rules.drifting`) already picked:
- never when they opted out (`/nudges off`) or snoozed (`/nudges snooze 2w`);
- never in their quiet hours, read in their own time zone (else the community's);
- on a platform where the bot may not DM strangers (Discord), only when they talked to the bot
  (a command, a button, a DM, or "yes" at onboarding);
- at most one per `wait`: the longer of the community's `every_days` and the member's own
  (weekly or fortnightly), doubled for each unanswered nudge since their last own action;
- after `give_up_after` unanswered nudges in a row, none until they act again (any own action
  in the community, a `/nudges` command included, resets the count);
- at most `hourly_cap` per community an hour, counting what was recorded in the last 55
  minutes (see `bot.features.nudges.service.CAP_WINDOW`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Why a candidate gets no nudge now (also what tests and logs read).
OPTED_OUT = "opted_out"
SNOOZED = "snoozed"
QUIET = "quiet_hours"
NO_CONTACT = "no_contact"
TOO_SOON = "too_soon"
GAVE_UP = "gave_up"
DM_FAILED = "dm_failed"
OVER_CAP = "over_cap"


@dataclass(frozen=True, slots=True)
class NudgeRules:
    """A community's nudge limits (from `[communities.nudges]`)."""

    every_days: int = 7
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    hourly_cap: int = 20
    give_up_after: int = 3


@dataclass(frozen=True, slots=True)
class Candidate:
    """A drifting member and everything the rules need to know about them."""

    member_ref: str
    reason: str  # "inactive" | "fell"
    zone: str  # their own zone, else the community's
    opted_out: bool = False
    snoozed_until: datetime | None = None
    every_days: int = 7  # their own choice: 7 (weekly) or 14 (fortnightly)
    may_dm: bool = True  # the platform allows it, or they talked to the bot
    last_active_at: datetime | None = None  # their last own action in the community
    last_nudged_at: datetime | None = None
    unanswered: int = 0  # nudges since their last own action
    dm_failed_at: datetime | None = None  # this process could not DM them then


def parse_wall(text: str) -> time:
    """A "HH:MM" wall time (validated by the config already)."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(moment: datetime, zone: str, start: time, end: time) -> bool:
    """True when `moment` falls in [start, end) on the wall clock of `zone` (may wrap midnight;
    start == end means no quiet hours)."""
    local = moment.astimezone(ZoneInfo(zone)).time().replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def base_wait(candidate: Candidate, rules: NudgeRules) -> timedelta:
    """The shortest gap between two nudges for this member, before any back-off."""
    return timedelta(days=max(rules.every_days, candidate.every_days))


def wait_after_last(candidate: Candidate, rules: NudgeRules) -> timedelta:
    """The gap after their latest nudge: doubled for each unanswered one."""
    factor: int = 2 ** min(candidate.unanswered, 16)
    return base_wait(candidate, rules) * factor


def next_allowed(candidate: Candidate, rules: NudgeRules) -> datetime | None:
    """The earliest moment the interval rules allow another nudge (None: given up)."""
    if candidate.unanswered >= rules.give_up_after:
        return None
    if candidate.last_nudged_at is None:
        return datetime.min.replace(tzinfo=UTC)
    return candidate.last_nudged_at + wait_after_last(candidate, rules)


def why_not(candidate: Candidate, now: datetime, rules: NudgeRules) -> str | None:
    """Why this candidate gets no nudge at `now`, or None when they may get one."""
    if candidate.opted_out:
        return OPTED_OUT
    if candidate.snoozed_until is not None and now < candidate.snoozed_until:
        return SNOOZED
    if not candidate.may_dm:
        return NO_CONTACT
    allowed = next_allowed(candidate, rules)
    if allowed is None:
        return GAVE_UP
    if now < allowed:
        return TOO_SOON
    if candidate.dm_failed_at is not None and now - candidate.dm_failed_at < base_wait(
        candidate, rules
    ):
        return DM_FAILED
    if in_quiet_hours(now, candidate.zone, rules.quiet_start, rules.quiet_end):
        return QUIET
    return None


def decide(
    candidates: Sequence[Candidate], now: datetime, rules: NudgeRules, sent_this_hour: int
) -> list[Candidate]:
    """The candidates to nudge now, in order: those waiting longest first, up to what the
    hourly cap leaves after `sent_this_hour`."""
    eligible = [c for c in candidates if why_not(c, now, rules) is None]
    eligible.sort(
        key=lambda c: (
            c.last_nudged_at is not None,
            c.last_nudged_at or now,
            c.last_active_at is not None,
            c.last_active_at or now,
            c.member_ref,
        )
    )
    room = max(0, rules.hourly_cap - sent_this_hour)
    return eligible[:room]
