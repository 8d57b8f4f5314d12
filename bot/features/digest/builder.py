"""Builds a week's digest from the database: top links ranked by engagement with diversity
caps, new voices, and any sections other services contribute."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.config import CommunitySettings
from bot.core.i18n import Catalog
from bot.core.urls import domain_of
from bot.core.weeks import IsoWeek
from bot.features.digest import store
from bot.features.digest.config import DigestSettings
from bot.features.digest.model import Digest
from bot.features.engagement import new_voices
from bot.features.loop import annotations_of
from bot.features.members import NAMED, QUOTES, consent_names
from bot.runtime.sections import DigestRequest, Entry, Section, SectionProvider
from bot.storage import Connection

QUOTE_CHARS = 200
SITE_CHARS = 60
DESCRIPTION_CHARS = 300
MIN_QUOTE_CHARS = 20
_URL = re.compile(r"<?https?://\S+>?")
_LABELLED = re.compile(r"<https?://[^\s<>|]+\|([^<>]*)>")  # Slack's <url|label>: keep the label


def _cap(text: str | None, limit: int) -> str | None:
    """Remote text on one line, at most `limit` characters (None when there is none)."""
    cleaned = " ".join((text or "").split())
    if not cleaned:
        return None
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def _quote(text: str | None) -> str | None:
    if not text:
        return None
    cleaned = " ".join(_URL.sub("", _LABELLED.sub(r"\1", text)).split()).strip(" ,;:-–—([{")
    if len(cleaned) < MIN_QUOTE_CHARS:  # "see", "also and (": nothing worth quoting
        return None
    return cleaned if len(cleaned) <= QUOTE_CHARS else cleaned[: QUOTE_CHARS - 1].rstrip() + "…"


@dataclass(slots=True)
class _Candidate:
    link_id: int
    sharers: list[str] = field(default_factory=list)
    quotes: list[tuple[str, str]] = field(default_factory=list)  # (member, words)
    messages: list[str] = field(default_factory=list)
    first_at: datetime | None = None
    reactions: int = 0
    replies: int = 0

    @property
    def score(self) -> int:
        return 3 * len(self.sharers) + self.reactions + 2 * self.replies


class TopLinks:
    """The week's most engaging links, diverse across domains and sharers."""

    kind = "links"
    position = 10

    def __init__(self, settings: DigestSettings, is_public: Callable[[str], bool]) -> None:
        self._settings = settings
        self._is_public = is_public  # may words shared in this channel be quoted?

    async def build(self, request: DigestRequest) -> Section | None:
        """Rank the week's links by sharers, reactions and replies; apply the caps."""
        shares = await store.week_shares(
            request.conn, request.community.name, request.start, request.end
        )
        candidates: dict[int, _Candidate] = {}
        for share in shares:
            candidate = candidates.setdefault(share.link_id, _Candidate(share.link_id))
            if share.member_ref not in candidate.sharers:
                candidate.sharers.append(share.member_ref)
            # Words are quoted only where every member could read them: a /share in a direct
            # message or an unwatched channel still counts, but says nothing of what was said.
            public = self._is_public(share.channel)
            words = (_quote(share.note) or _quote(share.context)) if public else ""
            if words:
                candidate.quotes.append((share.member_ref, words))
            candidate.messages.append(share.message_ref)
            candidate.first_at = candidate.first_at or share.shared_at
        if not candidates:
            return None
        all_messages = [ref for c in candidates.values() for ref in c.messages]
        reactions = await store.reaction_counts(request.conn, all_messages)
        replies = await store.reply_counts(
            request.conn, request.community.name, [ref.rsplit("/", 1)[1] for ref in all_messages]
        )
        for candidate in candidates.values():
            candidate.reactions = sum(reactions.get(ref, 0) for ref in candidate.messages)
            candidate.replies = sum(
                replies.get(ref.rsplit("/", 1)[1], 0) for ref in candidate.messages
            )
        infos = await store.link_infos(request.conn, list(candidates))
        ranked = sorted(
            (c for c in candidates.values() if f"L{c.link_id}" not in request.excluded),
            key=lambda c: (f"L{c.link_id}" not in request.featured, -c.score, c.first_at),
        )
        per_domain: Counter[str] = Counter()
        per_sharer: Counter[str] = Counter()
        chosen: list[_Candidate] = []
        limits = self._settings
        for candidate in ranked:
            info = infos[candidate.link_id]
            domain = domain_of(info.canonical_url)
            lead = candidate.sharers[0]
            featured = f"L{candidate.link_id}" in request.featured
            if not featured and (
                per_domain[domain] >= limits.per_domain or per_sharer[lead] >= limits.per_sharer
            ):
                continue
            per_domain[domain] += 1
            per_sharer[lead] += 1
            chosen.append(candidate)
            if len(chosen) >= limits.top_links:
                break
        t = request.texts
        notes: dict[int, list[str]] = {}
        for note in await annotations_of(request.conn, [c.link_id for c in chosen]):
            words = _quote(note.text)
            if note.name is not None and words:  # annotations are quoted only with consent
                notes.setdefault(note.link_id, []).append(f"{note.name}: {words}")
        entries = []
        for candidate in chosen:
            info = infos[candidate.link_id]
            quoting = await request.quote_names([ref for ref, _ in candidate.quotes])
            quotes = tuple(
                f"{quoting[ref]}: {words}" for ref, words in candidate.quotes if ref in quoting
            )
            people, unnamed = await request.name_of(candidate.sharers, quoted=quoting)
            details = []
            if candidate.reactions:
                details.append(t("digest.reactions", count=candidate.reactions))
            if candidate.replies:
                details.append(t("digest.replies", count=candidate.replies))
            entries.append(
                Entry(
                    key=f"L{candidate.link_id}",
                    title=info.title or info.canonical_url,
                    url=info.canonical_url,
                    people=people,
                    unnamed=unnamed,
                    quotes=(quotes[:3] + tuple(notes.get(candidate.link_id, ())))[:5],
                    detail=" · ".join(details),
                    featured=f"L{candidate.link_id}" in request.featured,
                    site=_cap(info.site_name, SITE_CHARS),
                    description=_cap(info.description, DESCRIPTION_CHARS),
                )
            )
        return Section(
            self.kind,
            t("digest.heading_links"),
            tuple(entries),
            candidates=frozenset(f"L{link_id}" for link_id in candidates),
        )


