"""Members: their profile, settings, export and forgetting."""

from bot.features.members.service import MemberService
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service


def build(kernel: Kernel) -> list[Service]:
    """/profile, /settings, /export and /forget-me."""
    return [MemberService(kernel.directory, kernel.registry)]


FEATURE = Feature(name="members", build=build)

__all__ = ["FEATURE", "MemberService"]
