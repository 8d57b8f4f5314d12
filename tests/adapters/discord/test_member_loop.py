"""The member loop through the real discord.py client and a fake Discord: /seek posts a
thread and an answer in it is tracked; a bare link gets one literacy question by DM."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.storage.schema import question_answers, questions
from tests.helpers import DiscordStory, World

pytestmark = pytest.mark.timeout(20)

Story = Callable[..., DiscordStory]


async def test_seek_opens_a_thread_whose_replies_are_tracked_answers(
    world: World, story_for: Story
) -> None:
    async with story_for(world) as story:
        option = {"name": "question", "type": 3, "value": "Who knows a primer on interviews?"}
        sent = await world.fake.interaction(world.general, world.alice, "seek", [option])
        await world.fake.wait_for_request("POST", rf"/interactions/{sent['id']}/[^/]+/callback")
        [answer] = world.fake.interaction_responses[sent["token"]]
        assert "Posted your question (Q1) in #" in answer["data"]["content"]
        await story.app.drain()

        async def posted() -> tuple[str | None, str | None]:
            async with story.app.database.reading() as conn:
                row = (await conn.execute(select(questions.c.channel, questions.c.message))).one()
            return row.channel, row.message

        deadline = asyncio.get_running_loop().time() + 5
        while (await posted())[1] is None:
            assert asyncio.get_running_loop().time() < deadline, "the question was never posted"
            await asyncio.sleep(0.01)
        _, thread = await posted()
        assert thread is not None
        assert world.fake.channels[thread]["type"] == 11  # a thread on the question
        assert "asks the network" in world.fake.messages[world.general][thread]["content"]
        await world.fake.message(thread, world.fran, "Try the one by Kvale, it is short")

        async def answerers() -> list[str]:
            await story.app.drain()
            async with story.app.database.reading() as conn:
                rows = (await conn.execute(select(question_answers.c.member_ref))).all()
            return [row.member_ref for row in rows]

        deadline = asyncio.get_running_loop().time() + 5
        while not await answerers():  # the gateway event arrives in its own time
            assert asyncio.get_running_loop().time() < deadline, "the answer was never tracked"
            await asyncio.sleep(0.01)
        assert await answerers() == [f"discord:/{world.fran}"]


async def test_a_bare_link_gets_a_literacy_question_and_a_welcome_by_dm(
    world: World, story_for: Story
) -> None:
    async with story_for(world) as story:
        await world.fake.message(world.general, world.alice, "https://example.org/x")
        await world.fake.wait_for_request("POST", r"/users/@me/channels")
        dm_channel = world.fake.dm_channels[world.alice]
        sent = await world.fake.wait_for_request("POST", rf"/channels/{dm_channel}/messages")
        await story.app.drain()
        deadline = asyncio.get_running_loop().time() + 5
        while len(world.fake.messages.get(dm_channel, {})) < 2:
            assert asyncio.get_running_loop().time() < deadline, "two DMs never arrived"
            await asyncio.sleep(0.01)
        texts = [m["content"] for m in world.fake.messages[dm_channel].values()]
        assert sent
        assert any("without a note" in text and "/annotate L1" in text for text in texts)
        assert any("Welcome to **school**" in text for text in texts)
