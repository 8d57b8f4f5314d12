"""Seek · sense · share prompts on a rhythm facilitators set; replies become reflections.

Each schedule is a job for the `Scheduler`: its run claims `(job, due time)` in the ledger,
picks the prompt (a part of the run) and writes each channel's post as an outbox row (another
part), so a run resumed after a crash neither posts twice nor picks a different prompt. The
post is recorded as a prompt (whose thread replies become reflections) once the platform
confirms it, with the message it made.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from importlib import resources
from typing import Any

from bot.core.actions import Action, Content, Post
from bot.core.commands import CommandSpec, Param, ParamKind, Role
from bot.core.communities import CommunityDirectory
from bot.core.config import Config
from bot.core.events import MessageDeleted, MessageEdited
from bot.core.i18n import Catalog
from bot.core.markup import escape
from bot.core.refs import ChannelRef, MessageRef
from bot.core.schedules import RuleError, parse_rule
from bot.core.suggestions import Suggestion, label, matching
from bot.features.prompts import store
from bot.features.prompts.config import PromptSettings
from bot.runtime.outbox import Effect
from bot.runtime.scheduler import Job, RunContext, Scheduler
from bot.runtime.service import (
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
from bot.storage.database import Database, StorageError

log = logging.getLogger(__name__)

STAGES = ("seek", "sense", "share")
JOB_PREFIX = "prompt:"
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


class LibraryError(Exception):
    """A prompt library file is missing or malformed; the message says which and how."""


@dataclass(frozen=True, slots=True)
class LibraryPrompt:
    """One default prompt, with a key that stays when its wording changes."""

    key: str
    text: str


class PromptLibrary:
    """The default prompts for each stage, in rotation order."""

    def __init__(self, stages: Mapping[str, Sequence[LibraryPrompt]]) -> None:
        for stage in STAGES:
            if not stages.get(stage):
                raise LibraryError(f"the prompt library has no prompts for {stage!r}")
        self._stages = {stage: tuple(stages[stage]) for stage in STAGES}

    def stage(self, stage: str) -> tuple[LibraryPrompt, ...]:
        """The prompts of one stage, in order."""
        return self._stages[stage]

    def find(self, stage: str, key: str) -> LibraryPrompt | None:
        """A prompt by key, if the library still has it."""
        return next((prompt for prompt in self._stages[stage] if prompt.key == key), None)

    @classmethod
    def parse(cls, text: str, source: str) -> PromptLibrary:
        """Read a library from TOML text: one table per stage, `key = "prompt"`."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise LibraryError(f"{source}: not valid TOML ({error})") from None
        stages: dict[str, list[LibraryPrompt]] = {}
        for stage in STAGES:
            table = data.get(stage)
            if not isinstance(table, dict):
                raise LibraryError(f"{source}: add a [{stage}] table of prompts")
            for key, value in table.items():
                if not _KEY.match(key) or not isinstance(value, str) or not value.strip():
                    raise LibraryError(
                        f"{source}: {stage}.{key} must be a lower-case key with text in quotes"
                    )
                stages.setdefault(stage, []).append(LibraryPrompt(key, value.strip()))
        unknown = sorted(set(data) - set(STAGES))
        if unknown:
            raise LibraryError(f"{source}: unknown tables {unknown}; use seek, sense and share")
        return cls(stages)

    @classmethod
    def load(cls, language: str) -> PromptLibrary:
        """The shipped library for `language`, or English when there is none."""
        folder = resources.files("bot.features.prompts").joinpath("library")
        for name in (language, "en"):
            candidate = folder.joinpath(f"{name}.toml")
            if candidate.is_file():
                return cls.parse(candidate.read_text("utf-8"), f"prompt_library/{name}.toml")
        raise LibraryError("the English prompt library (prompt_library/en.toml) is missing")


_ID = Param(
    name="id",
    help="The schedule's number from /prompt list",
    kind=ParamKind.INTEGER,
    suggests="prompts",
)

