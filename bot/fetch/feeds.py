"""Member blog feeds: parsing (in the `ParserPool`), HTML cleaning, and autodiscovery.

feedparser never fetches here: bodies come from `SafeFetcher`, and are handed over as a
stream (given bytes, feedparser would first try them as a file name). Documents that declare
entities are refused before parsing; feedparser's own sanitiser is off (slow, and it keeps
tracking pixels and forms) and entry HTML goes through the nh3 allow-list instead.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXParseException

import nh3

from bot.fetch.client import FetchError, FetchResult, SafeFetcher
from bot.fetch.pages import HTML_TYPES, decode_html
from bot.fetch.pool import ParseFailed, ParserPool

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/x-rss+xml",
        "text/plain",  # common misconfiguration of static hosts
    }
)
MAX_ENTRIES = 200
MAX_ENTRY_HTML = 256 * 1024  # characters of raw entry HTML looked at

ALLOWED_TAGS = frozenset(
    {"a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt",
     "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
     "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub",
     "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul"}
)  # fmt: skip
ALLOWED_ATTRIBUTES: Mapping[str, set[str]] = {
    "a": {"href", "title"},
    # style and hidden only reach the tracking-pixel check, which drops them from the output
    "img": {"src", "alt", "title", "width", "height", "style", "hidden"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
    "ol": {"start"},
}
# Removed with everything inside them, not just unwrapped.
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "noscript", "iframe", "object", "embed", "template", "form", "svg",
     "math", "title", "textarea", "select", "button", "audio", "video", "canvas"}
)  # fmt: skip
# Images that only report a view back to someone.
TRACKER_SOURCES = re.compile(
    r"^https?://(?:[^/]*\.)?(?:feeds\.feedburner\.com/~r/|feeds\.feedburner\.com/~ff/"
    r"|pixel\.wp\.com/|stats\.wordpress\.com/|www\.google-analytics\.com/|"
    r"feeds\.wordpress\.com/1\.0/|[^/]*doubleclick\.net/)",
    re.I,
)

_ENTITY_DECLARATION = re.compile(r"<\s*!\s*ENTITY", re.I)
_ENTITY_DECLARATION_BYTES = re.compile(rb"<\s*!\s*ENTITY", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")
_CLOSED_ENTRY = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>")
_CLOSED_ENTRY_BYTES = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")
_LOOKS_LIKE_HTML = re.compile(rb"<(?:!doctype\s+html|html|head|body)\b", re.I)
_EBCDIC_DECLARATION = b"\x4c\x6f\xa7\x94"  # "<?xm" in EBCDIC
_WIDE = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
_SPACE = re.compile(r"\s+")


class FeedError(Exception):
    """A document that is not a usable feed; `reason` is a short code, `detail` the story."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)  # both in args, so it survives the trip from a worker
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedEntry:
    """One post of a feed, cleaned."""

    entry_id: str
    link: str | None
    title: str
    published: datetime | None  # aware, UTC
    summary_html: str  # sanitised
    content_hash: str  # sha256 of title and cleaned HTML, for de-duplication


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedFeed:
    """A parsed feed: its own title and link, and its entries in document order."""

    url: str
    title: str
    link: str | None
    entries: tuple[FeedEntry, ...]
    complete: bool  # False when the document was cut short or malformed but had entries
    problem: str | None = None  # what was wrong with a malformed document that still parsed


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedRead:
    """One poll of a feed: either not modified, or the parsed feed, plus validators to keep."""

    url: str  # final URL after redirects
    feed: ParsedFeed | None  # None when the server said 304 Not Modified
    etag: str | None
    last_modified: str | None


def _candidate_texts(data: bytes, charset: str | None) -> list[str]:
    """The document in every encoding where ASCII markup would not show up as ASCII bytes."""
    names = [charset] if charset else []
    if data.startswith(_EBCDIC_DECLARATION):  # what feedparser, after the XML spec, sniffs
        names.append("cp037")
        head = data[:1024].decode("cp037", errors="ignore").encode("ascii", errors="ignore")
    else:
        head = data[:1024]
    if match := _XML_ENCODING.search(head):
        names.append(match.group(1).decode("ascii"))
    texts = []
    # In UTF-16 and UTF-32, ASCII markup always comes with NUL bytes; without any, skip them.
    wide = _WIDE if b"\x00" in data else ()
    for name in (*wide, *names):
        try:
            codec = codecs.lookup(name)
            if name in names and "<!ENTITY".encode(codec.name, errors="ignore") == b"<!ENTITY":
                continue  # ASCII-compatible: the byte search covers it
            texts.append(data.decode(codec.name, errors="ignore"))
        except (LookupError, ValueError, TypeError):
            continue  # not a text encoding (base64, rot13...): no parser can read it as one
    return texts


