"""Peer review (ECI831): reviewers paired fairly at the due time, each review a rubric page plus
one thing done well and one suggestion, reminders before the review due time, the reviews side
by side for facilitators, and calibration of the member's self-assessment.

Blind means blind: in a blind assignment nothing the bot sends to a reviewer names the author
and nothing sent to the author names a reviewer (reviews reach the author as the bot's own
direct messages). Log lines name assignments, submissions and reviews by id only.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from bot.core.actions import Action, Button, Content, SendDirect
from bot.core.commands import ArgumentValue, CommandSpec, Param, ParamKind, Role
from bot.core.i18n import Catalog
from bot.core.markup import escape, link
from bot.core.refs import MemberRef
from bot.core.suggestions import Suggestion, label, matching
from bot.features.assignments import review_store, store
from bot.features.assignments.pages import (
    chosen_lines,
    in_place,
    level_problem,
    page_of,
    pages_of,
    step_commands,
    step_controls,
)
from bot.features.assignments.pairing import assign_reviewers, late_reviewers
from bot.features.assignments.review_store import ReviewRecord
from bot.features.assignments.store import AssignmentRecord, SubmissionRecord
from bot.features.members import NAMED, consenting
from bot.runtime.service import Invocation, Offer, SuggestionQuery, Transaction
from bot.storage import Connection

log = logging.getLogger(__name__)

MAX_REVIEWS = 10  # reviews asked per submission
MAX_REVIEW_TEXT = 1000
REMIND_AHEAD = timedelta(hours=24)
_REVIEW_ID = re.compile(r"^\s*#?r?(\d{1,9})\s*$", re.IGNORECASE)
_WORK_SHOWN = 1500  # characters of a text submission shown to its reviewer

REVIEW_PARAM = Param(
    name="review", help="The review, e.g. R7 (pick from the list)", suggests="reviews"
)

REVIEW = CommandSpec(
    name="review",
    help="Review your peers' work: the reviews given to you, a level per criterion, feedback",
    subcommands=(
        CommandSpec(
            name="list",
            help="Your peer reviews, those to do first",
            example="/review list",
        ),
        CommandSpec(
            name="show",
            help="Open a review: the work, then a level per criterion",
            example="/review show R7",
            params=(REVIEW_PARAM,),
        ),
        *step_commands(REVIEW_PARAM, "review", "R7"),
        CommandSpec(
            name="finish",
            help="One thing done well and one suggestion: the review is sent to the author",
            example='/review finish R7 strength="clear structure" suggestion="cite a source"',
            params=(
                REVIEW_PARAM,
                Param(
                    name="strength",
                    help="One thing done well",
                    keyword_only=True,
                    max_length=MAX_REVIEW_TEXT,
                ),
                Param(
                    name="suggestion",
                    help="One suggestion",
                    keyword_only=True,
                    max_length=MAX_REVIEW_TEXT,
                ),
            ),
            form=("strength", "suggestion"),
        ),
    ),
)

# `/grade reviews` and `/grade reassign`: facilitators' half, declared in the `/grade` group.
REVIEWS_STATUS = CommandSpec(
    name="reviews",
    help="An assignment's peer reviews: who has reviewed, who has not",
    example="/grade reviews A1",
    role=Role.FACILITATOR,
    params=(
        Param(
            name="assignment",
            help="The assignment, e.g. A3 (pick from the list)",
            suggests="assignments",
        ),
    ),
)
REASSIGN = CommandSpec(
    name="reassign",
    help="Give an unfinished peer review to another member",
    example="/grade reassign R7 carol",
    role=Role.FACILITATOR,
    params=(
        REVIEW_PARAM,
        Param(
            name="member", help="Who reviews it instead (name or mention)", kind=ParamKind.MEMBER
        ),
    ),
)

MemberFinder = Callable[[Connection, Invocation, str], Awaitable[list[str]]]


def review_id(text: ArgumentValue) -> int | None:
    """The number of a review written `R7` (or `7`)."""
    match = _REVIEW_ID.match(str(text))
    return int(match.group(1)) if match else None


def _stamp(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}>"


def _work(item: SubmissionRecord) -> str:
    """The work as its reviewer reads it."""
    if item.kind in ("link", "blog"):
        return link(item.work, item.work)
    text = item.work if len(item.work) <= _WORK_SHOWN else item.work[:_WORK_SHOWN] + "…"
    return f"_{escape(text)}_"


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def peer_levels(reviews: Sequence[ReviewRecord], criteria: int) -> list[list[int]]:
    """Per criterion, the levels the submitted reviews gave (indexes from 0)."""
    found: list[list[int]] = [[] for _ in range(criteria)]
    for item in reviews:
        if not item.done:
            continue
        for index, level in enumerate(item.levels[:criteria]):
            if level is not None:
                found[index].append(level)
    return found


def distance(own: Sequence[int], peers: Sequence[Sequence[int]]) -> float | None:
    """How far a self-assessment is from the peers', in levels: the mean over criteria of
    |own level − the peers' mean|; None without a peer level to compare."""
    gaps = [
        abs(level - mean)
        for level, given in zip(own, peers, strict=False)
        if (mean := _mean(list(given))) is not None
    ]
    return _mean(gaps)


