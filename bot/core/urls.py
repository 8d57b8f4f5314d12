"""Finding links in chat text and canonicalising them for de-duplication. Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit, urlunsplit

# Query parameters that only track where a click came from.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "igsh",
        "ref_src",
        "ref_url",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "s_cid",
        "spm",
        "si",
        "_ga",
        "_gl",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")

_ANGLE = re.compile(r"<(https?://[^\s<>|]+)(?:\|[^<>]*)?>", re.IGNORECASE)  # Slack, Discord
_MARKDOWN = re.compile(r"\[[^\]\n]*\]\((https?://[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)\)", re.I)
# A plain URL stops at the ellipsis, at CJK sentence punctuation (written without a space after
# it) and at invisible joiners and spaces, which no URL holds raw.
_STOPS = "\u2026\u3002\u3001\uff0c\uff01\uff1f\uff1b\uff1a\u200b\u200c\u200d\u2060\ufeff"
_PLAIN = re.compile(rf"https?://[^\s<>\"`{_STOPS}]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"*_~”’»"
_PAIRS = {")": "(", "]": "[", "}": "{"}
_CJK_PAIRS = {"」": "「", "』": "『", "】": "【", "）": "（"}
_CJK_OPENING = frozenset(_CJK_PAIRS.values())
_MARKUP = ("||", "**", "__", "~~")  # Discord spoiler, bold, underline, strike-through
# An apostrophe followed by one of these closes a quotation instead of belonging to the path.
_AFTER_QUOTE = frozenset(_TRAILING + ")]}|>" + "".join(_CJK_PAIRS))

# The longest link the bot keeps and shares (commands accept a link this long too).
MAX_LINK_LENGTH = 8192


@dataclass(frozen=True, slots=True)
class FoundLink:
    """A link as written, where it stood, and its canonical form."""

    url: str
    canonical: str
    start: int
    end: int


def clean_text(text: str) -> str:
    """The text links are found in: without NUL characters, which no store keeps."""
    return text.replace("\x00", "") if "\x00" in text else text


def _cut_cjk_brackets(candidate: str) -> str:
    """Cut at the first CJK bracket the URL does not balance."""
    opened: list[tuple[str, int]] = []
    for index, char in enumerate(candidate):
        if char in _CJK_OPENING:
            opened.append((char, index))
        elif char in _CJK_PAIRS:
            if not opened or opened[-1][0] != _CJK_PAIRS[char]:
                return candidate[:index]
            opened.pop()
    return candidate[: opened[0][1]] if opened else candidate


def _cut_quote(candidate: str) -> str:
    """Cut at the first apostrophe that ends the URL rather than sits inside it."""
    for index, char in enumerate(candidate):
        if char == "'" and (index + 1 == len(candidate) or candidate[index + 1] in _AFTER_QUOTE):
            return candidate[:index]
    return candidate


def _cut_markup(candidate: str, before: str) -> str:
    """Cut where a Discord delimiter closes one opened right before the URL."""
    cut = len(candidate)
    while before.endswith(_MARKUP):
        delimiter = before[-2:]
        before = before[:-2]
        if (found := candidate.find(delimiter)) != -1:
            cut = min(cut, found)
    return candidate[:cut]


def _trim(candidate: str) -> str:
    """Drop trailing punctuation, markup and closing brackets that the URL did not open."""
    while candidate:
        last = candidate[-1]
        unbalanced = last in _PAIRS and candidate.count(last) > candidate.count(_PAIRS[last])
        if candidate.endswith("||"):
            candidate = candidate[:-2]
        elif last in _TRAILING or unbalanced:
            candidate = candidate[:-1]
        else:
            break
    return candidate


def extract_links(text: str) -> list[FoundLink]:
    """Every distinct http(s) link in a message's `clean_text`, in order of appearance."""
    if "://" not in text:  # most messages carry no link: skip the scans
        return []
    text = clean_text(text)
    found: list[FoundLink] = []
    taken: list[tuple[int, int]] = []

    def add(url: str, start: int, end: int) -> None:
        if any(start < taken_end and taken_start < end for taken_start, taken_end in taken):
            return
        taken.append((start, end))
        canonical = canonicalise(url)
        if canonical is not None:
            found.append(FoundLink(url, canonical, start, end))

    for pattern in (_ANGLE, _MARKDOWN):
        for match in pattern.finditer(text):
            add(match.group(1), match.start(), match.end())
    for match in _PLAIN.finditer(text):
        url = _cut_markup(_cut_quote(_cut_cjk_brackets(match.group(0))), text[: match.start()])
        url = _trim(url)
        add(url, match.start(), match.start() + len(url))
    found.sort(key=lambda link: link.start)
    unique: dict[str, FoundLink] = {}
    for link in found:
        unique.setdefault(link.canonical, link)
    return list(unique.values())


