"""Seek, sense and share prompts posted on each community's schedules."""

from bot.features.prompts.service import PromptService
from bot.features.prompts.store import posts_of
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service


def build(kernel: Kernel) -> list[Service]:
    """Prompt schedules and their posts."""
    return [
        PromptService(
            database=kernel.database,
            directory=kernel.directory,
            scheduler=kernel.scheduler,
            perform=kernel.perform,
            texts=kernel.texts,
        )
    ]


FEATURE = Feature(name="prompts", build=build)

__all__ = ["FEATURE", "PromptService", "posts_of"]
