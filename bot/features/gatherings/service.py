"""Live sessions ("gatherings"): facilitators schedule them, members RSVP (with a wait-list),
set their time zone and send questions ahead; calendars, fair times and takeaways.

Meeting links are private: they go into the answers and direct messages of members who are
going, and into personal calendars, never into channel posts or the public calendar.
"""

from __future__ import annotations

import difflib
import json
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.actions import Action, Button, Content, MirrorGathering, Post, SendDirect
from bot.core.clock import Clock
from bot.core.commands import MOMENT, ArgumentValue, CommandSpec, Param, ParamKind, Role
from bot.core.communities import CommunityDirectory, Purpose
from bot.core.config import CommunitySettings
from bot.core.events import InterestMarked, MessageDeleted, MessageEdited
from bot.core.i18n import Catalog
from bot.core.markup import escape
from bot.core.platform import Capability
from bot.core.refs import MemberRef, MessageRef
from bot.core.suggestions import Suggestion, label, matching
from bot.features.gatherings import fairness, store
from bot.features.gatherings.config import GatheringSettings
from bot.features.gatherings.recurrence import (
    next_occurrence,
    occurrences,
    to_utc,
    weekly_in_utc,
)
from bot.features.gatherings.store import GOING, MAYBE, NO, GatheringRecord
from bot.features.gatherings.when import (
    WhenError,
    describe_recurrence,
    first_wall,
    format_duration,
    normalise_recurrence,
    parse_duration,
    parse_when,
    place_line,
    read_place,
)
from bot.features.gatherings.zones import suggest_zones
from bot.features.members import NAMED, consent_names
from bot.runtime.outbox import Effect, latest_attempt
from bot.runtime.sections import DigestRequest, Entry, Section, SectionProvider
from bot.runtime.service import (
    OFFERED,
    CommandHandler,
    Delivered,
    Invocation,
    Offer,
    Service,
    SuggestionQuery,
    SuggestionSource,
    Transaction,
    thread_replies,
)
from bot.storage import Connection
from bot.storage.members import get_member, update_member_settings

log = logging.getLogger(__name__)

Capabilities = Callable[[str], frozenset[Capability]]
MIRRORED = "gatherings.mirrored"


def _fingerprint(action: MirrorGathering) -> str:
    """What a mirror shows, to tell whether a copy made earlier is still in step."""
    shown = [
        action.title,
        action.description,
        action.starts_at.isoformat(),
        action.ends_at.isoformat(),
        action.location,
        action.cancelled,
    ]
    return json.dumps(shown)


DEFAULT_DURATION = "60m"
MAX_TITLE = 200
MAX_QUESTION = 1000
_LINE_LIMIT = 100  # Discord's custom_id limit: longer confirm commands become drafts

_TITLE = Param(name="title", help="What the session is called")
_WHEN = Param(
    name="when",
    help='When it starts: "2026-12-03 17:00", "tomorrow 18:30", "next thursday 5pm"',
    picks=MOMENT,
)


def _option(name: str, text: str, kind: ParamKind = ParamKind.TEXT) -> Param:
    return Param(name=name, help=text, kind=kind, required=False, keyword_only=True)


_DETAILS = (
    replace(
        _option("tz", "The time zone `when` is in (default: the community's), e.g. Europe/Berlin"),
        suggests="zones",
    ),
    _option("duration", "How long: 60m, 1h30m (default 60m)"),
    _option("repeat", "weekly, biweekly, monthly, or an RRULE like FREQ=WEEKLY;BYDAY=TU"),
    _option("where", "The meeting link (only members who are going see it)"),
    _option("capacity", "How many places (a wait-list takes the rest)", ParamKind.INTEGER),
    _option("description", "What it is about"),
)
_ID = Param(
    name="id",
    help="The session's number from /event list",
    kind=ParamKind.INTEGER,
    suggests="sessions",
)

EVENT = CommandSpec(
    name="event",
    help="Live sessions: list them, get your calendar",
    subcommands=(
        CommandSpec(name="list", help="Upcoming live sessions", example="/event list"),
        CommandSpec(
            name="calendar",
            help="Your personal calendar address (with links for sessions you're going to)",
            example="/event calendar",
            params=(
                Param(
                    name="reset",
                    help="Type reset for a new address (the old one stops working)",
                    kind=ParamKind.CHOICE,
                    choices=("reset",),
                    required=False,
                ),
            ),
        ),
    ),
)
# Facilitators' half of what was one /event group: Discord hides a whole command from
# members, never a subcommand, so the two audiences are two groups.
HOST = CommandSpec(
    name="host",
    help="Facilitators: schedule, change, cancel live sessions; suggest fair times",
    role=Role.FACILITATOR,
    formerly=("event",),
    subcommands=(
        CommandSpec(
            name="create",
            help="Schedule a live session (shows the time and asks you to confirm first)",
            example='/host create title="Guest talk" when="next thursday 17:00" duration=60m',
            params=(
                _TITLE,
                _WHEN,
                *_DETAILS,
                Param(
                    name="confirm",
                    help="yes to save it",
                    kind=ParamKind.CHOICE,
                    choices=("yes",),
                    required=False,
                    keyword_only=True,
                ),
            ),
            role=Role.FACILITATOR,
        ),
        CommandSpec(
            name="confirm",
            help="Create a session you previewed, by its draft number (its button does this)",
            example="/host confirm 4",
            params=(
                Param(
                    name="draft",
                    help="The draft number the preview gave",
                    kind=ParamKind.INTEGER,
                    suggests="drafts",
                ),
            ),
            role=Role.FACILITATOR,
        ),
        CommandSpec(
            name="edit",
            help="Change a session; members who answered are told",
            example='/host edit 3 when="2026-12-03 18:00" capacity=30',
            params=(
                _ID,
                _option("title", "A new title"),
                _option("when", "A new start"),
                *_DETAILS,
            ),
            role=Role.FACILITATOR,
        ),
        CommandSpec(
            name="cancel",
            help="Cancel a session; members who answered are told by direct message",
            example="/host cancel 3",
            params=(_ID,),
            role=Role.FACILITATOR,
        ),
        CommandSpec(
            name="suggest-times",
            help="Rank times by how many members are awake; a rotation for a series",
            example="/host suggest-times duration=60m days=7 repeat=weekly",
            params=(
                _option("duration", "How long (default 60m)"),
                _option("days", "How many days ahead to look", ParamKind.INTEGER),
                _option("repeat", "Set it (e.g. weekly) to get a rotation for a series"),
            ),
            role=Role.FACILITATOR,
        ),
    ),
)
RSVP = CommandSpec(
    name="rsvp",
    help="Say whether you're coming to a live session",
    example="/rsvp 3 going",
    params=(
        _ID,
        Param(
            name="answer",
            help="going, maybe or no",
            kind=ParamKind.CHOICE,
            choices=(GOING, MAYBE, NO),
        ),
    ),
)
TIMEZONE = CommandSpec(
    name="timezone",
    help="Set your time zone (with no argument: show it; clear to remove it)",
    example="/timezone Europe/Berlin",
    params=(
        Param(
            name="zone",
            help="An IANA zone such as Europe/Berlin (or a city or country to pick from)",
            required=False,
            suggests="zones",
        ),
    ),
)
ASK = CommandSpec(
    name="ask",
    help="Send a question to a live session's host (they get it at the start)",
    example="/ask 3 How did you start?",
    params=(_ID, Param(name="question", help="Your question", rest=True)),
)


@cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


class ZoneProblem(ValueError):
    """An unknown time zone; `suggestions` are close real names."""

    def __init__(self, zone: str, suggestions: list[str]) -> None:
        super().__init__(zone)
        self.zone = zone
        self.suggestions = suggestions


def resolve_zone(text: str) -> str:
    """An IANA zone name from what a member typed (any case); raise `ZoneProblem`."""
    cleaned = text.strip().replace(" ", "_")
    found = _zone_names().get(cleaned.lower())
    if found is not None:
        try:
            ZoneInfo(found)
            return found
        except (ZoneInfoNotFoundError, ValueError):
            pass
    close = difflib.get_close_matches(cleaned.lower(), list(_zone_names()), n=3, cutoff=0.6)
    raise ZoneProblem(text, [_zone_names()[name] for name in close])


def local_text(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as "Thu 03 Dec 2026 17:00 CET" in `zone`."""
    return moment.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")


def _quote(value: str) -> str:
    if not any(ch.isspace() for ch in value) and '"' not in value and "=" not in value:
        return value
    for opening, closing in (('"', '"'), ("'", "'"), ("“", "”")):
        if opening not in value and closing not in value:
            return f"{opening}{value}{closing}"
    return '"' + value.replace('"', "'") + '"'


@dataclass(frozen=True, slots=True)
class _Plan:
    """A gathering's validated fields."""

    title: str
    starts_at: datetime
    wall: datetime
    zone: str
    duration: int
    recurrence: str | None
    where: str | None
    capacity: int | None
    description: str | None


class GatheringService(Service):
    """Schedules live sessions, takes RSVPs and questions, and keeps takeaways."""

    name = "gatherings"

    def digest_sections(self) -> Sequence[SectionProvider]:
        """The coming week's sessions and last week's takeaways."""
        return (UpcomingSection(), TakeawaySection())

    def __init__(
        self,
        settings: GatheringSettings,
        directory: CommunityDirectory,
        *,
        web_url: str | None = None,
        capabilities: Capabilities | None = None,
        clock: Clock | None = None,
        on_change: Callable[[], Awaitable[object]] | None = None,
        calendar_prefix: str = "",
    ) -> None:
        self._settings = settings
        self._directory = directory
        self._web_url = web_url.rstrip("/") if web_url else None
        self._capabilities = capabilities
        self._clock = clock
        self._on_change = on_change
        self._calendar_prefix = calendar_prefix

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """/event (list, calendar), /host (create, confirm, edit, cancel, suggest-times),
        /rsvp, /timezone, /ask."""
        return (
            (EVENT, {("event", "list"): self.list_events, ("event", "calendar"): self.calendar}),
            (
                HOST,
                {
                    ("host", "create"): self.create,
                    ("host", "confirm"): self.confirm_draft,
                    ("host", "edit"): self.edit,
                    ("host", "cancel"): self.cancel,
                    ("host", "suggest-times"): self.suggest_times,
                },
            ),
            (RSVP, {("rsvp",): self.rsvp}),
            (TIMEZONE, {("timezone",): self.timezone}),
            (ASK, {("ask",): self.ask}),
        )

    # --- helpers ------------------------------------------------------------------------

    def event_url(self, gathering: GatheringRecord) -> str | None:
        """The public calendar file of one gathering, if the web server is on."""
        if self._web_url is None:
            return None
        return f"{self._web_url}{self._calendar_prefix}/events/{gathering.uid}.ics"

    def suggestions(self) -> Mapping[str, SuggestionSource]:
        """Sessions (upcoming, the caller's own first) and time zones."""
        return {
            "sessions": self.suggest_sessions,
            "zones": self.suggest_zones,
            "drafts": self.suggest_drafts,
        }

    async def suggest_drafts(self, query: SuggestionQuery, conn: Connection) -> list[Suggestion]:
        """The caller's own previewed sessions (drafts last a day), newest first."""
        found: list[Suggestion] = []
        for number, arguments in await store.own_drafts(
            conn, query.community.name, query.member, query.now
        ):
            try:
                title = str(json.loads(arguments).get("title") or "")
            except (ValueError, AttributeError):
                title = ""
            if query.typed and not matching(query.typed, str(number), title):
                continue
            found.append(Suggestion(str(number), label(str(number), title)))
        return found[: query.limit]

    async def suggest_sessions(self, query: SuggestionQuery, conn: Connection) -> list[Suggestion]:
        """Upcoming sessions matching what was typed (their number or title): those the caller
        hosts or answered first, then the soonest; shown in the caller's own zone."""
        found: list[tuple[datetime, GatheringRecord]] = []
        for gathering in await store.suggestible_gatherings(conn, query.community.name, query.now):
            occurrence = self.current(gathering, query.now)
            if occurrence is None:
                continue
            if query.typed and not (
                str(gathering.id).startswith(query.typed.lstrip("#"))
                or matching(query.typed, gathering.title)
            ):
                continue
            found.append((occurrence, gathering))
        answered = await store.answered_gatherings(conn, query.member, [g.id for _, g in found])
        zones = await store.member_zones(conn, [query.member])
        zone = ZoneInfo(zones.get(query.member) or query.community.timezone)

        def mine(gathering: GatheringRecord) -> bool:
            return gathering.host_ref == query.member or gathering.id in answered

        found.sort(key=lambda pair: (not mine(pair[1]), pair[0], pair[1].id))
        return [
            Suggestion(
                str(gathering.id),
                label(str(gathering.id), gathering.title, local_text(occurrence, zone)),
            )
            for occurrence, gathering in found[: query.limit]
        ]

    async def suggest_zones(self, query: SuggestionQuery, conn: Connection) -> list[Suggestion]:
        """Time zones by name, city, country or code: the caller's, UTC, the community's first."""
        zones = await store.member_zones(conn, [query.member])
        return suggest_zones(
            query.typed,
            mine=zones.get(query.member),
            community=query.community.timezone,
            limit=query.limit,
        )

    @staticmethod
    def current(gathering: GatheringRecord, now: datetime) -> datetime | None:
        """The occurrence RSVPs apply to now: the one running or the next one."""
        zone = ZoneInfo(gathering.timezone)
        since = now - timedelta(minutes=gathering.duration_minutes) + timedelta(microseconds=1)
        return next_occurrence(gathering.starts_at, zone, gathering.recurrence, since)

    @staticmethod
    def _repeat(t: Catalog, recurrence: str | None) -> str:
        if recurrence is None:
            return ""
        return t("gatherings.repeat_line", repeat=escape(describe_recurrence(recurrence)))

    def _bad(self, call: Invocation, problem: str) -> list[Action]:
        return [call.refuse(call.texts("gatherings.bad_input", problem=problem.rstrip(".")))]

    def _zone_error(self, call: Invocation, problem: ZoneProblem) -> list[Action]:
        t = call.texts
        hint = ""
        if problem.suggestions:
            hint = t("gatherings.zone_hint", names=" or ".join(problem.suggestions))
        return [call.refuse(t("gatherings.bad_zone", zone=escape(problem.zone), hint=hint))]

    def _plan(
        self,
        args: Mapping[str, ArgumentValue],
        community: CommunitySettings,
        now: datetime,
        base: GatheringRecord | None = None,
    ) -> _Plan:
        """Validate fields (for an edit, over `base`); raise WhenError or ZoneProblem."""
        zone_name = (
            resolve_zone(str(args["tz"]))
            if args.get("tz")
            else (base.timezone if base else community.timezone)
        )
        zone = ZoneInfo(zone_name)
        if args.get("when"):
            wall = parse_when(str(args["when"]), now.astimezone(zone))
            starts_at = to_utc(wall, zone)
            if starts_at <= now:
                raise WhenError(
                    f"{wall:%Y-%m-%d %H:%M} ({zone_name}) is in the past; "
                    "live sessions are scheduled ahead"
                )
        elif base is not None:
            # A new zone keeps the wall time: "17:00" stays 17:00, now in the new zone.
            wall = base.starts_at.astimezone(ZoneInfo(base.timezone)).replace(tzinfo=None)
            starts_at = to_utc(wall, zone)
        else:
            raise WhenError("missing when")
        if args.get("duration"):
            duration = int(parse_duration(str(args["duration"])).total_seconds() // 60)
        elif base is not None:
            duration = base.duration_minutes
        else:
            duration = int(parse_duration(DEFAULT_DURATION).total_seconds() // 60)
        recurrence = base.recurrence if base is not None else None
        if "repeat" in args:
            recurrence = normalise_recurrence(str(args["repeat"]))
        if recurrence is not None:
            # The first session is the rule's first day at or after `when` (a Monday start
            # for "every Tuesday and Thursday" would be a session no calendar agrees on).
            first = first_wall(recurrence, wall)
            if first is None:
                raise WhenError("that repeat has no session on or after the start")
            if first != wall:
                wall, starts_at = first, to_utc(first, zone)
        capacity = base.capacity if base is not None else None
        if "capacity" in args:
            value = int(args["capacity"])
            if value < 0:
                raise WhenError("capacity must be at least 1 (or 0 for no limit)")
            capacity = value or None
        title = str(args.get("title") or (base.title if base else "")).strip()
        if not title or len(title) > MAX_TITLE:
            raise WhenError(f"the title must be 1 to {MAX_TITLE} characters")
        where = base.where_url if base is not None else None
        if "where" in args:
            where = read_place(str(args["where"])) or None
            if where is not None and len(where) > 2048:
                raise WhenError("where is longer than 2048 characters")
        description = base.description if base is not None else None
        if "description" in args:
            description = str(args["description"]).strip() or None
        return _Plan(
            title=title,
            starts_at=starts_at,
            wall=wall,
            zone=zone_name,
            duration=duration,
            recurrence=recurrence,
            where=where,
            capacity=capacity,
            description=description,
        )

    def _announcement(
        self, t: Catalog, gathering: GatheringRecord, occurrence: datetime, prefix: str
    ) -> Content:
        calendar = ""
        if (url := self.event_url(gathering)) is not None:
            calendar = t("gatherings.calendar_line", url=url)
        description = f"{escape(gathering.description)}\n" if gathering.description else ""
        capacity = (
            t("gatherings.capacity_line", capacity=gathering.capacity) if gathering.capacity else ""
        )
        text = t(
            "gatherings.announcement",
            title=escape(gathering.title),
            id=gathering.id,
            unix=int(occurrence.timestamp()),
            duration=format_duration(gathering.duration_minutes),
            repeat=self._repeat(t, gathering.recurrence),
            capacity=capacity,
            description=description,
            prefix=prefix,
            calendar=calendar,
        )
        return Content(text=text, buttons=self.rsvp_buttons(t, gathering.id))

    @staticmethod
    def rsvp_buttons(t: Catalog, gathering_id: int) -> tuple[Button, ...]:
        """Going / Maybe / Can't: each is the `/rsvp` command it stands for."""
        return (
            Button(
                label=t("gatherings.button_going"),
                action=f"rsvp {gathering_id} going",
                style="primary",
            ),
            Button(label=t("gatherings.button_maybe"), action=f"rsvp {gathering_id} maybe"),
            Button(label=t("gatherings.button_no"), action=f"rsvp {gathering_id} no"),
        )

    def _announce(self, community: str, content: Content) -> list[Action]:
        return [
            Post(channel=channel, content=content)
            for channel in self._directory.channels(community, Purpose.ANNOUNCEMENTS)
        ]

    def announcement_posts(
        self, t: Catalog, gathering: GatheringRecord, occurrence: datetime
    ) -> list[Post]:
        """The announcement of one occurrence, with RSVP buttons, for each announcements
        channel (commands written as that platform types them)."""
        return [
            Post(
                channel=channel,
                content=self._announcement(
                    t, gathering, occurrence, self._directory.command_prefix(channel.platform)
                ),
            )
            for channel in self._directory.channels(gathering.community, Purpose.ANNOUNCEMENTS)
        ]

    def _link(self, t: Catalog, gathering: GatheringRecord) -> str:
        return place_line(t, gathering.where_url)

    async def _load(
        self, call: Invocation, tx: Transaction
    ) -> tuple[GatheringRecord | None, list[Action]]:
        gathering_id = int(call.arguments["id"])
        gathering = await store.get_gathering(tx.conn, gathering_id)
        if gathering is None or gathering.community != call.community.name:
            text = call.texts("gatherings.unknown", id=gathering_id, prefix=call.prefix)
            return None, [call.no_such(text, await self._offers(call, tx))]
        if gathering.cancelled:
            return None, [call.answer(call.texts("gatherings.cancelled_already", id=gathering_id))]
        return gathering, []

    async def _load_current(
        self, call: Invocation, tx: Transaction
    ) -> tuple[GatheringRecord | None, datetime | None, list[Action]]:
        """The gathering and its current occurrence, or the answer that explains why not."""
        gathering, problem = await self._load(call, tx)
        if gathering is None:
            return None, None, problem
        occurrence = self.current(gathering, tx.now)
        if occurrence is None:
            return None, None, [call.answer(call.texts("gatherings.over", id=gathering.id))]
        return gathering, occurrence, []

    # --- facilitators -------------------------------------------------------------------

    async def create(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Show the time in the community's zone and UTC; save it once confirmed."""
        t = call.texts
        try:
            plan = self._plan(call.arguments, call.community, tx.now)
        except ZoneProblem as problem:
            return self._zone_error(call, problem)
        except WhenError as problem:
            return self._bad(call, str(problem))
        if call.arguments.get("confirm") != "yes":
            return [await self._preview(call, plan, tx)]
        existing = [
            gathering
            for gathering in await store.list_gatherings(tx.conn, call.community.name)
            if gathering.title == plan.title and gathering.starts_at == plan.starts_at
        ]
        if existing:  # the confirm button pressed twice
            text = t("gatherings.already", id=existing[0].id, prefix=call.prefix)
            return [call.answer(text)]
        gathering = await store.create_gathering(
            tx.conn,
            community=call.community.name,
            uid=f"{uuid.uuid4().hex}@facilitator",
            title=plan.title,
            description=plan.description,
            starts_at=plan.starts_at,
            duration_minutes=plan.duration,
            timezone=plan.zone,
            recurrence=plan.recurrence,
            where_url=plan.where,
            capacity=plan.capacity,
            host_ref=str(call.author.ref),
            created_at=tx.now,
            updated_at=tx.now,
        )
        await self._after_change(tx, gathering.id)
        posts = self.announcement_posts(t, gathering, gathering.starts_at)
        posted = (
            t("gatherings.announced", count=len(posts))
            if posts
            else t("gatherings.not_announced", prefix=call.prefix, id=gathering.id)
        )
        answer = t(
            "gatherings.created",
            id=gathering.id,
            title=escape(gathering.title),
            unix=int(gathering.starts_at.timestamp()),
            posted=posted,
        )
        return [*posts, call.answer(answer)]

    async def confirm_draft(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Create the session a preview kept as a draft (its confirm line was too long)."""
        draft = int(call.arguments["draft"])
        kept = await store.take_draft(
            tx.conn, draft, call.community.name, str(call.author.ref), tx.now
        )
        if kept is None:
            text = call.texts("gatherings.draft_missing", draft=draft, prefix=call.prefix)
            return [call.answer(text)]
        arguments = {**json.loads(kept), "confirm": "yes"}
        return await self.create(replace(call, arguments=arguments), tx)

    async def _preview(self, call: Invocation, plan: _Plan, tx: Transaction) -> Action:
        t = call.texts
        zone = ZoneInfo(plan.zone)
        community_zone = call.community.zone
        community_time = ""
        if call.community.timezone != plan.zone:
            community_time = t(
                "gatherings.preview_community_time",
                local=local_text(plan.starts_at, community_zone),
                zone=call.community.timezone,
            )
        parts = [
            f"title={_quote(plan.title)}",
            f"when={_quote(plan.wall.strftime('%Y-%m-%d %H:%M'))}",
        ]
        if plan.zone != call.community.timezone:
            parts.append(f"tz={plan.zone}")
        parts.append(f"duration={format_duration(plan.duration)}")
        if plan.recurrence:
            named = describe_recurrence(plan.recurrence)
            parts.append(f"repeat={_quote(named)}")
        if plan.where:
            parts.append(f"where={_quote(plan.where)}")
        if plan.capacity:
            parts.append(f"capacity={plan.capacity}")
        if plan.description:
            parts.append(f"description={_quote(plan.description)}")
        parts.append("confirm=yes")
        line = "host create " + " ".join(parts)
        details = []
        if plan.capacity:
            details.append(t("gatherings.capacity_line", capacity=plan.capacity).lstrip(" ·"))
        if plan.where:
            details.append(escape(plan.where))
        text = t(
            "gatherings.preview",
            title=escape(plan.title),
            duration=format_duration(plan.duration),
            repeat=self._repeat(t, plan.recurrence),
            local=local_text(plan.starts_at, zone),
            zone=plan.zone,
            community_time=community_time,
            utc=plan.starts_at.strftime("%Y-%m-%d %H:%M"),
            details="".join(f"{detail}\n" for detail in details),
            command=call.prefix + line,
        )
        if len(line) > _LINE_LIMIT:
            # Too long for a button's payload: keep the arguments, and the button names them.
            kept = {key: value for key, value in call.arguments.items() if key != "confirm"}
            draft = await store.add_draft(
                tx.conn, call.community.name, str(call.author.ref), json.dumps(kept), tx.now
            )
            line = f"host confirm {draft}"
        button = Button(label=t("gatherings.confirm_button"), action=line, style="primary")
        return call.answer(text, buttons=(button,))

    async def edit(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Change fields; answers move with the occurrences; those who answered are told."""
        t = call.texts
        gathering, problem = await self._load(call, tx)
        if gathering is None:
            return problem
        changes = {key: value for key, value in call.arguments.items() if key != "id"}
        if not changes:
            return [call.answer(t("gatherings.edit_nothing"))]
        try:
            plan = self._plan(changes, call.community, tx.now, base=gathering)
        except ZoneProblem as zone_problem:
            return self._zone_error(call, zone_problem)
        except WhenError as when_problem:
            return self._bad(call, str(when_problem))
        old_zone = ZoneInfo(gathering.timezone)
        new_zone = ZoneInfo(plan.zone)
        since = tx.now - timedelta(minutes=gathering.duration_minutes)
        old = list(
            occurrences(
                gathering.starts_at, old_zone, gathering.recurrence, since, since + _HORIZON
            )
        )[:_MOVED]
        new_since = min(since, plan.starts_at)
        new = list(
            occurrences(plan.starts_at, new_zone, plan.recurrence, new_since, since + _HORIZON)
        )
        new = [moment for moment in new if moment >= min(plan.starts_at, since)][: len(old)]
        await store.move_occurrences(tx.conn, gathering.id, dict(zip(old, new, strict=False)))
        updated = await store.update_gathering(
            tx.conn,
            gathering.id,
            tx.now,
            title=plan.title,
            starts_at=plan.starts_at,
            timezone=plan.zone,
            duration_minutes=plan.duration,
            recurrence=plan.recurrence,
            where_url=plan.where,
            capacity=plan.capacity,
            description=plan.description,
        )
        await self._after_change(tx, updated.id)
        actions: list[Action] = []
        occurrence = self.current(updated, tx.now)
        moved = (
            plan.starts_at != gathering.starts_at
            or plan.duration != gathering.duration_minutes
            or plan.recurrence != gathering.recurrence
            or plan.where != gathering.where_url
        )
        if occurrence is not None:
            if moved:
                for answer in await store.rsvps_for(tx.conn, updated.id, occurrence):
                    if answer.status == NO or answer.waitlisted:
                        continue
                    actions.append(
                        self._edit_dm(
                            t, updated, occurrence, answer.member_ref, going=answer.status == GOING
                        )
                    )
                post = t(
                    "gatherings.edit_post",
                    title=escape(updated.title),
                    id=updated.id,
                    unix=int(occurrence.timestamp()),
                    duration=format_duration(updated.duration_minutes),
                    repeat=self._repeat(t, updated.recurrence),
                )
                content = Content(text=post, buttons=self.rsvp_buttons(t, updated.id))
                actions.extend(self._announce(updated.community, content))
            actions.extend(await self._fill(t, tx, updated, occurrence))
        shown = occurrence or updated.starts_at
        actions.append(
            call.answer(
                t(
                    "gatherings.edited",
                    id=updated.id,
                    title=escape(updated.title),
                    unix=int(shown.timestamp()),
                    local=local_text(shown, new_zone),
                    zone=plan.zone,
                    utc=shown.strftime("%Y-%m-%d %H:%M"),
                    repeat=self._repeat(t, updated.recurrence),
                )
            )
        )
        return actions

    def _edit_dm(
        self,
        t: Catalog,
        gathering: GatheringRecord,
        occurrence: datetime,
        member: str,
        *,
        going: bool,
    ) -> SendDirect:
        text = t(
            "gatherings.edit_dm",
            title=escape(gathering.title),
            unix=int(occurrence.timestamp()),
            duration=format_duration(gathering.duration_minutes),
            link=self._link(t, gathering) if going else "",
        )
        return SendDirect(member=MemberRef.parse(member), content=Content(text=text))

    async def cancel(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Cancel: SEQUENCE bumped, STATUS:CANCELLED in calendars, members told by DM."""
        t = call.texts
        gathering, problem = await self._load(call, tx)
        if gathering is None:
            return problem
        updated = await store.update_gathering(tx.conn, gathering.id, tx.now, cancelled=True)
        await self._after_change(tx, updated.id)
        since = tx.now - timedelta(minutes=gathering.duration_minutes)
        told: dict[str, datetime] = {}
        for answer in await store.rsvps_since(tx.conn, gathering.id, since):
            if answer.status != NO:
                told.setdefault(answer.member_ref, answer.occurrence_at)
        actions: list[Action] = []
        for member, occurrence in told.items():
            text = t(
                "gatherings.cancel_dm",
                title=escape(updated.title),
                unix=int(occurrence.timestamp()),
            )
            actions.append(SendDirect(member=MemberRef.parse(member), content=Content(text=text)))
        post = t("gatherings.cancel_post", title=escape(updated.title), id=updated.id)
        actions.extend(self._announce(updated.community, Content(text=post)))
        actions.append(
            call.answer(
                t(
                    "gatherings.cancel_done",
                    id=updated.id,
                    title=escape(updated.title),
                    count=len(told),
                )
            )
        )
        return actions

    async def suggest_times(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Rank slots by how many members with a known zone are awake; a rotation for a series."""
        t = call.texts
        settings = self._settings
        try:
            duration = parse_duration(str(call.arguments.get("duration") or DEFAULT_DURATION))
        except WhenError as problem:
            return self._bad(call, str(problem))
        days = int(call.arguments.get("days") or settings.suggest_days)
        if not 1 <= days <= 28:
            return self._bad(call, "days must be between 1 and 28")
        zones = await store.member_zones(tx.conn)
        if not zones:
            return [call.answer(t("gatherings.suggest_none", prefix=call.prefix))]
        names = await consent_names(tx.conn, NAMED, list(zones))
        people = [fairness.Person(ref, zone, names.get(ref)) for ref, zone in sorted(zones.items())]
        waking = fairness.Waking.parse(settings.waking_start, settings.waking_end)
        slots = fairness.rank_slots(
            people,
            after=tx.now,
            days=days,
            duration=duration,
            waking=waking,
            slot_minutes=settings.slot_minutes,
        )
        zone = call.community.zone
        lines = [
            t(
                "gatherings.suggest_heading",
                duration=format_duration(int(duration.total_seconds() // 60)),
                days=days,
                total=len(people),
                start=settings.waking_start,
                end=settings.waking_end,
            )
        ]
        for index, slot in enumerate(slots, 1):
            lines.append(
                t(
                    "gatherings.suggest_line",
                    index=index,
                    unix=int(slot.start.timestamp()),
                    local=slot.start.astimezone(zone).strftime("%a %H:%M"),
                    zone=call.community.timezone,
                    inside=slot.score,
                    total=len(people),
                    outside=self._outside(t, slot.outside),
                )
            )
        if call.arguments.get("repeat"):
            lines.append("")
            lines.extend(self._rotation_lines(t, people, tx.now, duration, waking, zone, call))
        return [call.answer("\n".join(lines))]

    def _outside(self, t: Catalog, outside: Sequence[fairness.Person]) -> str:
        if not outside:
            return ""
        named = [escape(person.name) for person in outside if person.name]
        others = len(outside) - len(named)
        if others:
            named.append(t("gatherings.suggest_others", count=others))
        return t("gatherings.suggest_outside", people=", ".join(named))

    def _rotation_lines(
        self,
        t: Catalog,
        people: Sequence[fairness.Person],
        now: datetime,
        duration: timedelta,
        waking: fairness.Waking,
        zone: ZoneInfo,
        call: Invocation,
    ) -> list[str]:
        plan = fairness.rotation(
            people,
            after=now,
            duration=duration,
            waking=waking,
            slot_minutes=self._settings.slot_minutes,
        )
        if not plan.slots:
            return []
        if len(plan.slots) == 1:
            only = plan.slots[0]
            return [
                t(
                    "gatherings.rotation_single",
                    unix=int(only.start.timestamp()),
                    local=only.start.astimezone(zone).strftime("%H:%M"),
                    zone=call.community.timezone,
                )
            ]
        lines = [t("gatherings.rotation_heading")]
        for index, slot in enumerate(plan.slots, 1):
            lines.append(
                t(
                    "gatherings.rotation_line",
                    index=index,
                    unix=int(slot.start.timestamp()),
                    local=slot.start.astimezone(zone).strftime("%H:%M"),
                    zone=call.community.timezone,
                    outside=self._outside(t, slot.outside),
                )
            )
        worst = max(plan.burden.values(), default=0)
        lines.append(t("gatherings.rotation_burden", worst=worst, length=len(plan.slots)))
        return lines

    # --- everyone -----------------------------------------------------------------------

    async def _offers(self, call: Invocation, tx: Transaction) -> list[Offer]:
        """The next sessions, soonest first: what a mistyped session id may have meant."""
        upcoming: list[tuple[datetime, GatheringRecord]] = []
        for gathering in await store.list_gatherings(tx.conn, call.community.name):
            occurrence = self.current(gathering, tx.now)
            if occurrence is not None:
                upcoming.append((occurrence, gathering))
        upcoming.sort(key=lambda pair: (pair[0], pair[1].id))
        return [
            Offer(str(gathering.id), gathering.title, f"<t:{int(occurrence.timestamp())}>")
            for occurrence, gathering in upcoming[:OFFERED]
        ]

    async def list_events(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Upcoming sessions with how many are going (and the caller's own answer)."""
        t = call.texts
        upcoming: list[tuple[datetime, GatheringRecord]] = []
        for gathering in await store.list_gatherings(tx.conn, call.community.name):
            occurrence = self.current(gathering, tx.now)
            if occurrence is not None:
                upcoming.append((occurrence, gathering))
        if not upcoming:
            return [call.answer(t("gatherings.list_none", prefix=call.prefix))]
        upcoming.sort(key=lambda pair: (pair[0], pair[1].id))
        me = str(call.author.ref)
        lines = [t("gatherings.list_heading")]
        for occurrence, gathering in upcoming[:25]:
            answers = await store.rsvps_for(tx.conn, gathering.id, occurrence)
            going = sum(1 for a in answers if a.status == GOING and not a.waitlisted)
            mine = next((a for a in answers if a.member_ref == me), None)
            yours = ""
            if mine is not None:
                status = "wait-list" if mine.waitlisted else mine.status
                yours = t("gatherings.list_yours", status=status)
            capacity = (
                t("gatherings.list_capacity", capacity=gathering.capacity)
                if gathering.capacity
                else ""
            )
            lines.append(
                t(
                    "gatherings.list_line",
                    id=gathering.id,
                    title=escape(gathering.title),
                    unix=int(occurrence.timestamp()),
                    duration=format_duration(gathering.duration_minutes),
                    repeat=self._repeat(t, gathering.recurrence),
                    going=going,
                    capacity=capacity,
                    yours=yours,
                )
            )
        lines.append(t("gatherings.list_footer", prefix=call.prefix))
        return [call.answer("\n".join(lines))]

    async def rsvp(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Going (or the wait-list when full), maybe or no, for the current occurrence."""
        t = call.texts
        gathering, occurrence, problem = await self._load_current(call, tx)
        if gathering is None or occurrence is None:
            return problem
        text, actions = await self._answer(
            t, tx, gathering, occurrence, str(call.author.ref), str(call.arguments["answer"])
        )
        return [call.answer(text), *actions]

    async def _answer(
        self,
        t: Catalog,
        tx: Transaction,
        gathering: GatheringRecord,
        occurrence: datetime,
        me: str,
        status: str,
    ) -> tuple[str, list[Action]]:
        """Record a member's answer for an occurrence (going: the wait-list when full); the
        text that tells them, and what follows (wait-list moves, the platform copy's count)."""
        answers = await store.rsvps_for(tx.conn, gathering.id, occurrence)
        mine = next((a for a in answers if a.member_ref == me), None)
        unix = int(occurrence.timestamp())
        title = escape(gathering.title)
        if status == GOING:
            if mine is not None and mine.status == GOING:
                if mine.waitlisted:
                    position = self._position(answers, me)
                    return t("gatherings.still_waitlisted", position=position, title=title), []
                return t("gatherings.already_going", title=title, unix=unix), []
            going = [a for a in answers if a.status == GOING and not a.waitlisted]
            full = gathering.capacity is not None and len(going) >= gathering.capacity
            await store.set_rsvp(
                tx.conn, gathering.id, occurrence, me, GOING, waitlisted=full, now=tx.now
            )
            if full:
                answers = await store.rsvps_for(tx.conn, gathering.id, occurrence)
                text = t(
                    "gatherings.waitlisted",
                    title=title,
                    unix=unix,
                    capacity=gathering.capacity,
                    position=self._position(answers, me),
                )
                return text, []
            await self._count_changed(tx, gathering.id)
            return t("gatherings.going", title=title, unix=unix, link=self._link(t, gathering)), []
        await store.set_rsvp(
            tx.conn, gathering.id, occurrence, me, status, waitlisted=False, now=tx.now
        )
        actions: list[Action] = []
        if mine is not None and mine.status == GOING and not mine.waitlisted:
            actions.extend(await self._fill(t, tx, gathering, occurrence))
            await self._count_changed(tx, gathering.id)
        return t(f"gatherings.{status}", title=title, unix=unix), actions

    async def _count_changed(self, tx: Transaction, gathering_id: int) -> None:
        """The platform copy shows how many are going: bring it in step."""
        for effect in await self.mirror_effects(tx.conn, gathering_id, tx.now):
            tx.emit(effect)

    async def _interest(
        self, delivered: Delivered, event: InterestMarked, tx: Transaction
    ) -> list[Action]:
        """Interested on the platform's copy counts as going (unmarking it as no, for who was
        going); the member is told by DM what that did."""
        gathering = await store.gathering_by_mirror(tx.conn, event.mirror_id)
        if gathering is None or gathering.community != delivered.community.name:
            return []
        occurrence = self.current(gathering, tx.now)
        if occurrence is None or gathering.cancelled:
            return []
        me = str(event.member.ref)
        t = Catalog(delivered.community.language)
        if not event.interested:
            answers = await store.rsvps_for(tx.conn, gathering.id, occurrence)
            if not any(a.member_ref == me and a.status == GOING for a in answers):
                return []  # they had not said going: unmarking changes nothing
        text, actions = await self._answer(
            t, tx, gathering, occurrence, me, GOING if event.interested else NO
        )
        note = t("gatherings.interest_note", id=gathering.id)
        dm = SendDirect(member=event.member.ref, content=Content(text=f"{text}\n{note}"))
        log.info("gatherings: %d answered by Interested", gathering.id)
        return [dm, *actions]

    @staticmethod
    def _position(answers: Sequence[store.RsvpRecord], member: str) -> int:
        waiting = [a.member_ref for a in answers if a.status == GOING and a.waitlisted]
        return waiting.index(member) + 1 if member in waiting else 0

    async def _fill(
        self, t: Catalog, tx: Transaction, gathering: GatheringRecord, occurrence: datetime
    ) -> list[Action]:
        """Move the wait-list up into free places; each promoted member gets a DM."""
        answers = await store.rsvps_for(tx.conn, gathering.id, occurrence)
        going = sum(1 for a in answers if a.status == GOING and not a.waitlisted)
        waiting = [a for a in answers if a.status == GOING and a.waitlisted]
        actions: list[Action] = []
        for answer in waiting:
            if gathering.capacity is not None and going >= gathering.capacity:
                break
            await store.promote(tx.conn, gathering.id, occurrence, answer.member_ref)
            going += 1
            text = t(
                "gatherings.promoted_dm",
                title=escape(gathering.title),
                unix=int(occurrence.timestamp()),
                link=self._link(t, gathering),
            )
            actions.append(
                SendDirect(member=MemberRef.parse(answer.member_ref), content=Content(text=text))
            )
        return actions

    async def ask(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Keep a question for the host of the current occurrence."""
        t = call.texts
        gathering, occurrence, problem = await self._load_current(call, tx)
        if gathering is None or occurrence is None:
            return problem
        question = str(call.arguments["question"]).strip()
        if len(question) > MAX_QUESTION:
            return self._bad(call, f"a question is at most {MAX_QUESTION} characters")
        await store.add_question(
            tx.conn, gathering.id, occurrence, str(call.author.ref), question, tx.now
        )
        return [call.answer(t("gatherings.asked", title=escape(gathering.title)))]

    async def timezone(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Set, show or clear the caller's time zone."""
        t = call.texts
        ref = str(call.author.ref)
        given = call.arguments.get("zone")
        if given is None:
            member = await get_member(tx.conn, ref)
            if member is None or member.timezone is None:
                return [call.answer(t("gatherings.timezone_unset", prefix=call.prefix))]
            text = t("gatherings.timezone_show", zone=member.timezone, prefix=call.prefix)
            return [call.answer(text)]
        if str(given).strip().lower() in ("clear", "none", "off", "unset"):
            await update_member_settings(tx.conn, ref, timezone=None)
            return [call.answer(t("gatherings.timezone_cleared"))]
        try:
            zone = resolve_zone(str(given))
        except ZoneProblem as problem:
            return self._zone_error(call, problem)
        await update_member_settings(tx.conn, ref, timezone=zone)
        local = tx.now.astimezone(ZoneInfo(zone)).strftime("%H:%M")
        return [call.answer(t("gatherings.timezone_set", zone=zone, local=local))]

    async def calendar(self, call: Invocation, tx: Transaction) -> list[Action]:
        """The caller's secret calendar address (a new one with `reset`)."""
        t = call.texts
        if self._web_url is None:
            return [call.answer(t("gatherings.calendar_off"))]
        ref = str(call.author.ref)
        token = await store.calendar_token(tx.conn, ref)
        if token is None or call.arguments.get("reset") == "reset":
            token = secrets.token_urlsafe(24)
            await store.set_calendar_token(tx.conn, ref, token, tx.now)
        url = f"{self._web_url}/calendar/{token}.ics"
        return [call.answer(t("gatherings.calendar", url=url, prefix=call.prefix))]

    # --- platform mirrors (Discord's scheduled events) -----------------------------------

    async def _after_change(self, tx: Transaction, gathering_id: int) -> None:
        # Reminders follow once the change is durable; the platform mirror is written with it.
        if self._on_change is not None:
            changed = self._on_change

            async def follow() -> None:
                await changed()

            tx.after_commit(follow)
        for effect in await self.mirror_effects(tx.conn, gathering_id, tx.now):
            tx.emit(effect)

    async def mirror_effects(
        self, conn: Connection, gathering_id: int, now: datetime
    ) -> list[Effect]:
        """What creates, moves or cancels the platform copy of a gathering's next occurrence
        (Discord's scheduled events): nothing where no platform has them, nor while the copy is
        still being created (its confirmation brings it in step)."""
        if self._capabilities is None:
            return []
        gathering = await store.get_gathering(conn, gathering_id)
        if gathering is None:
            return []
        community = self._directory.settings(gathering.community)
        occurrence = self.current(gathering, now)
        t = Catalog(community.language)
        for platform, section in community.platforms.items():
            if section.space is None:
                continue
            if Capability.SCHEDULED_EVENTS not in self._capabilities(platform):
                continue
            if gathering.mirror_id is None and (gathering.cancelled or occurrence is None):
                return []
            start = occurrence or gathering.starts_at
            answers = await store.rsvps_for(conn, gathering.id, start)
            going = sum(1 for a in answers if a.status == GOING and not a.waitlisted)
            # An RSVP by command cannot mark the platform's Interested: the copy says the count.
            count = t("gatherings.mirror_going", going=going, id=gathering.id)
            about = (gathering.description or "").strip()
            action = MirrorGathering(
                platform=platform,
                space=section.space,
                mirror_id=gathering.mirror_id,
                title=gathering.title,
                description=f"{about[: 990 - len(count)]}\n\n{count}" if about else count,
                starts_at=start,
                ends_at=start + timedelta(minutes=gathering.duration_minutes),
                location=t("gatherings.mirror_location"),
                cancelled=gathering.cancelled or occurrence is None,
                every_weeks=weekly_in_utc(
                    start, ZoneInfo(gathering.timezone), gathering.recurrence, start
                ),
            )
            key: str | None = None
            if gathering.mirror_id is None:  # a copy to create: once, under a stable key
                attempt = await latest_attempt(conn, f"mirror:{gathering.id}:{platform}")
                if attempt.pending:
                    return []
                key = attempt.next_key()
            args = {
                "gathering": gathering.id,
                "created": gathering.mirror_id is None,
                "cancelled": action.cancelled,
                "shown": _fingerprint(action),
            }
            return [Effect(action=action, key=key, then=MIRRORED, args=args)]  # one per gathering
        return []

    async def mirrored(
        self, conn: Connection, args: Mapping[str, Any], ref: MessageRef | None, now: datetime
    ) -> list[Effect]:
        """Record the copy the platform made (or that it is gone); a copy created while the
        session changed is brought in step now that its id is known."""
        gathering_id = int(args["gathering"])
        if args["cancelled"]:
            await store.set_mirror(conn, gathering_id, None)
            return []
        if ref is None:
            return []  # the platform made no copy
        await store.set_mirror(conn, gathering_id, ref.message)
        if not args["created"]:
            return []
        return [
            effect
            for effect in await self.mirror_effects(conn, gathering_id, now)
            if isinstance(effect.action, MirrorGathering)
            and _fingerprint(effect.action) != args["shown"]
        ]

    # --- takeaways ----------------------------------------------------------------------

    async def on_events(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        """Interested on a mirrored session is an RSVP; replies in a takeaways thread become
        takeaways; edits and deletions follow."""
        answered: list[Action] = []
        for delivered in batch:
            if isinstance(delivered.event, InterestMarked):
                answered += await self._interest(delivered, delivered.event, tx)
        return answered + await self._takeaways(batch, tx)

    async def _takeaways(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        replies = thread_replies(batch)
        if replies:
            roots = [str(MessageRef(event.ref.channel, root)) for _, event, root in replies]
            threads = await store.threads_by_root(tx.conn, roots)
            rows: list[dict[str, object]] = []
            for (delivered, event, _), root in zip(replies, roots, strict=True):
                found = threads.get(root)
                if found is None or not event.text.strip():
                    continue
                gathering_id, occurrence, community = found
                if community != delivered.community.name:
                    continue
                rows.append(
                    {
                        "gathering_id": gathering_id,
                        "occurrence_at": occurrence,
                        "community": community,
                        "member_ref": str(event.author.ref),
                        "message_ref": str(event.ref),
                        "text": event.text.strip()[:2000],
                        "at": event.sent_at,
                    }
                )
            await store.add_takeaways(tx.conn, rows)
        for delivered in batch:
            if isinstance(delivered.event, MessageEdited):
                await store.edit_takeaway(
                    tx.conn, str(delivered.event.ref), delivered.event.text[:2000]
                )
        deleted = [str(d.event.ref) for d in batch if isinstance(d.event, MessageDeleted)]
        await store.delete_takeaways(tx.conn, deleted)
        return []


_HORIZON = timedelta(days=3660)
_MOVED = 200  # answers move with at most this many upcoming occurrences of a series


class UpcomingSection:
    """The digest's "Coming up": sessions in the week after the digest's week."""

    kind = "gatherings"
    position = 40

    async def build(self, request: DigestRequest) -> Section | None:
        """Occurrences starting within seven days after the week ends."""
        entries: list[Entry] = []
        end = request.end + timedelta(days=7)
        found: list[tuple[datetime, GatheringRecord]] = []
        for gathering in await store.list_gatherings(request.conn, request.community.name):
            zone = ZoneInfo(gathering.timezone)
            for moment in occurrences(
                gathering.starts_at, zone, gathering.recurrence, request.end, end
            ):
                found.append((moment, gathering))
        found.sort(key=lambda pair: (pair[0], pair[1].id))
        for moment, gathering in found:
            if f"E{gathering.id}" in request.excluded:
                continue
            entries.append(
                Entry(
                    key=f"E{gathering.id}",
                    title=gathering.title,
                    detail=local_text(moment, request.community.zone),
                )
            )
        if not entries:
            return None
        return Section(self.kind, request.texts("gatherings.digest_upcoming"), tuple(entries))


class TakeawaySection:
    """The digest's takeaways from the week's live sessions (named where members allow)."""

    kind = "takeaways"
    position = 50

    async def build(self, request: DigestRequest) -> Section | None:
        """The week's takeaways, quoted only from members who allow quotes."""
        found = await store.week_takeaways(
            request.conn, request.community.name, request.start, request.end
        )
        if not found:
            return None
        by_gathering: dict[int, list[store.TakeawayRecord]] = {}
        for takeaway in found:
            by_gathering.setdefault(takeaway.gathering_id, []).append(takeaway)
        entries: list[Entry] = []
        for gathering_id, items in by_gathering.items():
            if f"T{gathering_id}" in request.excluded:
                continue
            refs = list(dict.fromkeys(item.member_ref for item in items))
            quoting = await request.quote_names(refs)
            people, unnamed = await request.name_of(refs, quoted=quoting)
            quotes = tuple(
                f"{quoting[item.member_ref]}: {item.text[:200]}"
                for item in items
                if item.member_ref in quoting
            )
            entries.append(
                Entry(
                    key=f"T{gathering_id}",
                    title=items[0].title,
                    people=people,
                    unnamed=unnamed,
                    quotes=quotes[:5],
                    detail=request.texts("gatherings.digest_takeaway_count", count=len(items)),
                )
            )
        if not entries:
            return None
        return Section(self.kind, request.texts("gatherings.digest_takeaways"), tuple(entries))
