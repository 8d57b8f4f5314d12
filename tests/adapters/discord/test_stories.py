"""Stories: the real discord.py client, the real application, a fake Discord on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from adapters.discord.platform import intents
from bot.core.actions import Action, Content, Edit, Post, React, SendDirect, Unreact
from bot.core.clock import ManualClock
from bot.core.commands import CommandSpec, Param, ParamKind, Role
from bot.core.platform import PlatformError
from bot.core.refs import ChannelRef, MemberRef, MessageRef
from bot.runtime.service import CommandHandler, Invocation, Service, Transaction
from bot.storage.schema import consents, links, messages, reactions
from tests.helpers import REACTION_PUT, DiscordStory, World, make_config, make_world

pytestmark = pytest.mark.timeout(20)
# Members whose first contact is a command are welcomed by DM too: not these stories.
NO_WELCOME = {"welcome": False}

Story = Callable[..., DiscordStory]


class Announcements(Service):
    """A facilitator-only command group, as later services will declare them."""

    name = "announcements"

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        spec = CommandSpec(
            name="announce",
            help="Post an announcement",
            role=Role.FACILITATOR,
            subcommands=(
                CommandSpec(
                    name="post",
                    help="Post text in the announcements channel",
                    params=(Param(name="text", help="What to say", rest=True),),
                ),
                CommandSpec(name="list", help="List recent announcements"),
            ),
        )
        return ((spec, {("announce", "post"): self.post, ("announce", "list"): self.list}),)

    async def post(self, call: Invocation, tx: Transaction) -> list[Action]:
        channel = ChannelRef.parse(str(call.event.reply_to.channel))
        return [
            Post(channel=channel, content=Content(text=str(call.arguments["text"]))),
            call.answer("Posted."),
        ]

    async def list(self, call: Invocation, tx: Transaction) -> list[Action]:
        return [call.answer("Nothing yet.")]


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    """Poll `check` until it holds (bounded)."""
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.01)


async def test_login_and_identify_with_the_intended_intents(world: World, story_for: Story) -> None:
    async with story_for(world):
        identify = await world.fake.wait_identified()
    assert identify["intents"] == intents().value
    wanted = intents()
    assert wanted.message_content and wanted.guild_messages and wanted.dm_messages
    assert not wanted.members and not wanted.presences  # no chunking, small member cache
    asked = [f"{r.method} {r.path}" for r in world.fake.requests[:3]]
    assert asked == ["GET /users/@me", "GET /oauth2/applications/@me", "GET /gateway/bot"]


@pytest.mark.parametrize("zlib_stream", [True, False], ids=["zlib-stream", "plain-json"])
async def test_a_shared_link_is_stored_and_acknowledged(
    zlib_stream: bool, story_for: Story
) -> None:
    world = await make_world(zlib_stream=zlib_stream)
    try:
        async with story_for(world) as story:
            sent = await world.fake.message(
                world.resources, world.alice, "see https://Example.org/a?utm_source=x"
            )
            await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=sent["id"]))
            await story.app.drain()
            assert await story.shared_urls() == [
                (
                    "https://example.org/a",
                    f"discord:{world.guild}/{world.resources}/{sent['id']}",
                )
            ]
    finally:
        await world.fake.stop()


async def test_the_bots_own_echo_and_other_bots_are_ignored(world: World, story_for: Story) -> None:
    other_bot = world.fake.add_member(world.guild, name="feedbot", bot=True)
    async with story_for(world) as story:
        channel = ChannelRef("discord", world.guild, world.resources)
        posted = await story.platform.perform(
            Post(channel=channel, content=Content(text="Read https://example.org/bot"))
        )
        assert posted is not None
        await world.fake.message(world.resources, other_bot, "news https://example.org/feed")
        human = await world.fake.message(world.resources, world.alice, "https://example.org/h")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=human["id"]))
        await story.app.drain()
        assert [url for url, _ in await story.shared_urls()] == ["https://example.org/h"]
    assert len(world.fake.requests_to("PUT", r"/channels/.*/reactions/.*")) == 1


async def test_commands_are_registered_once_and_resynced_only_on_change(
    world: World, story_for: Story
) -> None:
    path = rf"/applications/\d+/guilds/{world.guild}/commands"
    async with story_for(world):
        pass
    [put] = world.fake.requests_to("PUT", path)
    registered = {command["name"]: command for command in put.body}
    assert {"help", "profile", "settings", "export", "forget-me"} <= set(registered)
    settings = {o["name"]: o for o in registered["settings"]["options"]}
    assert settings["quotes"]["type"] == 5 and settings["quotes"]["required"] is False
    forget = registered["forget-me"]["options"][0]
    assert forget["choices"] == [{"name": "confirm", "value": "confirm"}]
    assert world.fake.requests_to("PUT", r"/applications/\d+/commands") == []  # guild-scoped

    async with story_for(world):  # same commands: Discord's copy is compared, not re-sent
        pass
    assert len(world.fake.requests_to("PUT", path)) == 1
    assert len(world.fake.requests_to("GET", path)) == 2

    async with story_for(world, services=[Announcements()]):  # a new command: one more sync
        pass
    puts = world.fake.requests_to("PUT", path)
    assert len(puts) == 2
    announce = next(c for c in puts[-1].body if c["name"] == "announce")
    assert [(o["type"], o["name"]) for o in announce["options"]] == [(1, "post"), (1, "list")]
    assert announce["options"][0]["options"][0]["type"] == 3


async def test_a_slash_command_is_answered_privately(world: World, story_for: Story) -> None:
    async with story_for(world):
        sent = await world.fake.interaction(world.general, world.alice, "help")
        await world.fake.wait_for_request("POST", rf"/interactions/{sent['id']}/[^/]+/callback")
    [answer] = world.fake.interaction_responses[sent["token"]]
    assert answer["type"] == 4
    assert answer["data"]["flags"] == 64  # ephemeral
    assert "/profile" in answer["data"]["content"]


@pytest.mark.parametrize("by", ["role name", "role id", "user id"])
async def test_facilitator_commands_refuse_members_and_serve_facilitators(
    by: str, world: World, story_for: Story
) -> None:
    section = {
        "role name": {"facilitator_roles": ["Facilitators"]},
        "role id": {"facilitator_roles": [world.facilitator_role]},
        "user id": {"facilitator_roles": [], "facilitators": [world.fran]},
    }[by]
    async with story_for(world, services=[Announcements()], section=section):
        options = [
            {
                "type": 1,
                "name": "post",
                "options": [{"type": 3, "name": "text", "value": "Meet at 5"}],
            }
        ]
        refused = await world.fake.interaction(world.general, world.alice, "announce", options)
        allowed = await world.fake.interaction(world.general, world.fran, "announce", options)
        await world.fake.wait_for_request("POST", rf"/interactions/{allowed['id']}/[^/]+/callback")
        await world.fake.wait_for_request("POST", rf"/channels/{world.general}/messages")
    [no] = world.fake.interaction_responses[refused["token"]]
    assert "facilitator" in no["data"]["content"].lower()
    [yes] = world.fake.interaction_responses[allowed["token"]]
    assert yes["data"]["content"] == "Posted."
    posts = world.fake.requests_to("POST", rf"/channels/{world.general}/messages")
    assert [p.body["content"] for p in posts] == ["Meet at 5"]
    assert posts[0].body["allowed_mentions"] == {"parse": []}


async def test_slow_answers_are_deferred_then_edited(world: World, story_for: Story) -> None:
    async with story_for(world, defer_after=0.0) as story:
        sent = await world.fake.interaction(world.general, world.alice, "profile")
        await world.fake.wait_for_request("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")
        await story.app.drain()
    kinds = [r["kind"] for r in world.fake.interaction_responses[sent["token"]]]
    assert kinds == ["callback", "edit_original"]
    deferred = world.fake.interaction_responses[sent["token"]][0]
    assert deferred == {"kind": "callback", "type": 5, "data": {"flags": 64}}


async def test_a_button_press_runs_its_command(world: World, story_for: Story) -> None:
    async with story_for(world):
        asked = await world.fake.interaction(world.general, world.alice, "forget-me")
        await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
        [question] = world.fake.interaction_responses[asked["token"]]
        [row] = question["data"]["components"]
        [button] = row["components"]
        assert button["custom_id"] == "forget-me confirm" and button["style"] == 4
        message = world.fake.message_payload(world.general, str(world.fake.bot_id), "confirm?")
        pressed = await world.fake.interaction(
            world.general, world.alice, "", component=button["custom_id"], message=message
        )
        await world.fake.wait_for_request("POST", rf"/interactions/{pressed['id']}/[^/]+/callback")
    [done] = world.fake.interaction_responses[pressed["token"]]
    assert done["type"] == 4 and "confirm" not in done["data"]["content"].lower()


async def test_a_refused_quoting_question_is_asked_again_in_the_answer_to_a_command(
    world: World, story_for: Story, clock: ManualClock
) -> None:
    """A member the bot knew before is asked about quotes by DM; when their DMs are closed the
    question never reached them, so it is not recorded as asked: their next command's private
    answer asks it (and their messages meanwhile try no more DMs)."""
    async with story_for(world, members=NO_WELCOME) as story:  # seen before quoting was asked
        await world.fake.message(world.general, world.alice, "hello everyone")
        await story.app.drain()
    clock.set(clock.now() + timedelta(minutes=5))
    world.fake.refuse_dms.add(world.alice)
    async with story_for(world) as story:
        await world.fake.message(world.general, world.alice, "back with a thought")
        await world.fake.wait_for_request("POST", r"/users/@me/channels")
        await story.app.drain()
        async with story.app.database.reading() as conn:
            asked = (await conn.execute(select(consents))).all()
        assert asked == []  # never reached her: she counts as not asked
        dm_tries = len(world.fake.requests_to("POST", r"/users/@me/channels"))
        await world.fake.message(world.general, world.alice, "another thought")
        await story.app.drain()
        assert len(world.fake.requests_to("POST", r"/users/@me/channels")) == dm_tries
        sent = await world.fake.interaction(world.general, world.alice, "profile")
        await eventually(lambda: len(world.fake.interaction_responses.get(sent["token"], [])) >= 2)
        await story.app.drain()
    said = str(world.fake.interaction_responses[sent["token"]])
    assert "asked only once" in said and "settings quotes=on" in said
    assert "quotes" in said  # her profile came too
    async with story_for(world) as story:
        async with story.app.database.reading() as conn:
            [row] = (await conn.execute(select(consents))).all()
    assert row.asked_at is not None and row.given is None


async def test_export_goes_by_dm_or_privately_when_dms_are_refused(
    world: World, story_for: Story
) -> None:
    async with story_for(world, members=NO_WELCOME) as story:
        sent = await world.fake.interaction(world.general, world.alice, "export")
        await world.fake.wait_for_request("POST", r"/users/@me/channels")
        dm_channel = world.fake.dm_channels[world.alice]
        [message] = await world.fake.wait_for_request("POST", rf"/channels/{dm_channel}/messages")
        assert next(iter(message.body["files"])).endswith(".json")

        world.fake.refuse_dms.add(world.fran)
        refused = await world.fake.interaction(world.general, world.fran, "export")
        await world.fake.wait_for_request("POST", rf"/interactions/{refused['id']}/[^/]+/callback")
        await story.app.drain()
    told = str(world.fake.interaction_responses[sent["token"]])
    assert "sent you your data as a file in a direct message" in told
    answers = world.fake.interaction_responses[refused["token"]]
    assert answers[0]["data"]["flags"] == 64 and answers[0]["files"]  # the file, privately
    said = str(answers)
    assert "don't accept direct messages" in said and "sent you" not in said


async def test_reconnect_resumes_and_replayed_events_are_not_stored_twice(
    world: World, story_for: Story
) -> None:
    async with story_for(world) as story:
        first = await world.fake.message(world.resources, world.alice, "https://example.org/1")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=first["id"]))
        await world.fake.reconnect(replay=3)  # Discord asks to reconnect; RESUME replays
        await eventually(lambda: len(world.fake.resumes) == 1)
        second = await world.fake.message(world.resources, world.alice, "https://example.org/2")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=second["id"]))
        await eventually(lambda: story.platform.backfills >= 2)
        await story.app.drain()
        assert [url for url, _ in await story.shared_urls()] == [
            "https://example.org/1",
            "https://example.org/2",
        ]
    assert world.fake.resumes[0]["session_id"] == "session-1"
    assert len(world.fake.identifies) == 1
    assert len(world.fake.requests_to("PUT", REACTION_PUT.format(message=first["id"]))) == 1


async def test_messages_sent_while_down_are_backfilled_after_restart(
    world: World, story_for: Story
) -> None:
    async with story_for(world) as story:
        seen = await world.fake.message(world.resources, world.alice, "https://example.org/seen")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=seen["id"]))
        await story.app.drain()
    # While the bot is down: two messages, and a reply in a thread on the first of them.
    missed = world.fake.post(world.resources, world.alice, "https://example.org/missed")
    thread = world.fake.add_thread(world.resources, missed["id"], "about missed")
    reply = world.fake.post(thread, world.fran, "and https://example.org/reply")
    later = world.fake.post(world.general, world.fran, "https://example.org/later")
    async with story_for(world) as story:
        for message in (missed, reply, later):
            await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=message["id"]))
        await eventually(lambda: story.platform.backfills >= 1)
        await story.app.drain()
        shared = await story.shared_urls()
    assert [url for url, _ in shared] == [
        "https://example.org/seen",
        "https://example.org/missed",
        "https://example.org/reply",
        "https://example.org/later",
    ]
    assert shared[2][1] == f"discord:{world.guild}/{world.resources}/{reply['id']}"
    assert len(world.fake.requests_to("PUT", REACTION_PUT.format(message=seen["id"]))) == 1


async def test_backfill_reads_a_guilds_active_threads_once_for_all_its_channels(
    world: World, story_for: Story
) -> None:
    async with story_for(world) as story:
        seen = await world.fake.message(world.resources, world.alice, "https://example.org/seen")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=seen["id"]))
        await story.app.drain()
    later = world.fake.post(world.general, world.fran, "https://example.org/later")
    active, archived = r"/guilds/\d+/threads/active", r"/channels/\d+/threads/archived/public"
    active_before = len(world.fake.requests_to("GET", active))
    archived_before = len(world.fake.requests_to("GET", archived))
    async with story_for(world) as story:
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=later["id"]))
        await eventually(lambda: story.platform.backfills >= 1)
        passes = story.platform.backfills
        # Active threads are listed per guild: one read serves both watched channels.
        assert len(world.fake.requests_to("GET", active)) - active_before == passes
        # Archived threads are listed per channel.
        assert len(world.fake.requests_to("GET", archived)) - archived_before == 2 * passes


async def test_a_429_is_waited_out_as_retry_after_says(
    world: World, story_for: Story, caplog: pytest.LogCaptureFixture
) -> None:
    world.fake.rate_limit("PUT", r"/channels/\d+/messages/\d+/reactions/.*", retry_after=0.4)
    async with story_for(world):
        sent = await world.fake.message(world.resources, world.alice, "https://example.org/slow")
        first, second = await world.fake.wait_for_request(
            "PUT", REACTION_PUT.format(message=sent["id"]), count=2
        )
    assert second.at - first.at >= 0.4
    waits = [r for r in caplog.records if "rate limited" in r.getMessage()]
    assert waits and waits[0].levelno == logging.WARNING and "0.40" in waits[0].getMessage()


async def test_a_bad_token_is_a_clear_error(world: World, story_for: Story) -> None:
    story = story_for(world)
    story.platform._token = "wrong"
    with pytest.raises(PlatformError, match="DISCORD_TOKEN was refused"):
        await story.app.start()
    await story.app.stop()
    assert world.fake.identifies == []


async def test_set_up_problems_are_reported_one_line_each(
    story_for: Story, caplog: pytest.LogCaptureFixture
) -> None:
    # No message-content intent, a channel that does not exist, and no right to react.
    world = await make_world(application_flags=0)
    everyone = world.fake.guilds[world.guild]["roles"][0]
    without = (1 << 3) | (1 << 6)  # ADMINISTRATOR (it implies all), ADD_REACTIONS
    everyone["permissions"] = str(int(everyone["permissions"]) & ~without)
    try:
        with caplog.at_level(logging.INFO, logger="facilitator.discord"):
            async with story_for(world, section={"channels": ["general", "nowhere"]}):
                pass
    finally:
        await world.fake.stop()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("Message Content Intent" in line for line in errors)
    assert any("'nowhere'" in line and "create it" in line for line in errors)
    assert any("#general" in line and "Add Reactions" in line for line in errors)


async def test_a_missing_manage_events_is_one_warning_per_server(
    story_for: Story, caplog: pytest.LogCaptureFixture
) -> None:
    # Manage Events is a server permission: one line for the server, no advice per channel.
    world = await make_world()
    everyone = world.fake.guilds[world.guild]["roles"][0]
    without = (1 << 3) | (1 << 33)  # ADMINISTRATOR (it implies all), MANAGE_EVENTS
    everyone["permissions"] = str(int(everyone["permissions"]) & ~without)
    try:
        with caplog.at_level(logging.INFO, logger="facilitator.discord"):
            async with story_for(world, section={"channels": ["general", "resources"]}):
                pass
    finally:
        await world.fake.stop()
    about = [r for r in caplog.records if "Manage Events" in r.getMessage()]
    assert len(about) == 1, [r.getMessage() for r in about]
    assert about[0].levelno == logging.WARNING
    assert "Server Settings" in about[0].getMessage()


async def test_edits_deletes_and_reactions_reach_the_services(
    world: World, story_for: Story
) -> None:
    async with story_for(world) as story:
        sent = await world.fake.message(world.resources, world.alice, "no link yet")
        await world.fake.edit(world.resources, sent["id"], "now https://example.org/edited")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=sent["id"]))
        await story.app.drain()
        assert [url for url, _ in await story.shared_urls()] == ["https://example.org/edited"]

        for remove in (False, True, False):  # add, take back, add again
            await world.fake.react(world.resources, sent["id"], world.fran, "👍", remove=remove)
            await asyncio.sleep(0.02)
        await world.fake.reconnect(replay=4)  # the replay must change nothing
        await eventually(lambda: len(world.fake.resumes) == 1)
        await eventually(lambda: story.platform.backfills >= 2)
        await story.app.drain()
        async with story.app.database.reading() as conn:
            rows = (await conn.execute(select(reactions.c.member_ref, reactions.c.emoji))).all()
        assert [tuple(row) for row in rows] == [(f"discord:/{world.fran}", "thumbsup")]

        await world.fake.delete(world.resources, sent["id"])
        deadline = asyncio.get_running_loop().time() + 5
        while await story.shared_urls():  # the delete arrives through the gateway
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
            await story.app.drain()


async def test_messages_missed_during_a_reconnect_are_backfilled(
    world: World, story_for: Story
) -> None:
    async with story_for(world) as story:
        first = await world.fake.message(world.resources, world.alice, "https://example.org/a")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=first["id"]))
        await story.app.drain()
        await world.fake.drop_connections()  # an outage; the session is forgotten too
        world.fake.sessions.clear()
        missed = world.fake.post(world.resources, world.alice, "https://example.org/b")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=missed["id"]))
    assert len(world.fake.identifies) == 2  # RESUME was refused, so it identified again
    assert len(world.fake.requests_to("PUT", REACTION_PUT.format(message=first["id"]))) == 1


async def test_replies_in_threads_and_new_threads(world: World, story_for: Story) -> None:
    async with story_for(world) as story:
        channel = ChannelRef("discord", world.guild, world.general)
        prompt = await story.platform.perform(
            Post(
                channel=channel,
                content=Content(text="What did you learn this week?"),
                start_thread="Reflections",
            )
        )
        assert prompt is not None
        assert world.fake.channels[prompt.message]["name"] == "Reflections"
        reply = await story.platform.perform(
            Post(channel=channel, content=Content(text="Mine first."), thread=prompt)
        )
        assert reply is not None and reply.thread == prompt.message
        assert reply.message in world.fake.messages[prompt.message]
        # A member answers in the thread: the reflection belongs to #general, thread = prompt.
        answer = await world.fake.message(prompt.message, world.alice, "https://example.org/r")
        await world.fake.wait_for_request(
            "PUT", rf"/channels/{prompt.message}/messages/{answer['id']}/reactions/.*"
        )
        await story.app.drain()
        [(_, ref)] = await story.shared_urls()
        assert ref == f"discord:{world.guild}/{world.general}/{answer['id']}"
        # A reply to a message that has no thread yet opens one.
        plain = world.fake.post(world.general, world.alice, "question")
        target = MessageRef(channel, plain["id"])
        await story.platform.perform(
            Post(channel=channel, content=Content(text="ok"), thread=target)
        )
        assert world.fake.channels[plain["id"]]["type"] == 11
        # A member opens a thread the bot was never told about: its replies still count.
        root = world.fake.post(world.resources, world.alice, "thread root")
        theirs = world.fake.add_thread(world.resources, root["id"], "members' own")
        inside = await world.fake.message(theirs, world.fran, "https://example.org/inside")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=inside["id"]))
        await story.app.drain()
        assert (await story.shared_urls())[-1][1] == (
            f"discord:{world.guild}/{world.resources}/{inside['id']}"
        )


async def test_a_private_thread_in_a_watched_channel_is_not_collected(
    world: World, story_for: Story
) -> None:
    # Only those invited read a private thread: its words were not written for the community,
    # so they are neither kept as the channel's nor ever quoted in a digest.
    async with story_for(world) as story:
        root = world.fake.post(world.resources, world.alice, "a private chat")
        hidden = world.fake.add_thread(world.resources, root["id"], "just us", private=True)
        await world.fake.message(hidden, world.alice, "https://example.org/private my worry")
        root = world.fake.post(world.resources, world.alice, "an open one")
        public = world.fake.add_thread(world.resources, root["id"], "everyone")
        sentinel = await world.fake.message(public, world.alice, "https://example.org/open")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=sentinel["id"]))
        await story.app.drain()
        urls = [url for url, _ in await story.shared_urls()]
        assert "https://example.org/open" in urls
        assert "https://example.org/private" not in urls
        async with story.app.database.reading() as conn:
            kept = (await conn.execute(select(messages.c.text))).scalars().all()
        assert not any("my worry" in (text or "") for text in kept)


async def test_edit_and_unreact_act_on_the_bots_own_messages(
    world: World, story_for: Story
) -> None:
    async with story_for(world) as story:
        channel = ChannelRef("discord", world.guild, world.general)
        posted = await story.platform.perform(Post(channel=channel, content=Content(text="v1")))
        assert posted is not None
        await story.platform.perform(Edit(message=posted, content=Content(text="**v2**")))
        assert world.fake.messages[world.general][posted.message]["content"] == "**v2**"
        await story.platform.perform(React(message=posted, emoji="tada"))
        await story.platform.perform(Unreact(message=posted, emoji="tada"))
        assert world.fake.reactions[(world.general, posted.message)] == set()
        with pytest.raises(PlatformError, match="unknown emoji"):
            await story.platform.perform(React(message=posted, emoji="no-such-emoji"))
        gone = MessageRef(ChannelRef("discord", world.guild, world.general), "1")
        with pytest.raises(PlatformError, match="Unknown Message"):
            await story.platform.perform(React(message=gone, emoji="tada"))


async def test_a_command_in_the_bots_dms_is_answered(world: World, story_for: Story) -> None:
    async with story_for(world) as story:
        channel = await story.platform.perform(
            SendDirect(member=MemberRef("discord", "", world.alice), content=Content(text="Hi!"))
        )
        assert channel is not None and channel.channel.space == ""
        dm = channel.channel.channel
        asked = await world.fake.interaction(dm, world.alice, "profile")
        await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
        await story.app.drain()
    [answer] = world.fake.interaction_responses[asked["token"]]
    assert answer["data"]["flags"] == 64 and answer["data"]["content"]


async def test_the_weekly_digest_is_posted_as_embeds(
    world: World, story_for: Story, clock: ManualClock
) -> None:
    clock.set(datetime.now(UTC))  # the fake stamps messages with the real time
    digest = world.fake.add_channel(world.guild, "digest")
    async with story_for(world, section={"digest": "digest"}) as story:
        for path in ("networks", "connectivism"):
            sent = await world.fake.message(
                world.resources, world.alice, f"worth reading: https://example.org/{path}"
            )
            await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=sent["id"]))
        await story.app.drain()
        week = [
            {
                "type": 1,
                "name": "post",
                "options": [
                    {"type": 3, "name": "week", "value": "this"},
                    {"type": 3, "name": "confirm", "value": "yes"},  # the week is not over
                ],
            }
        ]
        asked = await world.fake.interaction(world.general, world.fran, "digest", week)
        [posted] = await world.fake.wait_for_request("POST", rf"/channels/{digest}/messages")
        await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
    [embed, *_] = posted.body["embeds"]
    assert embed["title"] and "https://example.org/networks" in embed["description"]
    assert "https://example.org/connectivism" in embed["description"]
    [answer] = world.fake.interaction_responses[asked["token"]]
    assert "flags" not in answer["data"] or answer["data"]["flags"] == 0  # a public answer


async def test_a_payload_that_cannot_be_translated_is_logged_and_skipped(
    world: World, story_for: Story, caplog: pytest.LogCaptureFixture
) -> None:
    async with story_for(world) as story:
        broken = world.fake.message_payload(world.resources, world.alice, "https://example.org/x")
        broken["timestamp"] = "yesterday-ish"  # discord.py tolerates it; we cannot
        await world.fake.dispatch("MESSAGE_CREATE", broken)
        fine = await world.fake.message(world.resources, world.alice, "https://example.org/ok")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=fine["id"]))
        await story.app.drain()
        assert [url for url, _ in await story.shared_urls()] == ["https://example.org/ok"]
    assert any("could not handle a gateway event" in r.getMessage() for r in caplog.records)


async def test_without_a_configured_guild_commands_are_global(
    world: World, story_for: Story
) -> None:
    async with story_for(world, section={"guild": None}):  # the bot's only guild is used
        link = await world.fake.message(world.resources, world.alice, "https://example.org/g")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=link["id"]))
    assert len(world.fake.requests_to("PUT", r"/applications/\d+/commands")) == 1
    assert world.fake.requests_to("PUT", r"/applications/\d+/guilds/\d+/commands") == []


class Zones(Service):
    """A command whose choice list is too long for Discord to list."""

    name = "zones"

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        zones = (*(f"zone-{i:02d}" for i in range(30)), "europe-berlin")
        param = Param(name="zone", help="Your zone", kind=ParamKind.CHOICE, choices=zones)
        spec = CommandSpec(name="zone", help="Set your zone", params=(param,))
        return ((spec, {("zone",): self.zone}),)

    async def zone(self, call: Invocation, tx: Transaction) -> list[Action]:
        return [call.answer(f"Zone {call.arguments['zone']}.")]


async def test_long_choice_lists_autocomplete(world: World, story_for: Story) -> None:
    async with story_for(world, services=[Zones()]):
        typed = [{"type": 3, "name": "zone", "value": "berl", "focused": True}]
        asked = await world.fake.interaction(
            world.general, world.alice, "zone", typed, autocomplete=True
        )
        await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
        chosen = [{"type": 3, "name": "zone", "value": "europe-berlin"}]
        ran = await world.fake.interaction(world.general, world.alice, "zone", chosen)
        await world.fake.wait_for_request("POST", rf"/interactions/{ran['id']}/[^/]+/callback")
    [suggested] = world.fake.interaction_responses[asked["token"]]
    assert suggested == {
        "kind": "callback",
        "type": 8,
        "data": {"choices": [{"name": "europe-berlin", "value": "europe-berlin"}]},
    }
    [answer] = world.fake.interaction_responses[ran["token"]]
    assert answer["data"]["content"] == "Zone europe-berlin."


async def test_a_replayed_interaction_is_neither_run_nor_acknowledged_twice(
    world: World, story_for: Story
) -> None:
    async with story_for(world, defer_after=0.0) as story:
        asked = await world.fake.interaction(world.general, world.alice, "help")
        callback = rf"/interactions/{asked['id']}/[^/]+/callback"
        await world.fake.wait_for_request("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")
        await world.fake.reconnect(replay=2)
        await eventually(lambda: len(world.fake.resumes) == 1)
        later = await world.fake.message(world.resources, world.alice, "https://example.org/z")
        await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=later["id"]))
        await story.app.drain()
    assert len(world.fake.requests_to("POST", callback)) == 1
    kinds = [r["kind"] for r in world.fake.interaction_responses[asked["token"]]]
    assert kinds == ["callback", "edit_original"]


async def test_two_communities_in_two_guilds_never_mix(
    world: World, db_url: str, clock: ManualClock
) -> None:
    other_guild = world.fake.add_guild("Evening class")
    other_channel = world.fake.add_channel(other_guild, "links")
    bob = world.fake.add_member(other_guild, name="bob")
    config = make_config(
        db_url,
        discord={"api_base_url": world.fake.api_base},
        console={"enabled": False},
        communities=[
            {"name": "day", "discord": {"guild": world.guild, "channels": ["resources"]}},
            {"name": "evening", "discord": {"guild": other_guild, "channels": ["links"]}},
        ],
    )
    async with DiscordStory(config, clock) as story:
        day = await world.fake.message(world.resources, world.alice, "https://example.org/day")
        night = await world.fake.message(other_channel, bob, "https://example.org/night")
        for sent in (day, night):
            await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=sent["id"]))
        await story.app.drain()
        async with story.app.database.reading() as conn:
            rows = (await conn.execute(select(links.c.community, links.c.canonical_url))).all()
    assert sorted(tuple(row) for row in rows) == [
        ("day", "https://example.org/day"),
        ("evening", "https://example.org/night"),
    ]
    for guild in (world.guild, other_guild):  # each guild gets the commands, at once
        assert world.fake.requests_to("PUT", rf"/applications/\d+/guilds/{guild}/commands")
