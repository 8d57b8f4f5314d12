"""The features, listed once, in the order their event handlers run.

Adding a feature is a folder in bot/features/ and one line here. The order matters only where
a feature declares it (`after`: it reads what another wrote in the same batch); start-up checks
those declarations, and the test suite runs with the rest of the list shuffled.
"""

from bot.features import (
    assignments,
    conversation,
    digest,
    engagement,
    feeds,
    gatherings,
    goals,
    help,
    home,
    introductions,
    links,
    loop,
    members,
    nudges,
    onboarding,
    prompts,
    reports,
)
from bot.runtime.feature import Feature

FEATURES: tuple[Feature, ...] = (
    conversation.FEATURE,
    links.FEATURE,
    loop.FEATURE,
    onboarding.FEATURE,
    goals.FEATURE,
    introductions.FEATURE,
    nudges.FEATURE,
    engagement.FEATURE,
    members.FEATURE,
    reports.FEATURE,
    digest.FEATURE,
    prompts.FEATURE,
    feeds.FEATURE,
    gatherings.FEATURE,
    assignments.FEATURE,
    home.FEATURE,
    help.FEATURE,
)

__all__ = ["FEATURES"]
