"""What members did in a community: each member's activity in a period counted from the tables
that hold it (one grouped query per kind, so a period costs the same whatever the community's
size), and who is drifting. Memberships themselves are kernel rows (bot/storage/memberships)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.features.engagement.rules import (
    EARLIER_PERIODS,
    NOTHING,
    Activity,
    Drift,
    DriftRules,
    MemberHistory,
    answered_at,
    drifting,
)
from bot.storage.memberships import Membership, community_members
from bot.storage.schema import (
    feed_entries,
    feeds,
    gatherings,
    link_annotations,
    memberships,
    messages,
    nudges,
    questions,
    reactions,
    reflections,
    rsvps,
    shares,
    takeaways,
)

# A nudge's member in its community: how nudges and memberships are joined.
NUDGED_MEMBER = and_(
    memberships.c.community == nudges.c.community,
    memberships.c.member_ref == nudges.c.member_ref,
)


# --- activity -----------------------------------------------------------------------------


# (table, who, when) of each kind of own contribution kept in a table of its own (blog posts,
# joined to their feed's owner, are added where they are read).
_CONTRIBUTIONS = (
    (shares, shares.c.member_ref, shares.c.shared_at),
    (questions, questions.c.member_ref, questions.c.asked_at),
    (reflections, reflections.c.member_ref, reflections.c.created_at),
    (link_annotations, link_annotations.c.member_ref, link_annotations.c.created_at),
    (takeaways, takeaways.c.member_ref, takeaways.c.at),
)


async def new_voices(
    conn: AsyncConnection, community: str, start: datetime, end: datetime
) -> list[str]:
    """Members whose first own contribution here falls in [start, end), earliest first.

    A contribution is a share, a question, a reflection (prompt replies are kept as
    reflections), an annotation, a takeaway or a blog post; reactions, RSVPs and talk are
    not. The one definition the digest, the report and /profile use.
    """
    blog_posts = feed_entries.join(feeds, feeds.c.id == feed_entries.c.feed_id)
    own_posts = and_(feeds.c.owner_ref.is_not(None), feed_entries.c.hidden.is_(False))
    # Who contributed in the window (index ranges), then whether each did so before: the
    # cost follows the window and its contributors, not the community's whole history.
    in_window = union_all(
        *(
            select(who.label("who"), at.label("at")).where(
                table.c.community == community, _in(at, start, end)
            )
            for table, who, at in _CONTRIBUTIONS
        ),
        select(feeds.c.owner_ref, feed_entries.c.published_at)
        .select_from(blog_posts)
        .where(
            feed_entries.c.community == community,
            own_posts,
            _in(feed_entries.c.published_at, start, end),
        ),
    ).subquery()
    who = in_window.c.who
    before = [
        ~exists().where(table.c.community == community, member == who, at < start)
        for table, member, at in _CONTRIBUTIONS
    ]
    before.append(
        ~exists()
        .select_from(blog_posts)
        .where(
            feed_entries.c.community == community,
            feeds.c.owner_ref == who,
            own_posts,
            feed_entries.c.published_at < start,
        )
    )
    first = func.min(in_window.c.at)
    rows = await conn.execute(
        select(who).where(who.is_not(None), *before).group_by(who).order_by(first, who)
    )
    return [row.who for row in rows]


def _in(column: ColumnElement[Any], start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _count_queries(community: str, start: datetime, end: datetime) -> dict[str, Any]:
    """For each kind of activity, a query of (member_ref, count) rows."""
    earlier_share = shares.alias("earlier_share")
    in_thread_kept = exists().where(reflections.c.message_ref == messages.c.ref)
    is_takeaway = exists().where(takeaways.c.message_ref == messages.c.ref)
    carries_link = exists().where(shares.c.message_ref == messages.c.ref)
    count = func.count().label("n")
    return {
        "questions": select(questions.c.member_ref, count)
        .where(questions.c.community == community, _in(questions.c.asked_at, start, end))
        .group_by(questions.c.member_ref),
        # Links they were the first to bring in: finding is seeking.
        "links_found": select(shares.c.member_ref, func.count(shares.c.link_id.distinct()))
        .where(
            shares.c.community == community,
            _in(shares.c.shared_at, start, end),
            ~exists().where(
                earlier_share.c.link_id == shares.c.link_id,
                or_(
                    earlier_share.c.shared_at < shares.c.shared_at,
                    and_(
                        earlier_share.c.shared_at == shares.c.shared_at,
                        earlier_share.c.id < shares.c.id,
                    ),
                ),
            ),
        )
        .group_by(shares.c.member_ref),
        "links_shared": select(shares.c.member_ref, func.count(shares.c.link_id.distinct()))
        .where(shares.c.community == community, _in(shares.c.shared_at, start, end))
        .group_by(shares.c.member_ref),
        "reflections": select(reflections.c.member_ref, count)
        .where(reflections.c.community == community, _in(reflections.c.created_at, start, end))
        .group_by(reflections.c.member_ref),
        # Replies in threads, except those kept as reflections or takeaways (counted there).
        "replies": select(messages.c.author_ref, count)
        .where(
            messages.c.community == community,
            _in(messages.c.sent_at, start, end),
            messages.c.thread.is_not(None),
            ~in_thread_kept,
            ~is_takeaway,
        )
        .group_by(messages.c.author_ref),
        "annotations": select(link_annotations.c.member_ref, count)
        .where(
            link_annotations.c.community == community,
            _in(link_annotations.c.created_at, start, end),
        )
        .group_by(link_annotations.c.member_ref),
        "reactions": select(reactions.c.member_ref, count)
        .where(reactions.c.community == community, _in(reactions.c.reacted_at, start, end))
        .group_by(reactions.c.member_ref),
        "blog_posts": select(feeds.c.owner_ref, count)
        .select_from(feed_entries.join(feeds, feeds.c.id == feed_entries.c.feed_id))
        .where(
            feed_entries.c.community == community,
            feeds.c.owner_ref.is_not(None),
            feed_entries.c.hidden.is_(False),
            _in(feed_entries.c.published_at, start, end),
        )
        .group_by(feeds.c.owner_ref),
        "rsvps": select(rsvps.c.member_ref, count)
        .select_from(rsvps.join(gatherings, gatherings.c.id == rsvps.c.gathering_id))
        .where(
            gatherings.c.community == community,
            rsvps.c.status.in_(("going", "maybe")),
            _in(rsvps.c.at, start, end),
        )
        .group_by(rsvps.c.member_ref),
        "takeaways": select(takeaways.c.member_ref, count)
        .where(takeaways.c.community == community, _in(takeaways.c.at, start, end))
        .group_by(takeaways.c.member_ref),
        # Everything else said in the community's channels: talk, not a stage of the loop.
        "messages": select(messages.c.author_ref, count)
        .where(
            messages.c.community == community,
            _in(messages.c.sent_at, start, end),
            messages.c.thread.is_(None),
            ~carries_link,
            ~in_thread_kept,
        )
        .group_by(messages.c.author_ref),
    }


async def activity(
    conn: AsyncConnection,
    community: str,
    start: datetime,
    end: datetime,
    members: Collection[str] | None = None,
) -> dict[str, Activity]:
    """What each member (of `members`, when given) did in `community` from `start`
    (inclusive) to `end` (exclusive); members who did nothing are absent."""
    counts: dict[str, dict[str, int]] = {}
    for kind, query in _count_queries(community, start, end).items():
        if members is not None:
            query = query.where(query.selected_columns[0].in_(list(members)))
        for member_ref, number in (await conn.execute(query)).all():
            if member_ref is not None:
                counts.setdefault(member_ref, {})[kind] = int(number)
    return {member_ref: Activity(**kinds) for member_ref, kinds in counts.items()}


def replies_received_query(community: str, start: datetime, end: datetime) -> Any:
    """(root author, replier) pairs with counts: who answered whom in threads."""
    root = messages.alias("root")
    reply = messages
    root_ref = reply.c.channel + "/" + reply.c.thread
    return (
        select(root.c.author_ref, reply.c.author_ref, func.count())
        .select_from(reply.join(root, root.c.ref == root_ref))
        .where(
            reply.c.community == community,
            reply.c.thread.is_not(None),
            _in(reply.c.sent_at, start, end),
            reply.c.author_ref != root.c.author_ref,
        )
        .group_by(root.c.author_ref, reply.c.author_ref)
    )


async def replies_received(
    conn: AsyncConnection, community: str, start: datetime, end: datetime
) -> dict[str, int]:
    """How many replies by others each member's threads received in the period."""
    received: dict[str, int] = {}
    for root_author, _replier, number in await conn.execute(
        replies_received_query(community, start, end)
    ):
        received[root_author] = received.get(root_author, 0) + int(number)
    return received


