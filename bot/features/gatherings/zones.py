"""Time zones to suggest: every zone of tzdata's `zone1970.tab`, found by its name, its city,
or a country's name or code (`iso3166.tab`); pure, loaded once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from bot.core.suggestions import Suggestion, label

UTC_ZONE = "UTC"


@dataclass(frozen=True, slots=True)
class Zone:
    """One suggestible zone: its IANA name, its city and the countries it serves."""

    name: str
    city: str
    countries: tuple[tuple[str, str], ...]  # (code, name)

    def words(self) -> str:
        """What a member may type to find it, lower-cased."""
        countries = " ".join(f"{code} {country}" for code, country in self.countries)
        return f"{self.name} {self.city} {countries}".lower()

    def suggestion(self) -> Suggestion:
        """The zone as a suggestion: its name, and where it is."""
        shown = self.city if self.city.lower() != self.name.lower() else ""
        where = ", ".join(c for _, c in self.countries[:3] if c.lower() != shown.lower())
        return Suggestion(self.name, label(self.name, ", ".join(p for p in (shown, where) if p)))


def _table(name: str) -> list[list[str]]:
    text = resources.files("tzdata").joinpath("zoneinfo", name).read_text("utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@cache
def zones() -> tuple[Zone, ...]:
    """Every zone of zone1970.tab (and UTC), in the table's order."""
    countries = {row[0]: row[1] for row in _table("iso3166.tab") if len(row) >= 2}
    found = [Zone(UTC_ZONE, "Coordinated Universal Time", ())]
    for row in _table("zone1970.tab"):
        if len(row) < 3:
            continue
        codes = row[0].split(",")
        city = row[2].rsplit("/", 1)[-1].replace("_", " ")
        found.append(Zone(row[2], city, tuple((code, countries.get(code, code)) for code in codes)))
    return tuple(found)


def _rank(zone: Zone, typed: str) -> int | None:
    """How well `typed` finds `zone` (lower is better), None when it does not."""
    if not typed:
        return 5
    name, city = zone.name.lower(), zone.city.lower()
    codes = {code.lower() for code, _ in zone.countries}
    if typed in (name, city) or typed in codes:
        return 0
    if name.startswith(typed) or city.startswith(typed) or name.split("/")[-1].startswith(typed):
        return 1
    if any(country.lower().startswith(typed) for _, country in zone.countries):
        return 2
    words = zone.words()
    if all(word in words for word in typed.split()):
        return 3
    return None


def suggest_zones(
    typed: str, *, mine: str | None, community: str, limit: int = 25
) -> list[Suggestion]:
    """Zones matching what was typed, best match first; among equal matches (all of them when
    nothing is typed) the caller's zone, UTC and the community's come first."""
    wanted = " ".join(typed.lower().replace("_", " ").split())
    first = list(dict.fromkeys(z for z in (mine, UTC_ZONE, community) if z))
    known = {zone.name for zone in zones()}
    # A zone tzdata keeps only as a link (Europe/Oslo) is still the caller's: offer it too.
    extra = [Zone(name, name.rsplit("/", 1)[-1].replace("_", " "), ()) for name in first]
    candidates = [*(z for z in extra if z.name not in known), *zones()]
    ranked: list[tuple[int, int, int, Zone]] = []
    for position, zone in enumerate(candidates):
        rank = _rank(zone, wanted)
        if rank is None and " " in wanted:
            rank = _rank(zone, wanted.replace(" ", "_"))
        if rank is None:
            continue
        preferred = first.index(zone.name) if zone.name in first else len(first)
        ranked.append((rank, preferred, position, zone))
    ranked.sort(key=lambda item: item[:3])
    return [zone.suggestion() for *_, zone in ranked[:limit]]
