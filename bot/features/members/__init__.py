"""Members: their profile, settings, consents, export and forgetting."""

from bot.features.members.config import SECTION, MemberSupportSettings
from bot.features.members.consent_store import (
    ConsentAnswer,
    answered,
    answers_of,
    claim_asks,
    consent_names,
    consenting,
    gives,
    withdraw_ask,
)
from bot.features.members.consents import (
    CONSENTS,
    INTRODUCTIONS,
    NAMED,
    QUOTES,
    SUBMISSIONS,
    Consent,
)
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service


def build(kernel: Kernel) -> list[Service]:
    """/profile, /settings, /export and /forget-me."""
    # Imported here, not above: every feature that quotes or names a member imports the
    # consents from this package, often from its store (loaded before its own service), while
    # the members service reads nudges, reports and goals, which read those stores. Loading
    # the service with the package would make that a cycle.
    from bot.features.members.service import MemberService

    return [MemberService(kernel.directory, kernel.registry)]


FEATURE = Feature(name="members", build=build, settings=(SECTION,), member_tables=("consents",))

__all__ = [
    "CONSENTS",
    "FEATURE",
    "INTRODUCTIONS",
    "NAMED",
    "QUOTES",
    "SUBMISSIONS",
    "Consent",
    "ConsentAnswer",
    "MemberSupportSettings",
    "answered",
    "answers_of",
    "claim_asks",
    "consent_names",
    "consenting",
    "gives",
    "withdraw_ask",
]
