"""Finding and canonicalising links."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

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


def test_a_url_ends_at_ellipsis_cjk_punctuation_and_zero_width_characters() -> None:
    assert urls("see https://x.org/a…and more") == ["https://x.org/a"]
    for stop in "。、，！？；：":
        assert urls(f"見てhttps://x.org/a{stop}次") == ["https://x.org/a"], stop
    for stop in "\u200b\u200c\u200d\u2060\ufeff":
        assert urls(f"https://x.org/a{stop}b") == ["https://x.org/a"], repr(stop)


def test_unbalanced_cjk_brackets_end_a_url_balanced_ones_stay() -> None:
    assert urls("「https://x.org/a」です") == ["https://x.org/a"]
    assert urls("【https://x.org/b】") == ["https://x.org/b"]
    assert urls("（https://x.org/c）と") == ["https://x.org/c"]
    assert urls("『https://x.org/d』") == ["https://x.org/d"]
    assert urls("https://x.org/e「引用") == ["https://x.org/e"]
    assert urls("https://x.org/f「g」h") == ["https://x.org/f「g」h"]


def test_discord_markup_is_trimmed_at_the_end_or_where_it_closes() -> None:
    assert urls("||https://x.org/spoiler||") == ["https://x.org/spoiler"]
    assert urls("**https://x.org/bold**") == ["https://x.org/bold"]
    assert urls("__https://x.org/under__") == ["https://x.org/under"]
    assert urls("~~https://x.org/gone~~") == ["https://x.org/gone"]
    assert urls("**https://x.org/a**right after") == ["https://x.org/a"]
    assert urls("**||https://x.org/b||**") == ["https://x.org/b"]
    assert urls("https://x.org/c|| and") == ["https://x.org/c"]
    assert urls("see https://x.org/~user and https://x.org/~~a~~b") == [
        "https://x.org/~user",
        "https://x.org/~~a~~b",
    ]
    assert urls("https://x.org/a__b__c") == ["https://x.org/a__b__c"]


def test_an_apostrophe_inside_the_path_belongs_to_it() -> None:
    assert urls("https://x.org/it's-here ok") == ["https://x.org/it's-here"]
    assert urls("'https://x.org/a' and") == ["https://x.org/a"]
    assert urls("'https://x.org/b', 'c'") == ["https://x.org/b"]
    assert urls("https://x.org/c'. Next") == ["https://x.org/c"]
    assert urls("https://x.org/d'") == ["https://x.org/d"]


def test_dot_segments_are_removed_as_rfc_3986_says() -> None:
    assert canonicalise("https://x.org/a/b/.") == "https://x.org/a/b/"
    assert canonicalise("https://x.org/a/b/..") == "https://x.org/a/"
    assert canonicalise("https://x.org/a/./b/../c/./") == "https://x.org/a/c/"
    assert canonicalise("https://x.org/../../a") == "https://x.org/a"
    assert canonicalise("https://x.org/.") == "https://x.org/"
    assert canonicalise("https://x.org/a/..") == "https://x.org/"
    assert canonicalise("https://x.org/a/.b/c..") == "https://x.org/a/.b/c.."


def test_percent_escapes_are_kept_as_written_raw_non_ascii_is_encoded() -> None:
    assert (
        canonicalise("https://x.org/a%2fb%7E?q=%e2%82%ac") == "https://x.org/a%2fb%7E?q=%e2%82%ac"
    )
    assert canonicalise("https://x.org/a%2Fb") == "https://x.org/a%2Fb"
    assert canonicalise("https://x.org/café?q=€") == "https://x.org/caf%C3%A9?q=%E2%82%AC"
    assert canonicalise("https://x.org/100%") == "https://x.org/100%"


def test_a_nul_in_the_text_does_not_hide_the_link() -> None:
    assert urls("see https://x.org/a\x00b") == ["https://x.org/ab"]
    assert urls("\x00https://x.org/c") == ["https://x.org/c"]


@given(st.text(alphabet="ab/.", max_size=30))
def test_dot_segment_removal_agrees_with_urljoin(path: str) -> None:
    if "//" in "/" + path:  # a network-path reference to urljoin, not a path
        return
    result = canonicalise(f"https://x.org/{path}")
    assert result == urljoin("https://x.org/", "/" + path)
