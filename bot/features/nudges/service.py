"""Gentle nudges for members drifting away: an hourly job per community DMs each member the
nudge rules (`rules.py`) allow one small, concrete step (react to a peer's link from this week,
answer the latest prompt, come to the next session, ask the network, or a step towards their
own goal), says why it wrote and how to change it. `/nudges off | on | snooze 2w | weekly |
fortnightly` is the member's control; with no argument it shows their state and last nudges.

Any own action in the community resets the back-off, a `/nudges` command included: so
`/nudges on` also lifts the "gave up after three unanswered" state, on purpose (the member
just asked for them).

Where the bot may not DM strangers (Discord), only members who talked to the bot are nudged;
the weekly digest carries an open invitation for the others (`InvitationSection`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import string
import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.actions import Action, Button, Content, SendDirect
from bot.core.clock import Clock
from bot.core.commands import CommandSpec, Param, ParamKind
from bot.core.communities import CommunityDirectory
from bot.core.config import CommunitySettings, ConfigError
from bot.core.i18n import Catalog
from bot.core.markup import escape, link
from bot.core.platform import Capability, may_message_unasked
from bot.core.refs import MemberRef, MessageRef
from bot.core.schedules import parse_rule
from bot.features.digest import link_infos, week_shares
from bot.features.engagement import (
    EARLIER_PERIODS,
    NOTHING,
    Activity,
    Drift,
    DriftRules,
    activity,
    drifting_members,
    settle_nudge_answers,
)
from bot.features.gatherings import list_gatherings, next_occurrence
from bot.features.goals import active_goal
from bot.features.members import NAMED, consent_names
from bot.features.nudges import store
from bot.features.nudges.config import NudgeSettings
from bot.features.nudges.rules import Candidate, NudgeRules, base_wait, decide, parse_wall
from bot.features.prompts import posts_of
from bot.runtime.outbox import Effect, direct_lane
from bot.runtime.scheduler import Job, RunContext
from bot.runtime.sections import DigestRequest, Entry, Section, SectionProvider
from bot.runtime.service import CommandHandler, Invocation, Service, Transaction
from bot.storage import Connection
from bot.storage import outbox as effects
from bot.storage.database import Database
from bot.storage.members import MemberRecord, get_member, get_members, update_member_settings
from bot.storage.memberships import Membership, community_members

log = logging.getLogger(__name__)

Capabilities = Callable[[str], frozenset[Capability]]

SENT_HOOK = "nudges.sent"


async def nudge_sent(
    conn: Connection, args: Mapping[str, Any], ref: MessageRef | None, now: datetime
) -> None:
    """Keep a nudge the platform confirmed, exactly as sent."""
    if ref is None:
        log.info("a nudge to %s was not delivered; not counted as a nudge", args["member"])
        return
    named = args.get("named")
    await store.record(
        conn,
        community=str(args["community"]),
        member_ref=str(args["member"]),
        sent_at=datetime.fromisoformat(str(args["at"])),
        reason=str(args["reason"]),
        step=str(args["step"]),
        text=str(args["text"]),
        named=(str(named[0]), str(named[1])) if named else None,
    )


async def undeliverable(conn: Connection, refs: Sequence[str]) -> dict[str, datetime]:
    """When each member's latest nudge was refused for good (their DMs closed), if it was."""
    lanes = {direct_lane(ref): ref for ref in refs}
    refused: dict[str, datetime] = {}
    for row in await effects.with_hook(conn, SENT_HOOK, status=effects.PARKED, lanes=list(lanes)):
        member = lanes[row.lane]
        at = row.done_at or row.created_at
        if member not in refused or refused[member] < at:
            refused[member] = at
    return refused


HOURLY = "0 * * * *"
WEEK = timedelta(days=7)
PROMPT_TEXT_CHARS = 200
MAX_SNOOZE_DAYS = 365

