"""Personal goals: set, shown, reached, and a check-in by direct message."""

from bot.features.goals.store import active_goal
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.goals.service import GoalService


def build(kernel: Kernel) -> list[Service]:
    """Goals and their check-ins."""
    return [
        GoalService(
            database=kernel.database,
            directory=kernel.directory,
            texts=kernel.texts,
        )
    ]


FEATURE = Feature(name="goals", build=build, member_tables=("goals",))

__all__ = ["FEATURE", "GoalService", "active_goal"]
