"""Finding links in chat text and canonicalising them for de-duplication. Pure functions."""

from __future__ import annotations

import posixpath
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
_PLAIN = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"*_~”’»"
_PAIRS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True, slots=True)
class FoundLink:
    """A link as written, where it stood, and its canonical form."""

    url: str
    canonical: str
    start: int
    end: int


def _trim(candidate: str) -> str:
    """Drop trailing punctuation and closing brackets that the URL did not open."""
    while candidate:
        last = candidate[-1]
        unbalanced = last in _PAIRS and candidate.count(last) > candidate.count(_PAIRS[last])
        if last in _TRAILING or unbalanced:
            candidate = candidate[:-1]
        else:
            break
    return candidate


def extract_links(text: str) -> list[FoundLink]:
    """Every distinct http(s) link in a message, in order of appearance."""
    if "://" not in text:  # most messages carry no link: skip the scans
        return []
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
        url = _trim(match.group(0))
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
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


def _normalise_escapes(text: str, safe: str) -> str:
    text = quote(text, safe=safe)
    return _ESCAPE.sub(lambda match: match.group(0).upper(), text)


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
    path = parts.path or "/"
    resolved = posixpath.normpath(path)
    if resolved.startswith("//"):
        resolved = "/" + resolved.lstrip("/")
    if path.endswith("/") and resolved != "/":
        resolved += "/"
    if resolved == ".":
        resolved = "/"
    path = _normalise_escapes(resolved, _PATH_SAFE)
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
