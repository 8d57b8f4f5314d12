"""`/report` on Discord through the real discord.py client: refused to members; for a
facilitator (by role) a private answer with the report, and the chart as a PNG in a DM."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers import DiscordStory, World

pytestmark = pytest.mark.timeout(20)
# Members whose first contact is a command are welcomed by DM too: not these stories.
NO_WELCOME = {"welcome": False}


async def test_the_report_is_private_to_facilitators_and_its_chart_comes_by_dm(
    world: World, story_for: Callable[..., DiscordStory]
) -> None:
    async with story_for(world, members=NO_WELCOME):
        refused = await world.fake.interaction(world.general, world.alice, "report")
        await world.fake.wait_for_request("POST", rf"/interactions/{refused['id']}/[^/]+/callback")
        asked = await world.fake.interaction(
            world.general, world.fran, "report", [{"name": "week", "type": 3, "value": "2026-W47"}]
        )
        await world.fake.wait_for_request("POST", r"/users/@me/channels")
        dm_channel = world.fake.dm_channels[world.fran]
        [dm] = await world.fake.wait_for_request("POST", rf"/channels/{dm_channel}/messages")
    [no] = world.fake.interaction_responses[refused["token"]]
    assert "Only facilitators can use" in no["data"]["content"] and no["data"]["flags"] == 64
    [answer] = world.fake.interaction_responses[asked["token"]]
    assert answer["data"]["flags"] == 64  # only the facilitator sees it
    shown = answer["data"]["content"]
    assert "Facilitator report · school · 2026-W47" in shown
    assert "```\nweek      seek  sense  share  presence  total\n" in shown
    assert [name for name in dm.body["files"]] == ["report-school-2026-W47.png"]
