"""Forms for commands: a session is scheduled with date and time pickers, and a refused value
keeps the form open with the problem under its field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.slack import commands as slack_commands
from tests.adapters.slack.test_gatherings import with_announcements
from tests.fakes.slack_server import FakeSlack, slash_command, view_submission
from tests.helpers import SlackStory, answer_text, eventually

pytestmark = pytest.mark.timeout(60)


async def open_form(story: SlackStory, text: str, user: str) -> tuple[dict[str, Any], str]:
    url = story.fake.new_response_url()
    form = slash_command("/facilitator", text, user=user, channel="C0GENERAL", response_url=url)
    await story.fake.wait_ack(await story.fake.push_envelope("slash_commands", form))
    await eventually(lambda: bool(story.fake.views))
    return story.fake.views[-1], url


async def submit(
    story: SlackStory, view: dict[str, Any], values: dict[str, str], user: str
) -> dict[str, Any] | None:
    envelope = await story.fake.push_envelope(
        "interactive", view_submission(view, values, user=user)
    )
    ack = await story.fake.wait_ack(envelope)
    await story.app.drain()
    return ack


async def test_a_facilitator_schedules_a_session_with_date_and_time_pickers(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, with_announcements(fake, tmp_path)) as story:
        view, url = await open_form(story, "event create", "UFRAN")
        elements = {block["block_id"]: block["element"]["type"] for block in view["blocks"]}
        assert elements["when"] == "datepicker"
        assert elements["when" + slack_commands.TIME_SUFFIX] == "timepicker"
        assert elements["title"] == "plain_text_input"

        only_a_date = await submit(
            story, view, {"title": "Guest talk", "when": "2026-12-03"}, "UFRAN"
        )
        assert only_a_date is not None and only_a_date["response_action"] == "errors"
        assert set(only_a_date["errors"]) == {"when" + slack_commands.TIME_SUFFIX}
        no_title = await submit(
            story, view, {"title": " ", "when": "2026-12-03", "when__time": "17:00"}, "UFRAN"
        )
        assert no_title is not None and set(no_title["errors"]) == {"title"}
        rid = url.rsplit("/", 1)[1]
        assert fake.responses[rid] == []  # nothing ran yet

        ok = await submit(
            story,
            view,
            {"title": "Guest talk", "when": "2026-12-03", "when__time": "17:00", "capacity": "12"},
            "UFRAN",
        )
        assert ok is None or "response_action" not in ok
        await eventually(lambda: bool(fake.responses[rid]))
        preview = answer_text(fake.responses[rid])
        assert "Guest talk" in preview and "17:00" in preview


async def test_a_whole_number_field_refuses_words_in_the_form(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, with_announcements(fake, tmp_path)) as story:
        view, _ = await open_form(story, "event create", "UFRAN")
        refused = await submit(
            story,
            view,
            {"title": "Talk", "when": "2026-12-03", "when__time": "17:00", "capacity": "a dozen"},
            "UFRAN",
        )
        assert refused is not None and set(refused["errors"]) == {"capacity"}
        assert "whole number" in refused["errors"]["capacity"]
