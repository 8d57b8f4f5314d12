"""/help, answered from the same declarations every platform registers."""

from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.help.service import HelpService


def build(kernel: Kernel) -> list[Service]:
    """/help."""
    return [HelpService(kernel.commands)]


FEATURE = Feature(name="help", build=build)

__all__ = ["FEATURE", "HelpService"]
