"""What members share an interest in, read from what they shared: the sites of their links and
the keywords of titles, descriptions, notes, reflections and questions, weighed by TF-IDF
across the community, so words that everybody uses pair nobody. Pure and deterministic.

A member's topics are terms: a domain ("example.org"), a word ("feedback") or two words that
stand next to each other ("spaced practice"). Each term's weight for a member is
(1 + ln n) · ln(N / df), where n is how many of the member's items carry the term, N how many
members shared anything and df how many of them carry the term; a term that every member
carries weighs nothing (in a community of SMALL or more, neither does one that more than half
of them carry). A member keeps only the TOP_TERMS heaviest terms that someone else carries too.
Two members' similarity is the cosine of those weight vectors, each
lengthened by a constant `PRIOR` dimension they do not share: without it, two members whose
only words are ones nearly everybody uses would look identical (cosine 1) however little those
words weigh; with it, little evidence means little similarity.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.urls import domain_of

MIN_WORD = 3  # shorter words carry no topic ("ai" is the price of this rule)
MAX_WORD = 30  # longer "words" are identifiers, hashes or noise
TOPICS_SHOWN = 3  # how many shared topics explain a pair
PRIOR = 1.0  # the squared length of every member's unshared constant dimension (see above)
# In a community of at least SMALL members with items, a term more than COMMON of them carry is
# too common to tell anyone apart: it weighs nothing (and costs nothing when pairing).
SMALL = 20
COMMON = 0.5
MIN_SIMILARITY = 0.05
# A member is paired on their TOP_TERMS heaviest terms that someone else also carries: what sets
# them apart, and a bound on the work of comparing everybody with everybody.
TOP_TERMS = 40  # below this, what two members share is too thin to introduce them on

# English function words and chat filler: they say nothing about what a member cares for.
_STOP_TEXT = """
    a about above after again against all almost already also although always am among an and
    another any anyone anything are around as at away back be became because become been before
    being below best better between both but by came can cannot could did do does doing done
    down during each either else enough even ever every few find first for found from further
    get gets getting give go goes going good got great had has have having he her here hers
    herself him himself his how however i if in into is it its itself just keep know last least
    less let like likely lot lots made make makes making many may maybe me might mine more most
    much must my myself near need never new next nice no nor not nothing now of off often on
    once one only or other others our ours ourselves out over own part people perhaps place
    please pretty quite rather read really right said same say says see seem seems seen several
    shall she should show since so some someone something sometimes soon still such sure take
    than thank thanks that the their theirs them themselves then there these they thing things
    think this those though thought through thus to today together too took toward towards try
    two under until up upon us use used using very via want was way ways we well went were what
    whatever when where whether which while who whom whose why will with within without would
    yes yet you your yours yourself yourselves year years time times day days week weeks
    article articles post posts blog link links page pages site read reading share shared
    sharing interesting useful cool awesome found look looking looks worth anyone's lol ok okay
    http https www com org net html htm php amp utm via pdf
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

_URL = re.compile(r"(?:https?://|www\.)\S+|<[^>\s]*>", re.IGNORECASE)
# Phrases end at punctuation: two words form a pair only inside one phrase.
_PHRASE = re.compile(r"[.,;:!?()\[\]{}\"“”«»„…|/\\–—•\n\t]+|\s-\s")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


@dataclass(frozen=True, slots=True)
class Item:
    """One thing a member contributed: a shared link (its address and words), a reflection,
    a question or an annotation. `source` identifies it for the caller (e.g. "share:12")."""

    member_ref: str
    at: datetime
    texts: tuple[str, ...] = ()
    url: str | None = None
    source: str = ""


def _words(phrase: str) -> list[str]:
    """The phrase's words, lower-cased; stop words become None-like gaps ("")."""
    out: list[str] = []
    for match in _WORD.finditer(phrase.replace("’", "'").casefold()):
        word = match.group(0)
        if word.endswith("'s"):
            word = word[:-2]
        if "'" in word or word in STOP_WORDS or not MIN_WORD <= len(word) <= MAX_WORD:
            out.append("")  # a gap: no pair spans it
        else:
            out.append(word)
    return out


