"""/help, answered from the same declarations every platform registers."""

from bot.features.help.service import HelpService
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service


def build(kernel: Kernel) -> list[Service]:
    """/help."""
    return [HelpService(kernel.commands)]


FEATURE = Feature(name="help", build=build)

__all__ = ["FEATURE", "HelpService"]
