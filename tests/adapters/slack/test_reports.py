"""`/facilitator report` on Slack through the real bolt app: refused to members; for a
facilitator (by user group) a private answer with the report and its table, and the chart
uploaded as a PNG in a direct message."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bot.features.reports.chart import HEIGHT, WIDTH
from tests.fakes.slack_server import FakeSlack, message_event
from tests.helpers import SLACK_START as START
from tests.helpers import SlackStory, answer_text, story_config

pytestmark = pytest.mark.timeout(60)


async def test_the_report_is_private_to_facilitators_and_its_chart_comes_by_dm(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        now = int(START.timestamp())  # messages of this week (the fake's own ts are older)
        root = fake.add_message(
            "C0GENERAL", "UALICE", "what are you reading?", ts=f"{now - 7200}.000100"
        )
        await story.event(message_event("C0GENERAL", "UALICE", root["text"], root["ts"]), "Ev1")
        reply = fake.add_message(
            "C0GENERAL", "UFRAN", "a paper", ts=f"{now - 3600}.000200", thread_ts=root["ts"]
        )
        await story.event(
            message_event("C0GENERAL", "UFRAN", reply["text"], reply["ts"], thread_ts=root["ts"]),
            "Ev2",
        )
        refused = await story.command("report", "UALICE")
        assert "Only facilitators can use `/facilitator report`" in answer_text(refused)
        assert not fake.uploads
        [answer] = await story.command("report", "UFRAN")
        assert answer["response_type"] == "ephemeral"
        text = answer_text([answer])
        assert "*Facilitator report · demo · 2026-W48*" in text
        assert "Active members:* 1 of 1" in text  # alice talked; fran facilitates
        assert "*Drifting:* nobody" in text
        assert "1 thread replies; the top 10% (1 member(s)) received 100.0% of them" in text
        assert "```week      seek  sense  share  presence  total\n" in text
        assert "private answers cannot carry files" in text
        [png] = fake.uploads.values()
        assert Image.open(io.BytesIO(png)).size == (WIDTH, HEIGHT)
        [upload] = fake.calls_to("files.completeUploadExternal")
        assert upload.args["channel_id"] == "DUFRAN"
