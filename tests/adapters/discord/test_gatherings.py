"""Live sessions on Discord: a facilitator schedules one with a slash command, members press
the announcement's RSVP buttons, the wait-list moves up by DM."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.storage.schema import rsvps
from tests.helpers import DiscordStory, World, eventually

Story = Callable[..., DiscordStory]
pytestmark = pytest.mark.timeout(60)
# Members whose first contact is a command are welcomed by DM too: not these stories.
NO_WELCOME = {"welcome": False}

LINK = "https://meet.example.org/talk"


def _create_options(**values: Any) -> list[dict[str, Any]]:
    kinds = {"capacity": 4}
    return [
        {
            "type": 1,
            "name": "create",
            "options": [
                {"type": kinds.get(name, 3), "name": name, "value": value}
                for name, value in values.items()
            ],
        }
    ]


async def _press(world: World, user: str, message: dict[str, Any], label: str) -> dict[str, Any]:
    [row] = message["components"]
    button = next(b for b in row["components"] if b["label"] == label)
    pressed = await world.fake.interaction(
        world.general, user, "", component=button["custom_id"], message=message
    )
    await world.fake.wait_for_request("POST", rf"/interactions/{pressed['id']}/[^/]+/callback")
    [answer] = world.fake.interaction_responses[pressed["token"]]
    return answer


async def test_members_rsvp_with_the_announcements_buttons(world: World, story_for: Story) -> None:
    bob = world.fake.add_member(world.guild, name="bob")
    async with story_for(world, members=NO_WELCOME) as story:
        options = _create_options(
            title="Guest talk", when="2026-11-26 17:00", where=LINK, capacity=1, confirm="yes"
        )
        asked = await world.fake.interaction(world.general, world.fran, "host", options)
        await world.fake.wait_for_request("POST", rf"/channels/{world.general}/messages")
        await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
        [announcement] = [
            m for m in world.fake.messages[world.general].values() if m.get("components")
        ]
        assert "Guest talk" in str(announcement["embeds"] or announcement["content"])
        assert LINK not in str(announcement)  # the meeting link stays private
        assert "<t:1795708800" in str(announcement)  # each reader's own zone
        labels = [b["label"] for b in announcement["components"][0]["components"]]
        assert labels == ["Going", "Maybe", "Can't"]

        going = await _press(world, world.alice, announcement, "Going")
        assert going["data"]["flags"] == 64 and LINK in going["data"]["content"]
        full = await _press(world, bob, announcement, "Going")
        assert "wait-list" in full["data"]["content"] and LINK not in full["data"]["content"]

        await _press(world, world.alice, announcement, "Can't")
        await story.app.drain()
        await world.fake.wait_for_request("POST", r"/users/@me/channels")
        dm = world.fake.dm_channels[bob]
        [told] = await world.fake.wait_for_request("POST", rf"/channels/{dm}/messages")
        text = str(told.body)
        assert "A place opened up" in text and LINK in text


async def test_sessions_are_mirrored_as_scheduled_events_and_kept_in_step(
    world: World, story_for: Story
) -> None:
    async with story_for(world) as story:
        options = _create_options(
            title="Guest talk", when="2026-11-26 17:00", where=LINK, duration="90m", confirm="yes"
        )
        await world.fake.interaction(world.general, world.fran, "host", options)
        [created] = await world.fake.wait_for_request(
            "POST", rf"/guilds/{world.guild}/scheduled-events"
        )
        await story.app.drain()
        body = created.body
        assert body["name"] == "Guest talk" and body["entity_type"] == 3
        assert body["scheduled_start_time"].startswith("2026-11-26T16:00:00")
        assert body["scheduled_end_time"].startswith("2026-11-26T17:30:00")
        assert LINK not in str(body)  # the whole server sees a scheduled event
        [mirrored] = world.fake.scheduled_events[world.guild].values()

        edit = [
            {
                "type": 1,
                "name": "edit",
                "options": [
                    {"type": 4, "name": "id", "value": 1},
                    {"type": 3, "name": "when", "value": "2026-11-26 18:00"},
                ],
            }
        ]
        await world.fake.interaction(world.general, world.fran, "host", edit)
        [patched] = await world.fake.wait_for_request(
            "PATCH", rf"/guilds/{world.guild}/scheduled-events/{mirrored['id']}"
        )
        assert patched.body["scheduled_start_time"].startswith("2026-11-26T17:00:00")
        await story.app.drain()
        assert len(world.fake.scheduled_events[world.guild]) == 1

        cancel = [{"type": 1, "name": "cancel", "options": [{"type": 4, "name": "id", "value": 1}]}]
        await world.fake.interaction(world.general, world.fran, "host", cancel)
        await world.fake.wait_for_request(
            "DELETE", rf"/guilds/{world.guild}/scheduled-events/{mirrored['id']}"
        )
        await story.app.drain()
        assert world.fake.scheduled_events[world.guild] == {}


async def test_a_server_at_discords_cap_of_100_events_keeps_the_session_unmirrored(
    world: World, story_for: Story, caplog: pytest.LogCaptureFixture
) -> None:
    world.fake.scheduled_events[world.guild] = {
        str(n): {"id": str(n), "name": f"other {n}"} for n in range(100)
    }
    async with story_for(world) as story:
        options = _create_options(title="Guest talk", when="2026-11-26 17:00", confirm="yes")
        asked = await world.fake.interaction(world.general, world.fran, "host", options)
        await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
        await world.fake.wait_for_request("GET", rf"/guilds/{world.guild}/scheduled-events")
        await story.app.drain()
    assert not world.fake.requests_to("POST", rf"/guilds/{world.guild}/scheduled-events")
    assert "already has 100 scheduled events" in caplog.text
    [answer] = world.fake.interaction_responses[asked["token"]]
    assert "Created event 1" in answer["data"]["content"]


def _dm(world: World, user: str) -> str:
    channel = world.fake.dm_channels.get(user)
    return "\n".join(m["content"] for m in world.fake.messages.get(channel or "", {}).values())


async def test_interested_on_the_mirrored_event_is_an_rsvp_with_the_wait_list(
    world: World, story_for: Story
) -> None:
    bob = world.fake.add_member(world.guild, name="bob")
    async with story_for(world, members=NO_WELCOME) as story:
        options = _create_options(
            title="Guest talk", when="2026-11-26 17:00", where=LINK, capacity=1, confirm="yes"
        )
        await world.fake.interaction(world.general, world.fran, "host", options)
        await world.fake.wait_for_request("POST", rf"/guilds/{world.guild}/scheduled-events")
        await story.app.drain()
        [mirrored] = world.fake.scheduled_events[world.guild].values()
        assert "0 going, by the bot's count" in mirrored["description"]

        await world.fake.interested(world.guild, mirrored["id"], world.alice)
        await eventually(lambda: "You're going to" in _dm(world, world.alice))
        assert LINK in _dm(world, world.alice) and "Interested" in _dm(world, world.alice)
        await eventually(lambda: "1 going" in mirrored["description"])
        await world.fake.interested(world.guild, mirrored["id"], bob)
        await eventually(lambda: "wait-list" in _dm(world, bob))
        assert LINK not in _dm(world, bob)
        # unmarking is "no" for who was going, and the wait-list moves up
        await world.fake.interested(world.guild, mirrored["id"], world.alice, remove=True)
        await eventually(lambda: "A place opened up" in _dm(world, bob))
        await story.app.drain()
        async with story.app.database.reading() as conn:
            rows = (await conn.execute(select(rsvps.c.member_ref, rsvps.c.status))).all()
        assert sorted((ref.split("/")[-1], status) for ref, status in rows) == sorted(
            [(world.alice, "no"), (bob, "going")]
        )
        assert "1 going" in mirrored["description"]


async def test_a_weekly_series_in_a_zone_without_dst_carries_discords_recurrence_rule(
    world: World, story_for: Story
) -> None:
    async with story_for(world) as story:
        options = _create_options(
            title="Office hours", when="2026-11-26 17:00", tz="UTC", repeat="weekly", confirm="yes"
        )
        await world.fake.interaction(world.general, world.fran, "host", options)
        [created] = await world.fake.wait_for_request(
            "POST", rf"/guilds/{world.guild}/scheduled-events"
        )
        rule = created.body["recurrence_rule"]
        assert (rule["frequency"], rule["interval"], rule["by_weekday"]) == (2, 1, [3])  # Thu
        assert rule["start"].startswith("2026-11-26T17:00:00")
        # in the community's zone (Berlin) a weekly series drifts against UTC: no rule
        berlin = _create_options(
            title="Reading group", when="2026-11-27 18:00", repeat="weekly", confirm="yes"
        )
        await world.fake.interaction(world.general, world.fran, "host", berlin)
        created = await world.fake.wait_for_request(
            "POST", rf"/guilds/{world.guild}/scheduled-events", count=2
        )
        assert "recurrence_rule" not in created[-1].body
        await story.app.drain()
