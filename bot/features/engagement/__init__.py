"""Engagement: what counts as activity per stage, the drift rule and fairness figures, read
from the tables that already hold the activity. A library for nudges, reports and members: it
builds no service of its own."""

from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service


def build(kernel: Kernel) -> list[Service]:
    """Nothing runs: engagement is read by other features."""
    return []


FEATURE = Feature(name="engagement", build=build)

__all__ = ["FEATURE"]
