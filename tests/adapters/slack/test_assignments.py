"""Assignments on Slack with the real slack-bolt app against the fake: a full cycle from the
assignment to the final grade with the dialogue relayed by direct message, and the App Home's
assignments panel for members and facilitators."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.adapters.slack.test_home import dm_texts, home_buttons, home_text, open_home
from tests.fakes.slack_server import FakeSlack
from tests.helpers import SlackStory, answer_text, eventually, story_config

pytestmark = pytest.mark.timeout(60)


async def test_a_full_cycle_with_a_dialogue_by_direct_message_and_the_home_panel(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        said = answer_text(
            await story.command(
                'assignment create "Blog post 1" "2026-12-10 17:00" '
                'rubric="Depth: thin|deep; Sources: few|many" scale=letter',
                "UFRAN",
            )
        )
        assert "Created *Blog post 1* (A1)" in said, said
        said = answer_text(await story.command("assignment create x y", "UALICE"))
        assert "facilitator" in said.lower()

        await open_home(story, "UALICE", "EvA1")
        assert "*Blog post 1* · due" in home_text(fake, "UALICE")
        assert "submit A1" in home_buttons(fake, "UALICE")

        said = answer_text(await story.command("submit A1 https://alice.example/post", "UALICE"))
        assert "Depth" in said and "Sources" in said, said
        await story.command("self-assess level A1 1 2", "UALICE")
        await story.command("self-assess level A1 2 1", "UALICE")
        said = answer_text(
            await story.command(
                'self-assess finish A1 strengths="clear" improve="more sources" grade=A', "UALICE"
            )
        )
        match = re.search(r"\((S\d+)\)", said)
        assert match is not None, said
        sub = match.group(1)

        await open_home(story, "UFRAN", "EvA2")
        assert "Waiting for a grade: 1" in home_text(fake, "UFRAN")
        assert "*Blog post 1* by alice · proposes *A*" in home_text(fake, "UFRAN")
        buttons = home_buttons(fake, "UFRAN")
        assert buttons.index(f"grade show {sub}") + 1 == buttons.index("grade queue")
        said = answer_text(await story.command("grade queue", "UFRAN"))
        assert sub in said and "proposes *A*" in said

        await story.command(f"grade propose {sub} B The sources need a second look", "UFRAN")
        await eventually(lambda: "proposes *B* instead of your *A*" in dm_texts(fake, "UALICE"))
        await story.command(f"discuss {sub} I cited six papers at the end", "UALICE")
        await eventually(lambda: "I cited six papers" in dm_texts(fake, "UFRAN"))
        # a third member sees nothing of it
        said = answer_text(await story.command(f"discuss {sub} hello", "UBOB"))
        assert "that you can see" in said
        await story.command(f"grade final {sub} A Fair point", "UFRAN")
        await eventually(lambda: "is graded: *A*" in dm_texts(fake, "UALICE"))

        await open_home(story, "UALICE", "EvA3")
        assert "graded: *A*" in home_text(fake, "UALICE")
        said = answer_text(await story.command("submission A1", "UALICE"))
        assert "I cited six papers" in said and "Final grade *A*" in said
