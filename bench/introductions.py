"""Introductions benchmark: the CPU time to read a community's shares into topics and pair its
members (bot/topics.py), for a community four times larger than the baseline. Each member has
20 items of 12 words drawn from a Zipf-like vocabulary (every member shares common words: the
hard case for pairing). Building should grow with the items, matching stay small (each member
keeps only their heaviest terms): target ratio (4x members / 1x) <= 5, and under 10 s for 2,000
members (40,000 items) on one core. The job runs it in a thread, off the event loop.

Usage: python bench/introductions.py [members]   (default: 2000; the baseline is a quarter of it)
"""

from __future__ import annotations

import random
import string
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.features.introductions.topics import Item, TopicModel, match

ITEMS_PER_MEMBER = 20
WORDS_PER_ITEM = 12


def community(members: int, seed: int = 1) -> list[Item]:
    """Synthetic items: words follow a 1/rank law, links spread over 500 sites, and every
    member belongs to one of 100 interest groups whose own words some of their items carry."""
    rng = random.Random(seed)
    vocabulary = ["".join(rng.choices(string.ascii_lowercase, k=7)) for _ in range(5000)]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    groups = [
        " ".join("".join(rng.choices(string.ascii_lowercase, k=9)) for _ in range(3))
        for _ in range(100)
    ]
    at = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        Item(
            member_ref=f"m{member:05d}",
            at=at,
            texts=(
                " ".join(rng.choices(vocabulary, weights, k=WORDS_PER_ITEM)),
                groups[member % len(groups)] if index % 4 == 0 else "",
            ),
            url=f"https://site{rng.randrange(500)}.test/{member}/{index}",
        )
        for member in range(members)
        for index in range(ITEMS_PER_MEMBER)
    ]


def measure(members: int) -> tuple[float, float, int]:
    """(build seconds, match seconds, pairs) of CPU time for a community of `members`."""
    items = community(members)
    start = time.process_time()
    model = TopicModel.build(items)
    built = time.process_time()
    pairs = match(model, model.members)
    return built - start, time.process_time() - built, len(pairs)


def main() -> None:
    members = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    base = max(members // 4, 2)
    results = {}
    for size in (base, members):
        build, pairing, pairs = measure(size)
        results[size] = build + pairing
        print(
            f"{size} members, {size * ITEMS_PER_MEMBER} items: build {build:.2f} s, "
            f"match {pairing:.2f} s, {pairs} pairs"
        )
    print(f"ratio {members}/{base} members: {results[members] / results[base]:.2f}")


if __name__ == "__main__":
    main()
