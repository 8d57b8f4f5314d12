"""What happens around each live session, on time and exactly once: reminders by DM to those
going (at the configured offsets), a post at the start (questions go to the host), and a
takeaways thread at the end.

Every such moment is a scheduler job of its own (a one-minute cron rule in UTC), so the run
ledger claims it: a restart between scheduling and the moment, a second process, or a replay
finds the ledger row and sends nothing twice; each DM and post is an outbox row written as a
part of the run (`RunContext.emit`), so a run resumed after a crash writes only the parts not
written yet. The takeaways thread is recorded once the platform confirms it. Jobs cover a
short horizon and are rebuilt after every change, after every run and hourly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.actions import Content, Post, SendDirect
from bot.core.clock import Clock
from bot.core.communities import CommunityDirectory, Purpose
from bot.core.i18n import Catalog
from bot.core.markup import escape
from bot.core.refs import MemberRef, MessageRef
from bot.core.schedules import parse_rule
from bot.features.gatherings import store
from bot.features.gatherings.config import GatheringSettings
from bot.features.gatherings.recurrence import occurrences
from bot.features.gatherings.store import GOING, GatheringRecord
from bot.features.gatherings.when import format_duration, place_line
from bot.runtime.outbox import Effect
from bot.runtime.scheduler import Job, RunContext, Scheduler
from bot.runtime.service import Service
from bot.storage import Connection, runs
from bot.storage.database import Database

log = logging.getLogger(__name__)

PREFIX = "gathering:"
REFRESH_JOB = "gatherings:refresh"
THREAD_OPENED = "gatherings.takeaways_opened"
# The effects that bring a gathering's platform mirror in step (`GatheringService`).
MirrorEffects = Callable[[Connection, int, datetime], Awaitable[list[Effect]]]


async def takeaways_opened(
    conn: Connection, args: Mapping[str, Any], ref: MessageRef | None, now: datetime
) -> None:
    """Remember the takeaways thread the platform opened: replies in it become takeaways."""
    if ref is None:
        return
    occurrence = datetime.fromisoformat(str(args["occurrence"]))
    await store.add_thread(conn, str(ref), int(args["gathering"]), occurrence, args["community"])


@dataclass(frozen=True, slots=True)
class GatheringMoment:
    """One thing to do for one occurrence: `kind` is "remind:<minutes>", "start" or "end"."""

    gathering_id: int
    occurrence: datetime
    kind: str
    at: datetime

    @property
    def job_id(self) -> str:
        """Stable across restarts: the ledger knows it by this id and its time."""
        stamp = self.occurrence.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
        return f"{PREFIX}{self.gathering_id}:{stamp}:{self.kind}"


def moments(
    gathering: GatheringRecord,
    settings: GatheringSettings,
    start: datetime,
    end: datetime,
) -> list[GatheringMoment]:
    """Reminders, start and end of every occurrence whose moments fall in [start, end)."""
    if gathering.cancelled:
        return []
    zone = ZoneInfo(gathering.timezone)
    duration = timedelta(minutes=gathering.duration_minutes)
    lead = max(settings.reminders, default=0)
    found: list[GatheringMoment] = []
    window_start = start - duration
    window_end = end + timedelta(minutes=lead)
    for occurrence in occurrences(
        gathering.starts_at, zone, gathering.recurrence, window_start, window_end
    ):
        candidates = [
            GatheringMoment(
                gathering.id,
                occurrence,
                f"remind:{minutes}",
                occurrence - timedelta(minutes=minutes),
            )
            for minutes in settings.reminders
        ]
        candidates.append(GatheringMoment(gathering.id, occurrence, "start", occurrence))
        candidates.append(GatheringMoment(gathering.id, occurrence, "end", occurrence + duration))
        for moment in candidates:
            # A reminder that was already due when the session was saved is not sent late.
            if moment.kind.startswith("remind:") and moment.at <= gathering.updated_at:
                continue
            if start <= moment.at < end:
                found.append(moment)
    return found


def _rule_for(moment: datetime) -> str:
    at = moment.astimezone(UTC)
    return f"{at.minute} {at.hour} {at.day} {at.month} *"


class GatheringReminders(Service):
    """Keeps one scheduler job per upcoming moment and runs them."""

    def __init__(
        self,
        settings: GatheringSettings,
        *,
        directory: CommunityDirectory,
        database: Database,
        scheduler: Scheduler,
        clock: Clock,
        texts: Callable[[str], Catalog] = Catalog,
        on_end: MirrorEffects | None = None,
        announce: Callable[[Catalog, GatheringRecord, datetime], list[Post]] | None = None,
        horizon: timedelta = timedelta(days=2),
    ) -> None:
        self._settings = settings
        self._directory = directory
        self._database = database
        self._scheduler = scheduler
        self._clock = clock
        self._texts = texts
        self._on_end = on_end
        self._announce = announce
        self._horizon = horizon
        self._jobs: set[str] = set()

    name = "gathering-reminders"

    async def start(self) -> None:
        """Schedule every reminder and announcement in the horizon."""
        await self.load()

    async def load(self) -> int:
        """Add the hourly refresh and the jobs of every moment in the horizon."""
        self._scheduler.add(Job(REFRESH_JOB, parse_rule("0 * * * *"), "UTC", self._refresh))
        return await self.reload()

    async def _refresh(self, _context: RunContext) -> None:
        await self.reload()

    async def reload(self) -> int:
        """Rebuild the moment jobs from the database; return how many there are."""
        now = self._clock.now()
        start = now - self._scheduler.grace - timedelta(minutes=1)
        end = now + self._horizon
        wanted: dict[str, GatheringMoment] = {}
        async with self._database.reading() as conn:
            found = await store.list_gatherings(conn)
        for gathering in found:
            if gathering.community not in {c.name for c in self._directory.communities}:
                continue
            for moment in moments(gathering, self._settings, start, end):
                wanted[moment.job_id] = moment
        fresh = [job_id for job_id in wanted if job_id not in self._jobs]
        if fresh:
            # A moment's job counts as seen from when its session was saved, not from when
            # this process first loaded it: after a restart past the moment (within the grace
            # window) it still runs, once.
            since = {g.id: min(g.updated_at, now) for g in found}
            async with self._database.transaction() as conn:
                for gathering_id, saved in since.items():
                    ids = [j for j in fresh if wanted[j].gathering_id == gathering_id]
                    if ids:
                        await runs.ensure_marks(conn, ids, saved)
        for stale in self._jobs - set(wanted):
            self._scheduler.remove(stale)
        for job_id, moment in wanted.items():
            if job_id not in self._jobs:
                self._scheduler.add(
                    Job(job_id, parse_rule(_rule_for(moment.at)), "UTC", partial(self._run, moment))
                )
        self._jobs = set(wanted)
        return len(wanted)

    async def _run(self, moment: GatheringMoment, context: RunContext) -> None:
        if context.due_at != moment.at:
            return  # the yearly echo of a one-minute rule: never this moment
        async with self._database.reading() as conn:
            gathering = await store.get_gathering(conn, moment.gathering_id)
            answers = (
                await store.rsvps_for(conn, moment.gathering_id, moment.occurrence)
                if gathering is not None
                else []
            )
            questions = (
                await store.questions_for(conn, moment.gathering_id, moment.occurrence)
                if gathering is not None and moment.kind == "start"
                else []
            )
        if gathering is None or gathering.cancelled or not self._still_occurs(gathering, moment):
            return  # cancelled or moved since the job was made
        community = self._directory.settings(gathering.community)
        t = self._texts(community.language)
        going = [a.member_ref for a in answers if a.status == GOING and not a.waitlisted]
        unix = int(moment.occurrence.timestamp())
        title = escape(gathering.title)
        if moment.kind.startswith("remind:"):
            lead = format_duration(int(moment.kind.split(":", 1)[1]))
            link = place_line(t, gathering.where_url)
            text = t("gatherings.reminder_dm", title=title, unix=unix, lead=lead, link=link)
            for member in going:
                action = SendDirect(member=MemberRef.parse(member), content=Content(text=text))
                await context.emit(f"dm:{member}", action)
        elif moment.kind == "start":
            count = ""
            if questions:
                count = t("gatherings.start_questions", count=len(questions))
            text = t("gatherings.start_post", title=title, id=gathering.id, questions=count)
            for channel in self._directory.channels(gathering.community, Purpose.ANNOUNCEMENTS):
                post = Post(channel=channel, content=Content(text=text))
                await context.emit(f"post:{channel}", post)
            if questions and gathering.host_ref is not None:
                listed = "\n".join(f"{n}. {escape(q.text)}" for n, q in enumerate(questions, 1))
                dm = SendDirect(
                    member=MemberRef.parse(gathering.host_ref),
                    content=Content(
                        text=t("gatherings.questions_dm", title=title, questions=listed)
                    ),
                )
                await context.emit("questions", dm)
        elif moment.kind == "end":
            if self._settings.takeaways:
                await self._takeaways(context, gathering, moment, t)
            following = self._following(gathering, moment)
            if following is not None and self._announce is not None:
                # A series announces its next session, with fresh RSVP buttons.
                for post in self._announce(t, gathering, following):
                    await context.emit(f"next:{post.channel}", post)
            if self._on_end is not None:  # a series' mirror moves on to its next session
                async with self._database.reading() as conn:
                    mirror = await self._on_end(conn, gathering.id, self._clock.now())
                for number, effect in enumerate(mirror):
                    await context.emit(f"mirror:{number}", effect)
            await self.reload()

    async def _takeaways(
        self, context: RunContext, gathering: GatheringRecord, moment: GatheringMoment, t: Catalog
    ) -> None:
        title = escape(gathering.title)
        for channel in self._directory.channels(gathering.community, Purpose.ANNOUNCEMENTS):
            post = Post(
                channel=channel,
                content=Content(text=t("gatherings.takeaways_post", title=title)),
                start_thread=t("gatherings.takeaways_thread", title=gathering.title)[:100],
            )
            effect = Effect(
                action=post,
                then=THREAD_OPENED,
                args={
                    "gathering": gathering.id,
                    "occurrence": moment.occurrence.isoformat(),
                    "community": gathering.community,
                },
            )
            await context.emit(f"thread:{channel}", effect)

    @staticmethod
    def _following(gathering: GatheringRecord, moment: GatheringMoment) -> datetime | None:
        if gathering.recurrence is None:
            return None
        zone = ZoneInfo(gathering.timezone)
        after = moment.occurrence + timedelta(seconds=1)
        found = occurrences(
            gathering.starts_at, zone, gathering.recurrence, after, after + timedelta(days=400)
        )
        return next(found, None)

    @staticmethod
    def _still_occurs(gathering: GatheringRecord, moment: GatheringMoment) -> bool:
        zone = ZoneInfo(gathering.timezone)
        found = occurrences(
            gathering.starts_at,
            zone,
            gathering.recurrence,
            moment.occurrence,
            moment.occurrence + timedelta(seconds=1),
        )
        return next(found, None) == moment.occurrence