async def interactions(
    conn: AsyncConnection, community: str, start: datetime, end: datetime
) -> set[frozenset[str]]:
    """Pairs of members who have interacted: replied in each other's threads or reacted to
    each other's messages."""
    pairs: set[frozenset[str]] = set()
    for root_author, replier, _number in await conn.execute(
        replies_received_query(community, start, end)
    ):
        pairs.add(frozenset((root_author, replier)))
    reacted = (
        select(messages.c.author_ref, reactions.c.member_ref)
        .select_from(reactions.join(messages, messages.c.ref == reactions.c.message_ref))
        .where(
            reactions.c.community == community,
            _in(reactions.c.reacted_at, start, end),
            messages.c.author_ref != reactions.c.member_ref,
        )
        .distinct()
    )
    for author, reactor in await conn.execute(reacted):
        pairs.add(frozenset((author, reactor)))
    return pairs


async def cohort_histories(
    conn: AsyncConnection,
    community: str,
    now: datetime,
    rules: DriftRules,
    facilitators: Collection[str] = (),
    members: Sequence[Membership] | None = None,
) -> list[MemberHistory]:
    """Every member of `community` who is not a facilitator, with their recent and earlier
    activity as the drift rule reads it (`facilitators`: refs named in the config)."""
    period = timedelta(days=rules.recent_days)
    recent_start = now - period
    # What happened at `now` itself is recent too (the window's end is exclusive).
    recent = await activity(conn, community, recent_start, now + timedelta(seconds=1))
    earlier = await activity(conn, community, recent_start - period * EARLIER_PERIODS, recent_start)
    histories: list[MemberHistory] = []
    if members is None:
        members = await community_members(conn, community)
    for member in members:
        if member.facilitator or member.member_ref in facilitators:
            continue
        histories.append(
            MemberHistory(
                member_ref=member.member_ref,
                joined_at=member.joined_at,
                recent=recent.get(member.member_ref, NOTHING).total,
                earlier=earlier.get(member.member_ref, NOTHING).total,
                last_active_at=member.last_active_at,
            )
        )
    return histories


