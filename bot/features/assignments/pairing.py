"""Who reviews whom (pure): a fair assignment of peer reviewers.

The rules, in order of weight: nobody reviews their own work; each submission gets the
reviews asked for (or every other reviewer's, when there are too few); reviewers' loads differ
by at most one; and a reviewer is paired with an author they reviewed before only when no
balanced assignment avoids it. These are a transportation problem, solved exactly as a
minimum-cost flow: a load up to the fair share costs nothing, one review more costs `_EXTRA`,
anything beyond costs `_OVERFLOW`, and each repeated pair costs 1, so the solver never trades
balance for novelty.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True, slots=True)
class Pairing:
    """The reviewers of each submission (by its author), and the submissions that got fewer
    than asked because there were too few reviewers."""

    reviewers: Mapping[str, tuple[str, ...]]
    short: tuple[str, ...]

    def load(self, reviewer: str) -> int:
        """How many submissions `reviewer` reviews."""
        return sum(reviewer in chosen for chosen in self.reviewers.values())


def assign_reviewers(
    authors: Sequence[str],
    reviewers: Sequence[str],
    per_submission: int,
    earlier: Collection[tuple[str, str]] = (),
    *,
    seed: int = 0,
) -> Pairing:
    """Reviewers for each author's submission from `reviewers` (who may include the authors),
    `per_submission` each; `earlier` holds (reviewer, author) pairs of earlier assignments.
    `seed` varies the choice among equally fair assignments."""
    authors = list(dict.fromkeys(authors))
    pool = list(dict.fromkeys(reviewers))
    if per_submission <= 0 or not authors or not pool:
        return Pairing({author: () for author in authors}, ())
    # Imported when a pairing is due, not at start: it is large, and every process would
    # carry it (and its garbage collector's work) for a job that runs a few times a term.
    import networkx as nx

    random.Random(seed).shuffle(pool)
    wanted = {a: min(per_submission, len([r for r in pool if r != a])) for a in authors}
    total = sum(wanted.values())
    fair, extra = divmod(total, len(pool))
    extra_cost = 1 + total  # one review beyond the fair share: more than every repeat
    overflow = extra_cost * (1 + total)  # beyond that: more than every extra together
    repeated = set(earlier)
    graph: nx.DiGraph[Any] = nx.DiGraph()
    graph.add_node("source", demand=-total)
    graph.add_node("sink", demand=total)
    for author in authors:
        graph.add_edge("source", ("work", author), capacity=wanted[author], weight=0)
        for reviewer in pool:
            if reviewer != author:
                cost = 1 if (reviewer, author) in repeated else 0
                graph.add_edge(("work", author), ("by", reviewer), capacity=1, weight=cost)
    for reviewer in pool:
        # Three tiers of load: the fair share, one more, then anything beyond.
        graph.add_edge(("by", reviewer), ("fair", reviewer), capacity=fair, weight=0)
        graph.add_edge(("fair", reviewer), "sink", capacity=fair, weight=0)
        if extra:
            graph.add_edge(("by", reviewer), ("extra", reviewer), capacity=1, weight=extra_cost)
            graph.add_edge(("extra", reviewer), "sink", capacity=1, weight=0)
        graph.add_edge(("by", reviewer), ("over", reviewer), capacity=total, weight=overflow)
        graph.add_edge(("over", reviewer), "sink", capacity=total, weight=0)
    flow = nx.min_cost_flow(graph)
    chosen = {
        author: tuple(
            reviewer
            for reviewer in pool
            if reviewer != author and flow[("work", author)].get(("by", reviewer), 0) > 0
        )
        for author in authors
    }
    short = tuple(author for author in authors if wanted[author] < per_submission)
    return Pairing(chosen, short)


def late_reviewers(
    author: str,
    loads: Mapping[str, int],
    per_submission: int,
    earlier: Collection[tuple[str, str]] = (),
) -> tuple[str, ...]:
    """Reviewers for a submission that came after the others were paired: those with the
    fewest reviews so far (`loads`, every possible reviewer), not the author, preferring
    reviewers who never reviewed them."""
    repeated = set(earlier)
    candidates = sorted(
        (r for r in loads if r != author),
        key=lambda r: (loads[r], (r, author) in repeated, r),
    )
    return tuple(candidates[: max(per_submission, 0)])
