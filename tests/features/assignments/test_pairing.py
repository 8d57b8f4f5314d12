"""Who reviews whom: the pairing's rules, as properties over many cohorts."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.assignments.pairing import Pairing, assign_reviewers, late_reviewers

NAMES = [f"m{i}" for i in range(12)]


def repeats(pairing: Pairing, earlier: set[tuple[str, str]]) -> int:
    return sum(
        (reviewer, author) in earlier
        for author, chosen in pairing.reviewers.items()
        for reviewer in chosen
    )


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[list[str], list[str], int, set[tuple[str, str]]]:
    size = draw(st.integers(min_value=1, max_value=9))
    authors = NAMES[:size]
    others = NAMES[size : size + draw(st.integers(min_value=0, max_value=3))]
    reviewers = authors + others
    per = draw(st.integers(min_value=1, max_value=4))
    pairs = [(r, a) for r in reviewers for a in authors if r != a]
    earlier = set(draw(st.lists(st.sampled_from(pairs), max_size=12))) if pairs else set()
    return authors, reviewers, per, earlier


@settings(max_examples=150, deadline=None)
@given(cohort=cohorts(), seed=st.integers(min_value=0, max_value=1000))
def test_nobody_reviews_themselves_loads_differ_by_at_most_one_and_each_gets_its_share(
    cohort: tuple[list[str], list[str], int, set[tuple[str, str]]], seed: int
) -> None:
    authors, reviewers, per, earlier = cohort
    pairing = assign_reviewers(authors, reviewers, per, earlier, seed=seed)
    for author, chosen in pairing.reviewers.items():
        assert author not in chosen
        assert len(set(chosen)) == len(chosen)
        available = len([r for r in reviewers if r != author])
        assert len(chosen) == min(per, available)
        assert (author in pairing.short) == (available < per)
    loads = [pairing.load(r) for r in reviewers]
    assert max(loads) - min(loads) <= 1, loads


def _fewest_repeats(
    authors: list[str], reviewers: list[str], per: int, earlier: set[tuple[str, str]]
) -> int:
    """The fewest repeated pairs of any balanced assignment, by trying them all."""
    choices = []
    for author in authors:
        others = [r for r in reviewers if r != author]
        choices.append(list(itertools.combinations(others, min(per, len(others)))))
    best: int | None = None
    for combo in itertools.product(*choices):
        loads = {r: 0 for r in reviewers}
        for chosen in combo:
            for reviewer in chosen:
                loads[reviewer] += 1
        if max(loads.values()) - min(loads.values()) > 1:
            continue
        found = sum(
            (reviewer, author) in earlier
            for author, chosen in zip(authors, combo, strict=True)
            for reviewer in chosen
        )
        best = found if best is None else min(best, found)
    assert best is not None
    return best


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(min_value=2, max_value=5),
    per=st.integers(min_value=1, max_value=2),
    earlier=st.sets(st.tuples(st.sampled_from(NAMES[:5]), st.sampled_from(NAMES[:5]))),
    seed=st.integers(min_value=0, max_value=100),
)
def test_a_pair_is_repeated_only_when_no_balanced_assignment_avoids_it(
    size: int, per: int, earlier: set[tuple[str, str]], seed: int
) -> None:
    authors = NAMES[:size]
    pairing = assign_reviewers(authors, authors, per, earlier, seed=seed)
    assert repeats(pairing, earlier) == _fewest_repeats(authors, authors, per, earlier)


def test_with_too_few_submitters_each_gets_every_other_ones_review() -> None:
    pairing = assign_reviewers(["ann", "ben"], ["ann", "ben"], 3)
    assert pairing.reviewers == {"ann": ("ben",), "ben": ("ann",)}
    assert pairing.short == ("ann", "ben")
    assert assign_reviewers(["ann"], ["ann"], 2).reviewers == {"ann": ()}


def test_a_late_submission_goes_to_those_with_fewest_reviews_and_new_pairs_first() -> None:
    loads = {"ann": 2, "ben": 1, "cat": 1, "dan": 1, "eve": 0}
    assert late_reviewers("eve", loads, 2) == ("ben", "cat")
    assert late_reviewers("dan", loads, 2, earlier={("eve", "dan")}) == ("eve", "ben")
    assert late_reviewers("ann", loads, 2, earlier={("ben", "ann")}) == ("eve", "cat")
