"""The welcome comes first and once: before the critical-literacy question a newcomer's first
bare link earns, and also for a member whose first contact with the bot is a command."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.clock import ManualClock
from bot.core.config import Config
from tests.helpers import ConsoleStory

pytestmark = [pytest.mark.timeout(60)]


def welcome_config(config_for: Callable[..., Config], **members: Any) -> Config:
    community: dict[str, Any] = {
        "name": "demo",
        "timezone": "Europe/Berlin",
        "console": {"channels": ["general", "resources"], "digest": "general"},
        "members": {"welcome": True, **members},
    }
    return config_for(communities=[community])


async def test_a_newcomers_first_bare_link_gets_the_welcome_before_the_question(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(welcome_config(config_for), clock, tmp_path) as story:
        said = await story.say("nina: https://example.org/spacing")
        welcome = said.find("✉ to nina: Welcome to demo!")
        question = said.find("✉ to nina: ", welcome + 1)
        assert welcome != -1, said
        assert question != -1 and "L1" in said[question:], said
        assert said.count("Welcome to demo!") == 1


async def test_a_member_whose_first_contact_is_a_command_is_welcomed_once_first(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(welcome_config(config_for), clock, tmp_path) as story:
        said = await story.say("omar: /profile")
        assert said.count("✉ to omar: Welcome to demo!") == 1, said
        assert said.find("Welcome to demo!") < said.find("Reflections"), said
        clock.advance(timedelta(minutes=5))
        assert "Welcome" not in await story.say("omar: hello everyone")
        assert "Welcome" not in await story.say("omar: /profile")


async def test_the_welcome_asks_whether_the_digest_may_quote_the_newcomer(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(welcome_config(config_for), clock, tmp_path) as story:
        said = await story.say("nina: hello everyone")
        welcome = said.split("✉ to nina: ")[1]
        assert "May the weekly digest quote" in welcome
        assert "/settings quotes=on" in welcome and "/settings quotes=off" in welcome
        assert "→ /settings quotes=on]" in welcome and "→ /settings quotes=off]" in welcome
        await story.say("nina: /settings quotes=off")
        assert "• quotes: no" in await story.say("nina: /settings")