PROMPT = CommandSpec(
    name="prompt",
    help="Schedule seek, sense and share prompts for this community",
    role=Role.FACILITATOR,
    subcommands=(
        CommandSpec(
            name="add",
            help="Post a prompt on a schedule (library prompts unless you give a text)",
            example='/prompt add stage=sense when="mon,thu 18:30" channel=#general',
            role=Role.FACILITATOR,
            params=(
                Param(
                    name="stage",
                    help="Which step of the loop",
                    kind=ParamKind.CHOICE,
                    choices=STAGES,
                ),
                Param(
                    name="when",
                    help='When, in the community\'s time zone: "mon 09:00", "daily 08:00", '
                    "or a 5-field cron",
                ),
                Param(
                    name="channel",
                    help="Where to post (default: here)",
                    required=False,
                    keyword_only=True,
                ),
                Param(
                    name="text",
                    help="Your own prompt (default: rotate through the library)",
                    required=False,
                    keyword_only=True,
                ),
            ),
        ),
        CommandSpec(
            name="list",
            help="The prompt schedules and when each posts next",
            example="/prompt list",
            role=Role.FACILITATOR,
        ),
        CommandSpec(
            name="remove",
            help="Delete a prompt schedule (posted prompts stay)",
            example="/prompt remove 2",
            role=Role.FACILITATOR,
            params=(_ID,),
        ),
        CommandSpec(
            name="pause",
            help="Stop posting a schedule until resumed",
            example="/prompt pause 2",
            role=Role.FACILITATOR,
            params=(_ID,),
        ),
        CommandSpec(
            name="resume",
            help="Post a paused schedule again",
            example="/prompt resume 2",
            role=Role.FACILITATOR,
            params=(_ID,),
        ),
    ),
)


def _offer_label(schedule: store.PromptSchedule) -> str:
    """A schedule as a mistyped id's answer offers it: its stage, rhythm and channel."""
    paused = " (paused)" if schedule.paused else ""
    where = ChannelRef.parse(schedule.channel).channel
    return f"{schedule.stage} · {schedule.rule} · #{where}{paused}"


def job_id(schedule_id: int) -> str:
    """The scheduler job of a prompt schedule."""
    return f"{JOB_PREFIX}{schedule_id}"


def config_job_id(community: str, spec: PromptSettings) -> str:
    """A config prompt's job id: stable across restarts and reordering of the config."""
    digest = hashlib.sha1(f"{spec.stage}|{spec.when}|{spec.text or ''}".encode()).hexdigest()
    return f"{JOB_PREFIX}config:{community}:{digest[:12]}"


@dataclass(frozen=True, slots=True)
class _Target:
    """What one prompt run posts: a database schedule or a config one."""

    schedule_id: int | None
    community: str
    stage: str
    text: str | None
    channel: str | None  # None: the community's announcement channels on every platform


POSTED_HOOK = "prompts.posted"


async def prompt_posted(
    conn: Connection, args: Mapping[str, Any], ref: MessageRef | None, now: datetime
) -> None:
    """Record a prompt the platform posted, with its message: replies in its thread become
    reflections."""
    if ref is None:
        log.warning("a %s prompt was posted but no message came back", args["stage"])
        return
    schedule = args.get("schedule")
    await store.record_post(
        conn,
        schedule_id=int(schedule) if schedule is not None else None,
        community=str(args["community"]),
        stage=str(args["stage"]),
        due_at=datetime.fromisoformat(str(args["due_at"])),
        channel=str(ref.channel),
        message=ref.message,
        text=str(args["text"]),
        library_key=args.get("library_key"),
        now=now,
    )


