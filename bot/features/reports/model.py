"""The weekly report as plain data, computed from plain inputs (no storage, no clock).

Every figure is about the cohort: members of the community who are not facilitators and had
joined before the week ended (facilitators' own activity would flatter the figures).
- active: cohort members with at least one action of that stage in the week; the total counts
  any own action, talk included;
- new voices: cohort members whose first own contribution in the community fell in the week
  (engagement.new_voices, as the digest and /profile have it), named only with consent;
- drifting: the drift rule as of the week's end (or now, for the week in progress), each
  member listed only with consent to be named (the others counted);
- nudges: those sent in the week, and how many of them were answered (so far); the members
  nudged who are not drifting are listed, again only with consent;
- concentration: replies received in threads during the week, over every cohort member
  (zeros included): the share the top 10% received, and the Gini coefficient.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.features.engagement import NOTHING, STAGES, Activity, Drift, gini, top_share

TOP_FRACTION = 0.1  # "the top 10% of members"
HISTORY_WEEKS = 8  # weeks of activity by stage in the chart and table
PROFILE_WEEKS = 5  # this week and the four before, in /profile


@dataclass(frozen=True, slots=True)
class NudgeOutcome:
    """One nudge sent to a member, and whether it was answered."""

    member_ref: str
    sent_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Standing:
    """What the report says about one member: the line facilitators and the member both see."""

    member_ref: str
    name: str
    stages: Mapping[str, int]  # this week's actions per stage
    facilitator: bool
    drift: Drift | None
    nudges: tuple[NudgeOutcome, ...]  # sent before the week's end, oldest first
    as_of: datetime  # when drift was judged (the week's end, or now in the current week)
    new_voice: bool = False  # among the week's new voices


@dataclass(frozen=True, slots=True)
class WeekStages:
    """Active cohort members per stage (and in total) in one week."""

    week: str
    active: Mapping[str, int]
    total: int


@dataclass(frozen=True, slots=True)
class WeeklyReport:
    """The facilitator report for one community and ISO week."""

    community: str
    week: str
    start: datetime
    end: datetime
    as_of: datetime  # the moment drift and answers were judged at
    cohort: int
    active: WeekStages
    new_voices: tuple[str, ...]  # names of those who allow naming, earliest first
    drifting: tuple[Standing, ...]
    nudged: tuple[Standing, ...]  # members nudged this week who are not drifting
    nudges_sent: int
    nudges_answered: int
    replies: int  # thread replies received by cohort members
    top_members: int  # how many members the top 10% are
    top_share: float
    gini: float
    history: tuple[WeekStages, ...]  # oldest first, ending with this week
    new_voices_unnamed: int = 0  # new voices who do not allow being named
    drifting_unnamed: int = 0  # drifting members who do not allow being named
    nudged_unnamed: int = 0


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """Everything the report is computed from, as the storage layer reads it."""

    community: str
    weeks: Sequence[tuple[str, datetime, datetime]]  # (label, start, end), oldest first
    activity: Sequence[Mapping[str, Activity]]  # per week, same order
    cohort: Mapping[str, datetime]  # member ref -> joined at (no facilitators)
    facilitators: Collection[str]
    drifts: Sequence[Drift]
    nudges: Sequence[NudgeOutcome]  # sent before the last week's end, oldest first
    replies: Mapping[str, int]  # thread replies received in the last week, by member
    names: Mapping[str, str]
    as_of: datetime
    new_voices: Sequence[str] = ()  # the last week's new voices (engagement.new_voices)
    # Names where they allow being named (consent_names): new voices, drifting, nudged.
    public_names: Mapping[str, str | None] = field(default_factory=dict)

    def name(self, member_ref: str) -> str:
        """A member's display name (their id when the bot has no name)."""
        return self.names.get(member_ref) or member_ref.rpartition("/")[2]

    def member_weeks(self, member_ref: str) -> list[tuple[str, dict[str, int]]]:
        """One member's actions per stage in each week, oldest first."""
        return [
            (label, counts.get(member_ref, NOTHING).stages())
            for (label, _, _), counts in zip(self.weeks, self.activity, strict=True)
        ]


