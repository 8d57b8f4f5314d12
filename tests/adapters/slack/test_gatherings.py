"""Live sessions on Slack: the announcement's RSVP buttons, and the wait-list by DM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.config import parse_config
from bot.core.config import Config
from tests.fakes.slack_server import FakeSlack, block_actions, slash_command, view_submission
from tests.helpers import SlackStory, answer_text, story_config

pytestmark = pytest.mark.timeout(60)

LINK = "https://meet.example.org/talk"


def with_announcements(fake: FakeSlack, tmp_path: Path) -> Config:
    base = story_config(fake, tmp_path)
    data: dict[str, Any] = {
        "storage": {"url": base.storage.url},
        "web": {"enabled": False},
        "fetch": {"previews": False},
        "console": {"enabled": False},
        "slack": {"mode": "socket", "api_base_url": fake.api_url},
        "communities": [
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "slack": {
                    "channels": ["general", "resources"],
                    "announcements": "general",
                    "facilitator_roles": ["facilitators"],
                },
                # Members who first press a button are welcomed too: not these stories.
                "members": {"welcome": False},
            }
        ],
    }
    return parse_config(data, source="story.toml")


async def _press(story: SlackStory, fake: FakeSlack, value: str, user: str) -> str:
    url = fake.new_response_url()
    press = block_actions(
        value, user=user, channel="C0GENERAL", message_ts=fake.next_ts(), response_url=url
    )
    await fake.wait_ack(await fake.push_envelope("interactive", press))
    await story.app.drain()
    return answer_text(fake.responses[url.rsplit("/", 1)[1]])


async def test_members_rsvp_with_the_buttons_of_a_slack_announcement(
    fake: FakeSlack, tmp_path: Path
) -> None:
    fake.add_user("UBOB", "bob")
    async with SlackStory(fake, with_announcements(fake, tmp_path)) as story:
        answer = await story.command(
            f'event create title="Guest talk" when="2026-12-03 17:00" where={LINK} capacity=1 '
            "confirm=yes",
            "UFRAN",
        )
        assert "Created event 1" in answer_text(answer)
        [announcement] = fake.posted("C0GENERAL")
        shown = json.dumps(announcement)
        assert LINK not in shown  # the meeting link stays private
        assert "/facilitator rsvp 1 going" in shown  # commands as Slack types them
        assert "<!date^1796313600^" in shown  # each reader's own zone
        blocks = announcement["blocks"]
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
        [actions] = [b for b in blocks if b["type"] == "actions"]
        values = [element["value"] for element in actions["elements"]]
        assert values == ["rsvp 1 going", "rsvp 1 maybe", "rsvp 1 no"]

        going = await _press(story, fake, "rsvp 1 going", "UALICE")
        assert "You're going to" in going and "Guest talk" in going
        assert LINK in going
        full = await _press(story, fake, "rsvp 1 going", "UBOB")
        assert "wait-list" in full and LINK not in full
        await _press(story, fake, "rsvp 1 no", "UALICE")
        dms = [p for p in fake.posted() if p.get("channel") == "DUBOB"]
        assert len(dms) == 1 and "A place opened up" in json.dumps(dms[0])
        assert LINK in json.dumps(dms[0])


async def test_event_create_with_no_arguments_opens_a_form_then_asks_to_confirm(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, with_announcements(fake, tmp_path)) as story:
        url = fake.new_response_url()
        form = slash_command(
            "/facilitator", "event create", user="UFRAN", channel="C0GENERAL", response_url=url
        )
        await fake.wait_ack(await fake.push_envelope("slash_commands", form))
        await story.app.drain()
        [view] = fake.views
        names = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
        assert names[:3] == ["title", "when", "when__time"] and "where" in names  # pickers
        submitted = view_submission(
            view, {"title": "Kick-off", "when": "2026-12-03", "when__time": "18:00"}, user="UFRAN"
        )
        await fake.wait_ack(await fake.push_envelope("interactive", submitted))
        await story.app.drain()
        [preview] = fake.responses[url.rsplit("/", 1)[1]]
        assert "Thu 03 Dec 2026 18:00 CET (Europe/Berlin) · 2026-12-03 17:00 UTC" in answer_text(
            [preview]
        )
        assert fake.posted("C0GENERAL") == []  # nothing is saved before the confirmation
        [actions] = [b for b in preview["blocks"] if b["type"] == "actions"]
        confirm = actions["elements"][0]["value"]
        assert confirm.endswith("confirm=yes")
        done = await _press(story, fake, confirm, "UFRAN")
        assert "Created event 1" in done
        assert len(fake.posted("C0GENERAL")) == 1


async def test_a_members_zone_comes_from_their_slack_profile_unless_they_set_one(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, with_announcements(fake, tmp_path)) as story:
        shown = answer_text(await story.command("timezone", "UALICE"))
        assert "Your time zone: Europe/Berlin" in shown  # from Slack's users.info
        assert "Your time zone: America/New_York" in answer_text(
            await story.command("timezone", "UFRAN")
        )
        await story.command("timezone Asia/Tokyo", "UALICE")
        shown = answer_text(await story.command("timezone", "UALICE"))
        assert "Your time zone: Asia/Tokyo" in shown  # her own choice wins over the profile
        shown = answer_text(await story.command("event suggest-times", "UFRAN"))
        assert "of the 2 member(s) with a known zone" in shown