class PromptService(Service):
    """Prompt schedules, posting as thread starters, and reflections from the threads."""

    name = "prompts"

    def __init__(
        self,
        *,
        database: Database,
        directory: CommunityDirectory,
        scheduler: Scheduler,
        texts: Callable[[str], Catalog],
        library: Callable[[str], PromptLibrary] = PromptLibrary.load,
    ) -> None:
        self._database = database
        self._directory = directory
        self._scheduler = scheduler
        self._texts = texts
        self._library_for = library
        self._libraries: dict[str, PromptLibrary] = {}

    def library(self, language: str) -> PromptLibrary:
        """The prompt library for a language (loaded once)."""
        if language not in self._libraries:
            self._libraries[language] = self._library_for(language)
        return self._libraries[language]

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """`/prompt add|list|remove|pause|resume`."""
        return (
            (
                PROMPT,
                {
                    ("prompt", "add"): self.add,
                    ("prompt", "list"): self.show_list,
                    ("prompt", "remove"): self.remove,
                    ("prompt", "pause"): partial(self._set_paused, paused=True),
                    ("prompt", "resume"): partial(self._set_paused, paused=False),
                },
            ),
        )

    def suggestions(self) -> Mapping[str, SuggestionSource]:
        """The community's prompt schedules (for facilitators)."""
        return {"prompts": self.suggest_prompts}

    async def suggest_prompts(self, query: SuggestionQuery, conn: Connection) -> list[Suggestion]:
        """Prompt schedules, newest first, by number, stage, rule or text; none for members."""
        if not query.is_facilitator:
            return []
        found: list[Suggestion] = []
        for schedule in reversed(await store.list_schedules(conn, query.community.name)):
            state = query.texts("prompts.suggest_paused") if schedule.paused else ""
            words = (str(schedule.id), schedule.stage, schedule.rule, schedule.text or "")
            if query.typed and not matching(query.typed, *words):
                continue
            found.append(
                Suggestion(
                    str(schedule.id),
                    label(
                        str(schedule.id), schedule.stage, schedule.rule, state, schedule.text or ""
                    ),
                )
            )
        return found[: query.limit]

    # --- jobs ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Give the scheduler a job per active prompt schedule."""
        await self.load()

    async def load(self) -> int:
        """Give the scheduler a job per active schedule (database and config); return how many."""
        async with self._database.reading() as conn:
            schedules = await store.list_schedules(conn)
        wanted: dict[str, Job] = {}
        for schedule in schedules:
            if schedule.paused:
                continue
            job = self._job(schedule)
            if job is not None:
                wanted[job.id] = job
        for community in self._directory.communities:
            for spec in community.section_list(PromptSettings):
                job = Job(
                    config_job_id(community.name, spec),
                    parse_rule(spec.when),
                    community.timezone,
                    partial(self._run_config, community.name, spec),
                )
                wanted[job.id] = job
        for existing in self._scheduler.jobs:
            if existing.id.startswith(JOB_PREFIX) and existing.id not in wanted:
                self._scheduler.remove(existing.id)
        for job in wanted.values():
            self._scheduler.add(job)
        return len(wanted)

    async def reload(self) -> None:
        """Re-read the schedules after a facilitator changed them."""
        await self.load()

    def _job(self, schedule: store.PromptSchedule) -> Job | None:
        try:
            settings = self._directory.settings(schedule.community)
        except KeyError:
            log.warning(
                "prompt schedule %d belongs to %r, which is no longer configured; not posting",
                schedule.id,
                schedule.community,
            )
            return None
        try:
            rule = parse_rule(schedule.rule)
        except RuleError as error:
            log.warning("prompt schedule %d has a bad rule (%s); not posting", schedule.id, error)
            return None
        return Job(job_id(schedule.id), rule, settings.timezone, partial(self._run, schedule.id))

    async def _run(self, schedule_id: int, context: RunContext) -> None:
        async with self._database.reading() as conn:
            schedule = await store.get_schedule(conn, schedule_id)
        if schedule is None or schedule.paused:
            log.info("prompt schedule %d was removed or paused; nothing to post", schedule_id)
            return
        target = _Target(
            schedule.id, schedule.community, schedule.stage, schedule.text, schedule.channel
        )
        await self._post_prompt(target, context)

    async def _run_config(self, community: str, spec: PromptSettings, context: RunContext) -> None:
        await self._post_prompt(_Target(None, community, spec.stage, spec.text, None), context)

    def _channels(self, target: _Target) -> list[ChannelRef]:
        if target.channel is not None:
            return [ChannelRef.parse(target.channel)]
        # Config prompts: the announcements channel, else the first watched one, per platform.
        return self._directory.home_channels(target.community)

    async def _post_prompt(self, target: _Target, context: RunContext) -> None:
        settings = self._directory.settings(target.community)
        t = self._texts(settings.language)
        key = await context.part("choose", partial(self._choose, target, settings.language))
        if target.text is not None:
            text, library_key = target.text, None
        else:
            found = self.library(settings.language).find(target.stage, key or "")
            if found is None:  # the library changed between a crash and the resume
                raise LookupError(f"library prompt {key!r} ({target.stage}) is gone")
            text, library_key = found.text, found.key
        channels = self._channels(target)
        if not channels:
            raise LookupError(
                f"{target.community} has no announcements or watched channel to post prompts in"
            )
        local = context.due_at.astimezone(settings.zone)
        for where in channels:
            post = Post(
                channel=where,
                content=Content(text=t(f"prompts.post_{target.stage}", text=text)),
                start_thread=t(f"prompts.thread_{target.stage}", date=local.strftime("%Y-%m-%d")),
            )
            # One part per channel: a resumed run writes only where it has not written yet.
            effect = Effect(
                action=post,
                then=POSTED_HOOK,
                args={
                    "schedule": target.schedule_id,
                    "community": target.community,
                    "stage": target.stage,
                    "due_at": context.due_at.isoformat(),
                    "text": text,
                    "library_key": library_key,
                },
            )
            await context.emit(f"post:{where}", effect)

    async def _choose(self, target: _Target, language: str) -> str:
        """The next library prompt of the stage, not repeated until all have been used."""
        if target.text is not None:
            return ""
        prompts = self.library(language).stage(target.stage)
        async with self._database.transaction() as conn:
            used = await store.used_library_keys(conn, target.community, target.stage)
            fresh = [prompt for prompt in prompts if prompt.key not in used]
            if not fresh:
                await store.start_new_round(conn, target.community, target.stage)
                fresh = list(prompts)
            chosen = fresh[0]
            await store.use_library_key(
                conn, target.community, target.stage, chosen.key, self._scheduler.clock.now()
            )
        return chosen.key

    # --- commands ------------------------------------------------------------------------

    def _channel(self, call: Invocation, given: str | None) -> ChannelRef | None:
        here: ChannelRef | None = getattr(call.event, "channel", None)
        if not given:
            return here
        # "#general", "<#123>", "<#C123|general>" or a bare name or id.
        name = given.strip().removeprefix("<").removesuffix(">").removeprefix("#")
        name, _, label = name.partition("|")
        platform = here.platform if here is not None else call.author.ref.platform
        for channel in self._directory.bound_channels(call.community.name):
            if channel.platform == platform and channel.channel in (name, label):
                return channel
        return None

    async def add(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Create a schedule and start posting on it."""
        t = call.texts
        stage = str(call.arguments["stage"])
        when = str(call.arguments["when"])
        try:
            rule = parse_rule(when)
        except RuleError as error:
            return [call.answer(t("prompts.bad_when", problem=escape(str(error))))]
        given = call.arguments.get("channel")
        channel = self._channel(call, str(given) if given is not None else None)
        if channel is None or self._directory.community_for(channel) != call.community.name:
            return [
                call.answer(
                    t("prompts.bad_channel", channel=escape(str(given or "")), prefix=call.prefix)
                )
            ]
        text_value = call.arguments.get("text")
        text = str(text_value).strip() if text_value is not None else None
        schedule = await store.add_schedule(
            tx.conn,
            community=call.community.name,
            stage=stage,
            rule=rule.text,
            channel=str(channel),
            text=text or None,
            created_by=str(call.author.ref),
            now=tx.now,
        )
        tx.after_commit(self.reload)
        upcoming = rule.next_after(tx.now, call.community.zone).astimezone(call.community.zone)
        return [
            call.answer(
                t(
                    "prompts.added",
                    id=schedule.id,
                    stage=stage,
                    when=rule.describe(),
                    channel=channel.channel,
                    next=upcoming.strftime("%a %d %b %H:%M"),
                    source=t("prompts.own_text") if text else t("prompts.library_text"),
                )
            )
        ]

    async def show_list(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Show the community's schedules with their next posting time."""
        t = call.texts
        schedules = await store.list_schedules(tx.conn, call.community.name)
        configured = call.community.section_list(PromptSettings)
        if not schedules and not configured:
            return [call.answer(t("prompts.none", prefix=call.prefix))]
        zone = call.community.zone
        lines = [t("prompts.list_heading", zone=call.community.timezone)]
        for spec in configured:
            rule = parse_rule(spec.when)
            moment = rule.next_after(tx.now, zone).astimezone(zone)
            lines.append(
                t(
                    "prompts.config_line",
                    stage=spec.stage,
                    when=rule.describe(),
                    upcoming=t("prompts.next", next=moment.strftime("%a %d %b %H:%M")),
                    source=escape(spec.text[:60]) if spec.text else t("prompts.library_text"),
                )
            )
        for schedule in schedules:
            rule = parse_rule(schedule.rule)
            if schedule.paused:
                upcoming = t("prompts.paused")
            else:
                moment = rule.next_after(tx.now, zone).astimezone(zone)
                upcoming = t("prompts.next", next=moment.strftime("%a %d %b %H:%M"))
            lines.append(
                t(
                    "prompts.list_line",
                    id=schedule.id,
                    stage=schedule.stage,
                    when=rule.describe(),
                    channel=ChannelRef.parse(schedule.channel).channel,
                    upcoming=upcoming,
                    source=(
                        escape(schedule.text[:60]) if schedule.text else t("prompts.library_text")
                    ),
                )
            )
        return [call.answer("\n".join(lines))]

    async def _owned(
        self, call: Invocation, tx: Transaction
    ) -> tuple[store.PromptSchedule | None, list[Action]]:
        schedule_id = int(str(call.arguments["id"]))
        schedule = await store.get_schedule(tx.conn, schedule_id)
        if schedule is None or schedule.community != call.community.name:
            text = call.texts("prompts.unknown", id=schedule_id, prefix=call.prefix)
            known = await store.list_schedules(tx.conn, call.community.name)
            offers = [Offer(str(known.id), _offer_label(known)) for known in reversed(known)]
            return None, [call.no_such(text, offers)]
        return schedule, []

    async def remove(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Delete a schedule."""
        schedule, problem = await self._owned(call, tx)
        if schedule is None:
            return problem
        await store.remove_schedule(tx.conn, schedule.id)
        tx.after_commit(self.reload)
        return [call.answer(call.texts("prompts.removed", id=schedule.id))]

    async def _set_paused(self, call: Invocation, tx: Transaction, *, paused: bool) -> list[Action]:
        schedule, problem = await self._owned(call, tx)
        if schedule is None:
            return problem
        await store.set_paused(tx.conn, schedule.id, paused)
        tx.after_commit(self.reload)
        key = "prompts.paused_now" if paused else "prompts.resumed"
        return [call.answer(call.texts(key, id=schedule.id, prefix=call.prefix))]

    # --- reflections ---------------------------------------------------------------------

    async def on_events(self, batch: Sequence[Delivered], tx: Transaction) -> list[Action]:
        """Replies in a prompt's thread become reflections; edits and deletions follow."""
        replies = thread_replies(batch)
        if replies:
            threads = [(str(event.ref.channel), root) for _, event, root in replies]
            posts = await store.post_for_threads(tx.conn, threads)
            rows: list[dict[str, object]] = []
            for (delivered, event, _), thread in zip(replies, threads, strict=True):
                post = posts.get(thread)
                if post is None or post.community != delivered.community.name:
                    continue
                if not event.text.strip():
                    continue
                rows.append(
                    {
                        "community": post.community,
                        "prompt_post_id": post.id,
                        "member_ref": str(event.author.ref),
                        "message_ref": str(event.ref),
                        "text": event.text,
                        "created_at": event.sent_at,
                        "public": not event.is_direct
                        and self._directory.is_read_by_all(event.ref.channel),
                    }
                )
            await store.add_reflections(tx.conn, rows)
        for delivered in batch:
            edited = delivered.event
            if isinstance(edited, MessageEdited):
                await store.edit_reflection(tx.conn, str(edited.ref), edited.text, edited.edited_at)
        deleted = [str(d.event.ref) for d in batch if isinstance(d.event, MessageDeleted)]
        await store.remove_reflections(tx.conn, deleted)
        return []


async def stored_schedule_lines(config: Config, now: datetime, count: int = 3) -> list[str]:
    """`facilitator check`'s lines for schedules added with /prompt: next local times."""
    if store.no_sqlite_file(config.storage.url):
        return ["prompt schedules in the database: none yet (no database file)"]
    try:
        schedules = await store.schedules_at(config.storage.url)
    except StorageError as reason:
        return [f"prompt schedules in the database: not readable ({reason}); run `db upgrade`"]
    zones = {community.name: community.zone for community in config.communities}
    lines = [f"prompt schedules in the database: {len(schedules)}"]
    for schedule in schedules:
        zone = zones.get(schedule.community)
        rule = parse_rule(schedule.rule)
        head = f"  {schedule.community} #{schedule.id} {schedule.stage}: {rule.describe()}"
        if zone is None:
            lines.append(f"{head}; community no longer configured, not posting")
        elif schedule.paused:
            lines.append(f"{head}; paused")
        else:
            moment, upcoming = now, []
            for _ in range(count):
                moment = rule.next_after(moment, zone)
                upcoming.append(f"{moment.astimezone(zone):%a %d %b %H:%M}")
            lines.append(f"{head}; next {', '.join(upcoming)}")
    return lines
