"""Topics of what members shared, their similarity and the greedy matching, on hand-made
items (pure code: no database, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.features.introductions.topics import (
    MIN_SIMILARITY,
    TOP_TERMS,
    Item,
    TopicModel,
    match,
    phrase,
    raw_terms,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def share(member: str, url: str, *texts: str, day: int = 0) -> Item:
    return Item(member_ref=member, at=T0 + timedelta(days=day), texts=texts, url=url)


def words(member: str, *texts: str, day: int = 0) -> Item:
    return Item(member_ref=member, at=T0 + timedelta(days=day), texts=texts)


def test_keywords_skip_stop_words_urls_and_numbers_and_pair_only_inside_a_phrase() -> None:
    terms = raw_terms(
        "See https://example.org/x?utm_source=y: Spaced practice beats cramming, in 2024 "
        "(really) — Feedback loops"
    )
    assert ("spaced", "practice") in terms and ("practice", "beats") in terms
    assert ("cramming", "feedback") not in terms  # a comma and a dash lie between
    assert ("feedback", "loops") in terms
    flat = {word for term in terms for word in term}
    assert flat.isdisjoint({"see", "in", "really", "example", "utm", "2024", "https"})


def test_possessives_and_contractions() -> None:
    assert raw_terms("Bjork's desirable difficulties don't fade") == [
        ("bjork",),
        ("bjork", "desirable"),
        ("desirable",),
        ("desirable", "difficulties"),
        ("difficulties",),
        ("fade",),
    ]


def test_domains_and_keywords_make_two_members_similar_and_explain_it() -> None:
    model = TopicModel.build(
        [
            share("alice", "https://www.example.org/a", "Spaced practice for adults", "feedback"),
            share("bob", "https://example.org/b", "Why spaced practice works"),
            words("bob", "I want better feedback on my drafts"),
            share("carol", "https://knitting.test/yarn", "Choosing yarn for winter socks"),
            share("dave", "https://news.test/x", "Election results tonight"),
        ]
    )
    assert model.similarity("alice", "bob") > 0.3
    assert model.similarity("alice", "carol") == 0.0
    assert model.similarity("alice", "bob") == model.similarity("bob", "alice")
    topics = model.shared_topics("alice", "bob")
    assert set(topics) == {"example.org", "spaced practice", "feedback"}
    assert "spaced" not in topics and "practice" not in topics  # inside "spaced practice"


def test_plurals_merge_when_the_community_uses_both_forms() -> None:
    model = TopicModel.build(
        [
            words("alice", "rubrics and feedback"),
            words("bob", "a rubric for essays"),
            words("carol", "studies of sleep"),
            words("dave", "a study of memory"),
            words("erin", "gardening"),
        ]
    )
    assert model.shared_topics("alice", "bob") == ("rubric",)
    assert model.shared_topics("carol", "dave") == ("study",)


def test_a_word_everybody_uses_pairs_nobody() -> None:
    items = [
        words(name, f"learning {topic}")
        for name, topic in (("a", "chess"), ("b", "violin"), ("c", "pottery"), ("d", "go"))
    ]
    model = TopicModel.build(items)
    assert model.similarity("a", "b") == 0.0
    assert match(model, ["a", "b", "c", "d"]) == []


def test_a_word_nearly_everybody_uses_is_too_thin_to_pair_members_with_nothing_else() -> None:
    model = TopicModel.build([words(name, "learning") for name in "abcde"] + [words("f", "chess")])
    assert 0 < model.weights["a"]["learning"] < 0.2
    assert 0 < model.similarity("a", "b") < MIN_SIMILARITY  # not 1, as a bare cosine would say
    assert match(model, list("abcdef")) == []


def test_a_common_word_weighs_less_than_a_rare_one() -> None:
    model = TopicModel.build(
        [
            words("a", "rubrics; learning"),
            words("b", "rubrics; learning"),
            words("c", "sourdough; learning"),
            words("d", "sourdough; learning"),
            words("e", "chess"),
        ]
    )
    assert model.weights["a"]["rubrics"] > model.weights["a"]["learning"] > 0
    assert model.shared_topics("a", "b") == ("rubrics", "learning")
    introduced = match(model, ["a", "b", "c", "d"])
    assert {(i.member_a, i.member_b) for i in introduced} == {("a", "b"), ("c", "d")}


def test_matching_is_greedy_by_similarity_and_skips_met_and_busy_members() -> None:
    model = TopicModel.build(
        [
            share("alice", "https://example.org/1", "retrieval practice and feedback"),
            share("bob", "https://example.org/2", "retrieval practice and feedback"),
            share("carol", "https://example.org/3", "feedback on essays"),
            share("dave", "https://other.test/4", "essays"),
            words("erin", "sourdough"),
            words("fred", "knitting"),
        ]
    )
    assert model.similarity("alice", "bob") > model.similarity("alice", "carol") > 0
    best = match(model, ["alice", "bob", "carol", "dave"])
    assert [(i.member_a, i.member_b) for i in best] == [("alice", "bob"), ("carol", "dave")]
    assert best[0].topics[0] in {"retrieval practice", "example.org", "feedback"}
    met = match(model, ["alice", "bob", "carol", "dave"], met=[frozenset(("alice", "bob"))])
    # carol's strongest free match is dave (essays), not alice: alice and bob wait.
    assert model.similarity("carol", "dave") > model.similarity("alice", "carol")
    assert [(i.member_a, i.member_b) for i in met] == [("carol", "dave")]
    busy = match(model, ["alice", "bob", "carol", "dave"], busy=["alice"])
    assert all("alice" not in (i.member_a, i.member_b) for i in busy)
    assert match(model, ["alice", "erin", "fred"]) == []  # nothing shared: no introduction


def test_each_member_is_in_at_most_one_introduction() -> None:
    model = TopicModel.build(
        [share(name, "https://example.org/x", "spaced practice") for name in "abcde"]
        + [words("z", "unrelated")]
    )
    introduced = match(model, list("abcde"))
    people = [m for i in introduced for m in (i.member_a, i.member_b)]
    assert len(people) == len(set(people)) == 4
    assert [(i.member_a, i.member_b) for i in introduced] == [("a", "b"), ("c", "d")]


def test_the_item_to_quote_carries_the_shared_topics_and_prefers_a_link() -> None:
    model = TopicModel.build(
        [
            share("bob", "https://example.org/old", "spaced practice", day=1),
            share("bob", "https://cats.test/new", "cat pictures", day=5),
            words("bob", "spaced practice in my class", day=6),
            share("alice", "https://example.org/a", "spaced practice"),
            words("carol", "cat pictures"),
        ]
    )
    item = model.best_item("bob", model.shared_topics("alice", "bob"))
    assert item is not None and item.url == "https://example.org/old"
    assert model.best_item("nobody", ("x",)) is None


def test_a_member_is_paired_on_their_heaviest_shared_terms_only() -> None:
    many = " ".join(f"topic{letter}{other}" for letter in "abcdefghij" for other in "klmnop")
    alone = " ".join(f"only{letter}{other}" for letter in "abcdefghij" for other in "qrstuv")
    model = TopicModel.build(
        [
            words("a", many),
            words("b", many),
            words("c", "chess"),
            words("d", alone),
            words("d", "spaced practice"),
            words("e", "spaced practice"),
        ]
    )
    assert len(model.weights["a"]) == TOP_TERMS
    assert model.similarity("a", "b") > 0.5
    # d's own words pair nobody, so they never crowd out the one topic d shares with e:
    assert set(model.weights["d"]) == {"spaced", "practice", "spaced practice"}
    assert model.shared_topics("d", "e") == ("spaced practice",)


def test_phrase() -> None:
    assert phrase([]) == ""
    assert phrase(["a"]) == "a"
    assert phrase(["a", "b"]) == "a and b"
    assert phrase(["a", "b", "c"], "und") == "a, b und c"


@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.text(max_size=60)), max_size=30))
def test_matching_is_deterministic_symmetric_and_one_per_member(
    entries: list[tuple[str, str]],
) -> None:
    items = [words(member, text) for member, text in entries]
    first = match(TopicModel.build(items), list("abcdef"))
    again = match(TopicModel.build(list(reversed(items))), list("fedcba"))
    assert [(i.member_a, i.member_b, i.topics) for i in first] == [
        (i.member_a, i.member_b, i.topics) for i in again
    ]
    people = [m for i in first for m in (i.member_a, i.member_b)]
    assert len(people) == len(set(people))
    for introduction in first:
        assert introduction.member_a < introduction.member_b and introduction.topics
