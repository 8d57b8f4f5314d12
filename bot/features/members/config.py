"""How the bot supports a community's members: `[communities.members]` in config.toml (read by
onboarding, the loop and goals too)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.config import ConfigSection, setting


@dataclass(frozen=True, slots=True)
class MemberSupportSettings:
    """How the bot supports members of one community (`[communities.members]`)."""

    welcome: bool = True  # welcome newcomers once (DM where allowed, else in the channel)
    introductions: bool = False  # invite newcomers to introduce themselves in a thread
    literacy_questions: bool = True  # may ask one short question about a link shared bare
    # when opted-in members get their weekly goal check-in
    goal_checkin: str = setting("mon 10:00", schedule=True)


SECTION = ConfigSection("members", MemberSupportSettings, community=True)
