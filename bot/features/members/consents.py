"""Every permission a member can give, once, with its default.

A consent is a yes or no the member gives about being made visible to others: quoted, named,
introduced. Anything that quotes, names or publishes a member is off until they say yes; a
member who never answered has the default. `/profile` lists them, `/settings <key>=on|off`
changes them, `/export` includes them and `/forget-me` removes them (the `consents` table).
Preferences about how the bot treats the member themselves (reactions, DMs, nudges) are
settings, not consents.
"""

from __future__ import annotations

from dataclasses import dataclass

QUOTES = "quotes"
NAMED = "named"
INTRODUCTIONS = "introductions"
SUBMISSIONS = "submissions"


@dataclass(frozen=True, slots=True)
class Consent:
    """One permission: its `/settings` key, its default and what it allows."""

    key: str
    default: bool
    help: str  # the `/settings` option's help (English, like every command's help)


CONSENTS: tuple[Consent, ...] = (
    Consent(
        QUOTES,
        False,
        "May the digest and introductions quote what you write in the community's channels, "
        "with your name? on or off",
    ),
    Consent(
        NAMED,
        False,
        "May the digest, reports and session planning name you (as a sharer, a newcomer)? "
        "on or off",
    ),
    Consent(
        INTRODUCTIONS,
        False,
        "Once a week, introduce you by DM to a member who shares your topics? on or off",
    ),
    Consent(
        SUBMISSIONS,
        False,
        "May the digest list the titles of your assignment submissions (never a grade)? "
        "on or off",
    ),
)
BY_KEY = {consent.key: consent for consent in CONSENTS}


def consent(key: str) -> Consent:
    """The consent called `key` (a typo is a bug, not a silent "no")."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"no consent {key!r}; known: {', '.join(BY_KEY)}") from None
