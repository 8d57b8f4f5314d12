"""Peer reviewer pairing benchmark.

The exact pairing (`bot.features.assignments.pairing.assign_reviewers`, a minimum-cost flow:
no self-review, loads within one, fewest repeated pairs) against the baseline a heuristic
would use, a circulant shift (member i reviews i+1 … i+N in a shuffled order), measured in
the same run on the same cohorts. The figures: seconds per pairing, the ratio to the
baseline, and how many pairs from an earlier assignment each repeats.

Usage: python bench/pairing.py [submitters] [reviews]   (default: 60 3; also 200)
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.features.assignments.pairing import assign_reviewers


def circulant(authors: list[str], per: int, seed: int) -> dict[str, tuple[str, ...]]:
    order = list(authors)
    random.Random(seed).shuffle(order)
    n = len(order)
    return {
        order[i]: tuple(order[(i + k) % n] for k in range(1, min(per, n - 1) + 1))
        for i in range(n)
    }


def repeats(chosen: dict[str, tuple[str, ...]], earlier: set[tuple[str, str]]) -> int:
    return sum((r, a) in earlier for a, rs in chosen.items() for r in rs)


def run(size: int, per: int) -> None:
    authors = [f"m{i}" for i in range(size)]
    earlier = {(r, a) for a, rs in circulant(authors, per, seed=1).items() for r in rs}
    began = time.perf_counter()
    exact = assign_reviewers(authors, authors, per, earlier, seed=2)
    ours = time.perf_counter() - began
    began = time.perf_counter()
    naive = circulant(authors, per, seed=2)
    baseline = time.perf_counter() - began
    print(
        f"{size} submitters x {per} reviews: exact {ours:.3f} s "
        f"({ours / max(baseline, 1e-9):.0f}x the circulant baseline's {baseline * 1000:.2f} ms); "
        f"repeated pairs: exact {repeats(dict(exact.reviewers), earlier)}, "
        f"baseline {repeats(naive, earlier)}"
    )


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    run(size, per)
    if len(sys.argv) <= 1:
        run(200, per)


if __name__ == "__main__":
    main()
