"""Bridging introductions between members who share topics but never met."""

from bot.features.introductions.service import IntroductionService
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service


def build(kernel: Kernel) -> list[Service]:
    """The weekly introductions."""
    return [
        IntroductionService(
            database=kernel.database,
            directory=kernel.directory,
            perform=kernel.perform,
            texts=kernel.texts,
            capabilities=kernel.capabilities,
        )
    ]


FEATURE = Feature(name="introductions", build=build, member_tables=("introductions",))

__all__ = ["FEATURE", "IntroductionService"]
