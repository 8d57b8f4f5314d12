"""Bridging introductions: once a week, members who opted in (`/settings introductions=on`)
and share topics (sites and keywords of what they shared, see `topics`) but have never
interacted are introduced to each other by direct message, each shown the other's recent
share. A pair is introduced at most once, each member at most once a week.

A run first records its pairs in `introductions` (stamped with the run's due time, in one
transaction), then writes each DM as one part of the run (an outbox row): a restart or a
second process finds the pairs and the parts already written, and writes only what is
missing; a member whose DMs are closed parks only their own row."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

from bot.core.actions import Action, Content, SendDirect
from bot.core.commands import CommandSpec
from bot.core.communities import CommunityDirectory
from bot.core.i18n import Catalog
from bot.core.markup import escape, link
from bot.core.platform import Capability, may_message_unasked
from bot.core.refs import MemberRef
from bot.core.schedules import parse_rule
from bot.features.engagement import interactions
from bot.features.introductions import store
from bot.features.introductions.config import IntroductionSettings
from bot.features.introductions.topics import Introduction, Item, TopicModel, match, phrase
from bot.features.members import INTRODUCTIONS as BEING_INTRODUCED
from bot.features.members import consenting
from bot.runtime.outbox import Effect
from bot.runtime.scheduler import Job, RunContext
from bot.runtime.service import CommandHandler, Invocation, Service, Transaction
from bot.storage.database import Database

log = logging.getLogger(__name__)

Capabilities = Callable[[str], frozenset[Capability]]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# At most one introduction per member a week; the slack keeps a weekly run whose UTC time a
# DST change moved by an hour from counting last week's introduction as this week's.
ONCE_PER = timedelta(days=7) - timedelta(hours=2)
QUOTE_CHARS = 200  # a member's own words are quoted up to this length
_URL = re.compile(r"<?https?://\S+>?")

INTRODUCTIONS = CommandSpec(
    name="introductions",
    help="See the members you were introduced to (turn introductions on in /settings)",
    example="/introductions",
)


def _choose(
    items: list[Item], reachable: list[str], met: set[frozenset[str]], busy: set[str]
) -> tuple[TopicModel, list[Introduction]]:
    """The topic model and this run's pairs (pure CPU work, run in a thread)."""
    model = TopicModel.build(items)
    return model, match(model, reachable, met=met, busy=busy)


def _own_words(share: store.Shared) -> str:
    """What the member wrote with a share: the note, else the words around the link."""
    if share.note:
        return share.note
    return " ".join(_URL.sub(" ", share.context).split()).strip(" …")


def _cut(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1].rstrip() + "…"