class PeerReviews:
    """The peer review half of the assignments feature: its commands, its jobs' work, and what
    it adds to the facilitator's and the member's views."""

    def __init__(self, *, find_members: MemberFinder) -> None:
        self._find_members = find_members

    # ------------------------------------------------------------------ pairing

    async def pair_due(self, tx: Transaction, texts: Callable[[str], Catalog]) -> list[Action]:
        """Pair reviewers for every assignment whose due time has passed; each reviewer and
        the assignment's facilitators are told, in the same transaction."""
        actions: list[Action] = []
        for record in await review_store.due_for_pairing(tx.conn, tx.now):
            if not await review_store.claim_pairing(tx.conn, record.id, tx.now):
                continue
            actions += await self._pair(tx, record, texts)
        return actions

    async def _pair(
        self, tx: Transaction, record: AssignmentRecord, texts: Callable[[str], Catalog]
    ) -> list[Action]:
        t = texts(record.community)
        works = await review_store.current_submissions(tx.conn, record.id)
        authors = [work.member_ref for work in works]
        pool = list(authors)
        if record.open_reviewing:
            pool += [m for m in await review_store.community_members(tx.conn, record.community)]
        earlier = await review_store.earlier_pairs(tx.conn, record.community, record.id)
        # Off the event loop: a large cohort takes about a second to solve (bench/pairing.py),
        # and interactions must still be answered within Discord's 3 s meanwhile.
        pairing = await asyncio.to_thread(
            assign_reviewers, authors, pool, record.peer_reviews, earlier, seed=record.id
        )
        by_author = {work.member_ref: work for work in works}
        pairs = [
            (by_author[author], reviewer)
            for author, chosen in pairing.reviewers.items()
            for reviewer in chosen
        ]
        added = await review_store.add_reviews(
            tx.conn, record.id, pairs, len(record.rubric.criteria), tx.now
        )
        log.info(
            "assignments: A%d paired %d reviews among %d reviewers",
            record.id,
            len(added),
            len({r.reviewer_ref for r in added}),
        )
        actions: list[Action] = self._tell_reviewers(t, record, added)
        if len(works) == 0:
            note = t("reviews.paired_nobody", title=escape(record.title), key=record.key)
        else:
            note = t(
                "reviews.paired",
                title=escape(record.title),
                key=record.key,
                reviews=len(added),
                reviewers=len({r.reviewer_ref for r in added}),
            )
            if pairing.short:
                note += " " + t(
                    "reviews.paired_short",
                    count=len(pairing.short),
                    wanted=record.peer_reviews,
                )
        status = (Button(label=t("reviews.status_button"), action=f"grade reviews {record.key}"),)
        for facilitator in await self._facilitators(tx.conn, record):
            actions.append(
                SendDirect(
                    member=MemberRef.parse(facilitator),
                    content=Content(text=note, buttons=status if works else ()),
                )
            )
        return actions

    async def _facilitators(self, conn: Connection, record: AssignmentRecord) -> list[str]:
        if record.created_by:
            return [record.created_by]
        return await store.community_facilitators(conn, record.community)

    def _tell_reviewers(
        self, t: Catalog, record: AssignmentRecord, added: Sequence[ReviewRecord]
    ) -> list[Action]:
        """A direct message to each reviewer with a button per review to open."""
        by_reviewer: dict[str, list[ReviewRecord]] = {}
        for item in added:
            if item.reviewer_ref is not None:
                by_reviewer.setdefault(item.reviewer_ref, []).append(item)
        actions: list[Action] = []
        for reviewer, items in by_reviewer.items():
            due = t("reviews.due", due=_stamp(record.review_due_at)) if record.review_due_at else ""
            text = t(
                "reviews.given_you",
                title=escape(record.title),
                count=len(items),
                due=due,
                blind=t("reviews.blind_note") if record.blind else "",
            )
            buttons = tuple(
                Button(
                    label=t("reviews.open_button", key=item.key), action=f"review show {item.key}"
                )
                for item in items[:5]
            )
            actions.append(
                SendDirect(
                    member=MemberRef.parse(reviewer), content=Content(text=text, buttons=buttons)
                )
            )
        return actions

    async def after_submission(
        self,
        tx: Transaction,
        t: Catalog,
        record: AssignmentRecord,
        work: SubmissionRecord,
        previous: SubmissionRecord | None,
    ) -> list[Action]:
        """A submission after the reviewers were paired: a new version takes over the
        unfinished reviews of the old; a first submission gets reviewers at once, from those
        with the fewest reviews."""
        if record.peer_reviews <= 0 or record.reviews_assigned_at is None:
            return []
        if previous is not None:
            await review_store.follow_new_version(tx.conn, previous.id, work.id)
            if await review_store.reviews_of(tx.conn, [work.id]):
                return []
        loads = await review_store.loads(tx.conn, record.id)
        for item in await review_store.current_submissions(tx.conn, record.id):
            loads.setdefault(item.member_ref, 0)
        if record.open_reviewing:
            for member in await review_store.community_members(tx.conn, record.community):
                loads.setdefault(member, 0)
        earlier = await review_store.earlier_pairs(tx.conn, record.community, record.id)
        chosen = late_reviewers(work.member_ref, loads, record.peer_reviews, earlier)
        added = await review_store.add_reviews(
            tx.conn, record.id, [(work, r) for r in chosen], len(record.rubric.criteria), tx.now
        )
        log.info("assignments: S%d came after pairing; %d reviews assigned", work.id, len(added))
        return self._tell_reviewers(t, record, added)

    async def remind_due(self, tx: Transaction, texts: Callable[[str], Catalog]) -> list[Action]:
        """A day before reviews are due, each reviewer with reviews still to do is told."""
        actions: list[Action] = []
        for record in await review_store.due_for_reminder(tx.conn, tx.now, REMIND_AHEAD):
            t = texts(record.community)
            pending: dict[str, list[ReviewRecord]] = {}
            for item in await review_store.assignment_reviews(tx.conn, record.id):
                if not item.done and item.reviewer_ref is not None:
                    pending.setdefault(item.reviewer_ref, []).append(item)
            assert record.review_due_at is not None
            for reviewer, items in pending.items():
                text = t(
                    "reviews.reminder",
                    title=escape(record.title),
                    count=len(items),
                    due=_stamp(record.review_due_at),
                )
                buttons = tuple(
                    Button(
                        label=t("reviews.open_button", key=item.key),
                        action=f"review show {item.key}",
                    )
                    for item in items[:5]
                )
                actions.append(
                    SendDirect(
                        member=MemberRef.parse(reviewer),
                        content=Content(text=text, buttons=buttons),
                    )
                )
            log.info("assignments: A%d reminded %d reviewers", record.id, len(pending))
        return actions

    # ------------------------------------------------------------------ the reviewer

    async def list_reviews(self, call: Invocation, tx: Transaction) -> list[Action]:
        """The caller's peer reviews, to do first, each with a button."""
        t = call.texts
        rows = await review_store.reviews_by(tx.conn, call.community.name, str(call.author.ref))
        if not rows:
            return [call.answer(t("reviews.none", prefix=call.prefix))]
        lines = [t("reviews.list_heading")]
        buttons: list[Button] = []
        for record, item, _ in rows:
            state = (
                t("reviews.state_done", at=_stamp(item.submitted_at))
                if item.submitted_at
                else t("reviews.state_todo")
            )
            due = (
                f" · {t('reviews.due', due=_stamp(record.review_due_at))}"
                if (record.review_due_at and not item.done)
                else ""
            )
            lines.append(
                t(
                    "reviews.list_line",
                    key=item.key,
                    title=escape(record.title),
                    assignment=record.key,
                    state=state,
                    due=due,
                )
            )
            if not item.done and len(buttons) < 5:
                buttons.append(
                    Button(
                        label=t("reviews.open_button", key=item.key),
                        action=f"review show {item.key}",
                    )
                )
        return [call.answer("\n".join(lines), buttons=tuple(buttons))]

    async def _own(
        self, call: Invocation, tx: Transaction
    ) -> tuple[AssignmentRecord, ReviewRecord, SubmissionRecord] | list[Action]:
        """The caller's review the arguments name, or the answer saying it names none."""
        t = call.texts
        me = str(call.author.ref)
        number = review_id(call.arguments.get("review", ""))
        rows = await review_store.reviews_by(tx.conn, call.community.name, me)
        for row in rows:
            if row[1].id == number:
                return row
        shown = escape(str(call.arguments.get("review", ""))[:20])
        offers = [
            Offer(item.key, record.title, t("reviews.state_todo"))
            for record, item, _ in rows
            if not item.done
        ]
        return [call.no_such(t("reviews.no_such", id=shown), offers, param="review")]

    async def _unsent(
        self, call: Invocation, tx: Transaction
    ) -> tuple[AssignmentRecord, ReviewRecord, SubmissionRecord] | list[Action]:
        """The caller's review the arguments name while it is not sent yet, or the answer."""
        found = await self._own(call, tx)
        if isinstance(found, list):
            return found
        if found[1].done:
            return [call.answer(call.texts("reviews.already_sent", key=found[1].key))]
        return found

    async def show(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Open a review: the work, then its first page of criteria still to choose."""
        found = await self._own(call, tx)
        if isinstance(found, list):
            return found
        record, item, work = found
        if item.done:
            return [call.answer(self._given_text(call.texts, record, item, work))]
        unanswered = [i for i, level in enumerate(item.levels) if level is None]
        page = page_of(unanswered[0] + 1) if unanswered else 1
        return [await self._page(call, tx, record, item, work, page, opening=True)]

    async def pick_level(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Keep a level for one criterion and redraw the page."""
        t = call.texts
        found = await self._unsent(call, tx)
        if isinstance(found, list):
            return found
        record, item, work = found
        criteria = record.rubric.criteria
        number, level = int(call.arguments["criterion"]), int(call.arguments["level"])
        problem = level_problem(t, criteria, number, level)
        if problem is not None:
            return [call.refuse(problem)]
        levels_now = list(item.levels) + [None] * (len(criteria) - len(item.levels))
        levels_now[number - 1] = level - 1
        await review_store.put_levels(tx.conn, item.id, levels_now)
        item = _with_levels(item, levels_now)
        return [await self._page(call, tx, record, item, work, page_of(number))]

    async def turn_page(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Show another page of criteria."""
        found = await self._own(call, tx)
        if isinstance(found, list):
            return found
        record, item, work = found
        return [await self._page(call, tx, record, item, work, int(call.arguments["page"]))]

    async def _page(
        self,
        call: Invocation,
        tx: Transaction,
        record: AssignmentRecord,
        item: ReviewRecord,
        work: SubmissionRecord,
        page: int,
        *,
        opening: bool = False,
        note: str = "",
    ) -> Action:
        t = call.texts
        criteria = record.rubric.criteria
        pages = pages_of(criteria)
        page = min(max(page, 1), pages)
        lines = [note] if note else []
        if opening or page == 1:
            lines.append(t("reviews.work", work=_work(work)))
            if record.blind:
                lines.append(t("reviews.blind_note"))
            elif work.member_ref in await consenting(tx.conn, NAMED, [work.member_ref]):
                names = await store.display_names(tx.conn, [work.member_ref])
                lines.append(t("reviews.by", name=escape(names.get(work.member_ref, "?"))))
            if record.review_due_at:
                lines.append(t("reviews.due_line", due=_stamp(record.review_due_at)))
        if criteria:
            lines.append(t("reviews.page_heading", page=page, pages=pages))
            lines += chosen_lines(t, criteria, item.levels)
            lines.append(t("reviews.pick_hint", key=item.key, prefix=call.prefix))
        lines.append(t("reviews.finish_hint"))
        menus, buttons = step_controls(t, REVIEW, "review", item.key, criteria, item.levels, page)
        content = Content(
            text="\n".join(lines),
            title=t("reviews.page_title", title=record.title, key=item.key),
            menus=menus,
            buttons=tuple(buttons),
        )
        return in_place(call, content)

    async def finish(self, call: Invocation, tx: Transaction) -> list[Action]:
        """The review is complete: it is kept and sent to the author as the bot's message."""
        t = call.texts
        found = await self._unsent(call, tx)
        if isinstance(found, list):
            return found
        record, item, work = found
        missing = [i + 1 for i, level in enumerate(item.levels) if level is None]
        if missing:
            note = t("assignments.levels_missing", numbers=", ".join(map(str, missing)))
            return [await self._page(call, tx, record, item, work, page_of(missing[0]), note=note)]
        strength = str(call.arguments["strength"]).strip()
        suggestion = str(call.arguments["suggestion"]).strip()
        if not strength or not suggestion:
            return [call.refuse(t("reviews.feedback_missing", key=item.key))]
        late = record.review_due_at is not None and tx.now > record.review_due_at
        if not await review_store.finish_review(
            tx.conn, item.id, strength=strength, suggestion=suggestion, late=late, now=tx.now
        ):
            return [call.answer(t("reviews.already_sent", key=item.key))]
        log.info("assignments: R%d submitted for S%d", item.id, work.id)
        me = str(call.author.ref)
        reviewer = t("reviews.a_peer")
        if not record.blind and me in await consenting(tx.conn, NAMED, [me]):
            names = await store.display_names(tx.conn, [me])
            reviewer = escape(names.get(me, reviewer))
        sent = review_store.ReviewRecord(
            **{
                **{name: getattr(item, name) for name in ReviewRecord.__slots__},
                "strength": strength,
                "suggestion": suggestion,
                "submitted_at": tx.now,
            }
        )
        lines = [
            t("reviews.received", who=reviewer, title=escape(record.title), key=work.key),
            *self._review_lines(t, record, sent),
            t("reviews.received_next", key=record.key, prefix=call.prefix),
        ]
        told = SendDirect(
            member=MemberRef.parse(work.member_ref), content=Content(text="\n".join(lines))
        )
        answer = t("reviews.sent", key=item.key)
        if late:
            answer += " " + t("reviews.sent_late")
        return [told, in_place(call, Content(text=answer))]

    def _review_lines(self, t: Catalog, record: AssignmentRecord, item: ReviewRecord) -> list[str]:
        lines = []
        for number, criterion in enumerate(record.rubric.criteria, 1):
            level = item.levels[number - 1] if number - 1 < len(item.levels) else None
            shown = escape(criterion.levels[level]) if level is not None else "—"
            lines.append(f"{number}. {escape(criterion.name)}: **{shown}**")
        lines.append(t("reviews.strength", text=escape(item.strength or "")))
        lines.append(t("reviews.suggestion", text=escape(item.suggestion or "")))
        return lines

    def _given_text(
        self, t: Catalog, record: AssignmentRecord, item: ReviewRecord, work: SubmissionRecord
    ) -> str:
        assert item.submitted_at is not None
        lines = [
            t(
                "reviews.given_heading",
                key=item.key,
                title=escape(record.title),
                at=_stamp(item.submitted_at),
            ),
            t("reviews.work", work=_work(work)),
            *self._review_lines(t, record, item),
        ]
        return "\n".join(lines)

    # ------------------------------------------------------------------ facilitators

    async def status(
        self, call: Invocation, tx: Transaction, record: AssignmentRecord
    ) -> list[Action]:
        """Who has reviewed and who has not, for facilitators only."""
        t = call.texts
        if record.peer_reviews <= 0:
            return [call.answer(t("reviews.not_asked", key=record.key, prefix=call.prefix))]
        settings = t(
            "reviews.settings",
            count=record.peer_reviews,
            blind=t("reviews.blind" if record.blind else "reviews.open"),
            due=_stamp(record.review_due_at) if record.review_due_at else "—",
        )
        heading = t("reviews.status_heading", title=escape(record.title), key=record.key)
        if record.reviews_assigned_at is None:
            return [
                call.answer(
                    "\n".join(
                        [heading, settings, t("reviews.not_paired", due=_stamp(record.due_at))]
                    )
                )
            ]
        items = await review_store.assignment_reviews(tx.conn, record.id)
        done = [i for i in items if i.done]
        names = await store.display_names(
            tx.conn, [i.reviewer_ref for i in items if i.reviewer_ref]
        )
        lines = [
            heading,
            settings,
            t(
                "reviews.status_counts",
                done=len(done),
                total=len(items),
                late=sum(1 for i in done if i.late),
            ),
        ]
        waiting: dict[str, list[str]] = {}
        for item in items:
            if not item.done and item.reviewer_ref:
                waiting.setdefault(item.reviewer_ref, []).append(f"`{item.key}`")
        if waiting:
            lines.append(t("reviews.status_waiting"))
            for reviewer, keys in sorted(waiting.items(), key=lambda kv: names.get(kv[0], "")):
                lines.append(f"• {escape(names.get(reviewer, '?'))}: {', '.join(keys)}")
            lines.append(t("reviews.reassign_hint", prefix=call.prefix))
        return [call.answer("\n".join(lines))]

    async def reassign(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Give an unfinished review to another member."""
        t = call.texts
        number = review_id(call.arguments.get("review", ""))
        item = await review_store.review(tx.conn, number) if number is not None else None
        record = (
            await store.assignment(tx.conn, call.community.name, item.assignment_id)
            if item is not None
            else None
        )
        if item is None or record is None:
            shown = escape(str(call.arguments.get("review", ""))[:20])
            return [call.answer(t("reviews.no_such_any", id=shown))]
        if item.done:
            return [call.answer(t("reviews.reassign_done", key=item.key))]
        who = str(call.arguments.get("member", "")).strip()
        refs = await self._find_members(tx.conn, call, who)
        if len(refs) != 1:
            key = "assignments.no_member" if not refs else "assignments.many_members"
            return [call.answer(t(key, name=escape(who[:40])))]
        new = refs[0]
        if new == item.reviewee_ref:
            return [call.answer(t("reviews.reassign_self"))]
        others = await review_store.reviews_of(tx.conn, [item.submission_id])
        if any(other.reviewer_ref == new for other in others):
            return [call.answer(t("reviews.reassign_twice", key=f"S{item.submission_id}"))]
        old = item.reviewer_ref
        await review_store.reassign(tx.conn, item.id, new, tx.now)
        log.info("assignments: R%d reassigned", item.id)
        moved = await review_store.review(tx.conn, item.id)
        assert moved is not None
        actions: list[Action] = self._tell_reviewers(t, record, [moved])
        if old is not None:
            actions.append(
                SendDirect(
                    member=MemberRef.parse(old),
                    content=Content(
                        text=t("reviews.taken_off", key=item.key, title=escape(record.title))
                    ),
                )
            )
        names = await store.display_names(tx.conn, [new])
        actions.append(
            call.answer(t("reviews.reassigned", key=item.key, name=escape(names.get(new, who))))
        )
        return actions

    async def side_by_side(
        self, conn: Connection, t: Catalog, record: AssignmentRecord, work: SubmissionRecord
    ) -> list[str]:
        """For facilitators: the peers' reviews of a submission next to its self-evaluation,
        and per criterion how far the self-assessment is from the peers'."""
        if record.peer_reviews <= 0:
            return []
        items = await review_store.reviews_of(conn, [work.id])
        if not items:
            return [t("reviews.none_yet")]
        names = await store.display_names(conn, [i.reviewer_ref for i in items if i.reviewer_ref])
        criteria = record.rubric.criteria
        peers = peer_levels(items, len(criteria))
        lines = [t("reviews.side_heading", done=sum(i.done for i in items), total=len(items))]
        for number, criterion in enumerate(criteria, 1):
            own = work.levels[number - 1] if number - 1 < len(work.levels) else None
            given = peers[number - 1]
            own_text = f"{own + 1}" if own is not None else "—"
            peer_text = ", ".join(str(level + 1) for level in given) or "—"
            mean = _mean(given)
            gap = f"{own - mean:+.1f}" if own is not None and mean is not None else "—"
            lines.append(
                t(
                    "reviews.side_line",
                    number=number,
                    criterion=escape(criterion.name),
                    own=own_text,
                    peers=peer_text,
                    gap=gap,
                )
            )
        for item in items:
            who = escape(names.get(item.reviewer_ref or "", t("reviews.forgotten")))
            if item.done:
                late = t("assignments.late_mark") if item.late else ""
                lines.append(
                    t(
                        "reviews.side_review",
                        key=item.key,
                        who=who,
                        late=late,
                        strength=escape(item.strength or ""),
                        suggestion=escape(item.suggestion or ""),
                    )
                )
            else:
                lines.append(t("reviews.side_pending", key=item.key, who=who))
        return lines

    async def calibration(
        self,
        conn: Connection,
        t: Catalog,
        record: AssignmentRecord,
        work: SubmissionRecord,
        now: datetime,
    ) -> list[str]:
        """For the member: the reviews they received (never a reviewer's name in a blind
        assignment) and, once every review is in or the review due time has passed, their own
        level next to the peers' per criterion, with the facilitator's grade; then whether
        their self-assessment is getting closer over the community's assignments."""
        if record.peer_reviews <= 0 or record.reviews_assigned_at is None:
            return []
        items = await review_store.reviews_of(conn, [work.id])
        done = [i for i in items if i.done]
        lines = [t("reviews.received_heading", done=len(done), total=len(items))]
        for item in done:
            lines += ["—", *self._review_lines(t, record, item)]
        ready = bool(items) and (
            len(done) == len(items)
            or (record.review_due_at is not None and now >= record.review_due_at)
        )
        if not ready:
            if items:
                lines.append(t("reviews.calibration_later"))
            return lines
        criteria = record.rubric.criteria
        peers = peer_levels(items, len(criteria))
        lines.append(t("reviews.calibration_heading"))
        for number, criterion in enumerate(criteria, 1):
            own = work.levels[number - 1] if number - 1 < len(work.levels) else None
            given = [escape(criterion.levels[level]) for level in peers[number - 1]]
            lines.append(
                t(
                    "reviews.calibration_line",
                    criterion=escape(criterion.name),
                    own=escape(criterion.levels[own]) if own is not None else "—",
                    peers=", ".join(given) or "—",
                )
            )
        if work.final_grade:
            lines.append(
                t(
                    "reviews.calibration_grade",
                    own=escape(work.proposed_grade),
                    grade=escape(work.final_grade),
                )
            )
        trend = await self._trend(conn, record.community, work.member_ref)
        if len(trend) >= 2:
            shown = ", ".join(f"{key} {gap:.1f}" for key, gap in trend)
            closer = trend[-1][1] < trend[0][1]
            lines.append(
                t(
                    "reviews.trend_closer" if closer else "reviews.trend_not_closer",
                    trend=shown,
                )
            )
        return lines

    async def _trend(
        self, conn: Connection, community: str, member: str
    ) -> list[tuple[str, float]]:
        """Per assignment with peer reviews, oldest first: how far the member's self-assessment
        was from the peers', in levels."""
        found: list[tuple[str, float]] = []
        for record, work in reversed(await store.member_submissions(conn, community, member)):
            if record.peer_reviews <= 0:
                continue
            items = await review_store.reviews_of(conn, [work.id])
            gap = distance(work.levels, peer_levels(items, len(record.rubric.criteria)))
            if gap is not None:
                found.append((record.key, gap))
        return found

    # ------------------------------------------------------------------ suggestions, forgetting

    async def suggest(self, query: SuggestionQuery, conn: Connection) -> list[Suggestion]:
        """The caller's reviews to do, then done ones: never a name."""
        rows = await review_store.reviews_by(conn, query.community.name, query.member)
        typed = query.typed.strip()
        return [
            Suggestion(
                item.key,
                label(item.key, record.title, "done" if item.done else "to do"),
            )
            for record, item, _ in rows
            if not typed
            or item.key.lower().startswith(typed.lower())
            or str(item.id).startswith(typed)
            or matching(typed, record.title)
        ][: query.limit]

    async def forget(self, conn: Connection, member_ref: str) -> None:
        """A forgotten reviewer's unfinished reviews go; their finished ones stay, unnamed."""
        await review_store.drop_unfinished(conn, member_ref)


def _with_levels(item: ReviewRecord, levels: Sequence[int | None]) -> ReviewRecord:
    values = {name: getattr(item, name) for name in ReviewRecord.__slots__}
    values["levels"] = tuple(levels)
    return ReviewRecord(**values)
