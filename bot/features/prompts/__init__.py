"""Seek, sense and share prompts posted on each community's schedules."""

from bot.features.prompts.config import SECTION, PromptSettings
from bot.features.prompts.store import posts_of
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.prompts.service import POSTED_HOOK, PromptService, prompt_posted


def build(kernel: Kernel) -> list[Service]:
    """Prompt schedules and their posts."""
    kernel.outbox.on_delivered(POSTED_HOOK, prompt_posted)
    return [
        PromptService(
            database=kernel.database,
            directory=kernel.directory,
            scheduler=kernel.scheduler,
            texts=kernel.texts,
        )
    ]


FEATURE = Feature(name="prompts", build=build, settings=(SECTION,))

__all__ = ["FEATURE", "PromptService", "PromptSettings", "posts_of"]
