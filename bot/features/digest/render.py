"""Digest renderers: chat content (neutral markup), Markdown, JSON, HTML and Atom."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from bot.core.actions import Content
from bot.core.i18n import Catalog
from bot.core.markup import escape, link
from bot.features.digest.model import Digest
from bot.runtime.sections import Entry


@cache
def _environment() -> Any:
    # Made on first use: importing Jinja costs every start, and only the archive needs it.
    from jinja2 import Environment, select_autoescape

    return Environment(
        autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True
    )


def _template(name: str) -> Any:
    source = resources.files("bot.features.digest").joinpath("templates", name).read_text("utf-8")
    return _environment().from_string(source)


def _people(entry: Entry, texts: Catalog) -> str:
    names = list(entry.people)
    if entry.unnamed:
        names.append(texts("digest.anonymous", count=entry.unnamed))
    return ", ".join(names)


def span_text(digest: Digest) -> str:
    """The week's days in the community's zone, e.g. "Mon 23 Nov – Sun 29 Nov 2026"."""
    return digest.week.days_text()


def entry_markup(entry: Entry, texts: Catalog, *, show_keys: bool = False) -> str:
    """One entry as neutral markup lines."""
    head = link(entry.title, entry.url) if entry.url else f"**{escape(entry.title)}**"
    bits = [head]
    if entry.detail:
        bits.append(escape(entry.detail))
    people = _people(entry, texts)
    if people and entry.url:
        bits.append(escape(texts("digest.shared_by", people=people)))
    if entry.featured:
        bits.append(f"_{texts('digest.featured')}_")
    # New voices and the "and N more" lines (key 0) are not curated.
    if show_keys and not entry.key.startswith("V") and entry.key[1:] != "0":
        bits.append(f"`{entry.key}`")
    lines = [" · ".join(bits)]
    lines.extend(f"  “{escape(quote)}”" for quote in entry.quotes)
    return "\n".join(lines)


def to_content(
    digest: Digest, texts: Catalog, *, show_keys: bool = False, archive_url: str | None = None
) -> Content:
    """The digest as a chat message: a title, an intro and one section per heading."""
    title = texts("digest.title", community=digest.community, week=str(digest.week))
    intro = texts("digest.intro", start=span_text(digest))
    footer = [
        texts("digest.removed", count=digest.removed)
        if digest.removed
        else texts("digest.none_removed")
    ]
    if archive_url:
        footer.append(texts("digest.footer_archive", url=archive_url))
    if digest.is_empty:
        text = "\n\n".join([intro, texts("digest.empty"), *footer])
        return Content(title=title, text=text)
    sections = tuple(
        (
            section.heading,
            "\n".join(entry_markup(e, texts, show_keys=show_keys) for e in section.entries),
        )
        for section in digest.sections
    )
    body = [intro]
    for heading, lines in sections:
        body.append(f"**{heading}**\n{lines}")
    body.extend(footer)
    return Content(title=title, text="\n\n".join(body), sections=sections)


def to_markdown(digest: Digest, texts: Catalog) -> str:
    """The digest as a Markdown document."""
    content = to_content(digest, texts)
    return f"# {content.title}\n\n{content.text}\n"


def to_dict(digest: Digest) -> dict[str, Any]:
    """The digest as JSON-ready data."""
    return {
        "community": digest.community,
        "week": str(digest.week),
        "starts_at": digest.starts_at.isoformat(),
        "ends_at": digest.ends_at.isoformat(),
        "generated_at": digest.generated_at.isoformat(),
        "removed_by_facilitators": digest.removed,
        "sections": [
            {
                "kind": section.kind,
                "heading": section.heading,
                "entries": [
                    {
                        "id": entry.key,
                        "title": entry.title,
                        "url": entry.url,
                        "people": list(entry.people),
                        "unnamed": entry.unnamed,
                        "quotes": list(entry.quotes),
                        "detail": entry.detail,
                        "featured": entry.featured,
                        "site": entry.site,
                        "description": entry.description,
                    }
                    for entry in section.entries
                ],
            }
            for section in digest.sections
        ],
    }


def to_json(digest: Digest) -> str:
    """The digest as a JSON document."""
    return json.dumps(to_dict(digest), indent=2, ensure_ascii=False)


def to_html(
    digest: Digest,
    texts: Catalog,
    *,
    home: str = "../",
    previous: str | None = None,
    following: str | None = None,
) -> str:
    """The digest as a standalone HTML page (no external assets), as the chat has it: its
    intro and footer too, and links to the previous and next posted weeks when given."""
    return str(
        _template("issue.html").render(
            digest=digest,
            title=texts("digest.title", community=digest.community, week=str(digest.week)),
            texts=texts,
            people=lambda entry: _people(entry, texts),
            home=home,
            intro=texts("digest.intro", start=span_text(digest)),
            removed=texts("digest.removed", count=digest.removed)
            if digest.removed
            else texts("digest.none_removed"),
            empty=texts("digest.empty"),
            previous=previous,
            following=following,
        )
    )


def index_html(title: str, items: list[dict[str, str]], feed_url: str) -> str:
    """The archive's index page."""
    return str(_template("index.html").render(title=title, items=items, feed_url=feed_url))


def atom_feed(
    *, title: str, feed_url: str, site_url: str, entries: list[dict[str, Any]], updated: datetime
) -> str:
    """An Atom 1.0 feed; each entry needs id, title, url, updated (aware) and html."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{xml_escape(title)}</title>",
        f"<id>{xml_escape(feed_url)}</id>",
        f'<link rel="self" href="{xml_escape(feed_url)}"/>',
        f'<link rel="alternate" type="text/html" href="{xml_escape(site_url)}"/>',
        f"<updated>{updated.isoformat()}</updated>",
        "<author><name>Facilitator</name></author>",
    ]
    for entry in entries:
        parts.extend(
            [
                "<entry>",
                f"<id>{xml_escape(entry['id'])}</id>",
                f"<title>{xml_escape(entry['title'])}</title>",
                f'<link rel="alternate" type="text/html" href="{xml_escape(entry["url"])}"/>',
                f"<updated>{entry['updated'].isoformat()}</updated>",
                f'<content type="html">{xml_escape(entry["html"])}</content>',
                "</entry>",
            ]
        )
    parts.append("</feed>")
    return "\n".join(parts) + "\n"