def raw_terms(text: str) -> list[tuple[str, ...]]:
    """Keywords of `text` as 1- and 2-word tuples (before plurals are merged)."""
    found: list[tuple[str, ...]] = []
    for phrase in _PHRASE.split(_URL.sub(" . ", text)):
        words = _words(phrase)
        for index, word in enumerate(words):
            if not word:
                continue
            found.append((word,))
            if index + 1 < len(words) and words[index + 1]:
                found.append((word, words[index + 1]))
    return found


def _singular(word: str, vocabulary: Collection[str]) -> str:
    """`word` in the singular when the community also uses that form ("practices")."""
    if len(word) > 4 and word.endswith("ies") and word[:-3] + "y" in vocabulary:
        return word[:-3] + "y"
    plural = len(word) > MIN_WORD and word.endswith("s") and not word.endswith("ss")
    if plural and word[:-1] in vocabulary:
        return word[:-1]
    return word


def _strongest(entry: tuple[float, str]) -> tuple[float, int, str]:
    """Heaviest first; on a tie two words before one ("spaced practice" says more)."""
    weight, key = entry
    return (-round(weight, 9), -key.count(" "), key)


@dataclass(slots=True)
class TopicModel:
    """Every member's weighted topics in one community, from the items they contributed."""

    items: tuple[Item, ...]
    weights: dict[str, dict[str, float]] = field(default_factory=dict)  # member -> term -> w
    _norms: dict[str, float] = field(default_factory=dict)
    _item_terms: dict[int, frozenset[str]] = field(default_factory=dict)
    _vocabulary: frozenset[str] = frozenset()

    @classmethod
    def build(cls, items: Iterable[Item]) -> TopicModel:
        """Read every item once and weigh each member's terms by TF-IDF."""
        model = cls(items=tuple(items))
        parsed = [
            (item, [term for text in item.texts if text for term in raw_terms(text)])
            for item in model.items
        ]
        model._vocabulary = frozenset(t[0] for _, terms in parsed for t in terms if len(t) == 1)
        singular = {word: _singular(word, model._vocabulary) for word in model._vocabulary}
        spelled: dict[tuple[str, ...], str] = {}
        for _, terms in parsed:
            for t in terms:
                if t not in spelled:
                    spelled[t] = " ".join(singular[word] for word in t)
        counts: dict[str, dict[str, int]] = {}
        for index, (item, terms) in enumerate(parsed):
            keys = {spelled[t] for t in terms}
            if item.url:
                keys.add(domain_of(item.url).casefold())
            model._item_terms[index] = frozenset(keys)
            mine = counts.setdefault(item.member_ref, {})
            for key in keys:
                mine[key] = mine.get(key, 0) + 1
        members = len(counts)
        spread: dict[str, int] = {}
        for mine in counts.values():
            for key in mine:
                spread[key] = spread.get(key, 0) + 1
        for member, mine in counts.items():
            weighted = {
                key: (1 + math.log(n)) * math.log(members / spread[key])
                for key, n in mine.items()
                if spread[key] < members and (members < SMALL or spread[key] <= members * COMMON)
            }
            # Only terms someone else carries can pair a member; of those, the heaviest.
            shared = sorted(
                ((key, w) for key, w in weighted.items() if spread[key] > 1),
                key=lambda entry: (-entry[1], entry[0]),
            )
            model.weights[member] = kept = dict(shared[:TOP_TERMS])
            model._norms[member] = math.sqrt(sum(w * w for w in kept.values()) + PRIOR)
        return model

    @property
    def members(self) -> list[str]:
        """Members with at least one item, sorted."""
        return sorted(self.weights)

    def _shared(self, a: str, b: str) -> list[tuple[float, str]]:
        mine, theirs = self.weights.get(a, {}), self.weights.get(b, {})
        if len(theirs) < len(mine):
            mine, theirs = theirs, mine
        return [(w * theirs[key], key) for key, w in mine.items() if key in theirs]

    def similarity(self, a: str, b: str) -> float:
        """How alike two members' topics are: 0 (nothing in common) to almost 1."""
        norm = self._norms.get(a, 0.0) * self._norms.get(b, 0.0)
        if norm == 0:
            return 0.0
        return sum(product for product, _ in self._shared(a, b)) / norm

    def shared_topics(self, a: str, b: str, limit: int = TOPICS_SHOWN) -> tuple[str, ...]:
        """The terms that explain most of two members' similarity, strongest first. Two words
        they share stand for each of their words ("spaced practice", not "practice" and
        "spaced"), ranked by the strongest of the three."""
        shared = {key: weight for weight, key in self._shared(a, b)}
        ranked: dict[str, float] = {}
        covered: set[str] = set()
        for key, weight in shared.items():
            if " " in key:
                parts = key.split(" ")
                covered.update(parts)
                ranked[key] = max([weight, *(shared.get(part, 0.0) for part in parts)])
        for key, weight in shared.items():
            if " " not in key and key not in covered:
                ranked[key] = weight
        chosen: list[str] = []
        for _, key in sorted(((w, k) for k, w in ranked.items()), key=_strongest):
            if len(chosen) == limit:
                break
            if any(set(key.split(" ")) & set(other.split(" ")) for other in chosen):
                continue  # "retrieval practice" after "spaced practice" says nothing new
            chosen.append(key)
        return tuple(chosen)

    def pairs(self, candidates: Collection[str]) -> dict[tuple[str, str], float]:
        """Similarity of every pair of `candidates` sharing at least one weighed term
        (a < b), found through the terms rather than by comparing all pairs."""
        holders: dict[str, list[str]] = {}
        for member in sorted(set(candidates)):
            for key in self.weights.get(member, {}):
                holders.setdefault(key, []).append(member)
        dots: dict[tuple[str, str], float] = {}
        for key, group in holders.items():
            for i, a in enumerate(group):
                for b in group[i + 1 :]:
                    product = self.weights[a][key] * self.weights[b][key]
                    dots[(a, b)] = dots.get((a, b), 0.0) + product
        return {
            pair: dot / (self._norms[pair[0]] * self._norms[pair[1]]) for pair, dot in dots.items()
        }

    def best_item(self, member: str, topics: Collection[str]) -> Item | None:
        """The member's item that carries most of `topics` (a link if they shared one; the
        latest on a tie): what to quote when introducing them."""
        best: tuple[int, int, datetime, int] | None = None
        found: Item | None = None
        wanted = set(topics)
        for index, item in enumerate(self.items):
            if item.member_ref != member:
                continue
            rank = (len(wanted & self._item_terms[index]), item.url is not None, item.at, index)
            if best is None or rank > best:
                best, found = rank, item
        return found


