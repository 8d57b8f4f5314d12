"""Forum channels on Discord with the real client against the fake: a forum's posts are
threads whose starter message lives in the thread; they are captured live and by backfill
like a text channel's threads, and the bot reacts where the starter is."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.helpers import REACTION_PUT, DiscordStory, World, eventually

pytestmark = pytest.mark.timeout(60)

Story = Callable[..., DiscordStory]


def forum_reaction(thread: str, message: str) -> str:
    """The reaction route on a message in a forum post's own thread channel."""
    return REACTION_PUT.format(message=message).replace(r"/channels/\d+/", f"/channels/{thread}/")


async def test_a_watched_forums_posts_and_replies_are_captured_live_and_by_backfill(
    world: World, story_for: Story
) -> None:
    forum = world.fake.add_channel(world.guild, "papers", forum=True)
    section = {"channels": ["general", "papers"]}
    async with story_for(world, section=section) as story:
        post = await world.fake.post_in_forum(
            forum, world.alice, "Spacing", "A good read: https://example.org/spacing"
        )
        await world.fake.wait_for_request("PUT", forum_reaction(post["id"], post["id"]))
        reply = await world.fake.message(post["id"], world.fran, "and https://example.org/more")
        await world.fake.wait_for_request("PUT", forum_reaction(post["id"], reply["id"]))
        await story.app.drain()
    # While the bot is down: a new post in the forum
    missed = world.fake.forum_post(forum, world.fran, "Missed", "https://example.org/missed")
    async with story_for(world, section=section) as story:
        await world.fake.wait_for_request("PUT", forum_reaction(missed["id"], missed["id"]))
        await eventually(lambda: story.platform.backfills >= 1)
        await story.app.drain()
        shared = await story.shared_urls()
    assert [url for url, _ in shared] == [
        "https://example.org/spacing",
        "https://example.org/more",
        "https://example.org/missed",
    ]
    # a post belongs to its forum: the community's channel, the thread its own
    assert shared[0][1] == f"discord:{world.guild}/{forum}/{post['id']}"
    assert not world.fake.requests_to("GET", rf"/channels/{forum}/messages")