class NewVoices:
    """Members whose first contribution of any kind here fell this week."""

    kind = "new_voices"
    position = 20

    async def build(self, request: DigestRequest) -> Section | None:
        """Welcome newcomers (by name only where they allow it)."""
        newcomers = await new_voices(
            request.conn, request.community.name, request.start, request.end
        )
        if not newcomers:
            return None
        people, unnamed = await request.name_of(newcomers)
        entries = [Entry(key=f"V{index}", title=name) for index, name in enumerate(people, 1)]
        if unnamed:
            title = request.texts("digest.more_new_voices", count=unnamed)
            entries.append(Entry(key="V0", title=title, unnamed=unnamed))
        return Section(self.kind, request.texts("digest.heading_new_voices"), tuple(entries))


async def build_digest(
    conn: Connection,
    community: CommunitySettings,
    week: IsoWeek,
    *,
    texts: Catalog,
    now: datetime,
    providers: Sequence[SectionProvider],
) -> Digest:
    """Build one week's digest from what the database holds now (consent applied)."""
    start, end = week.bounds(community.zone)
    picked = await store.choices(conn, community.name, str(week))
    excluded = frozenset(c.item for c in picked if c.action == "exclude")
    featured = frozenset(c.item for c in picked if c.action == "feature")
    sections, candidates = await _sections(
        conn, community, week, texts, providers, excluded=excluded, featured=featured
    )
    if excluded:  # excluded items leave their sections: ask again without the choices
        _, candidates = await _sections(conn, community, week, texts, providers)
    return Digest(
        community=community.name,
        week=week,
        starts_at=start,
        ends_at=end,
        sections=tuple(section for section in sections if section.entries),
        removed=len(excluded & candidates),
        generated_at=now,
        timezone=community.timezone,
        candidates=candidates,
    )


async def candidates_of(
    conn: Connection,
    community: CommunitySettings,
    week: IsoWeek,
    *,
    texts: Catalog,
    providers: Sequence[SectionProvider],
) -> dict[str, str]:
    """The ids that are candidates for one week's digest, whatever was curated, each with its
    entry's title (an item without an entry this week, such as one excluded, by its id), in
    the digest's order."""
    sections, candidates = await _sections(conn, community, week, texts, providers)
    titles = {entry.key: entry.title for section in sections for entry in section.entries}
    rest = {key: key for key in sorted(candidates) if key not in titles}
    return {**{key: title for key, title in titles.items() if key in candidates}, **rest}


async def entries_of(
    conn: Connection,
    community: CommunitySettings,
    week: IsoWeek,
    *,
    texts: Catalog,
    providers: Sequence[SectionProvider],
) -> list[Entry]:
    """One week's entries in the digest's order, as its preview shows them (consent applied)."""
    sections, _ = await _sections(conn, community, week, texts, providers)
    return [entry for section in sections for entry in section.entries]


async def _named(conn: Connection, refs: Sequence[str]) -> dict[str, str | None]:
    return await consent_names(conn, NAMED, refs)


async def _quotable(conn: Connection, refs: Sequence[str]) -> dict[str, str | None]:
    return await consent_names(conn, QUOTES, refs)


async def _sections(
    conn: Connection,
    community: CommunitySettings,
    week: IsoWeek,
    texts: Catalog,
    providers: Sequence[SectionProvider],
    *,
    excluded: frozenset[str] = frozenset(),
    featured: frozenset[str] = frozenset(),
) -> tuple[list[Section], frozenset[str]]:
    start, end = week.bounds(community.zone)
    request = DigestRequest(
        conn=conn,
        community=community,
        week=week,
        start=start,
        end=end,
        texts=texts,
        lookup_names=_named,
        lookup_quotable=_quotable,
        excluded=excluded,
        featured=featured,
    )
    sections: list[Section] = []
    candidates: set[str] = set()
    for provider in sorted(providers, key=lambda provider: provider.position):
        section = await provider.build(request)
        if section is not None:
            sections.append(section)
            candidates.update(section.candidates, (entry.key for entry in section.entries))
    return sections, frozenset(candidates)


def default_providers(
    settings: DigestSettings, is_public: Callable[[str], bool]
) -> list[SectionProvider]:
    """The sections every digest has; `is_public(channel)` says whose words may be quoted."""
    return [TopLinks(settings, is_public), NewVoices()]