# Each step and the placeholders its wordings may use.
STEPS: Mapping[str, frozenset[str]] = {
    "react": frozenset({"sharer", "link", "id", "prefix"}),
    "prompt": frozenset({"prompt", "prefix"}),
    "session": frozenset({"title", "when", "id", "prefix"}),
    "seek": frozenset({"prefix"}),
    "goal": frozenset({"goal", "prefix"}),
}
# The step that exercises each stage of the loop; the easiest steps first when nothing is known.
STAGE_STEP = {"seek": "seek", "sense": "react", "share": "prompt", "presence": "session"}
EASIEST = ("react", "prompt", "session", "seek")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_LENGTH = re.compile(r"^(\d{1,4})\s*(d|day|days|w|wk|week|weeks)$")

NUDGES = CommandSpec(
    name="nudges",
    help="Occasional nudges when you have been away: off, on, snooze, weekly or fortnightly "
    "(with no argument: see your settings and last nudges)",
    example="/nudges snooze 2w",
    params=(
        Param(
            name="setting",
            help="off, on, snooze, weekly or fortnightly",
            kind=ParamKind.CHOICE,
            choices=("off", "on", "snooze", "weekly", "fortnightly"),
            required=False,
        ),
        Param(
            name="length",
            help="How long to snooze, e.g. 2w or 10d",
            required=False,
            rest=True,
        ),
    ),
)


class NudgeLibraryError(ConfigError):
    """A nudge library is missing or malformed; the message names the file, the key and the fix."""


class NudgeLibrary:
    """The wordings of each step, in order."""

    def __init__(self, steps: Mapping[str, Sequence[tuple[str, str]]]) -> None:
        self._steps = {step: tuple(steps[step]) for step in STEPS}

    def variants(self, step: str) -> tuple[tuple[str, str], ...]:
        """(key, wording) pairs of one step."""
        return self._steps[step]

    @classmethod
    def parse(cls, text: str, source: str) -> NudgeLibrary:
        """Read a library from TOML text: one table per step, `key = "wording"`."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise NudgeLibraryError(f"{source}: not valid TOML ({error})") from None
        unknown = sorted(set(data) - set(STEPS))
        if unknown:
            raise NudgeLibraryError(
                f"{source}: unknown table(s) {', '.join(unknown)}; use {', '.join(STEPS)}"
            )
        steps: dict[str, list[tuple[str, str]]] = {}
        for step, allowed in STEPS.items():
            table = data.get(step)
            if not isinstance(table, dict) or not table:
                raise NudgeLibraryError(
                    f'{source}: add a [{step}] table with at least one wording (e.g. first = "...")'
                )
            for key, value in table.items():
                where = f"{source}: {step}.{key}"
                if not _KEY.match(key) or not isinstance(value, str) or not value.strip():
                    raise NudgeLibraryError(
                        f"{where} must be a lower-case key with a wording in quotes"
                    )
                try:
                    used = {name for _, name, _, _ in string.Formatter().parse(value) if name}
                except ValueError as error:
                    raise NudgeLibraryError(
                        f"{where}: {error}; write a placeholder as {{name}} and a literal brace "
                        "as {{ or }}"
                    ) from None
                strange = sorted(used - allowed)
                if strange:
                    raise NudgeLibraryError(
                        f"{where} uses {', '.join('{' + name + '}' for name in strange)}; "
                        f"a {step} wording may use only "
                        f"{', '.join('{' + name + '}' for name in sorted(allowed))}"
                    )
                steps.setdefault(step, []).append((key, value.strip()))
        return cls(steps)

    @classmethod
    def load(cls, path: str | None, language: str = "en") -> NudgeLibrary:
        """The library at `path`, or the shipped one for `language` (English as fallback)."""
        if path is not None:
            try:
                text = Path(path).read_text("utf-8")
            except (OSError, UnicodeDecodeError) as error:
                problem = f"{path}: cannot read the nudge library ({error})"
                raise NudgeLibraryError(problem) from None
            return cls.parse(text, path)
        folder = resources.files("bot.features.nudges").joinpath("library")
        for name in (language, "en"):
            candidate = folder.joinpath(f"{name}.toml")
            if candidate.is_file():
                return cls.parse(candidate.read_text("utf-8"), f"nudge_library/{name}.toml")
        raise NudgeLibraryError("the English nudge library (nudge_library/en.toml) is missing")


def rules_of(settings: NudgeSettings) -> NudgeRules:
    """The pure rules from a community's `[communities.nudges]`."""
    return NudgeRules(
        every_days=settings.every_days,
        quiet_start=parse_wall(settings.quiet_start),
        quiet_end=parse_wall(settings.quiet_end),
        hourly_cap=settings.hourly_cap,
        give_up_after=settings.give_up_after,
    )