def declares_entities(data: bytes, charset: str | None = None) -> bool:
    """True when the document declares entities anywhere (in any plausible encoding).

    Entity declarations belong in the DTD; searching the whole document instead of finding
    where the prolog ends leaves no way to hide one behind a comment or an odd encoding. A raw
    `<!ENTITY` in content can only come from CDATA, and refusing such a feed is cheap.
    """
    if _ENTITY_DECLARATION_BYTES.search(data):
        return True
    return any(_ENTITY_DECLARATION.search(text) for text in _candidate_texts(data, charset))


def _closed_entries(data: bytes, charset: str | None) -> int:
    counts = [len(_CLOSED_ENTRY_BYTES.findall(data))]
    counts.extend(len(_CLOSED_ENTRY.findall(text)) for text in _candidate_texts(data, charset))
    return max(counts)


# nh3 serialises attributes double-quoted with `<`, `>` and `"` escaped, so on its output a
# tag ends at the first `>`; a regex pass is exact there and far cheaper than re-parsing.
_IMG_TAG = re.compile(r"<img\b[^>]*>")
_ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')
_LEADING_NUMBER = re.compile(r"\s*(\d+)")
_ONLY_FOR_THE_CHECK = re.compile(r'\s(?:style|hidden)="[^"]*"')


def _tiny(value: str) -> bool:
    number = _LEADING_NUMBER.match(value)
    return number is not None and int(number.group(1)) <= 2


def _hidden_by_style(style: str) -> bool:
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if (name, value) in (("display", "none"), ("visibility", "hidden")):
            return True
        if name in ("width", "height", "max-width", "max-height") and _tiny(value):
            return True
        if name == "opacity" and re.fullmatch(r"0*\.?0*(?:\s*!important)?", value) and value:
            return True
    return False


def _tracking_image(tag: re.Match[str]) -> str:
    """The tag without style, or nothing when it is a tracking image: no src, a known tracker,
    tiny (0 to 2 pixels a side), hidden, or hidden by its style, whatever host serves it."""
    values = dict(_ATTRIBUTE.findall(tag.group(0)))
    src = html.unescape(values.get("src", ""))
    if not src or TRACKER_SOURCES.match(src) or "hidden" in values:
        return ""
    if _tiny(values.get("width", "")) or _tiny(values.get("height", "")):
        return ""
    if _hidden_by_style(html.unescape(values.get("style", ""))):
        return ""
    return _ONLY_FOR_THE_CHECK.sub("", tag.group(0))


def clean_html(fragment: str, base_url: str | None = None) -> str:
    """Entry HTML through the allow-list: no scripts, forms, frames, styles, javascript: links
    or tracking pixels; relative links made absolute against `base_url`."""
    relative: Any = "deny"
    if base_url and urlsplit(base_url).scheme in ("http", "https"):
        relative = ("rewrite_with_base", base_url)
    try:
        cleaned = _clean(fragment[:MAX_ENTRY_HTML], relative)
    except ValueError:  # nh3 refuses a base it cannot parse
        cleaned = _clean(fragment[:MAX_ENTRY_HTML], "deny")
    return _IMG_TAG.sub(_tracking_image, cleaned).strip()


def _clean(fragment: str, relative: Any) -> str:
    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow ugc",
        strip_comments=True,
        url_relative=relative,
    )


def plain_text(fragment: str) -> str:
    """Markup removed, entities decoded, whitespace collapsed (for titles)."""
    text = html.unescape(
        nh3.clean(fragment, tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT))
    )
    return _SPACE.sub(" ", text).strip()


