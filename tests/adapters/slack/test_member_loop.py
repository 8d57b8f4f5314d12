"""The member loop through the real bolt app and a fake Slack: a member who joins a watched
channel is welcomed once by DM, even when Slack delivers the join twice."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.fakes.slack_server import FakeSlack
from tests.helpers import SlackStory, story_config

pytestmark = pytest.mark.timeout(60)


async def test_a_member_who_joins_is_welcomed_once_by_direct_message(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        joined = {
            "type": "member_joined_channel",
            "user": "UALICE",
            "channel": "C0GENERAL",
            "channel_type": "C",
            "team": "T0001",
            "event_ts": fake.next_ts(),
        }
        await story.event(joined, "EvJoin")
        await story.event(joined, "EvJoin", retry=1)  # Slack retried: same delivery
        await story.event(dict(joined, event_ts=fake.next_ts()), "EvJoin2")  # joined again
        await story.app.drain()
        welcomes = [
            call.args
            for call in fake.calls_to("chat.postMessage")
            if "Welcome to" in str(call.args.get("text"))
        ]
        assert len(welcomes) == 1
        assert welcomes[0]["channel"] == "DUALICE"
        assert "/facilitator goal set" in str(welcomes[0]["text"])


async def test_direct_messages_name_the_slash_command_the_workspace_configured(
    fake: FakeSlack, tmp_path: Path
) -> None:
    base = story_config(fake, tmp_path)
    config = replace(base, slack=replace(base.slack, command="/learn"))
    async with SlackStory(fake, config) as story:
        joined = {
            "type": "member_joined_channel",
            "user": "UALICE",
            "channel": "C0GENERAL",
            "channel_type": "C",
            "team": "T0001",
            "event_ts": fake.next_ts(),
        }
        await story.event(joined, "EvJoin")
        await story.app.drain()
        welcome = next(
            str(call.args.get("text"))
            for call in fake.calls_to("chat.postMessage")
            if "Welcome to" in str(call.args.get("text"))
        )
    assert "/learn goal set" in welcome and "/facilitator" not in welcome
