"""Native on Discord: hidden facilitator commands, autocomplete, context menus, forms."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text

from adapters.discord.commands import command_payloads, suggestion_choices
from bot.cli import describe
from bot.core.actions import Content, SendDirect
from bot.core.clock import ManualClock
from bot.core.commands import CommandSpec, Param, ParamKind
from bot.core.communities import CommunityDirectory
from bot.core.config import Secrets
from bot.core.refs import MemberRef
from bot.core.suggestions import Suggestion
from bot.features.feeds.store import add_feed
from bot.features.gatherings.zones import suggest_zones
from bot.features.members import NAMED
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.service import Service
from bot.storage.database import Database
from bot.storage.schema import link_annotations, links, reflections, shares
from tests.adapters.discord.conftest import discord_config
from tests.helpers import REACTION_PUT, START, DiscordStory, World, allow, make_config

pytestmark = pytest.mark.timeout(30)

Story = Callable[..., DiscordStory]
Payload = dict[str, Any]
FACILITATOR_COMMANDS = {"assignment", "digest", "grade", "host", "prompt", "report"}


async def test_facilitator_commands_are_registered_hidden_and_for_servers_only(
    world: World, story_for: Story, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "facilitator.discord")
    async with story_for(world):
        pass
    [put] = world.fake.requests_to("PUT", rf"/applications/\d+/guilds/{world.guild}/commands")
    sent = {command["name"]: command for command in put.body if command["type"] == 1}
    for name, command in sent.items():
        hidden = name in FACILITATOR_COMMANDS
        assert command["default_member_permissions"] == ("0" if hidden else None), name
        assert command["contexts"] == ([0] if hidden else [0, 1]), name
    assert set(sent) >= FACILITATOR_COMMANDS
    # What Discord stores and returns is what was sent.
    stored = world.fake.registered(world.guild, "host")
    assert stored["default_member_permissions"] == "0" and stored["contexts"] == [0]
    # Each group is for one audience: members keep /event list|calendar, facilitators /host.
    subs = {name: {o["name"] for o in sent[name]["options"]} for name in ("event", "host")}
    assert subs == {
        "event": {"list", "calendar"},
        "host": {"create", "confirm", "edit", "cancel", "suggest-times"},
    }
    told = [r.getMessage() for r in caplog.records if "are hidden from members" in r.getMessage()]
    assert told and "/assignment, /digest, /grade, /host, /prompt, /report" in told[0]
    assert "Server Settings → Integrations" in told[0] and "Facilitators" in told[0]


async def test_a_second_start_finds_the_hidden_commands_registered_and_sends_nothing(
    world: World, story_for: Story
) -> None:
    async with story_for(world):
        pass
    async with story_for(world):
        pass
    assert (
        len(world.fake.requests_to("PUT", rf"/applications/\d+/guilds/{world.guild}/commands")) == 1
    )


async def test_a_member_running_a_facilitator_command_is_still_refused_by_the_bot(
    world: World, story_for: Story
) -> None:
    # Discord hides /host from members, but an admin may allow everyone: the bot decides.
    async with story_for(world, members={"welcome": False}):
        options = [
            {"type": 1, "name": "cancel", "options": [{"type": 4, "name": "id", "value": 1}]}
        ]
        asked = await world.fake.interaction(world.general, world.alice, "host", options)
        await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
    [answer] = world.fake.interaction_responses[asked["token"]]
    assert "facilitators" in answer["data"]["content"].lower()


def test_check_tells_the_admin_to_allow_the_facilitator_role(world: World, db_url: str) -> None:
    printed = describe(discord_config(db_url, world), Secrets(discord_token="x"))
    assert "hidden from members on Discord" in printed
    assert "allows Facilitators under Server Settings → Integrations" in printed


# ---- autocomplete --------------------------------------------------------------------------


def _focused(name: str, typed: str, kind: int = 3, sub: str | None = None) -> list[Payload]:
    option: Payload = {"type": kind, "name": name, "value": typed, "focused": True}
    if sub is None:
        return [option]
    return [{"type": 1, "name": sub, "options": [option]}]


async def _captured(world: World, channel: str, user: str, words: str) -> Payload:
    """A member posts a link where the bot watches; returns once the bot bookmarked it (so
    it is stored)."""
    posted = await world.fake.message(channel, user, words)
    await world.fake.wait_for_request("PUT", REACTION_PUT.format(message=posted["id"]))
    return posted


async def _suggested(
    world: World, user: str, command: str, options: list[Payload]
) -> list[Payload]:
    asked = await world.fake.interaction(world.general, user, command, options, autocomplete=True)
    await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
    [answer] = world.fake.interaction_responses[asked["token"]]
    assert answer["type"] == 8, answer  # never a deferral
    choices: list[Payload] = answer["data"]["choices"]
    assert len(choices) <= 25 and all(1 <= len(c["name"]) <= 100 for c in choices)
    return choices


async def _schedule(world: World, title: str, when: str) -> None:
    options = [
        {
            "type": 1,
            "name": "create",
            "options": [
                {"type": 3, "name": "title", "value": title},
                {"type": 3, "name": "when", "value": when},
                {"type": 3, "name": "confirm", "value": "yes"},
            ],
        }
    ]
    asked = await world.fake.interaction(world.general, world.fran, "host", options)
    await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")


async def test_members_pick_a_session_by_title_and_the_id_is_what_the_command_gets(
    world: World, story_for: Story
) -> None:
    # defer_after=0: commands are deferred at once, and still no autocomplete ever is.
    async with story_for(world, members={"welcome": False}, defer_after=0.0) as story:
        await _schedule(world, "Guest talk", "2026-11-26 17:00")
        await _schedule(world, "Reading circle", "2026-11-25 18:00")
        await story.app.drain()
        everything = await _suggested(world, world.alice, "rsvp", _focused("id", "", kind=4))
        assert [c["value"] for c in everything] == [2, 1]  # soonest first, integer values
        assert everything[0]["name"] == "2 · Reading circle · Wed 25 Nov 2026 18:00 CET"
        picked = await _suggested(world, world.alice, "rsvp", _focused("id", "talk", kind=4))
        assert [c["value"] for c in picked] == [1]
        chosen = [
            {"type": 4, "name": "id", "value": 1},
            {"type": 3, "name": "answer", "value": "going"},
        ]
        ran = await world.fake.interaction(world.general, world.alice, "rsvp", chosen)
        await world.fake.wait_for_request("POST", rf"/interactions/{ran['id']}/[^/]+/callback")
        await story.app.drain()
        # The session she answered now comes first for her, not for fran.
        mine = await _suggested(world, world.alice, "rsvp", _focused("id", "", kind=4))
        assert [c["value"] for c in mine] == [1, 2]
        hosted = await _suggested(world, world.fran, "host", _focused("id", "", 4, sub="cancel"))
        assert [c["value"] for c in hosted] == [2, 1]


async def test_time_zones_match_city_country_or_code_with_the_callers_zone_and_utc_first(
    world: World, story_for: Story
) -> None:
    async with story_for(world, members={"welcome": False}) as story:
        set_zone = [{"type": 3, "name": "zone", "value": "Asia/Tokyo"}]
        ran = await world.fake.interaction(world.general, world.alice, "timezone", set_zone)
        await world.fake.wait_for_request("POST", rf"/interactions/{ran['id']}/[^/]+/callback")
        await story.app.drain()
        first = await _suggested(world, world.alice, "timezone", _focused("zone", ""))
        assert [c["value"] for c in first[:3]] == ["Asia/Tokyo", "UTC", "Europe/Berlin"]
        assert len(first) == 25
        for typed, wanted in (
            ("berl", "Europe/Berlin"),
            ("japan", "Asia/Tokyo"),
            ("new york", "America/New_York"),
            ("IN", "Asia/Kolkata"),
        ):
            found = await _suggested(world, world.fran, "timezone", _focused("zone", typed))
            assert found and found[0]["value"] == wanted, (typed, found[:3])
        assert (
            "Germany"
            in (await _suggested(world, world.fran, "timezone", _focused("zone", "berl")))[0][
                "name"
            ]
        )
        tz = await _suggested(world, world.fran, "host", _focused("tz", "kolkata", sub="create"))
        assert [c["value"] for c in tz] == ["Asia/Kolkata"]


async def test_autocomplete_is_answered_while_a_500_event_batch_is_in_flight(
    world: World, story_for: Story, db_url: str
) -> None:
    async with story_for(world, members={"welcome": False}) as story:
        await _schedule(world, "Guest talk", "2026-11-26 17:00")
        await story.app.drain()
        # Another writer holds the database: the batch below is taken and waits to commit.
        path = db_url.split("///", 1)[1]
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            for n in range(500):
                await world.fake.message(
                    world.resources, world.alice, f"see https://example.org/{n}"
                )
            started = asyncio.get_running_loop().time()
            choices = await _suggested(world, world.alice, "rsvp", _focused("id", "", kind=4))
            took = asyncio.get_running_loop().time() - started
            stored = blocker.execute("SELECT count(*) FROM messages").fetchone()[0]
        finally:
            blocker.rollback()
            blocker.close()
        assert [c["value"] for c in choices] == [1] and took < 3.0
        assert stored == 0  # the batch was still in flight when the suggestions came
        reaction = r"/channels/\d+/messages/\d+/reactions/[^/]+/@me"
        await world.fake.wait_for_request("PUT", reaction, count=500, within=25)
        await story.app.drain()
        async with story.app.database.reading() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM messages"))).scalar_one()
        assert count == 500


async def test_the_fake_refuses_what_discord_refuses_for_an_autocomplete(world: World) -> None:
    asked = await world.fake.interaction(world.general, world.alice, "x", autocomplete=True)
    url = f"{world.fake.api_base}/interactions/{asked['id']}/{asked['token']}/callback"
    async with aiohttp.ClientSession() as http:
        for body in (
            {"type": 5},
            {"type": 6},
            {"type": 4, "data": {"content": "hi"}},
            {
                "type": 8,
                "data": {"choices": [{"name": str(n), "value": str(n)} for n in range(26)]},
            },
            {"type": 8, "data": {"choices": [{"name": "x" * 101, "value": "x"}]}},
        ):
            async with http.post(url, json=body) as refused:
                assert refused.status == 400, body
        async with http.post(url, json={"type": 8, "data": {"choices": []}}) as ok:
            assert ok.status == 204
        async with http.post(url, json={"type": 8, "data": {"choices": []}}) as again:
            assert again.status == 400 and (await again.json())["code"] == 40060


async def _dm_channel(story: DiscordStory, user: str) -> str:
    sent = await story.platform.perform(
        SendDirect(member=MemberRef("discord", "", user), content=Content(text="Hi!"))
    )
    assert sent is not None
    return sent.channel.channel


async def _run(world: World, channel: str, user: str, command: str, options: list[Payload]) -> None:
    ran = await world.fake.interaction(channel, user, command, options)
    await world.fake.wait_for_request("POST", rf"/interactions/{ran['id']}/[^/]+/callback")


async def test_links_are_suggested_own_first_and_never_from_anothers_direct_messages(
    world: World, story_for: Story, clock: ManualClock
) -> None:
    async with story_for(world, members={"welcome": False}) as story:
        await _captured(world, world.resources, world.alice, "https://example.org/alices")
        await _captured(world, world.resources, world.fran, "https://example.org/frans")
        await story.app.drain()
        clock.set(datetime.now(UTC))  # after the messages the fake stamped with the real time
        dm = await _dm_channel(story, world.fran)
        share = [{"type": 3, "name": "url", "value": "https://example.org/private-note"}]
        await _run(world, dm, world.fran, "share", share)
        await story.app.drain()
        ids = {url: f"L{n}" for url, n in await _link_ids(story)}
        alices, frans = ids["https://example.org/alices"], ids["https://example.org/frans"]
        private = ids["https://example.org/private-note"]
        for_alice = await _suggested(world, world.alice, "annotate", _focused("link", ""))
        assert [c["value"] for c in for_alice] == [alices, frans]  # her own first
        assert for_alice[0]["name"] == f"{alices} · example.org/alices"
        for_fran = await _suggested(world, world.fran, "annotate", _focused("link", ""))
        assert for_fran[0]["value"] == private and set(ids.values()) == {
            c["value"] for c in for_fran
        }
        by_id = await _suggested(world, world.alice, "reflect", _focused("about", frans))
        assert [c["value"] for c in by_id] == [frans]
        assert await _suggested(world, world.alice, "annotate", _focused("link", private)) == []
        assert await _suggested(world, world.alice, "annotate", _focused("link", "private")) == []
        by_words = await _suggested(world, world.alice, "annotate", _focused("link", "frans"))
        assert [c["value"] for c in by_words] == [frans]


async def _link_ids(story: DiscordStory) -> list[tuple[str, int]]:
    async with story.app.database.reading() as conn:
        rows = await conn.execute(select(links.c.canonical_url, links.c.id))
        return [(str(row[0]), int(row[1])) for row in rows]


async def test_feeds_prompts_and_weeks_are_suggested_only_to_whom_they_concern(
    world: World, story_for: Story
) -> None:
    async with story_for(world, members={"welcome": False}) as story:
        async with story.app.database.transaction() as conn:  # followed, as /feed add does
            for user in (world.alice, world.fran):
                await add_feed(
                    conn,
                    community="school",
                    url=f"https://{user}.example/feed",
                    title=None,
                    site_url=None,
                    owner_ref=f"discord:/{user}",
                    backfill=False,
                    now=datetime.now(UTC),
                )
        prompt = [
            {
                "type": 1,
                "name": "add",
                "options": [
                    {"type": 3, "name": "stage", "value": "seek"},
                    {"type": 3, "name": "when", "value": "mon 09:00"},
                ],
            }
        ]
        await _run(world, world.general, world.fran, "prompt", prompt)
        await story.app.drain()
        alices = await _suggested(world, world.alice, "feed", _focused("id", "", 4, sub="remove"))
        assert [c["value"] for c in alices] == [1]  # never another member's feed
        frans = await _suggested(world, world.fran, "feed", _focused("id", "", 4, sub="remove"))
        assert [c["value"] for c in frans] == [2, 1] and "another member's" in frans[1]["name"]
        schedules = await _suggested(
            world, world.fran, "prompt", _focused("id", "", 4, sub="pause")
        )
        assert [c["value"] for c in schedules] == [1] and "seek" in schedules[0]["name"]
        # A member who was let see /prompt (an admin allowed everyone) still gets nothing.
        assert (
            await _suggested(world, world.alice, "prompt", _focused("id", "", 4, sub="pause")) == []
        )
        weeks = await _suggested(world, world.fran, "digest", _focused("week", "", sub="preview"))
        assert [c["value"] for c in weeks[:3]] == ["last", "this", "2026-W46"]
        assert weeks[0]["name"] == "last (2026-W47) · Mon 16 Nov – Sun 22 Nov 2026"
        report = await _suggested(world, world.fran, "report", _focused("week", ""))
        assert [c["value"] for c in report[:2]] == ["this", "last"]


def test_suggestions_become_at_most_25_discord_choices_of_the_options_type() -> None:
    number = Param(name="id", help="n", kind=ParamKind.INTEGER, suggests="sessions")
    many = [Suggestion(str(n), f"{n} · " + "x" * 200) for n in range(40)]
    choices = suggestion_choices(number, [Suggestion("L1", "not a number"), *many])
    assert len(choices) == 25 and choices[0] == {"name": "0 · " + "x" * 95 + "…", "value": 0}
    text = Param(name="link", help="l", suggests="links")
    assert suggestion_choices(text, [Suggestion("L12", "")]) == [{"name": "L12", "value": "L12"}]
    [payload] = command_payloads([CommandSpec(name="rsvp", help="r", params=(number,))])
    assert payload["options"][0]["autocomplete"] is True


def test_time_zones_are_found_by_city_country_or_code_from_tzdatas_tables() -> None:
    def first(typed: str, mine: str | None = None) -> list[str]:
        found = suggest_zones(typed, mine=mine, community="Europe/Berlin", limit=3)
        return [s.value for s in found]

    assert first("") == ["UTC", "Europe/Berlin", first("")[2]]
    assert first("", mine="Europe/Oslo")[:3] == ["Europe/Oslo", "UTC", "Europe/Berlin"]
    assert first("sao paulo")[0] == "America/Sao_Paulo"
    assert first("BR")[0] == "America/Noronha"  # Brazil's first zone in the table
    assert first("britain") == ["Europe/London"] == first("GB")
    assert first("Europe/Lond") == ["Europe/London"]
    assert first("nowhere at all") == []
    assert all(len(s.label) <= 100 for s in suggest_zones("a", mine=None, community="UTC"))


def test_an_argument_suggesting_from_a_source_nobody_provides_is_refused_at_start(
    tmp_path: Path,
) -> None:
    class Typo(Service):
        name = "typo"

        def commands(self) -> Any:
            param = Param(name="id", help="i", suggests="sesions")
            return ((CommandSpec(name="typo", help="t", params=(param,)), {("typo",): None}),)

    dispatcher = Dispatcher(
        database=Database(f"sqlite+aiosqlite:///{tmp_path}/x.db"),
        directory=CommunityDirectory(make_config(f"sqlite+aiosqlite:///{tmp_path}/x.db")),
        clock=ManualClock(START),
        services=[Typo()],
    )
    with pytest.raises(ValueError, match="suggests from 'sesions', which no service provides"):
        dispatcher.check_suggestions()


# ---- message menus ---------------------------------------------------------------------------


async def _picked(world: World, user: str, name: str, target: Payload) -> str:
    asked = await world.fake.message_command(target["channel_id"], user, name, target)
    await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
    responses = world.fake.interaction_responses[asked["token"]]
    texts = [r.get("data", r).get("content") for r in responses]
    assert all(
        r.get("data", r).get("flags", 64) == 64 for r in responses if r["kind"] != "edit_original"
    )
    return str(texts[-1])


async def test_add_to_digest_shares_someone_elses_link_as_the_pickers_and_names_by_consent(
    world: World, story_for: Story
) -> None:
    async with story_for(world, members={"welcome": False}) as story:
        words = "this changed how I see feedback https://example.org/feedback"
        posted = await _captured(world, world.resources, world.alice, words)
        await story.app.drain()
        said = await _picked(world, world.fran, "Add to digest", posted)
        assert "as shared by you" in said and "alice" not in said.lower()
        await allow(story.app.database, f"discord:/{world.alice}", consents=(NAMED,))
        again = await _captured(world, world.resources, world.alice, "and https://example.org/two")
        await story.app.drain()
        named = await _picked(world, world.fran, "Add to digest", again)
        assert "from alice's message" in named
        own = await _picked(world, world.alice, "Add to digest", posted)
        assert "already" in own
        bare = await world.fake.message(world.general, world.alice, "no links here")
        assert "no link" in await _picked(world, world.fran, "Add to digest", bare)
        await story.app.drain()
        async with story.app.database.reading() as conn:
            rows = await conn.execute(
                select(shares.c.member_ref, shares.c.context, shares.c.note, shares.c.message_ref)
                .where(shares.c.member_ref == f"discord:/{world.fran}")
                .order_by(shares.c.id)
            )
            frans = [tuple(row) for row in rows]
    # Recorded as fran's, on alice's message, without alice's words.
    assert [(context, note) for _, context, note, _ in frans] == [("", None), ("", None)]
    assert all(
        ref.endswith(f"/{posted['id']}") or ref.endswith(f"/{again['id']}") for *_, ref in frans
    )
    [put] = world.fake.requests_to("PUT", rf"/applications/\d+/guilds/{world.guild}/commands")
    [menu] = [c for c in put.body if c["type"] == 3 and c["name"] == "Add to digest"]
    assert menu == {
        "type": 3,
        "name": "Add to digest",
        "default_member_permissions": None,
        "contexts": [0],
    }


async def test_picking_add_to_digest_on_your_own_message_makes_its_words_the_note(
    world: World, story_for: Story
) -> None:
    # A message in a channel the bot does not watch: only the menu brings its link in.
    elsewhere = world.fake.add_channel(world.guild, "chat")
    async with story_for(world, members={"welcome": False}) as story:
        posted = await world.fake.message(
            elsewhere, world.alice, "a clear primer https://example.org/p"
        )
        await story.app.drain()
        said = await _picked(world, world.alice, "Add to digest", posted)
        assert "with your message as the note" in said
        await story.app.drain()
        async with story.app.database.reading() as conn:
            [row] = await conn.execute(select(shares.c.member_ref, shares.c.note))
    assert tuple(row) == (f"discord:/{world.alice}", "a clear primer")


async def _form(world: World, user: str, name: str, target: Payload) -> Payload:
    asked = await world.fake.message_command(target["channel_id"], user, name, target)
    await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
    [opened] = world.fake.interaction_responses[asked["token"]]
    assert opened["type"] == 9  # the form is the first and only response
    return opened["data"]  # type: ignore[no-any-return]


def _fields(modal: Payload) -> dict[str, Payload]:
    return {row["components"][0]["custom_id"]: row["components"][0] for row in modal["components"]}


async def _submit(world: World, user: str, modal: Payload, values: dict[str, str]) -> str:
    sent = await world.fake.submit_form(world.resources, user, modal["custom_id"], values)
    deadline = asyncio.get_running_loop().time() + 5
    while True:  # the answer itself, after a deferral when it took a while
        responses = world.fake.interaction_responses.get(sent["token"], [])
        said = [r.get("data", r).get("content") for r in responses]
        if any(said):
            return str(next(text for text in said if text))
        assert asyncio.get_running_loop().time() < deadline, responses
        await asyncio.sleep(0.01)


async def test_reflect_on_this_opens_a_form_about_the_messages_link_and_checks_it_like_typing(
    world: World, story_for: Story
) -> None:
    async with story_for(world, members={"welcome": False}) as story:
        posted = await _captured(world, world.resources, world.alice, "see https://example.org/r")
        await story.app.drain()
        modal = await _form(world, world.fran, "Reflect on this", posted)
        fields = _fields(modal)
        assert modal["custom_id"] == "form:reflect" and list(fields) == ["about", "text"]
        assert fields["about"]["value"] == "https://example.org/r"
        assert fields["text"]["style"] == 2 and fields["text"]["required"] is True
        said = await _submit(world, world.fran, modal, {"about": "L1", "text": "It made me think"})
        assert "reflection" in said.lower()
        wrong = await _submit(world, world.fran, modal, {"about": "L99", "text": "Hm"})
        assert "There is no link L99 in this community" in wrong  # the same error as typed
        long = await _submit(world, world.fran, modal, {"about": "L1", "text": "x" * 2001})
        assert "can be at most 2000 characters" in long and "x" * 81 not in long
        no_link = await world.fake.message(world.resources, world.alice, "what do you all think?")
        about = _fields(await _form(world, world.fran, "Reflect on this", no_link))["about"]
        assert about["value"] == (
            f"https://discord.com/channels/{world.guild}/{world.resources}/{no_link['id']}"
        )
        await story.app.drain()
        async with story.app.database.reading() as conn:
            rows = (await conn.execute(select(reflections.c.link_url, reflections.c.text))).all()
    assert [tuple(row) for row in rows] == [("https://example.org/r", "It made me think")]


async def test_annotate_link_opens_a_form_with_the_link_filled_in(
    world: World, story_for: Story
) -> None:
    async with story_for(world, members={"welcome": False}) as story:
        posted = await _captured(world, world.resources, world.alice, "https://example.org/a")
        await story.app.drain()
        modal = await _form(world, world.fran, "Annotate link", posted)
        assert _fields(modal)["link"]["value"] == "https://example.org/a"
        said = await _submit(
            world, world.fran, modal, {"link": "https://example.org/a", "text": "Key idea: x"}
        )
        assert "L1" in said or "note" in said.lower()
        await story.app.drain()
        async with story.app.database.reading() as conn:
            [row] = (await conn.execute(select(link_annotations.c.text))).all()
    assert row[0] == "Key idea: x"
    [put] = world.fake.requests_to("PUT", rf"/applications/\d+/guilds/{world.guild}/commands")
    assert sorted(c["name"] for c in put.body if c["type"] == 3) == [
        "Add to digest",
        "Annotate link",
        "Reflect on this",
    ]


async def test_the_fake_refuses_a_modal_after_a_deferral_or_with_six_fields(world: World) -> None:
    row = {"type": 1, "components": [{"type": 4, "custom_id": "f", "label": "F", "style": 1}]}
    modal = {"type": 9, "data": {"custom_id": "form:x", "title": "X", "components": [row]}}
    too_big = {"type": 9, "data": {**modal["data"], "components": [row] * 6}}
    async with aiohttp.ClientSession() as http:
        first = await world.fake.interaction(world.general, world.alice, "x")
        url = f"{world.fake.api_base}/interactions/{first['id']}/{first['token']}/callback"
        async with http.post(url, json=too_big) as refused:
            assert refused.status == 400
        async with http.post(url, json={"type": 5}) as deferred:
            assert deferred.status == 204
        async with http.post(url, json=modal) as late:
            assert late.status == 400 and (await late.json())["code"] == 40060
        sent = await world.fake.submit_form(world.general, world.alice, "form:x", {"f": "v"})
        url = f"{world.fake.api_base}/interactions/{sent['id']}/{sent['token']}/callback"
        async with http.post(url, json=modal) as modal_on_modal:
            assert modal_on_modal.status == 400


async def _slash_form(world: World, user: str, command: str, options: list[Payload]) -> Payload:
    asked = await world.fake.interaction(world.resources, user, command, options)
    await world.fake.wait_for_request("POST", rf"/interactions/{asked['id']}/[^/]+/callback")
    [opened] = world.fake.interaction_responses[asked["token"]]
    assert opened["type"] == 9, opened
    return opened["data"]  # type: ignore[no-any-return]


async def test_reflect_and_share_without_their_text_open_a_form_parsed_like_typing(
    world: World, story_for: Story
) -> None:
    async with story_for(world, members={"welcome": False}, defer_after=0.0) as story:
        modal = await _slash_form(world, world.alice, "reflect", [])
        assert modal["custom_id"] == "form:reflect" and list(_fields(modal)) == ["about", "text"]
        said = await _submit(world, world.alice, modal, {"text": "Spacing beats cramming"})
        assert "reflection" in said.lower()
        given = [{"type": 3, "name": "about", "value": "https://example.org/s"}]
        prefilled = await _slash_form(world, world.alice, "reflect", given)
        assert _fields(prefilled)["about"]["value"] == "https://example.org/s"
        share = await _slash_form(world, world.alice, "share", [])
        assert list(_fields(share)) == ["url", "note"]
        assert _fields(share)["note"]["required"] is False
        wrong = await _submit(world, world.alice, share, {"url": "example", "note": "good"})
        assert "is not an http(s) link" in wrong
        shared = await _submit(
            world, world.alice, share, {"url": "https://example.org/s", "note": "A clear intro"}
        )
        assert "shared https://example.org/s" in shared and "A clear intro" in shared
        # With its text, /reflect runs at once, as typed.
        typed = [{"type": 3, "name": "text", "value": "Typed straight in"}]
        ran = await world.fake.interaction(world.resources, world.alice, "reflect", typed)
        await world.fake.wait_for_request("POST", rf"/interactions/{ran['id']}/[^/]+/callback")
        await story.app.drain()
        assert world.fake.interaction_responses[ran["token"]][0]["type"] in (4, 5)
        async with story.app.database.reading() as conn:
            texts = (await conn.execute(select(reflections.c.text))).scalars().all()
    assert sorted(texts) == ["Spacing beats cramming", "Typed straight in"]
    [put] = world.fake.requests_to("PUT", rf"/applications/\d+/guilds/{world.guild}/commands")
    reflect = next(c for c in put.body if c["name"] == "reflect")
    assert all(option["required"] is False for option in reflect["options"])


async def test_digest_items_are_suggested_to_facilitators_as_the_preview_shows_them(
    world: World, story_for: Story, clock: ManualClock
) -> None:
    clock.set(datetime.now(UTC))  # the fake stamps messages with the real time
    async with story_for(world, members={"welcome": False}) as story:
        await _captured(world, world.resources, world.alice, "https://example.org/digest-me")
        await story.app.drain()
        [(_, link)] = await _link_ids(story)
        items = await _suggested(world, world.fran, "digest", _focused("item", "", sub="exclude"))
        assert [c["value"] for c in items] == [f"L{link}"]
        assert items[0]["name"].startswith(f"L{link} · ") and "W" in items[0]["name"]
        none = await _suggested(world, world.alice, "digest", _focused("item", "", sub="exclude"))
        assert none == []


async def test_a_facilitator_picks_their_own_draft_to_confirm(
    world: World, story_for: Story
) -> None:
    async with story_for(world, members={"welcome": False}) as story:
        long = [
            {
                "type": 1,
                "name": "create",
                "options": [
                    {"type": 3, "name": "title", "value": "Guest talk"},
                    {"type": 3, "name": "when", "value": "2026-11-26 17:00"},
                    {"type": 3, "name": "description", "value": "A long evening " * 10},
                ],
            }
        ]
        await _run(world, world.general, world.fran, "host", long)
        await story.app.drain()
        drafts = await _suggested(
            world, world.fran, "host", _focused("draft", "", 4, sub="confirm")
        )
        assert drafts == [{"name": "1 · Guest talk", "value": 1}]
        others = await _suggested(
            world, world.alice, "host", _focused("draft", "", 4, sub="confirm")
        )
        assert others == []  # a draft is its author's alone


async def test_a_refused_form_is_answered_with_an_edit_button_that_opens_it_filled_in(
    world: World, story_for: Story
) -> None:
    async with story_for(world, members={"welcome": False}, defer_after=0.0):
        share = await _slash_form(world, world.alice, "share", [])
        sent = await world.fake.submit_form(
            world.resources, world.alice, share["custom_id"], {"url": "example", "note": "good"}
        )
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            responses = world.fake.interaction_responses.get(sent["token"], [])
            answers = [r.get("data", r) for r in responses if r.get("data", r).get("content")]
            if answers:
                break
            assert asyncio.get_running_loop().time() < deadline, responses
            await asyncio.sleep(0.01)
        [refused] = answers
        assert "is not an http(s) link" in refused["content"]
        [button] = [b for row in refused["components"] for b in row["components"]]
        assert button["label"] == "Edit"
        message = {"id": "9" * 18, **refused}
        pressed = await world.fake.interaction(
            world.resources, world.alice, "", component=button["custom_id"], message=message
        )
        await world.fake.wait_for_request("POST", rf"/interactions/{pressed['id']}/[^/]+/callback")
        [opened] = world.fake.interaction_responses[pressed["token"]]
        assert opened["type"] == 9, opened  # the form again, as its first and only response
        fields = _fields(opened["data"])
        assert fields["url"]["value"] == "example" and fields["note"]["value"] == "good"
        fixed = await _submit(
            world, world.alice, opened["data"], {"url": "https://example.org/s", "note": "good"}
        )
        assert "shared https://example.org/s" in fixed
        # the first form, sent again valid, runs as usual
        said = await _submit(world, world.alice, share, {"url": "https://example.org/t"})
        assert "shared https://example.org/t" in said
    assert not world.fake.refused_callbacks


async def test_texts_name_commands_as_mentions_with_the_registered_ids(
    world: World, story_for: Story
) -> None:
    async with story_for(world, members={"welcome": False}, defer_after=0.0):
        registered = world.fake.registered(world.guild, "goal")
        sent = await world.fake.interaction(
            world.general, world.alice, "goal", [{"type": 1, "name": "show", "options": []}]
        )
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            responses = world.fake.interaction_responses.get(sent["token"], [])
            said = " ".join(str(r.get("data", r).get("content") or "") for r in responses)
            if said.strip():
                break
            assert asyncio.get_running_loop().time() < deadline, responses
            await asyncio.sleep(0.01)
        # "No goal yet. Set one with `/goal set <...>`": a mention members click to start it
        assert f"</goal set:{registered['id']}>" in said, said
    assert not world.fake.refused_callbacks