def parse_length(text: str) -> timedelta:
    """A snooze length such as "2w", "10d" or "3 weeks"; ValueError says how to write it."""
    match = _LENGTH.match(text.strip().lower())
    if match is None:
        raise ValueError(f"{text.strip()!r} is not a length; write e.g. 2w, 10d or 3 weeks")
    number, unit = int(match.group(1)), match.group(2)
    days = number * 7 if unit.startswith("w") else number
    if not 1 <= days <= MAX_SNOOZE_DAYS:
        raise ValueError(f"snooze for 1 day to {MAX_SNOOZE_DAYS} days, not {days}")
    return timedelta(days=days)


def choose_step(
    weakest: str | None, available: Collection[str], has_goal: bool, last_step: str | None
) -> str:
    """The step to offer: their goal (not twice running), else the one for their weakest stage,
    else the easiest one available (/seek always is)."""
    if has_goal and last_step != "goal":
        return "goal"
    preferred = STAGE_STEP.get(weakest) if weakest else None
    if preferred is not None and preferred in available:
        return preferred
    return next((step for step in EASIEST if step in available), "seek")


def pick_variant(
    variants: Sequence[tuple[str, str]],
    member_ref: str,
    count: int,
    render: Callable[[str], str],
    last_text: str | None,
) -> str:
    """A wording for this member: rotating through the variants, never the text they got last."""
    offset = int(hashlib.sha256(member_ref.encode()).hexdigest()[:8], 16)
    rendered = ""
    for turn in range(len(variants)):
        _, wording = variants[(offset + count + turn) % len(variants)]
        rendered = render(wording)
        if rendered != last_text:
            return rendered
    return rendered


def _zone_or(zone: str | None, fallback: str) -> str:
    """The member's zone when it is a known one, else the community's."""
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return fallback
        return zone
    return fallback


CAP_WINDOW = timedelta(minutes=55)  # how far back the hourly cap counts sent nudges


@dataclass(frozen=True, slots=True)
class _Step:
    """What the nudge offers, ready for a wording."""

    name: str
    values: Mapping[str, object]
    named: tuple[str, str] | None = None  # (member ref, as shown) of a peer the step names


@dataclass(frozen=True, slots=True)
class Composed:
    """A nudge ready to send: its step, its content, and the peer it names, if any."""

    step: str
    content: Content
    named: tuple[str, str] | None = None


