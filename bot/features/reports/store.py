"""Reading what the facilitator report is computed from: weekly activity, the cohort, drift,
nudges and replies, for one community and week."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.communities import CommunityDirectory
from bot.core.config import CommunitySettings
from bot.core.weeks import IsoWeek
from bot.features import engagement
from bot.features.engagement import NUDGED_MEMBER, DriftRules, answered_at
from bot.features.members import NAMED, consent_names
from bot.features.nudges import NudgeSettings
from bot.features.reports.model import HISTORY_WEEKS, NudgeOutcome, ReportInputs
from bot.storage.members import get_members
from bot.storage.memberships import community_members
from bot.storage.schema import memberships, nudges


async def _nudges(
    conn: AsyncConnection, community: str, end: datetime, answer_days: int
) -> list[NudgeOutcome]:
    """Nudges sent before `end`; answers not yet settled by the bot are judged by the same
    rule (so a read-only reader sees what the bot will record)."""
    rows = await conn.execute(
        select(
            nudges.c.member_ref,
            nudges.c.sent_at,
            nudges.c.answered_at,
            memberships.c.last_active_at,
        )
        .select_from(nudges.outerjoin(memberships, NUDGED_MEMBER))
        .where(nudges.c.community == community, nudges.c.sent_at < end)
        .order_by(nudges.c.sent_at, nudges.c.id)
    )
    found: list[NudgeOutcome] = []
    for member_ref, sent_at, answered, last_active in rows:
        if answered is None:
            answered = answered_at(sent_at, last_active, answer_days)
        found.append(NudgeOutcome(member_ref=member_ref, sent_at=sent_at, answered_at=answered))
    return found


async def report_inputs(
    conn: AsyncConnection,
    community: CommunitySettings,
    week: IsoWeek,
    now: datetime,
    *,
    directory: CommunityDirectory,
    weeks: int = HISTORY_WEEKS,
    names_for: Collection[str] = (),
    only: Collection[str] | None = None,
) -> ReportInputs:
    """What the report for `week` (and `weeks - 1` weeks before it) is computed from; with
    `only`, weekly activity is counted for those members alone (enough for one member's
    standing: drift is still judged against the whole cohort)."""
    zone = community.zone
    labels = [week]
    while len(labels) < weeks:
        labels.insert(0, labels[0].previous())
    spans = [(str(w), *w.bounds(zone)) for w in labels]
    start, end = spans[-1][1], spans[-1][2]
    as_of = min(end, now)
    members = await community_members(conn, community.name)
    named = {
        m.member_ref for m in members if directory.named_facilitator(community.name, m.member_ref)
    }
    facilitators = {m.member_ref for m in members if m.facilitator} | named
    cohort = {m.member_ref: m.joined_at for m in members if m.member_ref not in facilitators}
    activity = [await engagement.activity(conn, community.name, s, e, only) for _, s, e in spans]
    drifts = await engagement.drifting_members(
        conn,
        community.name,
        as_of,
        DriftRules.of(community.section(NudgeSettings)),
        facilitators,
        members,
    )
    sent = await _nudges(conn, community.name, end, community.section(NudgeSettings).answer_days)
    replies = await engagement.replies_received(conn, community.name, start, end)
    # Names only for whom the report names (and whoever else asks, e.g. /profile's caller).
    named_refs = {d.member_ref for d in drifts} | {n.member_ref for n in sent if n.sent_at >= start}
    named_refs |= set(names_for)
    people = await get_members(conn, sorted(named_refs))
    newcomers = await engagement.new_voices(conn, community.name, start, end)
    return ReportInputs(
        community=community.name,
        weeks=spans,
        activity=activity,
        cohort=cohort,
        facilitators=facilitators,
        drifts=drifts,
        nudges=sent,
        replies=replies,
        names={ref: person.display_name for ref, person in people.items()},
        as_of=as_of,
        new_voices=newcomers,
        public_names=await consent_names(conn, NAMED, sorted(set(newcomers) | named_refs)),
    )
