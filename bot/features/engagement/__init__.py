"""Engagement: what counts as activity per stage, the drift rule and fairness figures, read
from the tables that already hold the activity. A library for nudges, reports and members: it
builds no service of its own."""

from bot.features.engagement.rules import (
    EARLIER_PERIODS,
    NOTHING,
    STAGES,
    Activity,
    Drift,
    DriftRules,
    answered_at,
    gini,
    top_share,
)
from bot.features.engagement.store import (
    NUDGED_MEMBER,
    activity,
    drifting_members,
    interactions,
    new_voices,
    replies_received,
    settle_nudge_answers,
)
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service


def build(kernel: Kernel) -> list[Service]:
    """Nothing runs: engagement is read by other features."""
    return []


FEATURE = Feature(name="engagement", build=build)

__all__ = [
    "EARLIER_PERIODS",
    "FEATURE",
    "NOTHING",
    "NUDGED_MEMBER",
    "STAGES",
    "Activity",
    "Drift",
    "DriftRules",
    "activity",
    "answered_at",
    "drifting_members",
    "gini",
    "interactions",
    "new_voices",
    "replies_received",
    "settle_nudge_answers",
    "top_share",
]