async def drifting_members(
    conn: AsyncConnection,
    community: str,
    now: datetime,
    rules: DriftRules,
    facilitators: Collection[str] = (),
    members: Sequence[Membership] | None = None,
) -> list[Drift]:
    """The members of `community` drifting away now (facilitators never count; `members`:
    the community's memberships, when the caller has read them already)."""
    histories = await cohort_histories(conn, community, now, rules, facilitators, members)
    return drifting(histories, now, rules)


async def settle_nudge_answers(
    conn: AsyncConnection, community: str, now: datetime, answer_days: int
) -> int:
    """Mark nudges answered whose member acted in `community` within `answer_days` after
    them; return how many were marked. Nudge jobs and reports call it before reading, so
    both see the same answers."""
    window = timedelta(days=answer_days)
    pending = (
        await conn.execute(
            select(nudges.c.id, nudges.c.sent_at, memberships.c.last_active_at)
            .select_from(nudges.join(memberships, NUDGED_MEMBER))
            .where(
                nudges.c.community == community,
                nudges.c.answered_at.is_(None),
                nudges.c.sent_at >= now - window - timedelta(days=answer_days * 4),
                memberships.c.last_active_at > nudges.c.sent_at,
            )
        )
    ).all()
    answered = [
        {"nudge_id": nudge_id, "at": at}
        for nudge_id, sent_at, last in pending
        if (at := answered_at(sent_at, last, answer_days)) is not None
    ]
    if answered:
        await conn.execute(
            update(nudges)
            .where(nudges.c.id == bindparam("nudge_id"))
            .values(answered_at=bindparam("at")),
            answered,
        )
    return len(answered)
