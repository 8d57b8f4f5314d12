"""Assignments with self-evaluation and the facilitator's dialogue (ECI831).

Facilitators create assignments (`/assignment`); a member hands in work (`/submit`) and
evaluates it themselves (`/self-assess`: a level per rubric criterion picked from menus, four
per page, then strengths, what to improve and a proposed grade in a form); facilitators read
the queue (`/grade queue`) and accept the proposed grade or propose another, which opens a
dialogue relayed by direct message (`/discuss`); the final grade is theirs. Nothing is final
until the last step: a draft is kept for 24 hours, across restarts. Submissions, self-
evaluations and grades are seen only by the member and the community's facilitators, and log
lines name them by their ids (A3, S12), never by member.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.actions import Action, Button, Content, SendDirect
from bot.core.commands import (
    MOMENT,
    ArgumentValue,
    CommandSpec,
    Param,
    ParamKind,
    Role,
)
from bot.core.config import CommunitySettings
from bot.core.i18n import Catalog
from bot.core.markup import escape, link
from bot.core.refs import MemberRef
from bot.core.schedules import parse_rule
from bot.core.suggestions import Suggestion, label, matching
from bot.core.urls import canonicalise, extract_links
from bot.features.assignments import store
from bot.features.assignments.config import RubricSettings, ScaleSettings, known_scales
from bot.features.assignments.pages import (
    chosen_lines,
    in_place,
    level_problem,
    page_of,
    pages_of,
    step_commands,
    step_controls,
)
from bot.features.assignments.reviews import (
    MAX_REVIEWS,
    REASSIGN,
    REVIEW,
    REVIEWS_STATUS,
    PeerReviews,
)
from bot.features.assignments.rubrics import (
    Rubric,
    RubricError,
    Scale,
    parse_rubric,
    parse_scale,
)
from bot.features.assignments.store import (
    DISCUSSING,
    GRADED,
    KINDS,
    AssignmentRecord,
    Draft,
    SubmissionRecord,
)
from bot.features.feeds import member_posts
from bot.features.gatherings import WHEN_EXAMPLES, WhenError, parse_when, to_utc
from bot.features.members import NAMED, SUBMISSIONS, consenting
from bot.runtime.scheduler import Job, RunContext
from bot.runtime.sections import DigestRequest, Entry, Section, SectionProvider
from bot.runtime.service import (
    CommandHandler,
    Invocation,
    Offer,
    Runner,
    Service,
    SuggestionQuery,
    SuggestionSource,
    Transaction,
)
from bot.storage import Connection
from bot.storage.database import Database

log = logging.getLogger(__name__)

DRAFT_HOURS = 24
REVIEW_DAYS = 7  # peer reviews are due this long after the work, unless the assignment says
QUEUE_PAGE = 5
MAX_TITLE = 200
MAX_WORK = 4000  # a modal's text input holds 4000 characters
MAX_REFLECTION = 1000  # strengths, improvements, a comment
_ASSIGNMENT_ID = re.compile(r"^\s*#?a?(\d{1,9})\s*$", re.IGNORECASE)
_SUBMISSION_ID = re.compile(r"^\s*#?s?(\d{1,9})\s*$", re.IGNORECASE)
_MENTION = re.compile(r"^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$")

_ASSIGNMENT = Param(
    name="assignment", help="The assignment, e.g. A3 (pick from the list)", suggests="assignments"
)
_SUBMISSION = Param(
    name="submission", help="The submission, e.g. S12 (pick from the list)", suggests="submissions"
)
_FIELDS = (
    Param(
        name="rubric",
        help="A configured rubric's name, or criteria: “Clarity: low|high; Sources: few|many”",
        required=False,
        keyword_only=True,
        suggests="rubrics",
        max_length=1000,
    ),
    Param(
        name="scale",
        help="The grades: letter, pass, percent, a configured scale, or “A,B,C” / “0-100/5”",
        required=False,
        keyword_only=True,
        suggests="scales",
        max_length=1000,
    ),
    Param(
        name="accepts",
        help="What may be submitted: link, blog, text, or several (link,text)",
        required=False,
        keyword_only=True,
    ),
    Param(
        name="late",
        help="Accept late submissions (marked late)? on or off",
        kind=ParamKind.BOOLEAN,
        required=False,
        keyword_only=True,
    ),
    Param(
        name="description",
        help="What to do, what is looked for",
        required=False,
        keyword_only=True,
        max_length=2000,
    ),
    Param(
        name="reviews",
        help=f"Peer reviews each submission gets (0-{MAX_REVIEWS}; 0: none)",
        kind=ParamKind.INTEGER,
        required=False,
        keyword_only=True,
    ),
    Param(
        name="blind",
        help="Peer reviewers and authors unnamed to each other? on (the default) or off",
        kind=ParamKind.BOOLEAN,
        required=False,
        keyword_only=True,
    ),
    Param(
        name="review_due",
        help="When peer reviews are due (the default: a week after the due time)",
        required=False,
        keyword_only=True,
        picks=MOMENT,
    ),
    Param(
        name="reviewers",
        help="Who reviews: submitters (the default) or everyone (members who did not submit too)",
        required=False,
        kind=ParamKind.CHOICE,
        keyword_only=True,
        choices=("submitters", "everyone"),
    ),
)

ASSIGNMENT = CommandSpec(
    name="assignment",
    help="Create and manage assignments (facilitators)",
    subcommands=(
        CommandSpec(
            name="create",
            help="Create an assignment with its due time, rubric and grading scale",
            example='/assignment create "Blog post 1" "fri 17:00" rubric=blog scale=letter',
            role=Role.FACILITATOR,
            params=(
                Param(name="title", help="The assignment's title", max_length=MAX_TITLE),
                Param(name="due", help="When it is due, e.g. “fri 17:00”", picks=MOMENT),
                *_FIELDS,
            ),
            form=("title", "due", "description", "rubric", "scale"),
        ),
        CommandSpec(
            name="list",
            help="The assignments, with submissions and grades so far",
            example="/assignment list",
            role=Role.FACILITATOR,
        ),
        CommandSpec(
            name="edit",
            help="Change an assignment (until its first submission)",
            example='/assignment edit A1 title="Blog post one" late=off',
            role=Role.FACILITATOR,
            params=(
                _ASSIGNMENT,
                Param(
                    name="title",
                    help="A new title",
                    required=False,
                    keyword_only=True,
                    max_length=MAX_TITLE,
                ),
                Param(
                    name="due",
                    help="A new due time",
                    required=False,
                    keyword_only=True,
                    picks=MOMENT,
                ),
                *_FIELDS,
            ),
        ),
        CommandSpec(
            name="close",
            help="Take no more submissions",
            example="/assignment close A1",
            role=Role.FACILITATOR,
            params=(_ASSIGNMENT,),
        ),
        CommandSpec(
            name="extend",
            help="Move the due time for everyone, or for one member (an extension)",
            example='/assignment extend A1 "mon 17:00" member=alice',
            role=Role.FACILITATOR,
            params=(
                _ASSIGNMENT,
                Param(name="due", help="The new due time", picks=MOMENT),
                Param(
                    name="member",
                    help="Only for this member (their name or mention)",
                    kind=ParamKind.MEMBER,
                    required=False,
                    keyword_only=True,
                ),
            ),
        ),
    ),
)

SUBMIT = CommandSpec(
    name="submit",
    help="Hand in your work for an assignment, then evaluate it yourself",
    example="/submit A1 https://myblog.example/connectivism-week-1",
    params=(
        _ASSIGNMENT,
        Param(
            name="work",
            help="A link, “blog” for your latest blog post, or the text itself",
            rest=True,
            max_length=MAX_WORK,
        ),
    ),
    form=("work",),
)

SELF_ASSESS = CommandSpec(
    name="self-assess",
    help="Evaluate your own submission: a level per criterion, then strengths and a grade",
    subcommands=(
        CommandSpec(
            name="show",
            help="Continue your self-evaluation where you left it",
            example="/self-assess show A1",
            params=(_ASSIGNMENT,),
        ),
        *step_commands(_ASSIGNMENT, "self-assess", "A1"),
        CommandSpec(
            name="finish",
            help="Say what went well, what to improve and the grade you propose: it is submitted",
            example='/self-assess finish A1 strengths="clear links" improve="more sources" grade=B',
            params=(
                _ASSIGNMENT,
                Param(
                    name="strengths",
                    help="What you did well",
                    keyword_only=True,
                    max_length=MAX_REFLECTION,
                ),
                Param(
                    name="improve",
                    help="What you would improve",
                    keyword_only=True,
                    max_length=MAX_REFLECTION,
                ),
                Param(name="grade", help="The grade you propose", keyword_only=True),
            ),
            form=("strengths", "improve", "grade"),
        ),
        CommandSpec(
            name="cancel",
            help="Throw away your draft (a submitted version stays)",
            example="/self-assess cancel A1",
            params=(_ASSIGNMENT,),
        ),
    ),
)

SUBMISSION = CommandSpec(
    name="submission",
    help="Your submissions: self-evaluation, comments, grade, dialogue and history",
    example="/submission A1",
    params=(
        Param(
            name="assignment",
            help="One assignment (none: all of yours and the open ones)",
            required=False,
            suggests="assignments",
        ),
    ),
)

DISCUSS = CommandSpec(
    name="discuss",
    help="Write in the dialogue about a grade (relayed by direct message)",
    example="/discuss S3 I think the sources section meets the highest level because…",
    params=(
        _SUBMISSION,
        Param(name="text", help="What you want to say", rest=True, max_length=MAX_REFLECTION),
    ),
    form=("text",),
)

_COMMENT = Param(
    name="comment",
    help="Your comment or recognition",
    required=False,
    rest=True,
    max_length=MAX_REFLECTION,
)
GRADE = CommandSpec(
    name="grade",
    help="Read submissions and give grades (facilitators)",
    subcommands=(
        CommandSpec(
            name="queue",
            help="Submissions waiting for a grade, oldest first",
            example="/grade queue A1",
            role=Role.FACILITATOR,
            params=(
                Param(
                    name="assignment",
                    help="Only this assignment",
                    required=False,
                    suggests="assignments",
                ),
                Param(
                    name="page",
                    help="Which page",
                    kind=ParamKind.INTEGER,
                    required=False,
                    keyword_only=True,
                ),
            ),
        ),
        CommandSpec(
            name="show",
            help="One submission with its self-evaluation, notes and history",
            example="/grade show S3",
            role=Role.FACILITATOR,
            params=(_SUBMISSION,),
        ),
        CommandSpec(
            name="accept",
            help="Accept the grade the member proposed (with a comment, if you like)",
            example="/grade accept S3 A clear, well-sourced post",
            role=Role.FACILITATOR,
            params=(_SUBMISSION, _COMMENT),
        ),
        CommandSpec(
            name="propose",
            help="Propose another grade, with a comment: it opens a dialogue with the member",
            example="/grade propose S3 B The sources need a second look",
            role=Role.FACILITATOR,
            params=(
                _SUBMISSION,
                Param(name="grade", help="The grade you propose"),
                Param(
                    name="comment",
                    help="Why (the member reads it)",
                    rest=True,
                    max_length=MAX_REFLECTION,
                ),
            ),
            form=("grade", "comment"),
        ),
        CommandSpec(
            name="final",
            help="Give the final grade (the member is told)",
            example="/grade final S3 B+ Thanks for the discussion",
            role=Role.FACILITATOR,
            params=(_SUBMISSION, Param(name="grade", help="The final grade"), _COMMENT),
            form=("grade", "comment"),
        ),
        REVIEWS_STATUS,
        REASSIGN,
    ),
)


def assignment_id(text: ArgumentValue) -> int | None:
    """The number in "A3" (or "3")."""
    match = _ASSIGNMENT_ID.match(str(text))
    return int(match.group(1)) if match else None


def submission_id(text: ArgumentValue) -> int | None:
    """The number in "S12" (or "12")."""
    match = _SUBMISSION_ID.match(str(text))
    return int(match.group(1)) if match else None


def _one_line(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class _Work:
    """What `/submit` was given, read."""

    kind: str
    work: str
    title: str


class AssignmentService(Service):
    """Assignments, submissions with self-evaluation, grading and the dialogue."""

    name = "assignments"

    def __init__(
        self,
        *,
        database: Database,
        rubrics: tuple[RubricSettings, ...],
        scales: tuple[ScaleSettings, ...],
        texts: Callable[[str], Catalog],
        communities: Sequence[CommunitySettings],
        run: Runner,
    ) -> None:
        self._database = database
        self._run = run
        self._reviews = PeerReviews(find_members=self._member)
        self._rubrics = {r.name: Rubric(r.name, r.criteria) for r in rubrics}
        self._scales = known_scales(scales)
        self._texts = texts
        self._communities = {c.name: c for c in communities}

    # ------------------------------------------------------------------ declarations

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """`/assignment`, `/submit`, `/self-assess`, `/submission`, `/discuss`, `/grade`."""
        return (
            (
                ASSIGNMENT,
                {
                    ("assignment", "create"): self.create,
                    ("assignment", "list"): self.list_assignments,
                    ("assignment", "edit"): self.edit,
                    ("assignment", "close"): self.close,
                    ("assignment", "extend"): self.extend,
                },
            ),
            (SUBMIT, {("submit",): self.submit}),
            (
                SELF_ASSESS,
                {
                    ("self-assess", "show"): self.show_draft,
                    ("self-assess", "level"): self.pick_level,
                    ("self-assess", "page"): self.turn_page,
                    ("self-assess", "finish"): self.finish,
                    ("self-assess", "cancel"): self.cancel,
                },
            ),
            (SUBMISSION, {("submission",): self.own_submissions}),
            (DISCUSS, {("discuss",): self.discuss}),
            (
                GRADE,
                {
                    ("grade", "queue"): self.queue,
                    ("grade", "show"): self.show_submission,
                    ("grade", "accept"): self.accept,
                    ("grade", "propose"): self.propose,
                    ("grade", "final"): self.final,
                    ("grade", "reviews"): self.review_status,
                    ("grade", "reassign"): self._reviews.reassign,
                },
            ),
            (
                REVIEW,
                {
                    ("review", "list"): self._reviews.list_reviews,
                    ("review", "show"): self._reviews.show,
                    ("review", "level"): self._reviews.pick_level,
                    ("review", "page"): self._reviews.turn_page,
                    ("review", "finish"): self._reviews.finish,
                },
            ),
        )

    def suggestions(self) -> Mapping[str, SuggestionSource]:
        """Assignments, submissions, rubrics and scales as they are typed."""
        return {
            "assignments": self.suggest_assignments,
            "submissions": self.suggest_submissions,
            "rubrics": self.suggest_rubrics,
            "scales": self.suggest_scales,
            "reviews": self._reviews.suggest,
        }

    def jobs(self) -> Sequence[Job]:
        """Drafts older than a day are let go, hourly."""

        async def purge(context: RunContext) -> None:
            async with self._database.transaction() as conn:
                gone = await store.purge_drafts(conn, context.due_at - timedelta(hours=DRAFT_HOURS))
            if gone:
                log.info("assignments: let go of %d drafts older than a day", gone)

        async def pair(context: RunContext) -> None:
            await self._run(lambda tx: self._reviews.pair_due(tx, self._texts_of))

        async def remind(context: RunContext) -> None:
            await self._run(lambda tx: self._reviews.remind_due(tx, self._texts_of))

        return (
            Job("assignments:drafts", parse_rule("41 * * * *"), "UTC", purge),
            # Reviewers are paired within five minutes of a due time (any run after it pairs
            # what is due, so a run missed while the bot was down is caught up by the next).
            Job("assignments:pair-reviewers", parse_rule("*/5 * * * *"), "UTC", pair),
            Job("assignments:review-reminders", parse_rule("23 * * * *"), "UTC", remind),
        )

    def _texts_of(self, community: str) -> Catalog:
        settings = self._communities.get(community)
        return self._texts(settings.language if settings else "en")

    def digest_sections(self) -> Sequence[SectionProvider]:
        """The week's submissions, by title, of members who allowed it."""
        return (SubmissionsSection(),)

    # ------------------------------------------------------------------ suggestions

    async def suggest_assignments(
        self, query: SuggestionQuery, conn: Connection
    ) -> list[Suggestion]:
        """Open assignments, soonest due first (facilitators also see closed ones, last)."""
        found = await store.community_assignments(
            conn, query.community.name, open_only=not query.is_facilitator
        )
        typed = query.typed.strip()
        picked = [
            record
            for record in found
            if not typed
            or record.key.lower().startswith(typed.lower())
            or str(record.id).startswith(typed)
            or matching(typed, record.title)
        ]
        picked.sort(key=lambda r: (r.closed_at is not None, r.due_at < query.now, r.due_at))
        zone = query.community.zone
        return [
            Suggestion(
                record.key,
                label(
                    record.key,
                    record.title,
                    "closed" if record.closed_at else f"due {_local(record.due_at, zone)}",
                ),
            )
            for record in picked[: query.limit]
        ]

    async def suggest_submissions(
        self, query: SuggestionQuery, conn: Connection
    ) -> list[Suggestion]:
        """Facilitators: submissions waiting for a grade; a member: their own."""
        typed = query.typed.strip()
        pairs: list[tuple[AssignmentRecord, SubmissionRecord]]
        if query.is_facilitator:
            pairs = await store.queue(conn, query.community.name)
            names = await store.display_names(conn, [s.member_ref for _, s in pairs])
        else:
            pairs = await store.member_submissions(conn, query.community.name, query.member)
            names = {}
        found: list[Suggestion] = []
        for record, item in pairs:
            who = names.get(item.member_ref, "")
            if typed and not (
                item.key.lower().startswith(typed.lower())
                or str(item.id).startswith(typed)
                or matching(typed, record.title, item.title, who)
            ):
                continue
            found.append(Suggestion(item.key, label(item.key, record.title, who, item.title)))
        return found[: query.limit]

    async def suggest_rubrics(self, query: SuggestionQuery, conn: Connection) -> list[Suggestion]:
        """Configured rubrics by name."""
        return [
            Suggestion(name, label(name, ", ".join(c.name for c in rubric.criteria)))
            for name, rubric in sorted(self._rubrics.items())
            if matching(query.typed, name)
        ][: query.limit]

    async def suggest_scales(self, query: SuggestionQuery, conn: Connection) -> list[Suggestion]:
        """Scales by name, with their grades."""
        return [
            Suggestion(name, label(name, Scale(name, grades).listing()))
            for name, grades in sorted(self._scales.items())
            if matching(query.typed, name)
        ][: query.limit]

    # ------------------------------------------------------------------ facilitators

    async def create(self, call: Invocation, tx: Transaction) -> list[Action]:
        """A new assignment."""
        t = call.texts
        try:
            fields = self._fields(call, tx.now, base=None)
        except (RubricError, WhenError) as error:
            return [call.refuse(t("assignments.bad_field", problem=str(error)))]
        new_id = await store.create_assignment(
            tx.conn,
            community=call.community.name,
            created_by=str(call.author.ref),
            created_at=tx.now,
            **fields,
        )
        log.info("assignments: A%d created", new_id)
        record = await store.assignment(tx.conn, call.community.name, new_id)
        assert record is not None
        return [
            call.answer(
                t(
                    "assignments.created",
                    key=record.key,
                    title=escape(record.title),
                    due=_stamp(record.due_at),
                    details=self._details(t, record),
                    prefix=call.prefix,
                )
            )
        ]

    def _fields(
        self, call: Invocation, now: datetime, base: AssignmentRecord | None
    ) -> dict[str, object]:
        """The columns the arguments set (all of them for a new assignment); raise
        `RubricError` or `WhenError` with what to write instead."""
        args = call.arguments
        values: dict[str, object] = {}
        if "title" in args or base is None:
            title = " ".join(str(args.get("title", "")).split())
            if not 1 <= len(title) <= MAX_TITLE:
                raise RubricError(f"the title must be 1 to {MAX_TITLE} characters")
            values["title"] = title
        if "due" in args or base is None:
            values["due_at"] = self._due(str(args.get("due", "")), call.community, now)
        if "rubric" in args:
            text = str(args["rubric"]).strip()
            rubric = parse_rubric(text, self._rubrics) if text else Rubric(None, ())
            values["rubric_name"], values["rubric"] = rubric.name, rubric.to_json()
        elif base is None:
            values["rubric_name"], values["rubric"] = None, Rubric(None, ()).to_json()
        if "scale" in args or base is None:
            scale = parse_scale(str(args.get("scale") or "letter"), self._scales)
            values["scale_name"], values["scale"] = scale.name, scale.to_json()
        if "accepts" in args or base is None:
            values["accepts"] = ",".join(_accepts(str(args.get("accepts") or "link,blog,text")))
        if "late" in args or base is None:
            values["late_ok"] = bool(args.get("late", True))
        if "description" in args:
            values["description"] = str(args["description"]).strip() or None
        values.update(self._review_fields(call, now, base, values))
        return values

    def _review_fields(
        self,
        call: Invocation,
        now: datetime,
        base: AssignmentRecord | None,
        values: Mapping[str, object],
    ) -> dict[str, object]:
        """The peer review columns the arguments set; raise `RubricError` or `WhenError`."""
        args = call.arguments
        found: dict[str, object] = {}
        count = int(args["reviews"]) if "reviews" in args else (base.peer_reviews if base else 0)
        if not 0 <= count <= MAX_REVIEWS:
            raise RubricError(f"reviews is 0 (none) to {MAX_REVIEWS} per submission")
        if "reviews" in args or base is None:
            found["peer_reviews"] = count
        if "blind" in args:
            found["blind"] = bool(args["blind"])
        if "reviewers" in args:
            found["open_reviewing"] = str(args["reviewers"]) == "everyone"
        due = values.get("due_at", base.due_at if base else None)
        assert isinstance(due, datetime)
        review_due = base.review_due_at if base else None
        if "review_due" in args:
            review_due = self._due(str(args["review_due"]), call.community, now)
        elif count and (review_due is None or review_due <= due):
            review_due = due + timedelta(days=REVIEW_DAYS)
        if count and review_due is not None and review_due <= due:
            raise WhenError("peer reviews are due after the assignment itself")
        if review_due != (base.review_due_at if base else None):
            found["review_due_at"] = review_due if count else None
        return found

    @staticmethod
    def _due(text: str, community: CommunitySettings, now: datetime) -> datetime:
        if not text.strip():
            raise WhenError(f"say when it is due, e.g. {WHEN_EXAMPLES}")
        zone = community.zone
        due = to_utc(parse_when(text, now.astimezone(zone)), zone)
        if due <= now:
            raise WhenError(f"{_local(due, zone)} is in the past; a due time is ahead")
        return due

    def _details(self, t: Catalog, record: AssignmentRecord) -> str:
        criteria = ", ".join(escape(c.name) for c in record.rubric.criteria) or t(
            "assignments.no_rubric"
        )
        return t(
            "assignments.details",
            criteria=criteria,
            grades=escape(record.scale.listing()),
            accepts=", ".join(record.accepts),
            late=t("assignments.late_yes" if record.late_ok else "assignments.late_no"),
        ) + (
            "\n"
            + t(
                "assignments.details_reviews",
                count=record.peer_reviews,
                blind=t("reviews.blind" if record.blind else "reviews.open"),
                due=_stamp(record.review_due_at) if record.review_due_at else "—",
                who=t("reviews.by_everyone" if record.open_reviewing else "reviews.by_submitters"),
            )
            if record.peer_reviews
            else ""
        )

    async def list_assignments(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Every assignment of the community with its counts."""
        t = call.texts
        records = await store.community_assignments(tx.conn, call.community.name)
        if not records:
            return [call.answer(t("assignments.none_yet", prefix=call.prefix))]
        counts = await store.submission_counts(tx.conn, [r.id for r in records])
        lines = [t("assignments.list_heading")]
        for record in records:
            submitted, graded = counts.get(record.id, (0, 0))
            state = t("assignments.closed") if record.closed_at else ""
            lines.append(
                t(
                    "assignments.list_line",
                    key=record.key,
                    title=escape(record.title),
                    due=_stamp(record.due_at),
                    submitted=submitted,
                    graded=graded,
                    state=state,
                )
            )
        lines.append(t("assignments.export_hint"))
        return [call.answer("\n".join(lines))]

    async def _assignment(
        self, call: Invocation, tx: Transaction, *, open_only: bool = False
    ) -> AssignmentRecord | list[Action]:
        """The assignment the arguments name, or the answer saying it names none."""
        number = assignment_id(call.arguments.get("assignment", ""))
        record = (
            await store.assignment(tx.conn, call.community.name, number)
            if number is not None
            else None
        )
        if record is not None and not (open_only and record.closed_at is not None):
            return record
        t = call.texts
        shown = escape(_one_line(str(call.arguments.get("assignment", "")), 20))
        offers = [
            Offer(r.key, r.title, f"due {_stamp(r.due_at)}")
            for r in await store.community_assignments(tx.conn, call.community.name, open_only=True)
        ]
        problem = t(
            "assignments.closed_now" if record is not None else "assignments.no_such",
            id=shown,
        )
        return [call.no_such(problem, offers, param="assignment")]

    async def edit(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Change an assignment nobody has submitted to yet."""
        t = call.texts
        found = await self._assignment(call, tx)
        if not isinstance(found, AssignmentRecord):
            return found
        if await store.has_submissions(tx.conn, found.id):
            return [call.answer(t("assignments.edit_after_submission", key=found.key))]
        try:
            values = self._fields(call, tx.now, base=found)
        except (RubricError, WhenError) as error:
            return [call.refuse(t("assignments.bad_field", problem=str(error)))]
        if not values:
            return [call.answer(t("assignments.edit_nothing", prefix=call.prefix))]
        await store.update_assignment(tx.conn, found.id, **values)
        record = await store.assignment(tx.conn, call.community.name, found.id)
        assert record is not None
        log.info("assignments: A%d edited", found.id)
        return [
            call.answer(
                t(
                    "assignments.edited",
                    key=record.key,
                    title=escape(record.title),
                    due=_stamp(record.due_at),
                    details=self._details(t, record),
                )
            )
        ]

    async def close(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Take no more submissions."""
        found = await self._assignment(call, tx, open_only=True)
        if not isinstance(found, AssignmentRecord):
            return found
        await store.update_assignment(tx.conn, found.id, closed_at=tx.now)
        log.info("assignments: A%d closed", found.id)
        return [call.answer(call.texts("assignments.closed_done", key=found.key, id=found.key))]

    async def extend(self, call: Invocation, tx: Transaction) -> list[Action]:
        """A later due time for everyone, or for one member."""
        t = call.texts
        found = await self._assignment(call, tx, open_only=True)
        if not isinstance(found, AssignmentRecord):
            return found
        try:
            due = self._due(str(call.arguments["due"]), call.community, tx.now)
        except WhenError as error:
            return [call.refuse(t("assignments.bad_field", problem=str(error)))]
        who = str(call.arguments.get("member", "")).strip()
        if not who:
            moved: dict[str, object] = {"due_at": due}
            if found.review_due_at is not None and found.review_due_at <= due:
                moved["review_due_at"] = due + timedelta(days=REVIEW_DAYS)  # reviews come after
            await store.update_assignment(tx.conn, found.id, **moved)
            log.info("assignments: A%d due time moved", found.id)
            return [call.answer(t("assignments.extended_all", key=found.key, due=_stamp(due)))]
        refs = await self._member(tx.conn, call, who)
        if len(refs) != 1:
            key = "assignments.no_member" if not refs else "assignments.many_members"
            return [call.answer(t(key, name=escape(_one_line(who, 40))))]
        await store.extend_for(tx.conn, found.id, refs[0], due, str(call.author.ref), tx.now)
        log.info("assignments: A%d extended for one member", found.id)
        member = MemberRef.parse(refs[0])
        told = SendDirect(
            member=member,
            content=Content(
                text=t(
                    "assignments.extension_dm",
                    title=escape(found.title),
                    key=found.key,
                    due=_stamp(due),
                    prefix=call.prefix,
                )
            ),
        )
        names = await store.display_names(tx.conn, refs)
        answer = call.answer(
            t(
                "assignments.extended_one",
                key=found.key,
                due=_stamp(due),
                name=escape(names.get(refs[0], who)),
            )
        )
        return [told, answer]

    @staticmethod
    async def _member(conn: Connection, call: Invocation, who: str) -> list[str]:
        """The community members `who` names: a mention, a member ref, or a display name."""
        platform = call.author.ref.platform
        mention = _MENTION.match(who)
        if mention:
            who = f"{platform}:{call.author.ref.space}/{mention.group(1)}"
        if ":" in who:
            with_ref = await store.display_names(conn, [who])
            return [who] if who in with_ref else []
        return await store.community_members_named(conn, call.community.name, who)

    # ------------------------------------------------------------------ submitting

    async def submit(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Start a submission: the work is kept as a draft, the self-evaluation follows."""
        found = await self._assignment(call, tx, open_only=True)
        if not isinstance(found, AssignmentRecord):
            return found
        me = str(call.author.ref)
        refused = await self._refusal(call, tx, found, me)
        if refused is not None:
            return [call.answer(refused)]
        raw = str(call.arguments.get("work", "")).strip()
        work = await self._read_work(tx.conn, call, found, raw)
        if isinstance(work, str):
            return [call.answer(work)]
        levels: list[int | None] = [None] * len(found.rubric.criteria)
        earlier = await store.draft(tx.conn, found.id, me, tx.now - timedelta(hours=DRAFT_HOURS))
        if earlier is not None and len(earlier.levels) == len(levels):
            levels = list(earlier.levels)  # new work, same self-evaluation so far
        state = Draft(work.kind, work.work, work.title, levels)
        await store.put_draft(tx.conn, found.id, me, state, tx.now)
        return [self._page(call, found, state, 1, started=True)]

    async def _refusal(
        self, call: Invocation, tx: Transaction, record: AssignmentRecord, me: str
    ) -> str | None:
        """Why the member may not submit (again) now, if they may not."""
        t = call.texts
        due = await self._due_for(tx.conn, record, me)
        current = await store.current_submission(tx.conn, record.id, me)
        if current is not None and current.status == GRADED:
            return t("assignments.already_graded", key=record.key, grade=current.final_grade)
        if tx.now > due:
            if current is not None:
                return t("assignments.resubmit_late", key=record.key, due=_stamp(due))
            if not record.late_ok:
                return t("assignments.late_refused", key=record.key, due=_stamp(due))
        return None

    @staticmethod
    async def _due_for(conn: Connection, record: AssignmentRecord, member: str) -> datetime:
        """The member's due time: their extension, else the assignment's (the later)."""
        own = await store.extension(conn, record.id, member)
        return max(record.due_at, own) if own is not None else record.due_at

    async def _read_work(
        self, conn: Connection, call: Invocation, record: AssignmentRecord, raw: str
    ) -> _Work | str:
        """What was handed in, or what is wrong with it."""
        t = call.texts
        accepts = ", ".join(record.accepts)
        if not raw:
            return t("assignments.work_missing", accepts=accepts, prefix=call.prefix)
        posts = await member_posts(conn, call.community.name, str(call.author.ref))
        if raw.lower() in ("blog", "latest", "blog post"):
            if record.blind and record.peer_reviews:
                return t("assignments.blind_no_blog", accepts=accepts)
            if "blog" not in record.accepts:
                return t("assignments.kind_refused", kind="blog", accepts=accepts)
            if not posts:
                return t("assignments.no_blog_posts", prefix=call.prefix)
            post = posts[0]
            return _Work("blog", post.link, _one_line(post.title, MAX_TITLE))
        found = extract_links(raw)
        if found and found[0].url == raw.split()[0] and len(raw.split()) == 1:
            url = found[0].url
            canonical = canonicalise(url) or url
            post_match = next(
                (p for p in posts if (p.canonical_link or canonicalise(p.link)) == canonical),
                None,
            )
            if post_match is not None and record.blind and record.peer_reviews:
                return t("assignments.blind_no_blog", accepts=accepts)
            if post_match is not None and "blog" in record.accepts:
                return _Work("blog", post_match.link, _one_line(post_match.title, MAX_TITLE))
            if "link" not in record.accepts:
                if "blog" in record.accepts:
                    return t("assignments.not_your_post", accepts=accepts, prefix=call.prefix)
                return t("assignments.kind_refused", kind="link", accepts=accepts)
            return _Work("link", url, _one_line(url, MAX_TITLE))
        if "text" not in record.accepts:
            return t("assignments.kind_refused", kind="text", accepts=accepts)
        return _Work("text", raw, _one_line(raw.splitlines()[0], 80))

    def _page(
        self,
        call: Invocation,
        record: AssignmentRecord,
        state: Draft,
        page: int,
        *,
        started: bool = False,
        note: str = "",
    ) -> Action:
        """One page of the self-evaluation: the criteria on it as menus, and the buttons."""
        t = call.texts
        criteria = record.rubric.criteria
        pages = pages_of(criteria)
        page = min(max(page, 1), pages)
        lines = [note] if note else []
        if started:
            lines.append(t("assignments.draft_kept", title=escape(state.title), hours=DRAFT_HOURS))
        if criteria:
            lines.append(t("assignments.page_heading", page=page, pages=pages))
            lines += chosen_lines(t, criteria, state.levels)
            lines.append(t("assignments.pick_hint", key=record.key, prefix=call.prefix))
        lines.append(t("assignments.finish_hint", grades=escape(record.scale.listing())))
        menus, buttons = step_controls(
            t, SELF_ASSESS, "assignment", record.key, criteria, state.levels, page
        )
        buttons.append(
            Button(label=t("assignments.cancel"), action=f"self-assess cancel {record.key}")
        )
        content = Content(
            text="\n".join(lines),
            title=t("assignments.page_title", title=record.title, key=record.key),
            menus=menus,
            buttons=tuple(buttons),
        )
        return in_place(call, content)

    async def _draft(
        self, call: Invocation, tx: Transaction
    ) -> tuple[AssignmentRecord, Draft] | list[Action]:
        """The named assignment and the caller's draft for it, or the answer saying why not."""
        found = await self._assignment(call, tx, open_only=True)
        if not isinstance(found, AssignmentRecord):
            return found
        state = await store.draft(
            tx.conn, found.id, str(call.author.ref), tx.now - timedelta(hours=DRAFT_HOURS)
        )
        if state is None:
            return [
                call.answer(
                    call.texts("assignments.no_draft", key=found.key, prefix=call.prefix),
                    buttons=(
                        Button(
                            label=call.texts("assignments.submit_button"),
                            action=f"submit {found.key}",
                        ),
                    ),
                )
            ]
        levels = list(state.levels) + [None] * (len(found.rubric.criteria) - len(state.levels))
        state.levels = levels[: len(found.rubric.criteria)]
        return found, state

    async def show_draft(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Continue a self-evaluation (after a restart too)."""
        found = await self._draft(call, tx)
        if isinstance(found, list):
            return found
        record, state = found
        unanswered = [i for i, level in enumerate(state.levels) if level is None]
        page = page_of(unanswered[0] + 1) if unanswered else 1
        return [self._page(call, record, state, page)]

    async def pick_level(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Keep a level for one criterion and redraw its page."""
        t = call.texts
        found = await self._draft(call, tx)
        if isinstance(found, list):
            return found
        record, state = found
        criteria = record.rubric.criteria
        number, level = int(call.arguments["criterion"]), int(call.arguments["level"])
        problem = level_problem(t, criteria, number, level)
        if problem is not None:
            return [call.refuse(problem)]
        state.levels[number - 1] = level - 1
        await store.put_draft(tx.conn, record.id, str(call.author.ref), state, tx.now)
        return [self._page(call, record, state, page_of(number))]

    async def turn_page(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Show another page of criteria."""
        found = await self._draft(call, tx)
        if isinstance(found, list):
            return found
        record, state = found
        return [self._page(call, record, state, int(call.arguments["page"]))]

    async def cancel(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Throw the draft away."""
        found = await self._assignment(call, tx)
        if not isinstance(found, AssignmentRecord):
            return found
        await store.drop_draft(tx.conn, found.id, str(call.author.ref))
        return [in_place(call, Content(text=call.texts("assignments.cancelled", key=found.key)))]

    async def finish(self, call: Invocation, tx: Transaction) -> list[Action]:
        """The last step: the self-evaluation is complete and the submission is kept."""
        t = call.texts
        found = await self._draft(call, tx)
        if isinstance(found, list):
            return found
        record, state = found
        me = str(call.author.ref)
        missing = [i + 1 for i, level in enumerate(state.levels) if level is None]
        if missing:
            note = t("assignments.levels_missing", numbers=", ".join(map(str, missing)))
            return [self._page(call, record, state, page_of(missing[0]), note=note)]
        strengths = str(call.arguments["strengths"]).strip()
        improve = str(call.arguments["improve"]).strip()
        if not strengths or not improve:
            return [call.refuse(t("assignments.reflection_missing", key=record.key))]
        try:
            grade = record.scale.grade(str(call.arguments["grade"]))
        except RubricError as error:
            return [call.refuse(t("assignments.bad_field", problem=str(error)))]
        refused = await self._refusal(call, tx, record, me)
        if refused is not None:
            return [call.answer(refused)]
        due = await self._due_for(tx.conn, record, me)
        late = tx.now > due
        levels = [level for level in state.levels if level is not None]
        previous = await store.current_submission(tx.conn, record.id, me)
        new_id, version = await store.add_submission(
            tx.conn,
            assignment_id=record.id,
            member_ref=me,
            draft=state,
            levels=levels,
            strengths=strengths,
            improve=improve,
            proposed_grade=grade,
            late=late,
            now=tx.now,
        )
        await store.drop_draft(tx.conn, record.id, me)
        log.info("assignments: S%d (version %d) submitted for A%d", new_id, version, record.id)
        work = await store.submission(tx.conn, new_id)
        assert work is not None
        told = await self._reviews.after_submission(tx, t, record, work, previous)
        lines = [
            t(
                "assignments.submitted" if version == 1 else "assignments.resubmitted",
                key=f"S{new_id}",
                title=escape(record.title),
                version=version,
            )
        ]
        if late:
            lines.append(t("assignments.marked_late", due=_stamp(due)))
        lines.append(t("assignments.submitted_next", key=record.key, prefix=call.prefix))
        buttons: tuple[Button, ...] = ()
        if me not in await consenting(tx.conn, SUBMISSIONS, [me]):
            lines.append(t("assignments.listing_ask", prefix=call.prefix))
            buttons = (
                Button(label=t("assignments.listing_button"), action=f"settings {SUBMISSIONS}=on"),
            )
        if record.peer_reviews and record.blind and work.kind == "link":
            lines.append(t("assignments.blind_link_warning"))
        return [*told, in_place(call, Content(text="\n".join(lines), buttons=buttons))]

    # ------------------------------------------------------------------ the member's view

    async def own_submissions(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Everything about the caller's submissions (one assignment, or all)."""
        t = call.texts
        me = str(call.author.ref)
        if not call.arguments.get("assignment"):
            return [await self._overview(call, tx, me)]
        found = await self._assignment(call, tx)
        if not isinstance(found, AssignmentRecord):
            return found
        history = await store.versions(tx.conn, found.id, me)
        if not history:
            due = await self._due_for(tx.conn, found, me)
            return [
                call.answer(
                    t(
                        "assignments.not_submitted",
                        key=found.key,
                        title=escape(found.title),
                        due=_stamp(due),
                        prefix=call.prefix,
                    ),
                    buttons=(
                        Button(label=t("assignments.submit_button"), action=f"submit {found.key}"),
                    ),
                )
            ]
        text = await self._record_text(tx.conn, t, found, history, viewer_is_member=True)
        current = history[-1]
        received = await self._reviews.calibration(tx.conn, t, found, current, tx.now)
        if received:
            text += "\n" + "\n".join(received)
        buttons: tuple[Button, ...] = ()
        if current.status != GRADED and current.replaced_at is None:
            buttons = (
                Button(label=t("assignments.reply_button"), action=f"discuss {current.key}"),
            )
        return [call.answer(text, buttons=buttons)]

    async def _overview(self, call: Invocation, tx: Transaction, me: str) -> Action:
        t = call.texts
        mine = await store.member_submissions(tx.conn, call.community.name, me)
        done = {record.id for record, _ in mine}
        drafts = set(await store.member_drafts(tx.conn, me, tx.now - timedelta(hours=DRAFT_HOURS)))
        lines = [t("assignments.overview_heading")]
        buttons: list[Button] = []
        for record in await store.community_assignments(
            tx.conn, call.community.name, open_only=True
        ):
            if record.id in done:
                continue
            due = await self._due_for(tx.conn, record, me)
            if record.id in drafts:
                lines.append(
                    t("assignments.overview_draft", key=record.key, title=escape(record.title))
                )
                action = f"self-assess show {record.key}"
            else:
                lines.append(
                    t(
                        "assignments.overview_open",
                        key=record.key,
                        title=escape(record.title),
                        due=_stamp(due),
                    )
                )
                action = f"submit {record.key}"
            if len(buttons) < 5:
                buttons.append(
                    Button(label=f"{record.key} · {_one_line(record.title, 40)}", action=action)
                )
        for record, item in mine:
            lines.append(
                t(
                    "assignments.overview_submitted",
                    key=record.key,
                    title=escape(record.title),
                    status=_status(t, item),
                )
            )
        if len(lines) == 1:
            return call.answer(t("assignments.overview_empty"))
        lines.append(t("assignments.overview_hint", prefix=call.prefix))
        return call.answer("\n".join(lines), buttons=tuple(buttons))

    async def _record_text(
        self,
        conn: Connection,
        t: Catalog,
        record: AssignmentRecord,
        history: Sequence[SubmissionRecord],
        *,
        viewer_is_member: bool,
    ) -> str:
        """A submission's whole story: the current version's work and self-evaluation,
        its grade, the notes and dialogue, the versions before."""
        current = history[-1]
        notes = await store.notes(conn, [item.id for item in history])
        authors = [n.author_ref for n in notes if n.author_ref] + [current.member_ref]
        if current.graded_by:
            authors.append(current.graded_by)
        names = await store.display_names(conn, authors)
        lines = [
            t(
                "assignments.record_heading",
                key=current.key,
                title=escape(record.title),
                version=current.version,
                submitted=_stamp(current.submitted_at),
                late=t("assignments.late_mark") if current.late else "",
            ),
            t("assignments.record_work", work=_work_text(current)),
        ]
        for number, criterion in enumerate(record.rubric.criteria, 1):
            level = current.levels[number - 1] if number - 1 < len(current.levels) else None
            shown = escape(criterion.levels[level]) if level is not None else "—"
            lines.append(f"{number}. {escape(criterion.name)}: **{shown}**")
        lines.append(t("assignments.record_strengths", text=escape(current.strengths)))
        lines.append(t("assignments.record_improve", text=escape(current.improve)))
        lines.append(t("assignments.record_proposed", grade=escape(current.proposed_grade)))
        lines.append(t("assignments.record_status", status=_status(t, current)))
        if current.status == GRADED and current.graded_at is not None:
            lines.append(
                t(
                    "assignments.record_graded",
                    grade=escape(current.final_grade or ""),
                    by=escape(names.get(current.graded_by or "", t("assignments.a_facilitator"))),
                    at=_stamp(current.graded_at),
                )
            )
        current_notes = [n for n in notes if n.submission_id == current.id]
        if current_notes:
            lines.append(t("assignments.record_notes"))
            for note in current_notes:
                who = names.get(note.author_ref or "") or t(
                    "assignments.a_facilitator" if note.by_facilitator else "assignments.someone"
                )
                if viewer_is_member and note.author_ref == current.member_ref:
                    who = t("assignments.you")
                grade = f" (**{escape(note.grade)}**)" if note.grade else ""
                text = f": {escape(note.text)}" if note.text else ""
                kind = t(f"assignments.note_{note.kind}")
                lines.append(f"• <t:{int(note.at.timestamp())}> {escape(who)} {kind}{grade}{text}")
        if len(history) > 1:
            lines.append(t("assignments.record_history"))
            for item in history[:-1]:
                lines.append(
                    t(
                        "assignments.record_version",
                        version=item.version,
                        submitted=_stamp(item.submitted_at),
                        work=_work_text(item),
                        grade=escape(item.proposed_grade),
                    )
                )
        return "\n".join(lines)

    # ------------------------------------------------------------------ grading

    async def _submission(
        self, call: Invocation, tx: Transaction
    ) -> tuple[AssignmentRecord, SubmissionRecord] | list[Action]:
        """The submission named (the caller's own, unless they facilitate), or why not."""
        t = call.texts
        number = submission_id(call.arguments.get("submission", ""))
        found = (
            await store.submission_with_assignment(tx.conn, call.community.name, number)
            if number is not None
            else None
        )
        me = str(call.author.ref)
        if found is not None and (call.is_facilitator or found[1].member_ref == me):
            return found
        shown = escape(_one_line(str(call.arguments.get("submission", "")), 20))
        if call.is_facilitator:
            pairs = await store.queue(tx.conn, call.community.name)
        else:
            pairs = await store.member_submissions(tx.conn, call.community.name, me)
        offers = [Offer(item.key, record.title) for record, item in reversed(pairs)]
        return [
            call.no_such(t("assignments.no_such_submission", id=shown), offers, param="submission")
        ]

    async def _current(
        self, call: Invocation, tx: Transaction
    ) -> tuple[AssignmentRecord, SubmissionRecord] | list[Action]:
        """The named submission if it is the current version."""
        found = await self._submission(call, tx)
        if isinstance(found, list):
            return found
        record, item = found
        if item.replaced_at is not None:
            newer = await store.current_submission(tx.conn, record.id, item.member_ref)
            newer_key = newer.key if newer else "?"
            return [
                call.answer(
                    call.texts("assignments.replaced", key=item.key, newer=newer_key),
                )
            ]
        return found

    async def queue(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Submissions waiting for a grade, a page at a time, each with its buttons."""
        t = call.texts
        number = None
        if call.arguments.get("assignment"):
            found = await self._assignment(call, tx)
            if not isinstance(found, AssignmentRecord):
                return found
            number = found.id
        pairs = await store.queue(tx.conn, call.community.name, number)
        if not pairs:
            return [call.answer(t("assignments.queue_empty"))]
        pages = math.ceil(len(pairs) / QUEUE_PAGE)
        page = min(max(int(call.arguments.get("page") or 1), 1), pages)
        shown = pairs[(page - 1) * QUEUE_PAGE : page * QUEUE_PAGE]
        names = await store.display_names(tx.conn, [item.member_ref for _, item in shown])
        lines = [t("assignments.queue_heading", count=len(pairs), page=page, pages=pages)]
        buttons: list[Button] = []
        for record, item in shown:
            levels = ", ".join(
                f"{escape(c.name)} {item.levels[i] + 1}/{len(c.levels)}"
                for i, c in enumerate(record.rubric.criteria)
                if i < len(item.levels)
            )
            lines.append(
                t(
                    "assignments.queue_line",
                    key=item.key,
                    title=escape(record.title),
                    name=escape(names.get(item.member_ref, "?")),
                    submitted=_stamp(item.submitted_at),
                    late=t("assignments.late_mark") if item.late else "",
                    grade=escape(item.proposed_grade),
                    levels=levels or "—",
                    status=_status(t, item),
                )
            )
            buttons.append(
                Button(
                    label=t("assignments.show_button", key=item.key),
                    action=f"grade show {item.key}",
                )
            )
            if item.status != DISCUSSING:
                buttons.append(
                    Button(
                        label=t(
                            "assignments.accept_button", grade=_one_line(item.proposed_grade, 20)
                        ),
                        action=f"grade accept {item.key}",
                        style="primary",
                    )
                )
        if page < pages:
            scope = (
                f" {record_key}"
                if (record_key := str(call.arguments.get("assignment") or ""))
                else ""
            )
            buttons.append(
                Button(label=t("assignments.next"), action=f"grade queue{scope} page={page + 1}")
            )
        return [call.answer("\n".join(lines), buttons=tuple(buttons[:25]))]

    async def show_submission(self, call: Invocation, tx: Transaction) -> list[Action]:
        """One submission as a facilitator reads it."""
        t = call.texts
        found = await self._submission(call, tx)
        if isinstance(found, list):
            return found
        record, item = found
        history = [
            v
            for v in await store.versions(tx.conn, record.id, item.member_ref)
            if v.version <= item.version
        ]
        names = await store.display_names(tx.conn, [item.member_ref])
        text = t("assignments.by", name=escape(names.get(item.member_ref, "?"))) + "\n"
        text += await self._record_text(tx.conn, t, record, history, viewer_is_member=False)
        beside = await self._reviews.side_by_side(tx.conn, t, record, item)
        if beside:
            text += "\n" + "\n".join(beside)
        buttons: list[Button] = []
        if item.replaced_at is None:
            if item.status != GRADED:
                buttons.append(
                    Button(
                        label=t(
                            "assignments.accept_button", grade=_one_line(item.proposed_grade, 20)
                        ),
                        action=f"grade accept {item.key}",
                        style="primary",
                    )
                )
            buttons.append(
                Button(label=t("assignments.propose_button"), action=f"grade propose {item.key}")
            )
            buttons.append(
                Button(label=t("assignments.final_button"), action=f"grade final {item.key}")
            )
        return [call.answer(text, buttons=tuple(buttons))]

    async def accept(self, call: Invocation, tx: Transaction) -> list[Action]:
        """The member's proposed grade becomes the final one."""
        found = await self._current(call, tx)
        if isinstance(found, list):
            return found
        record, item = found
        if item.status == GRADED:
            return [
                call.answer(
                    call.texts(
                        "assignments.already_final",
                        key=item.key,
                        grade=escape(item.final_grade or ""),
                        prefix=call.prefix,
                    )
                )
            ]
        comment = str(call.arguments.get("comment") or "").strip()
        return await self._grade(call, tx, record, item, item.proposed_grade, comment, "accept")

    async def final(self, call: Invocation, tx: Transaction) -> list[Action]:
        """The facilitator's final grade (after a dialogue, or instead of the proposed one)."""
        found = await self._current(call, tx)
        if isinstance(found, list):
            return found
        record, item = found
        try:
            grade = record.scale.grade(str(call.arguments["grade"]))
        except RubricError as error:
            return [call.refuse(call.texts("assignments.bad_field", problem=str(error)))]
        comment = str(call.arguments.get("comment") or "").strip()
        return await self._grade(call, tx, record, item, grade, comment, "final")

    async def _grade(
        self,
        call: Invocation,
        tx: Transaction,
        record: AssignmentRecord,
        item: SubmissionRecord,
        grade: str,
        comment: str,
        kind: str,
    ) -> list[Action]:
        t = call.texts
        me = str(call.author.ref)
        await store.set_grade(
            tx.conn, item.id, status=GRADED, final_grade=grade, graded_by=me, now=tx.now
        )
        await store.add_note(
            tx.conn,
            item.id,
            author_ref=me,
            by_facilitator=True,
            kind=kind,
            grade=grade,
            text=comment,
            now=tx.now,
        )
        log.info("assignments: S%d graded (%s)", item.id, kind)
        said = t("assignments.comment_line", comment=escape(comment)) if comment else ""
        told = SendDirect(
            member=MemberRef.parse(item.member_ref),
            content=Content(
                text=t(
                    "assignments.graded_dm",
                    title=escape(record.title),
                    key=item.key,
                    grade=escape(grade),
                    name=escape(call.author.name),
                    comment=said,
                    prefix=call.prefix,
                )
            ),
        )
        answer = call.answer(t("assignments.graded_answer", key=item.key, grade=escape(grade)))
        return [told, answer]

    async def propose(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Another grade, with a comment: the dialogue opens by direct message."""
        t = call.texts
        found = await self._current(call, tx)
        if isinstance(found, list):
            return found
        record, item = found
        try:
            grade = record.scale.grade(str(call.arguments["grade"]))
        except RubricError as error:
            return [call.refuse(t("assignments.bad_field", problem=str(error)))]
        comment = str(call.arguments["comment"]).strip()
        if not comment:
            return [call.answer(t("assignments.comment_missing", prefix=call.prefix))]
        me = str(call.author.ref)
        await store.set_grade(tx.conn, item.id, status=DISCUSSING)
        await store.add_note(
            tx.conn,
            item.id,
            author_ref=me,
            by_facilitator=True,
            kind="propose",
            grade=grade,
            text=comment,
            now=tx.now,
        )
        log.info("assignments: S%d: another grade proposed", item.id)
        told = SendDirect(
            member=MemberRef.parse(item.member_ref),
            content=Content(
                text=t(
                    "assignments.proposed_dm",
                    title=escape(record.title),
                    key=item.key,
                    name=escape(call.author.name),
                    grade=escape(grade),
                    proposed=escape(item.proposed_grade),
                    comment=escape(comment),
                    prefix=call.prefix,
                ),
                buttons=(
                    Button(label=t("assignments.reply_button"), action=f"discuss {item.key}"),
                ),
            ),
        )
        return [told, call.answer(t("assignments.proposed_answer", key=item.key))]

    async def discuss(self, call: Invocation, tx: Transaction) -> list[Action]:
        """A line of the dialogue, relayed to the other side by direct message."""
        t = call.texts
        found = await self._submission(call, tx)
        if isinstance(found, list):
            return found
        record, item = found
        text = str(call.arguments["text"]).strip()
        if not text:
            return [call.answer(t("assignments.text_missing", key=item.key, prefix=call.prefix))]
        me = str(call.author.ref)
        by_facilitator = call.is_facilitator and item.member_ref != me
        await store.add_note(
            tx.conn,
            item.id,
            author_ref=me,
            by_facilitator=by_facilitator,
            kind="reply",
            text=text,
            now=tx.now,
        )
        log.info("assignments: S%d: a line of the dialogue", item.id)
        if by_facilitator:
            recipients = [item.member_ref]
        else:
            recipients = await store.facilitators_of(tx.conn, record, item.id)
            if not recipients:
                recipients = await store.community_facilitators(tx.conn, call.community.name)
        recipients = [ref for ref in recipients if ref != me]
        buttons: tuple[Button, ...] = (
            Button(label=t("assignments.reply_button"), action=f"discuss {item.key}"),
        )
        if not by_facilitator:
            buttons += (
                Button(label=t("assignments.final_button"), action=f"grade final {item.key}"),
            )
        actions: list[Action] = [
            SendDirect(
                member=MemberRef.parse(ref),
                content=Content(
                    text=t(
                        "assignments.relayed_dm",
                        name=escape(call.author.name),
                        key=item.key,
                        title=escape(record.title),
                        text=escape(text),
                    ),
                    # Only the member's own side offers the final grade to facilitators.
                    buttons=buttons if not by_facilitator else buttons[:1],
                ),
            )
            for ref in recipients
        ]
        if not recipients:
            return [call.answer(t("assignments.nobody_to_tell", key=item.key))]
        return [*actions, call.answer(t("assignments.relayed_answer", key=item.key))]

    async def forget_member(self, conn: Connection, member_ref: str) -> None:
        """A forgotten member's submissions take their notes and reviews with them (the
        foreign keys cascade) and their name leaves others' rows; their unfinished reviews
        go, their finished ones stay with the reviewed member, unnamed."""
        await self._reviews.forget(conn, member_ref)

    async def review_status(self, call: Invocation, tx: Transaction) -> list[Action]:
        """`/grade reviews A1`: who has reviewed, who has not."""
        found = await self._assignment(call, tx)
        if not isinstance(found, AssignmentRecord):
            return found
        return await self._reviews.status(call, tx, found)


def _accepts(text: str) -> list[str]:
    kinds = [part.strip().lower() for part in re.split(r"[,\s|]+", text) if part.strip()]
    wrong = [kind for kind in kinds if kind not in KINDS]
    if wrong or not kinds:
        raise RubricError(
            f"accepts is one or more of link, blog, text (e.g. accepts=link,text), not "
            f"{_one_line(text, 40)!r}"
        )
    return list(dict.fromkeys(kinds))


def _stamp(moment: datetime) -> str:
    """A moment in neutral markup (shown in each reader's zone)."""
    return f"<t:{int(moment.timestamp())}>"


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %H:%M")


def _status(t: Catalog, item: SubmissionRecord) -> str:
    if item.status == GRADED:
        return t("assignments.status_graded", grade=escape(item.final_grade or ""))
    return t(f"assignments.status_{item.status}")


def _work_text(item: SubmissionRecord) -> str:
    if item.kind in ("link", "blog"):
        return link(item.title if item.kind == "blog" else item.work, item.work)
    return f"_{escape(_one_line(item.work, 300))}_"


class SubmissionsSection:
    """The week's new submissions, by title only, of members who allowed the listing."""

    kind = "submissions"
    position = 65

    async def build(self, request: DigestRequest) -> Section | None:
        """Titles (and names, where members allow being named), never grades."""
        rows = await store.listed_submissions(
            request.conn, request.community.name, request.start, request.end, SUBMISSIONS
        )
        if not rows:
            return None
        named = await consenting(request.conn, NAMED, [row.member_ref for row in rows])
        entries = []
        for row in rows:
            people: tuple[str, ...] = ()
            unnamed = 1
            if row.member_ref in named:
                people, unnamed = await request.name_of([row.member_ref])
            entries.append(
                Entry(
                    key=f"S{row.id}",
                    title=f"{row.assignment_title}: {row.title}",
                    url=row.work if row.kind in ("link", "blog") else None,
                    people=people,
                    unnamed=unnamed,
                )
            )
        return Section(
            kind=self.kind,
            heading=request.texts("assignments.digest_heading"),
            entries=tuple(entries),
        )