def _is_tracking(name: str) -> bool:
    lowered = unquote(name).lower()
    return lowered in TRACKING_PARAMETERS or lowered.startswith(TRACKING_PREFIXES)


_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/%:@!$&'()*+,;=-._~?"


def _normalise_escapes(text: str, safe: str) -> str:
    # Escapes stay as written (`%2f` and `%2F` may name different things to a server); raw
    # non-ASCII and characters no URL may hold raw become UTF-8 escapes in upper-case hex.
    return quote(text, safe=safe)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4: resolve `.` and `..` segments, keeping the slash a final one leaves."""
    output: list[str] = []
    rest = path
    while rest:
        if rest.startswith("../"):
            rest = rest[3:]
        elif rest.startswith("./") or rest.startswith("/./"):
            rest = rest[2:]
        elif rest == "/.":
            rest = "/"
        elif rest.startswith("/../"):
            rest = rest[3:]
            if output:
                output.pop()
        elif rest == "/..":
            rest = "/"
            if output:
                output.pop()
        elif rest in (".", ".."):
            rest = ""
        else:
            end = rest.find("/", 1)
            segment = rest if end == -1 else rest[:end]
            output.append(segment)
            rest = rest[len(segment) :]
    return "".join(output)


def _host(hostname: str) -> str | None:
    if not hostname or any(ch.isspace() for ch in hostname):
        return None
    if ":" in hostname:  # IPv6 literal
        return f"[{hostname.lower()}]"
    labels = hostname.rstrip(".").split(".")
    encoded: list[str] = []
    for label in labels:
        if not label:
            return None
        if label.isascii():
            encoded.append(label.lower())
            continue
        try:
            encoded.append(label.encode("idna").decode("ascii"))
        except UnicodeError:
            return None
    host = ".".join(encoded)
    if not re.fullmatch(r"[a-z0-9_.-]+", host) or len(host) > 253:
        return None
    return host


@lru_cache(maxsize=8192)  # shared links repeat; canonicalising is pure
def canonicalise(url: str) -> str | None:
    """The canonical form of an http(s) URL, or None if it is not one. Never raises."""
    try:
        return _canonicalise(url)
    except (ValueError, UnicodeError):
        return None


def _canonicalise(url: str) -> str | None:
    url = url.strip()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return None
    host = _host(parts.hostname or "")
    if host is None:
        return None
    port = parts.port  # raises ValueError on a bad port
    netloc = (
        host if port is None or port == {"http": 80, "https": 443}[scheme] else f"{host}:{port}"
    )
    path = _normalise_escapes(remove_dot_segments(parts.path) or "/", _PATH_SAFE)
    kept = [
        _normalise_escapes(piece, _QUERY_SAFE)
        for piece in parts.query.split("&")
        if piece and not _is_tracking(piece.split("=", 1)[0])
    ]
    return urlunsplit((scheme, netloc, path, "&".join(kept), ""))


def domain_of(url: str) -> str:
    """The host without a leading www."""
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")
