"""Link previews: title, description, site name and canonical URL of a web page.

`parse_preview` is pure and runs in the `ParserPool`; `fetch_preview` fetches with
`SafeFetcher` (HTML only, body cut at a cap: the head is all we need) and parses off the loop.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from bot.fetch.client import SafeFetcher
from bot.fetch.pool import ParserPool

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PREVIEW_BYTES = 512 * 1024  # the head of any sane page fits; the rest is not read
TITLE_CHARS = 300
DESCRIPTION_CHARS = 1000

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkPreview:
    """What a page says about itself."""

    url: str  # the URL that was fetched (after redirects)
    canonical_url: str
    title: str
    description: str | None = None
    site_name: str | None = None

    @classmethod
    def bare(cls, url: str) -> LinkPreview:
        """The preview of a page that could not be fetched: its URL is its title."""
        return cls(url=url, canonical_url=url, title=url)


class _Done(Exception):
    """The head is over; nothing further is needed."""


class _HeadReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self.base: str | None = None
        self.title_parts: list[str] = []
        self._in_title = False
        self.title_done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "body":
            raise _Done
        if tag == "title" and not self.title_done:
            self._in_title = True
        elif tag == "meta":
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key and "content" in values:
                self.meta.setdefault(key, values["content"])
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            if "canonical" in rels and self.canonical is None and values.get("href"):
                self.canonical = values["href"]
        elif tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title_done = True
        elif tag == "head":
            raise _Done

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)


def decode_html(body: bytes, charset: str | None) -> str:
    """Text of an HTML body: BOM, then the HTTP charset, then `<meta charset>`, then UTF-8."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace")
    candidates = [charset] if charset else []
    if match := _META_CHARSET.search(body[:4096]):
        candidates.append(match.group(1).decode("ascii"))
    for candidate in candidates:
        try:
            return body.decode(candidate, errors="replace")
        except (LookupError, ValueError):  # unknown, or no text codec (base64, idna...)
            continue
    return body.decode("utf-8", errors="replace")


def _text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    cleaned = _SPACE.sub(" ", _CONTROL.sub("", value)).strip()
    if not cleaned:
        return None
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def _same_site(a: str, b: str) -> bool:
    def host(url: str) -> str:
        name = (urlsplit(url).hostname or "").lower()
        return name[4:] if name.startswith("www.") else name

    return host(a) == host(b) != ""


def _canonical(claimed: str | None, base: str, url: str) -> str:
    """The page's own canonical URL, if it is http(s) on the same site; else `url`.

    A page may not claim another site's URL: previews are cached per canonical URL, and a
    foreign claim would let one page write the preview of another.
    """
    if not claimed:
        return url
    try:
        absolute = urljoin(base, claimed.strip())
        parts = urlsplit(absolute)
    except ValueError:
        return url
    if parts.scheme not in ("http", "https") or not _same_site(absolute, url):
        return url
    return parts._replace(fragment="").geturl()


def parse_preview(body: bytes, url: str, charset: str | None = None) -> LinkPreview:
    """Read the preview fields from an HTML page fetched from `url` (pure; run it in a pool)."""
    reader = _HeadReader()
    try:
        reader.feed(decode_html(body, charset))
        reader.close()
    except _Done:
        pass
    meta = reader.meta
    base = url
    if reader.base:
        try:
            joined = urljoin(url, reader.base)
            if urlsplit(joined).scheme in ("http", "https"):
                base = joined
        except ValueError:
            pass
    title = (
        _text(meta.get("og:title"), TITLE_CHARS)
        or _text(meta.get("twitter:title"), TITLE_CHARS)
        or _text("".join(reader.title_parts), TITLE_CHARS)
        or url
    )
    description = (
        _text(meta.get("og:description"), DESCRIPTION_CHARS)
        or _text(meta.get("description"), DESCRIPTION_CHARS)
        or _text(meta.get("twitter:description"), DESCRIPTION_CHARS)
    )
    return LinkPreview(
        url=url,
        canonical_url=_canonical(reader.canonical or meta.get("og:url"), base, url),
        title=title,
        description=description,
        site_name=_text(meta.get("og:site_name"), TITLE_CHARS),
    )


async def fetch_preview(url: str, *, fetcher: SafeFetcher, pool: ParserPool) -> LinkPreview:
    """Fetch `url` and read its preview; raises FetchError or ParseFailed for callers to log.

    On failure, callers keep `LinkPreview.bare(url)`.
    """
    result = await fetcher.fetch(url, accept=HTML_TYPES, max_bytes=PREVIEW_BYTES, truncate=True)
    return await pool.run(parse_preview, result.body, result.url, result.charset)
