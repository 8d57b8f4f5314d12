"""The member loop: seek (questions), sense (reflections, annotations, critical-literacy
questions) and share (`/share`), and the digest's reflections and open questions."""

from bot.features.loop.store import annotations_of
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.loop.service import QUESTION_POSTED, LoopService, question_posted


def build(kernel: Kernel) -> list[Service]:
    """The loop's service."""
    kernel.outbox.on_delivered(QUESTION_POSTED, question_posted)
    return [LoopService(directory=kernel.directory)]


FEATURE = Feature(
    name="loop",
    build=build,
    after=("links",),  # it asks about the shares links just stored
    member_tables=(
        "questions",
        "question_answers",
        "reflections",
        "link_annotations",
        "literacy_asks",
    ),
)

__all__ = ["FEATURE", "LoopService", "annotations_of"]
