"""Finding and canonicalising links."""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from bot.core.urls import canonicalise, extract_links


def urls(text: str) -> list[str]:
    return [link.url for link in extract_links(text)]


def canonical(text: str) -> list[str]:
    return [link.canonical for link in extract_links(text)]


def test_plain_link_loses_trailing_punctuation() -> None:
    assert urls("see https://example.org/a. and https://example.org/b, ok!") == [
        "https://example.org/a",
        "https://example.org/b",
    ]


def test_balanced_parentheses_stay_unbalanced_closing_bracket_goes() -> None:
    text = "(read https://en.wikipedia.org/wiki/Foo_(bar)) and [https://x.org/y]"
    assert urls(text) == ["https://en.wikipedia.org/wiki/Foo_(bar)", "https://x.org/y"]


def test_slack_discord_and_markdown_forms() -> None:
    text = "<https://a.org/x|label> <https://b.org/y> [text](https://c.org/z?q=1)"
    assert urls(text) == ["https://a.org/x", "https://b.org/y", "https://c.org/z?q=1"]


def test_non_http_schemes_and_missing_schemes_are_ignored() -> None:
    assert urls("javascript:alert(1) ftp://x.org/f example.org/page mailto:a@b.org") == []


def test_the_same_link_twice_in_a_message_counts_once() -> None:
    assert canonical("https://Example.org/a https://example.org/a#top") == ["https://example.org/a"]


def test_canonical_form() -> None:
    assert (
        canonicalise("HTTPS://Example.ORG:443/a/./b/../c?utm_source=x&id=7&fbclid=z&b=2#frag")
        == "https://example.org/a/c?id=7&b=2"
    )
    assert canonicalise("http://bücher.de") == "http://xn--bcher-kva.de/"
    assert canonicalise("http://example.org:8080") == "http://example.org:8080/"
    assert canonicalise("https://[2001:DB8::1]/x") == "https://[2001:db8::1]/x"
    assert canonicalise("https://example.org/a b") == "https://example.org/a%20b"


def test_other_parameters_keep_their_order() -> None:
    assert canonicalise("https://x.org/?z=1&a=2&utm_medium=m&m=3") == "https://x.org/?z=1&a=2&m=3"


def test_bad_urls_give_none() -> None:
    for bad in [
        "javascript:alert(1)",
        "https://",
        "http://exa mple.org",
        "https://x.org:99999/",
        "http://\x00.org/",
        "https://a..b/",
    ]:
        assert canonicalise(bad) is None, bad


@given(st.text())
def test_canonicalise_never_raises_and_is_http(text: str) -> None:
    result = canonicalise(text)
    if result is not None:
        assert urlsplit(result).scheme in ("http", "https")


url_text = st.builds(
    lambda scheme, host, path, query: f"{scheme}://{host}/{path}?{query}",
    st.sampled_from(["http", "https", "HTTP"]),
    st.from_regex(r"[A-Za-z0-9]{1,10}(\.[A-Za-z]{2,5}){1,2}", fullmatch=True),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
    st.text(alphabet="abc=&_utm%.", max_size=20),
)


@given(url_text)
def test_canonicalise_is_idempotent(url: str) -> None:
    once = canonicalise(url)
    if once is not None:
        assert canonicalise(once) == once


@given(st.text(max_size=300))
def test_extraction_never_raises(text: str) -> None:
    for link in extract_links(text):
        assert link.canonical.startswith(("http://", "https://"))