class IntroductionService(Service):
    """Weekly introductions between members who share topics but never met."""

    name = "introductions"

    def __init__(
        self,
        *,
        database: Database,
        directory: CommunityDirectory,
        texts: Callable[[str], Catalog],
        capabilities: Capabilities,
    ) -> None:
        self._database = database
        self._directory = directory
        self._texts = texts
        self._capabilities = capabilities

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """`/introductions`."""
        return ((INTRODUCTIONS, {("introductions",): self.show}),)

    async def show(self, call: Invocation, tx: Transaction) -> list[Action]:
        """List the caller's past introductions in this community."""
        t = call.texts
        ref = str(call.author.ref)
        made = await store.of_member(tx.conn, call.community.name, ref)
        opted_in = bool(await consenting(tx.conn, BEING_INTRODUCED, [ref]))
        key = "introductions.state_on" if opted_in else "introductions.state_off"
        state = t(key, prefix=call.prefix)
        if not made:
            return [call.answer(t("introductions.none", state=state, prefix=call.prefix))]
        names = await store.names(tx.conn, [m.other(ref) for m in made])
        lines = [
            t(
                "introductions.line",
                name=escape(names.get(m.other(ref), t("introductions.someone"))),
                topics=escape(phrase(m.topics, t("introductions.and"))),
                at=int(m.introduced_at.timestamp()),
            )
            for m in made
        ]
        heading = t("introductions.list", count=len(made), state=state, prefix=call.prefix)
        return [call.answer("\n".join([heading, *lines]))]

    # --- the weekly run -------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """One weekly job per community with introductions enabled."""
        return [
            Job(
                f"introductions:{community.name}",
                parse_rule(community.section(IntroductionSettings).when),
                community.timezone,
                partial(self._run, community.name),
            )
            for community in self._directory.communities
            if community.section(IntroductionSettings).enabled
        ]

    def _reachable(self, candidate: store.IntroductionCandidate) -> bool:
        """May the bot DM this member? Where unsolicited DMs look like spam (Discord), only
        members who talked to the bot in this community are written to."""
        return may_message_unasked(
            self._capabilities(candidate.platform),
            talked_to_bot=candidate.contacted_at is not None,
        )

    async def _items(
        self, community: str, due: datetime
    ) -> tuple[list[Item], dict[str, store.Shared]]:
        settings = self._directory.settings(community).section(IntroductionSettings)
        lookback = timedelta(days=settings.lookback_days)
        async with self._database.reading() as conn:
            return await store.topic_items(conn, community, due - lookback, due)

    async def _pair(
        self, community: str, due: datetime
    ) -> tuple[int, TopicModel | None, dict[str, store.Shared]]:
        async with self._database.reading() as conn:
            reachable = [
                c.member_ref for c in await store.candidates(conn, community) if self._reachable(c)
            ]
            if len(reachable) < 2:
                return 0, None, {}
            met = await interactions(conn, community, EPOCH, due + timedelta(seconds=1))
            met |= await store.introduced_pairs(conn, community)
            busy = await store.introduced_since(conn, community, due - ONCE_PER)
        items, shared = await self._items(community, due)
        # Reading every share of the lookback window is CPU work: off the event loop, and
        # outside any write transaction (SQLite would hold its write lock meanwhile).
        model, chosen = await asyncio.to_thread(_choose, items, reachable, met, busy)
        added = 0
        if chosen:
            async with self._database.transaction() as conn:
                for introduction in chosen:
                    added += await store.record(
                        conn,
                        community,
                        introduction.member_a,
                        introduction.member_b,
                        introduction.topics,
                        due,
                    )
        return added, model, shared

    async def pair(self, community: str, due: datetime) -> int:
        """Record the new introductions of the run due at `due` in `community` (stamped
        `due`); return how many were added."""
        added, _, _ = await self._pair(community, due)
        return added

    async def _run(self, community: str, context: RunContext) -> None:
        """Pair, record, then write both DMs of each pair (each DM one part of the run)."""
        due = context.due_at
        added, model, shared = await self._pair(community, due)
        settings = self._directory.settings(community)
        async with self._database.reading() as conn:
            made = await store.made_at(conn, community, due)
            if not made:
                return
            people = {c.member_ref: c for c in await store.candidates(conn, community)}
        log.info("introductions in %s: %d new pair(s), %d in this run", community, added, len(made))
        if model is None:  # resuming a run whose pairs are recorded: read what to quote
            items, shared = await self._items(community, due)
            model = await asyncio.to_thread(TopicModel.build, items)
        t = self._texts(settings.language)
        for introduction in made:
            sides = (
                ("a", introduction.member_a, introduction.member_b),
                ("b", introduction.member_b, introduction.member_a),
            )
            for side, me, other in sides:
                whom = people.get(other)
                if whom is None or me not in people:
                    continue  # opted out (or forgot themselves) since the pair was made
                quoted = model.best_item(other, introduction.topics)
                text = self._opener(
                    t, MemberRef.parse(me), whom, introduction.topics, quoted, shared
                )
                action = SendDirect(member=MemberRef.parse(me), content=Content(text=text))
                # It carries the other member's words: their /forget-me purges it unsent.
                effect = Effect(action=action, member=other)
                await context.emit(f"intro:{introduction.id}:{side}", effect)

    def _opener(
        self,
        t: Catalog,
        me: MemberRef,
        other: store.IntroductionCandidate,
        topics: tuple[str, ...],
        quoted: Item | None,
        shared: Mapping[str, store.Shared],
    ) -> str:
        """The DM that introduces `other` to `me`, quoting what `other` shared."""
        what = ""
        note = ""
        share = shared.get(quoted.source) if quoted is not None else None
        if share is not None:
            label = f"«{share.title}»" if share.title else share.url
            what = t("introductions.shared", link=link(label, share.url))
            # Only words written where every member could read them (not a /share by DM).
            words = _own_words(share) if self._directory.is_public(share.channel) else ""
            if other.allow_quotes and words:
                note = t("introductions.note", note=escape(_cut(words)))
        elif quoted is not None and quoted.texts and other.allow_quotes:
            what = t("introductions.wrote", text=escape(_cut(quoted.texts[0])))
        return t(
            "introductions.opener",
            name=escape(other.name),
            what=what,
            note=note,
            topics=escape(phrase(topics, t("introductions.and"))),
            prefix=self._directory.command_prefix(me.platform),
        )
