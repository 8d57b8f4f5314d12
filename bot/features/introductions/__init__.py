"""Bridging introductions between members who share topics but never met."""

from bot.features.introductions.config import SECTION, IntroductionSettings
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.introductions.service import IntroductionService


def build(kernel: Kernel) -> list[Service]:
    """The weekly introductions."""
    return [
        IntroductionService(
            database=kernel.database,
            directory=kernel.directory,
            texts=kernel.texts,
            capabilities=kernel.capabilities,
        )
    ]


FEATURE = Feature(
    name="introductions", build=build, member_tables=("introductions",), settings=(SECTION,)
)

__all__ = ["FEATURE", "IntroductionService", "IntroductionSettings"]