def _http_url(value: object, base: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        absolute = urljoin(base, value.strip())
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def _when(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                year, month, day, hour, minute, second = parsed[:6]
                # feedparser gives UTC struct_time
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                continue
    return None


def _entry_html(entry: Mapping[str, Any]) -> tuple[str, str | None]:
    """The richest HTML the entry offers (full content before summary) and its xml:base."""
    candidates: list[Mapping[str, Any]] = list(entry.get("content") or [])
    if entry.get("summary_detail"):
        candidates.append(entry["summary_detail"])
    for detail in candidates:
        value = detail.get("value") or ""
        if not value:
            continue
        kind = (detail.get("type") or "text/html").lower()
        base = str(detail.get("base") or "") or None
        if kind in ("text/html", "application/xhtml+xml"):
            return str(value), base
        return "<p>" + html.escape(str(value)).replace("\n\n", "</p><p>") + "</p>", base
    return "", None


def _entry(entry: Mapping[str, Any], feed_url: str, root: str) -> FeedEntry | None:
    """The cleaned entry, or None when it has no title, link or content to show."""
    link = _http_url(entry.get("link"), feed_url)
    title_detail = entry.get("title_detail") or {}
    raw_title = str(entry.get("title") or "")
    if (title_detail.get("type") or "text/plain").lower() in ("text/html", "application/xhtml+xml"):
        title = plain_text(raw_title)
    else:
        title = _SPACE.sub(" ", raw_title).strip()
    fragment, xml_base = _entry_html(entry)
    if xml_base == root:  # no xml:base in scope, only the document's own address
        xml_base = None
    # The base in scope (xml:base), then the entry's own link, then the feed document's URL.
    summary = clean_html(fragment, _http_url(xml_base, feed_url) or link or feed_url)
    if not (title or summary or link):
        return None
    # A link-only entry is told apart by its link: its title and summary match every other.
    hashed = f"{title}\0{summary}" if title or summary else f"\0\0{link}"
    digest = hashlib.sha256(hashed.encode()).hexdigest()
    entry_id = str(entry.get("id") or link or digest).strip()[:1000]
    return FeedEntry(
        entry_id=entry_id,
        link=link,
        title=title[:500],
        published=_when(entry),
        summary_html=summary,
        content_hash=digest,
    )


def _problem(error: object) -> str | None:
    """A malformed document's problem in a line, or None when it is only mislabelled."""
    import feedparser

    # Declared as one thing, served as another: feedparser copes, and nothing is lost.
    harmless = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
    if error is None or isinstance(error, harmless):
        return None
    text = _SPACE.sub(" ", str(error)).strip()
    if isinstance(error, SAXParseException):
        text = f"{error.getMessage()} (line {error.getLineNumber()})"
    return f"{type(error).__name__}: {text}"[:300]


def parse_feed(
    data: bytes,
    url: str,
    content_type: str | None = None,
    charset: str | None = None,
    max_entries: int = MAX_ENTRIES,
) -> ParsedFeed:
    """Parse a fetched feed body (pure; run it in a pool). Raises FeedError.

    A document cut short keeps the entries that were closed before the cut.
    """
    if not data.strip():
        raise FeedError("empty", "the document is empty")
    if declares_entities(data, charset):
        raise FeedError("entities", "the document declares XML entities; refused unparsed")
    import feedparser  # in the parser pool's workers only: the bot's own start skips it

    # No content-location: feedparser would resolve guids against it (a guid is a permalink
    # by default), and ids would change whenever the feed's address does. Links are made
    # absolute here instead.
    headers: dict[str, str] = {}
    # Except where the document uses xml:base: feedparser only restores the base in scope
    # when an element closes if the outer one is non-empty, so without a document address
    # an entry's xml:base would leak into the entries after it.
    uses_base = b"xml:base" in data or any(
        "xml:base" in text for text in _candidate_texts(data, charset)
    )
    root = url if uses_base else ""
    if root:
        headers["content-location"] = root
    if content_type:
        headers["content-type"] = content_type + (f"; charset={charset}" if charset else "")
    try:
        parsed = feedparser.parse(
            io.BytesIO(data),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,  # nh3 makes links absolute, far faster
        )
    except Exception as error:  # hostile input finds feedparser's corners (odd codecs)
        raise FeedError("not-a-feed", f"unreadable ({type(error).__name__}: {error})") from None
    raw_entries = list(parsed.get("entries") or [])
    if not parsed.get("version") and not raw_entries:
        if _LOOKS_LIKE_HTML.search(data[:2048]):
            raise FeedError("not-a-feed", "this is a web page, not a feed")
        problem = parsed.get("bozo_exception")
        why = f" ({type(problem).__name__}: {problem})" if problem else ""
        raise FeedError("not-a-feed", f"no RSS or Atom feed found{why}")
    complete = not parsed.get("bozo")
    problem = _problem(parsed.get("bozo_exception")) if not complete else None
    if not complete and raw_entries:
        raw_entries = raw_entries[: _closed_entries(data, charset)]
    feed_info = parsed.get("feed") or {}
    cleaned = (_entry(entry, url, root) for entry in raw_entries[:max_entries])
    entries = tuple(entry for entry in cleaned if entry is not None)
    return ParsedFeed(
        url=url,
        title=plain_text(str(feed_info.get("title") or "")) or url,
        link=_http_url(feed_info.get("link"), url),
        entries=entries,
        complete=complete,
        problem=problem,
    )


class _FeedLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        elif tag == "link" and "alternate" in values.get("rel", "").lower().split():
            kind = values.get("type", "").split(";")[0].strip().lower()
            if kind in FEED_TYPES - {"text/plain"} and values.get("href"):
                self.links.append((kind, values["href"]))


def discover_feeds(body: bytes, url: str, charset: str | None = None) -> tuple[str, ...]:
    """Feed URLs an HTML page announces with `<link rel="alternate">`, Atom and RSS first."""
    reader = _FeedLinks()
    reader.feed(decode_html(body, charset))
    reader.close()
    base = _http_url(reader.base, url) or url
    order = {"application/atom+xml": 0, "application/rss+xml": 1}
    found: dict[str, None] = {}
    for _, href in sorted(reader.links, key=lambda link: order.get(link[0], 2)):
        if (absolute := _http_url(href, base)) is not None:
            found.setdefault(absolute.split("#", 1)[0])
    return tuple(found)


class FeedReader:
    """Polls and discovers feeds: `SafeFetcher` for the bytes, `ParserPool` for the parsing."""

    def __init__(self, fetcher: SafeFetcher, pool: ParserPool, max_entries: int = MAX_ENTRIES):
        self._fetcher = fetcher
        self._pool = pool
        self._max_entries = max_entries

    async def _parse(self, result: FetchResult) -> ParsedFeed:
        return await self._pool.run(
            parse_feed,
            result.body,
            result.url,
            result.content_type,
            result.charset,
            self._max_entries,
        )

    async def read(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FeedRead:
        """Poll `url` with a conditional GET; raises FetchError, FeedError or ParseFailed."""
        result = await self._fetcher.fetch(
            url, accept=FEED_TYPES | HTML_TYPES, etag=etag, last_modified=last_modified
        )
        if result.not_modified:
            return FeedRead(
                url=result.url,
                feed=None,
                etag=result.etag or etag,
                last_modified=result.last_modified or last_modified,
            )
        return FeedRead(
            url=result.url,
            feed=await self._parse(result),
            etag=result.etag,
            last_modified=result.last_modified,
        )

    async def discover(self, url: str) -> ParsedFeed:
        """The feed at `url`, or the first one the HTML page at `url` announces that parses.

        Raises FetchError, ParseFailed, or FeedError("no-feed") when the page announces none.
        """
        result = await self._fetcher.fetch(url, accept=FEED_TYPES | HTML_TYPES)
        if result.content_type not in HTML_TYPES:
            return await self._parse(result)
        candidates = await self._pool.run(discover_feeds, result.body, result.url, result.charset)
        if not candidates:
            try:  # some servers label their feed text/html
                return await self._parse(result)
            except FeedError:
                raise FeedError("no-feed", f"{result.url} links no RSS or Atom feed") from None
        last: Exception | None = None
        for candidate in candidates[:3]:
            try:
                found = await self._fetcher.fetch(candidate, accept=FEED_TYPES)
                return await self._parse(found)
            except (FetchError, FeedError, ParseFailed) as error:  # try the next one offered
                last = error
        assert last is not None
        raise last
