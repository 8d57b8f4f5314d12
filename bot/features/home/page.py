"""A member's home page, built neutrally from what the database holds now: their week of
seek · sense · share and who engaged with it (named only with consent), their goal and next
check-in, upcoming sessions with RSVP buttons, their settings and consents as toggles, the
latest digest; for facilitators, the week's report figures and the digest's buttons. Every
button runs the command a member could type. Slack renders it as the App Home tab; any
platform could show it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.core.actions import Button, Content, HomePage, Panel
from bot.core.communities import CommunityDirectory
from bot.core.config import CommunitySettings
from bot.core.i18n import Catalog
from bot.core.markup import escape
from bot.core.schedules import parse_rule
from bot.core.weeks import IsoWeek
from bot.features.assignments import assignments_panel
from bot.features.digest import issues
from bot.features.engagement import settle_nudge_answers
from bot.features.gatherings import upcoming_sessions
from bot.features.goals import active_goal
from bot.features.home import store
from bot.features.members import NAMED, MemberSupportSettings, answers_of, consent_names
from bot.features.nudges import NudgeSettings
from bot.features.reports import report_figures, report_inputs, summarise
from bot.storage import Connection
from bot.storage.members import get_member

SESSIONS = 5  # sessions a page lists (each with its three buttons)
DIGEST_LINES = 3  # entries of each digest section shown
ITEM_CHARS = 150

# `/settings` keys that are a member's own on/off settings (their member row has each one)
_SETTINGS = ("link_reactions", "goal_checkin", "literacy_questions", "digest_dm")

# Builds the content of a community's digest for a week (the digest feature's own rendering).
DigestContent = Callable[[Connection, CommunitySettings, IsoWeek, Catalog], Awaitable[Content]]


@dataclass(frozen=True, slots=True)
class HomeRequest:
    """Whose page, in which community, and how to word it."""

    member_ref: str
    community: CommunitySettings
    is_facilitator: bool
    texts: Catalog
    prefix: str
    now: datetime


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ITEM_CHARS else text[: ITEM_CHARS - 1].rstrip() + "…"


def _names(refs: tuple[str, ...], names: dict[str, str | None], t: Catalog) -> str:
    shown = [escape(name) for ref in refs if (name := names.get(ref))]
    unnamed = len(refs) - len(shown)
    if unnamed:
        shown.append(t("home.engaged_unnamed", count=unnamed))
    return ", ".join(shown)


async def _week_panel(conn: Connection, request: HomeRequest) -> Panel:
    t = request.texts
    community = request.community
    week = IsoWeek.containing(request.now, community.zone)
    start, end = week.bounds(community.zone)
    loop = await store.loop_week(conn, community.name, request.member_ref, start, end)
    lines = [t("home.sought", count=loop.sought)]
    lines.extend(f"• {escape(_short(item.text))}" for item in loop.questions)
    lines.append(t("home.reflected", count=loop.reflected))
    lines.extend(f"• {escape(_short(item.text))}" for item in loop.reflections)
    lines.append(t("home.shared", count=loop.shared))
    for item in loop.shares:
        label = escape(_short(item.text)) if item.text else ""
        lines.append(f"• [{label or item.url}]({item.url})" if item.url else f"• {label}")
    if loop.engaged:
        names = await consent_names(conn, NAMED, list(loop.engaged))
        lines.append(t("home.engaged", names=_names(loop.engaged, names, t)))
    else:
        lines.append(t("home.engaged_nobody"))
    if not (loop.sought or loop.reflected or loop.shared):
        lines.append(t("home.week_empty", prefix=request.prefix))
    return Panel(heading=t("home.week_heading", week=str(week)), text="\n".join(lines))


async def _goal_panel(conn: Connection, request: HomeRequest) -> Panel:
    t = request.texts
    community = request.community
    goal = await active_goal(conn, community.name, request.member_ref)
    member = await get_member(conn, request.member_ref)
    checking_in = member is not None and member.goal_checkin
    if goal is None:
        return Panel(
            heading=t("home.goal_heading"), text=t("home.goal_none", prefix=request.prefix)
        )
    lines = [t("home.goal", goal=escape(goal.text), since=int(goal.set_at.timestamp()))]
    buttons = [Button(label=t("home.goal_done_button"), action="goal done")]
    if checking_in:
        rule = parse_rule(community.section(MemberSupportSettings).goal_checkin)
        upcoming = rule.next_after(request.now, community.zone)
        lines.append(t("home.checkin_next", unix=int(upcoming.timestamp())))
    else:
        lines.append(t("home.checkin_off"))
        buttons.append(Button(label=t("home.checkin_on_button"), action="settings goal_checkin=on"))
    return Panel(heading=t("home.goal_heading"), text="\n".join(lines), buttons=tuple(buttons))


async def _session_panels(conn: Connection, request: HomeRequest) -> list[Panel]:
    t = request.texts
    sessions = await upcoming_sessions(
        conn, request.community.name, request.member_ref, request.now, SESSIONS
    )
    if not sessions:
        return [Panel(heading=t("home.sessions_heading"), text=t("home.sessions_none"))]
    panels: list[Panel] = []
    for session in sessions:
        gathering = session.gathering
        mine = session.mine
        if mine is None:
            yours = t("home.rsvp_none")
        else:
            yours = t("home.rsvp_mine", status="wait-list" if mine.waitlisted else mine.status)
        text = t(
            "home.session",
            id=gathering.id,
            unix=int(session.occurrence_at.timestamp()),
            going=session.going,
            yours=yours,
        )
        buttons = tuple(
            Button(
                label=t(f"home.rsvp_{status}"),
                action=f"rsvp {gathering.id} {status}",
                style="primary" if mine is not None and mine.status == status else "secondary",
            )
            for status in ("going", "maybe", "no")
        )
        heading = t("home.session_heading", title=gathering.title)
        panels.append(Panel(heading=heading, text=text, buttons=buttons))
    return panels


def _toggle(t: Catalog, key: str, on: bool) -> Button:
    label = t("home.turn_off" if on else "home.turn_on", key=key)
    return Button(label=label, action=f"settings {key}={'off' if on else 'on'}")


async def _settings_panel(conn: Connection, request: HomeRequest) -> Panel:
    t = request.texts
    lines = [t("home.consents_intro")]
    buttons: list[Button] = []
    for answer in await answers_of(conn, request.member_ref):
        state = t("home.on" if answer.given else "home.off")
        lines.append(
            t("home.consent", key=answer.key, state=state, what=t(f"members.consent_{answer.key}"))
        )
        buttons.append(_toggle(t, answer.key, answer.given))
    member = await get_member(conn, request.member_ref)
    if member is not None:
        lines.append(t("home.settings_intro"))
        for key in _SETTINGS:
            value = bool(getattr(member, key))
            lines.append(t("home.setting", key=key, state=t("home.on" if value else "home.off")))
            buttons.append(_toggle(t, key, value))
    return Panel(heading=t("home.settings_heading"), text="\n".join(lines), buttons=tuple(buttons))


async def _digest_panel(
    conn: Connection, request: HomeRequest, digest: DigestContent | None
) -> Panel:
    t = request.texts
    posted = await issues(conn, request.community.name)
    if not posted or digest is None:
        return Panel(heading=t("home.digest_heading"), text=t("home.digest_none"))
    latest = posted[0]
    content = await digest(conn, request.community, IsoWeek.parse(latest.week), t)
    lines = [t("home.digest_posted", week=latest.week, unix=int(latest.posted_at.timestamp()))]
    for heading, body in content.sections:
        entries = [line for line in body.split("\n") if line.strip()]
        lines.append(f"**{heading}**")
        lines.extend(entries[:DIGEST_LINES])
        if len(entries) > DIGEST_LINES:
            lines.append(t("home.digest_more", count=len(entries) - DIGEST_LINES))
    if not content.sections:
        lines.append(t("home.digest_empty"))
    return Panel(heading=t("home.digest_heading"), text="\n".join(lines))


async def _facilitator_panel(
    conn: Connection, request: HomeRequest, directory: CommunityDirectory
) -> Panel:
    t = request.texts
    community = request.community
    week = IsoWeek.containing(request.now, community.zone)
    nudging = community.section(NudgeSettings)
    await settle_nudge_answers(conn, community.name, request.now, nudging.answer_days)
    inputs = await report_inputs(conn, community, week, request.now, directory=directory)
    text = t("home.report_intro", week=str(week), prefix=request.prefix) + "\n"
    text += report_figures(summarise(inputs), t, request.prefix)
    buttons = (
        Button(label=t("home.preview_button"), action="digest preview"),
        Button(label=t("home.post_button"), action="digest post", style="primary"),
    )
    return Panel(heading=t("home.facilitator_heading"), text=text, buttons=buttons)


async def build_home(
    conn: Connection,
    request: HomeRequest,
    *,
    directory: CommunityDirectory,
    digest: DigestContent | None,
) -> HomePage:
    """The member's page as it stands now."""
    t = request.texts
    panels: list[Panel] = []
    if request.is_facilitator:
        panels.append(await _facilitator_panel(conn, request, directory))
    panels.append(await _week_panel(conn, request))
    panels.append(await _goal_panel(conn, request))
    panels.extend(await _session_panels(conn, request))
    assignments = await assignments_panel(
        conn,
        community=request.community,
        member_ref=request.member_ref,
        is_facilitator=request.is_facilitator,
        texts=t,
        now=request.now,
    )
    if assignments is not None:
        panels.append(assignments)
    panels.append(await _digest_panel(conn, request, digest))
    panels.append(await _settings_panel(conn, request))
    return HomePage(title=t("home.title", community=request.community.name), panels=tuple(panels))
