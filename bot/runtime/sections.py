"""What a digest section is: the contract between the digest and the features that add to it.

A feature contributes sections through `Service.digest_sections()`; the digest asks each for
its part of a week (`SectionProvider.build`) and shows them by `position`, so the order a
digest reads in never depends on the order features are listed in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.core.config import CommunitySettings
from bot.core.i18n import Catalog
from bot.core.weeks import IsoWeek
from bot.storage import Connection

NameLookup = Callable[[Connection, Sequence[str]], Awaitable[dict[str, str | None]]]


@dataclass(frozen=True, slots=True)
class Entry:
    """One item: a link, a blog post, a reflection, a question, an event."""

    key: str  # the id facilitators curate with, e.g. "L12"
    title: str
    url: str | None = None
    people: tuple[str, ...] = ()  # names of those who allow being named (or are quoted here)
    unnamed: int = 0  # how many others (who do not allow it) took part
    quotes: tuple[str, ...] = ()  # words of those who allow quoting, with their names
    detail: str = ""  # e.g. "3 reactions · 2 replies"
    featured: bool = False
    site: str | None = None  # the site's own name, when known
    description: str | None = None  # what the page says it is about, when known (capped)


@dataclass(frozen=True, slots=True)
class Section:
    """A heading and its entries."""

    kind: str  # "links", "new_voices", "blog_posts", ...
    heading: str
    entries: tuple[Entry, ...]
    # Ids facilitators may curate beyond those shown (e.g. links below the cut); the
    # entries' own keys always count.
    candidates: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class DigestRequest:
    """Everything a section needs to know to build itself."""

    conn: Connection
    community: CommunitySettings
    week: IsoWeek
    start: datetime
    end: datetime
    texts: Catalog
    lookup_names: NameLookup  # names of members who allow being named (None for the others)
    lookup_quotable: NameLookup  # names of members who allow being quoted (None for others)
    excluded: frozenset[str] = frozenset()
    featured: frozenset[str] = frozenset()
    names: dict[str, str | None] = field(default_factory=dict)
    quotable: dict[str, str | None] = field(default_factory=dict)

    async def name_of(
        self, refs: Sequence[str], quoted: Collection[str] = ()
    ) -> tuple[tuple[str, ...], int]:
        """Names of those who allow being named, or who are quoted in the same entry (a quote
        carries its author's name), in order; and how many others there were."""
        missing = [ref for ref in refs if ref not in self.names]
        if missing:
            self.names.update(await self.lookup_names(self.conn, missing))
        quoting = await self.quote_names([ref for ref in refs if ref in quoted])
        shown = tuple(name for ref in refs if (name := self.names.get(ref) or quoting.get(ref)))
        return shown, len(refs) - len(shown)

    async def quote_names(self, refs: Sequence[str]) -> dict[str, str]:
        """The names of those among `refs` who allow their words to be quoted."""
        missing = [ref for ref in refs if ref not in self.quotable]
        if missing:
            self.quotable.update(await self.lookup_quotable(self.conn, missing))
        return {ref: name for ref in refs if (name := self.quotable.get(ref))}


class SectionProvider(Protocol):
    """Something that contributes a section (blog posts, reflections, events...)."""

    kind: str
    position: int  # where the section stands in the digest: lower comes first

    async def build(self, request: DigestRequest) -> Section | None:
        """The section for this week, or None when there is nothing to say."""
        ...