@dataclass(frozen=True, slots=True)
class Introduction:
    """Two members to introduce: `member_a` < `member_b`, what they share and how strongly."""

    member_a: str
    member_b: str
    similarity: float
    topics: tuple[str, ...]


def match(
    model: TopicModel,
    candidates: Collection[str],
    *,
    met: Collection[frozenset[str]] = (),
    busy: Collection[str] = (),
    min_similarity: float = MIN_SIMILARITY,
) -> list[Introduction]:
    """Pair candidates who share topics and have not `met` (interacted or been introduced),
    each at most once, leaving out the `busy` ones (introduced lately).

    Greedy by weight: the most similar pair first (ties by refs, so the result is
    deterministic), then the most similar pair among those still free, and so on. That is not
    always the matching with the largest total similarity (it is at least half of it), but it
    gives each member their strongest still-available match, which is what an introduction
    should be; no shared topic, no introduction."""
    blocked = set(busy)
    seen = {pair for pair in met if len(pair) == 2}
    free = [member for member in candidates if member not in blocked]
    ranked = sorted(
        (
            (score, a, b)
            for (a, b), score in model.pairs(free).items()
            if score > min_similarity and frozenset((a, b)) not in seen
        ),
        key=lambda entry: (-entry[0], entry[1], entry[2]),
    )
    taken: set[str] = set()
    chosen: list[Introduction] = []
    for score, a, b in ranked:
        if a in taken or b in taken:
            continue
        topics = model.shared_topics(a, b)
        if not topics:
            continue
        taken.update((a, b))
        chosen.append(Introduction(member_a=a, member_b=b, similarity=score, topics=topics))
    return chosen


def phrase(topics: Iterable[str], conjunction: str = "and") -> str:
    """Topics as a phrase: "a", "a and b", "a, b and c"."""
    listed = list(topics)
    if len(listed) <= 1:
        return "".join(listed)
    return f"{', '.join(listed[:-1])} {conjunction} {listed[-1]}"