class NudgeService(Service):
    """The hourly nudge job per community and the `/nudges` command."""

    name = "nudges"

    def digest_sections(self) -> Sequence[SectionProvider]:
        """The open invitation for members the bot may not write to."""
        return (InvitationSection(self, self._clock),)

    def __init__(
        self,
        *,
        database: Database,
        directory: CommunityDirectory,
        texts: Callable[[str], Catalog],
        clock: Clock,
        capabilities: Capabilities,
    ) -> None:
        self._database = database
        self._directory = directory
        self._texts = texts
        self._clock = clock
        self._capabilities = capabilities
        # Loaded (and so validated) once at start: a broken library stops the start with a
        # message that names the file and the key.
        self._libraries = {
            community.name: NudgeLibrary.load(
                community.section(NudgeSettings).library, community.language
            )
            for community in directory.communities
        }
        # One nudge at a time, checked against every community's: the jobs of two communities
        # may run at once and must not both nudge the same member.
        self._sending = asyncio.Lock()

    def library(self, community: str) -> NudgeLibrary:
        """The nudge library of a community."""
        return self._libraries[community]

    # --- the member's control -------------------------------------------------------------

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """`/nudges [off|on|snooze <length>|weekly|fortnightly]`."""
        return ((NUDGES, {("nudges",): self.nudges}),)

    async def nudges(self, call: Invocation, tx: Transaction) -> list[Action]:
        """Change or show the caller's nudge settings."""
        t = call.texts
        ref = str(call.author.ref)
        setting = call.arguments.get("setting")
        length = str(call.arguments.get("length") or "").strip()
        usage = t("nudges.usage", prefix=call.prefix)
        if length and setting != "snooze":
            return [call.answer(t("nudges.bad_length_use", length=escape(length)) + "\n" + usage)]
        changes: dict[str, object] = {}
        key = ""
        values: dict[str, object] = {}
        if setting == "off":
            changes, key = {"nudges": False}, "nudges.now_off"
        elif setting == "on":
            changes, key = {"nudges": True, "nudges_snoozed_until": None}, "nudges.now_on"
        elif setting in ("weekly", "fortnightly"):
            days = 7 if setting == "weekly" else 14
            changes = {"nudges": True, "nudge_every_days": days}
            key, values = "nudges.now_every", {"every": setting}
        elif setting == "snooze":
            if not length:
                return [call.answer(t("nudges.snooze_needs_length") + "\n" + usage)]
            try:
                span = parse_length(length)
            except ValueError as error:
                return [call.answer(f"{escape(str(error))}\n{usage}")]
            until = tx.now + span
            changes = {"nudges_snoozed_until": until}
            key, values = "nudges.now_snoozed", {"until": int(until.timestamp())}
        if changes:
            await update_member_settings(tx.conn, ref, **changes)
        await settle_nudge_answers(
            tx.conn, call.community.name, tx.now, call.community.section(NudgeSettings).answer_days
        )
        member = await get_member(tx.conn, ref)
        if member is None:  # the dispatcher records every author first; a race at most
            return [call.answer(t("members.profile_empty"))]
        state = await self._state(call, tx, member)
        if key:
            return [call.answer(t(key, prefix=call.prefix, **values) + "\n\n" + state)]
        return [call.answer(state)]

    async def _state(self, call: Invocation, tx: Transaction, member: MemberRecord) -> str:
        t = call.texts
        settings = call.community.section(NudgeSettings)
        every = max(settings.every_days, member.nudge_every_days)
        lines: list[str] = []
        if not settings.enabled:
            lines.append(t("nudges.state_disabled", community=call.community.name))
        if not member.nudges:
            lines.append(t("nudges.state_off"))
        else:
            lines.append(
                t(
                    "nudges.state_on",
                    days=every,
                    inactive=settings.inactive_days,
                    quiet=f"{settings.quiet_start}-{settings.quiet_end}",
                )
            )
            if member.nudges_snoozed_until is not None and member.nudges_snoozed_until > tx.now:
                lines.append(
                    t("nudges.state_snoozed", until=int(member.nudges_snoozed_until.timestamp()))
                )
            if Capability.UNSOLICITED_DIRECT_MESSAGES not in self._capabilities(
                call.author.ref.platform
            ):
                lines.append(t("nudges.state_contact"))
        sent = await store.member_nudges(tx.conn, call.community.name, str(call.author.ref))
        if sent:
            lines.append(t("nudges.state_last"))
            for nudge in sent:
                answered = t("nudges.answered") if nudge.answered_at else t("nudges.unanswered")
                lines.append(
                    t(
                        "nudges.state_item",
                        at=int(nudge.sent_at.timestamp()),
                        step=t(f"nudges.step_{nudge.step}"),
                        answered=answered,
                    )
                )
        else:
            lines.append(t("nudges.state_none"))
        lines.append(t("nudges.usage", prefix=call.prefix))
        return "\n".join(lines)

    # --- who -----------------------------------------------------------------------------

    def may_dm(self, member: Membership) -> bool | None:
        """Whether the bot may DM this member unasked: the platform allows it, or they talked
        to the bot (a command, a button, a DM). None: their platform is not connected."""
        platform = MemberRef.parse(member.member_ref).platform
        capabilities = self._capabilities(platform)
        if Capability.DIRECT_MESSAGES not in capabilities:
            return None
        return may_message_unasked(capabilities, talked_to_bot=member.contacted_at is not None)

    async def drifting(
        self, conn: Connection, community: str, now: datetime
    ) -> tuple[list[Drift], dict[str, Membership]]:
        """Who is drifting in `community` now (never facilitators), with their memberships."""
        settings = self._directory.settings(community)
        members = {m.member_ref: m for m in await community_members(conn, community)}
        facilitators = {ref for ref in members if self._directory.named_facilitator(community, ref)}
        rules = DriftRules.of(settings.section(NudgeSettings))
        drifts = await drifting_members(conn, community, now, rules, facilitators)
        # Activity is counted from what members left behind (messages, shares, RSVPs...);
        # a command such as `/nudges on` leaves nothing there but is an action of their own.
        recent = now - timedelta(days=rules.recent_days)
        drifts = [
            drift
            for drift in drifts
            if drift.reason != "inactive"
            or drift.last_active_at is None
            or not recent < drift.last_active_at <= now  # later: a past week's digest
        ]
        return drifts, members

    async def unreachable(self, conn: Connection, community: str, now: datetime) -> int:
        """How many drifting members the bot may not DM (Discord members who never talked to
        it): the digest invites them instead. Members of platforms not connected here (e.g.
        `facilitator digest preview`, which connects none) are not counted."""
        members = await community_members(conn, community)
        if all(self.may_dm(member) is not False for member in members):
            return 0  # everyone is reachable (no Discord, or all talked to the bot): no drift sums
        drifts, by_ref = await self.drifting(conn, community, now)
        return sum(1 for drift in drifts if self.may_dm(by_ref[drift.member_ref]) is False)

    async def candidates(
        self, conn: Connection, community: str, now: datetime
    ) -> tuple[list[Candidate], dict[str, Drift], dict[str, store.NudgeHistory]]:
        """Every drifting member with what the rules need, and their drift and history."""
        settings = self._directory.settings(community)
        drifts, members = await self.drifting(conn, community, now)
        refs = [drift.member_ref for drift in drifts]
        records = await get_members(conn, refs)
        history = await store.histories(conn, community, refs)
        # At most one nudge a week per member, whichever community sent it.
        anywhere = await store.last_sent_anywhere(conn, refs)
        # A nudge the platform refused for good (closed DMs) is not retried every hour.
        refused = await undeliverable(conn, refs)
        found: list[Candidate] = []
        for drift in drifts:
            record = records.get(drift.member_ref)
            past = history.get(drift.member_ref, store.NudgeHistory())
            found.append(
                Candidate(
                    member_ref=drift.member_ref,
                    reason=drift.reason,
                    zone=_zone_or(record.timezone if record else None, settings.timezone),
                    opted_out=record is not None and not record.nudges,
                    snoozed_until=record.nudges_snoozed_until if record else None,
                    every_days=record.nudge_every_days if record else 7,
                    may_dm=bool(self.may_dm(members[drift.member_ref])),
                    last_active_at=drift.last_active_at,
                    last_nudged_at=anywhere.get(drift.member_ref, past.last_sent_at),
                    unanswered=past.unanswered,
                    dm_failed_at=refused.get(drift.member_ref),
                )
            )
        return found, {drift.member_ref: drift for drift in drifts}, history

    # --- the hourly job -------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """One hourly nudge job per community that has nudges enabled."""
        return [
            Job(
                f"nudges:{community.name}",
                parse_rule(HOURLY),
                community.timezone,
                partial(self._run, community.name),
            )
            for community in self._directory.communities
            if community.section(NudgeSettings).enabled
        ]

    async def _run(self, community: str, context: RunContext) -> None:
        """Settle answers, decide who gets a nudge now, and write each as one part of the run."""
        settings = self._directory.settings(community)
        now = self._clock.now()
        async with self._database.transaction() as conn:
            answer_days = settings.section(NudgeSettings).answer_days
            await settle_nudge_answers(conn, community, now, answer_days)
        # The cap counts what was sent in the last CAP_WINDOW: a resumed run's, another
        # process's, or a late run's a minute ago; not the previous on-time run's (see
        # docs/architecture.md, "Nudges").
        since = now - CAP_WINDOW
        async with self._database.reading() as conn:
            candidates, drifts, history = await self.candidates(conn, community, now)
            sent = await store.sent_since(conn, community, since)
            # Nudges still on their way count too: the platform may be taking its time.
            sent += len(
                await effects.with_hook(
                    conn,
                    SENT_HOOK,
                    status=effects.PENDING,
                    key_prefix=f"nudge:{community}:",
                    since=since,
                )
            )
        chosen = decide(candidates, now, rules_of(settings.section(NudgeSettings)), sent)
        if not chosen:
            return
        async with self._database.reading() as conn:
            period = timedelta(days=settings.section(NudgeSettings).inactive_days)
            start = now - period
            earlier = await activity(conn, community, start - period * EARLIER_PERIODS, start)
        for candidate in chosen:
            async with self._sending:
                await self._nudge(
                    context,
                    settings,
                    candidate,
                    drifts[candidate.member_ref],
                    history.get(candidate.member_ref, store.NudgeHistory()),
                    earlier.get(candidate.member_ref, NOTHING),
                )

    async def _nudge(
        self,
        context: RunContext,
        settings: CommunitySettings,
        candidate: Candidate,
        drift: Drift,
        history: store.NudgeHistory,
        earlier: Activity,
    ) -> None:
        part = f"nudge:{candidate.member_ref}"
        if part in context.sent:
            return  # written by the run this one resumes
        now = self._clock.now()
        member = MemberRef.parse(candidate.member_ref)
        async with self._database.reading() as conn:
            last = (await store.last_sent_anywhere(conn, [candidate.member_ref])).get(
                candidate.member_ref
            )
            rules = rules_of(settings.section(NudgeSettings))
            if last is not None and now - last < base_wait(candidate, rules):
                return  # another community's job nudged them meanwhile
            if await effects.with_hook(
                conn, SENT_HOOK, status=effects.PENDING, lanes=[direct_lane(member)]
            ):
                return  # another community's nudge is on its way to them
            composed = await self.compose(conn, settings, member, drift, history, earlier, now)
        # Recorded as a nudge (with its exact text) only once the platform took it: a refused
        # DM parks, is no nudge, and keeps the member from being retried every hour.
        effect = Effect(
            action=SendDirect(member=member, content=composed.content),
            key=f"nudge:{settings.name}:{context.due_at.isoformat()}:{candidate.member_ref}",
            then=SENT_HOOK,
            args={
                "community": settings.name,
                "member": candidate.member_ref,
                "at": now.isoformat(),
                "reason": drift.reason,
                "step": composed.step,
                "text": composed.content.text,
                "named": list(composed.named) if composed.named else None,
            },
            member=composed.named[0] if composed.named else None,
        )
        await context.emit(part, effect)

    # --- the text ------------------------------------------------------------------------

    async def _steps(
        self, conn: Connection, settings: CommunitySettings, member_ref: str, now: datetime
    ) -> dict[str, _Step]:
        """Every step available to this member now, with its values."""
        prefix = self._directory.command_prefix(MemberRef.parse(member_ref).platform)
        t = self._texts(settings.language)
        steps: dict[str, _Step] = {"seek": _Step("seek", {"prefix": prefix})}
        goal = await active_goal(conn, settings.name, member_ref)
        if goal is not None:
            steps["goal"] = _Step("goal", {"goal": escape(goal.text), "prefix": prefix})
        # A link from this week, brought by someone else (the latest one).
        week = await week_shares(conn, settings.name, now - WEEK, now)
        peer = next((s for s in reversed(week) if s.member_ref != member_ref), None)
        if peer is not None:
            info = (await link_infos(conn, [peer.link_id]))[peer.link_id]
            name = (await consent_names(conn, NAMED, [peer.member_ref])).get(peer.member_ref)
            # Bold, so the name can be found again exactly: it is taken out of the stored
            # text if the peer later asks to be forgotten.
            shown = f"**{escape(name)}**" if name else None
            steps["react"] = _Step(
                "react",
                {
                    "sharer": shown or t("nudges.someone"),
                    "link": link(info.title or info.canonical_url, info.url),
                    "id": peer.link_id,
                    "prefix": prefix,
                },
                named=(peer.member_ref, shown) if shown else None,
            )
        posted = await posts_of(conn, settings.name, limit=1)
        recent = timedelta(days=settings.section(NudgeSettings).inactive_days)
        if posted and now - posted[0].due_at <= recent:
            words = " ".join(posted[0].text.split())
            if len(words) > PROMPT_TEXT_CHARS:
                words = words[: PROMPT_TEXT_CHARS - 1].rstrip() + "…"
            steps["prompt"] = _Step("prompt", {"prompt": escape(words), "prefix": prefix})
        upcoming: list[tuple[datetime, int, str]] = []
        for gathering in await list_gatherings(conn, settings.name):
            moment = next_occurrence(
                gathering.starts_at, ZoneInfo(gathering.timezone), gathering.recurrence, now
            )
            if moment is not None and moment - now <= timedelta(days=14):
                upcoming.append((moment, gathering.id, gathering.title))
        if upcoming:
            moment, gathering_id, title = min(upcoming)
            steps["session"] = _Step(
                "session",
                {
                    "title": escape(title),
                    "when": f"<t:{int(moment.timestamp())}>",
                    "id": gathering_id,
                    "prefix": prefix,
                },
            )
        return steps

    async def compose(
        self,
        conn: Connection,
        settings: CommunitySettings,
        member: MemberRef,
        drift: Drift,
        history: store.NudgeHistory,
        earlier: Activity,
        now: datetime,
    ) -> Composed:
        """The nudge for one member: the step's wording from the library, why it was sent and
        how to change it."""
        t = self._texts(settings.language)
        prefix = self._directory.command_prefix(member.platform)
        member_ref = str(member)
        steps = await self._steps(conn, settings, member_ref, now)
        # Chat alone says nothing about the loop: then the easiest step, not "seek" by tie.
        weakest = earlier.weakest_stage() if any(earlier.stages().values()) else None
        name = choose_step(weakest, steps, "goal" in steps, history.last_step)
        step = steps[name]
        variants = self.library(settings.name).variants(name)
        opening = t("nudges.opening", community=escape(settings.name))
        why = self._why(t, settings, drift, now)
        how = t("nudges.how", prefix=prefix)

        def render(wording: str) -> str:
            return "\n\n".join([opening + " " + wording.format(**step.values), why, how])

        text = pick_variant(variants, member_ref, history.count, render, history.last_text)
        buttons = (
            Button(label=t("nudges.button_snooze"), action="nudges snooze 2w"),
            Button(label=t("nudges.button_off"), action="nudges off", style="danger"),
        )
        return Composed(name, Content(text=text, buttons=buttons), step.named)

    def _why(self, t: Catalog, settings: CommunitySettings, drift: Drift, now: datetime) -> str:
        community = escape(settings.name)
        days = settings.section(NudgeSettings).inactive_days
        if drift.reason == "fell":
            return t(
                "nudges.why_fell",
                community=community,
                recent=drift.recent,
                days=days,
                earlier=round(drift.earlier_rate or 0),
            )
        if drift.last_active_at is None:
            return t("nudges.why_never", community=community)
        away = max(days, (now - drift.last_active_at).days)
        return t("nudges.why_inactive", community=community, days=away)


