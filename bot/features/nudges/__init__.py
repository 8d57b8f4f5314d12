"""Nudges: one small, concrete step offered by direct message to members who drift away."""

from bot.features.nudges.config import SECTION, NudgeSettings
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.nudges.service import SENT_HOOK, NudgeService, nudge_sent


def build(kernel: Kernel) -> list[Service]:
    """The hourly nudge job and the digest's open invitation."""
    kernel.outbox.on_delivered(SENT_HOOK, nudge_sent)
    return [
        NudgeService(
            database=kernel.database,
            directory=kernel.directory,
            texts=kernel.texts,
            clock=kernel.clock,
            capabilities=kernel.capabilities,
        )
    ]


FEATURE = Feature(name="nudges", build=build, member_tables=("nudges",), settings=(SECTION,))

__all__ = ["FEATURE", "NudgeService", "NudgeSettings"]
