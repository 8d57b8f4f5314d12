"""Onboarding: the welcome a newcomer gets, once, and the community's threads."""

from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.onboarding.service import (
    QUOTES_ASKED,
    THREAD_OPENED,
    OnboardingService,
    thread_opened,
)


def build(kernel: Kernel) -> list[Service]:
    """The welcome."""
    kernel.outbox.on_delivered(THREAD_OPENED, thread_opened)
    service = OnboardingService(directory=kernel.directory, clock=kernel.clock)
    kernel.outbox.on_parked(QUOTES_ASKED, service.question_refused)
    return [service]


FEATURE = Feature(name="onboarding", build=build, member_tables=("welcomes",))

__all__ = ["FEATURE", "OnboardingService"]