class InvitationSection:
    """The digest's "An easy way back in": one easy step, naming nobody, when the community has
    drifting members the bot may not DM (Discord members who never talked to it)."""

    kind = "invitation"
    position = 80

    def __init__(self, nudges: NudgeService, clock: Clock) -> None:
        self._nudges = nudges
        self._clock = clock

    async def build(self, request: DigestRequest) -> Section | None:
        """The invitation, or None when everyone drifting can be reached by DM."""
        community = request.community
        if not community.section(NudgeSettings).enabled:
            return None
        now = min(request.end, self._clock.now())
        if not await self._nudges.unreachable(request.conn, community.name, now):
            return None
        t = request.texts
        shares = await week_shares(request.conn, community.name, request.start, request.end)
        detail = ""
        title = t("nudges.digest_react") if shares else t("nudges.digest_ask")
        upcoming: list[tuple[datetime, str]] = []
        for gathering in await list_gatherings(request.conn, community.name):
            moment = next_occurrence(
                gathering.starts_at, ZoneInfo(gathering.timezone), gathering.recurrence, now
            )
            if moment is not None and moment - now <= timedelta(days=14):
                upcoming.append((moment, gathering.title))
        if upcoming:
            moment, name = min(upcoming)
            local = moment.astimezone(community.zone)
            detail = t(
                "nudges.digest_session", title=name, when=local.strftime("%a %d %b, %H:%M %Z")
            )
        entry = Entry(key="W0", title=title, detail=detail)
        return Section(self.kind, t("nudges.digest_heading"), (entry,))
