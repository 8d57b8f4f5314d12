"""Members: their profile, settings, export and forgetting."""

from bot.features.members.config import SECTION, MemberSupportSettings
from bot.runtime.feature import Feature, Kernel
from bot.runtime.service import Service

# isort: split
# Services last: what other features import from here is bound before they load.
from bot.features.members.service import MemberService


def build(kernel: Kernel) -> list[Service]:
    """/profile, /settings, /export and /forget-me."""
    return [MemberService(kernel.directory, kernel.registry)]


FEATURE = Feature(name="members", build=build, settings=(SECTION,))

__all__ = ["FEATURE", "MemberService", "MemberSupportSettings"]