def week_stages(label: str, counts: Mapping[str, Activity], cohort: Iterable[str]) -> WeekStages:
    """How many cohort members were active in each stage (and at all) in one week."""
    active = dict.fromkeys(STAGES, 0)
    total = 0
    for ref in cohort:
        counts_of = counts.get(ref)
        if counts_of is None:  # did nothing that week
            continue
        for stage, number in counts_of.stages().items():
            active[stage] += number > 0
        total += counts_of.total > 0
    return WeekStages(week=label, active=active, total=total)


def is_new_voice(inputs: ReportInputs, member_ref: str) -> bool:
    """True when the member's first own contribution here fell in the last week."""
    _, _, end = inputs.weeks[-1]
    joined = inputs.cohort.get(member_ref)
    return joined is not None and joined < end and member_ref in inputs.new_voices


def standing(inputs: ReportInputs, member_ref: str) -> Standing:
    """The report's view of one member in the last week of `inputs`."""
    this_week = inputs.activity[-1].get(member_ref, NOTHING)
    drift = next((d for d in inputs.drifts if d.member_ref == member_ref), None)
    return Standing(
        member_ref=member_ref,
        name=inputs.name(member_ref),
        stages=this_week.stages(),
        facilitator=member_ref in inputs.facilitators,
        drift=drift,
        nudges=tuple(n for n in inputs.nudges if n.member_ref == member_ref),
        as_of=inputs.as_of,
        new_voice=is_new_voice(inputs, member_ref),
    )


def summarise(inputs: ReportInputs) -> WeeklyReport:
    """The report for the last week of `inputs`."""
    label, start, end = inputs.weeks[-1]
    cohort = sorted(ref for ref, joined in inputs.cohort.items() if joined < end)
    history = tuple(
        week_stages(week, counts, [ref for ref in cohort if inputs.cohort[ref] < week_end])
        for (week, _, week_end), counts in zip(inputs.weeks, inputs.activity, strict=True)
    )
    new_voices = [ref for ref in inputs.new_voices if is_new_voice(inputs, ref)]
    named = [name for ref in new_voices if (name := inputs.public_names.get(ref))]
    sent = [n for n in inputs.nudges if start <= n.sent_at < end]
    drifting_refs = [d.member_ref for d in inputs.drifts]
    nudged_refs = sorted(
        {n.member_ref for n in sent} - set(drifting_refs),
        key=lambda ref: (inputs.name(ref).casefold(), ref),
    )
    # The report names a member only with their consent, to facilitators too.
    drifting_named = [ref for ref in drifting_refs if inputs.public_names.get(ref)]
    nudged_named = [ref for ref in nudged_refs if inputs.public_names.get(ref)]
    received = {ref: inputs.replies.get(ref, 0) for ref in cohort}
    top = max(1, math.ceil(len(received) * TOP_FRACTION)) if received else 0
    return WeeklyReport(
        community=inputs.community,
        week=label,
        start=start,
        end=end,
        as_of=inputs.as_of,
        cohort=len(cohort),
        active=history[-1],
        new_voices=tuple(named),
        new_voices_unnamed=len(new_voices) - len(named),
        drifting=tuple(standing(inputs, ref) for ref in drifting_named),
        nudged=tuple(standing(inputs, ref) for ref in nudged_named),
        drifting_unnamed=len(drifting_refs) - len(drifting_named),
        nudged_unnamed=len(nudged_refs) - len(nudged_named),
        nudges_sent=len(sent),
        nudges_answered=sum(1 for n in sent if n.answered_at is not None),
        replies=sum(received.values()),
        top_members=top,
        top_share=top_share(received, TOP_FRACTION),
        gini=gini(received.values()),
        history=history,
    )
