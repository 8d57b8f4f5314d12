"""Review of #8: defects found, each shown by a test that failed before its fix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, insert, select

from bot.core.clock import ManualClock
from bot.core.config import Config
from bot.storage.database import Database, _alembic_config
from bot.storage.schema import memberships, messages, nudges, welcomes
from tests.helpers import (
    START,
    ConsoleStory,
    DiscordStory,
    at,
    eventually_dm,
    make_config,
    make_world,
    nudge_config,
    nudge_texts,
    nudged,
    tick_days,
)


def _to(revision: str):  # type: ignore[no-untyped-def]
    def run(connection: Connection) -> None:
        command.upgrade(_alembic_config(connection), revision)

    return run


@pytest.mark.both_backends
async def test_upgrading_a_0007_database_with_messages_and_welcomes(db_url: str) -> None:
    db = Database(db_url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_to("0007"))
        async with db.engine.begin() as conn:
            rows = [
                ("demo", "console:/general/1", "console:/alice", START),
                ("demo", "console:/general/2", "console:/alice", START + timedelta(days=3)),
                ("demo", "console:/general/3", "console:/bob", START + timedelta(days=1)),
                ("other", "console:/x/4", "console:/alice", START + timedelta(days=2)),
            ]
            await conn.execute(
                insert(messages),
                [
                    {
                        "community": c,
                        "ref": ref,
                        "channel": "console:/general",
                        "author_ref": a,
                        "text": "hi",
                        "sent_at": at,
                    }
                    for c, ref, a, at in rows
                ],
            )
            await conn.execute(
                insert(welcomes),
                [
                    # welcomed before their first message: they joined then
                    {"community": "demo", "member_ref": "console:/bob", "welcomed_at": START},
                    {"community": "demo", "member_ref": "console:/carol", "welcomed_at": START},
                ],
            )
        await db.migrate()
        async with db.reading() as conn:
            found = {
                (row.community, row.member_ref): row
                for row in await conn.execute(select(memberships))
            }
        assert set(found) == {
            ("demo", "console:/alice"),
            ("demo", "console:/bob"),
            ("demo", "console:/carol"),
            ("other", "console:/alice"),
        }
        alice = found[("demo", "console:/alice")]
        assert alice.joined_at == START
        assert alice.last_active_at == START + timedelta(days=3)
        carol = found[("demo", "console:/carol")]
        assert carol.joined_at == START and carol.last_active_at is None
        assert found[("demo", "console:/bob")].joined_at == START
    finally:
        await db.close()


async def test_a_member_of_two_communities_gets_at_most_one_nudge_a_week(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    """The issue: at most one nudge per member per week; the same person in two communities
    the bot serves is still one member with one inbox."""
    config = config_for(
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general"]},
                "members": {"welcome": False},
            },
            {
                "name": "other",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["lounge"]},
                "members": {"welcome": False},
            },
        ]
    )
    async with ConsoleStory(config, clock, tmp_path) as story:
        await story.say("alice: hello")
        await story.say("alice@lounge: hello")
        got = await tick_days(story, range(1, 21))  # one week after the first
        assert len(got.get("alice", [])) == 1, got


async def test_a_peer_named_in_a_nudge_is_not_kept_there_after_they_forget_themselves(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    """Members own their data: after `/forget-me`, bob's name must not live on in the stored
    text of a nudge that offered alice his link."""
    async with ConsoleStory(nudge_config(config_for), clock, tmp_path) as story:
        await story.allow("bob", consents=("named",))  # so the nudge names him
        await story.say("alice: hello everyone")
        await story.say("bob: hi")
        clock.set(at(14, 9))
        await story.say("bob@resources: https://example.org/spacing Spacing beats cramming")
        said = await story.tick(at(15))
        assert "bob" in nudge_texts(said)["alice"][0]
        clock.set(at(15, 11))
        await story.say("bob: /forget-me confirm")
        async with story.app.database.reading() as conn:
            texts = [row.text for row in await conn.execute(select(nudges))]
        assert texts and all("bob" not in text for text in texts), texts
        assert all("someone" in text for text in texts), texts  # the name, replaced


async def test_a_report_for_a_week_at_the_edge_of_the_calendar_is_a_clear_error(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(nudge_config(config_for), clock, tmp_path) as story:
        for week in ("9999-W52", "0001-W01"):
            said = await story.say(f"fran: /report {week}")
            assert "something went wrong" not in said, said
            assert "2026-W48" in said  # how to write a week


async def test_profile_tells_a_member_they_are_named_as_a_new_voice(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    """The issue: members see in /profile exactly what facilitators see about them. The report
    names new voices; the member so named is not told."""
    async with ConsoleStory(nudge_config(config_for), clock, tmp_path) as story:
        await story.allow("alice", consents=("named",))  # new voices are named with consent
        await story.say("alice: hello everyone, my first find https://example.org/first")
        report = await story.say("fran: /report")
        assert "New voices" in report and "alice" in report.split("New voices")[1].split("\n")[0]
        profile = await story.say("alice: /profile")
        assert "new voice" in profile.lower(), profile


async def test_a_yes_in_a_welcome_dm_counts_for_the_community_that_sent_it(
    db_url: str, clock: ManualClock
) -> None:
    """Two Discord guilds, two communities. bob is only in the second; he says yes to its
    welcome by DM. That contact must count there (else its nudges never reach him), and must
    not make him a member of the first community (its cohort, report and nudges)."""
    world = await make_world()
    fake = world.fake
    try:
        club = fake.add_guild("Club")
        fake.add_channel(club, "general")
        lounge = fake.guilds[club]["channel_ids"][0]
        bob = fake.add_member(club, name="bob")
        config = make_config(
            db_url,
            discord={"api_base_url": fake.api_base},
            console={"enabled": False},
            communities=[
                {
                    "name": "school",
                    "timezone": "Europe/Berlin",
                    "discord": {"guild": world.guild, "channels": ["general"]},
                },
                {
                    "name": "club",
                    "timezone": "Europe/Berlin",
                    "discord": {"guild": club, "channels": ["general"]},
                },
            ],
        )
        clock.set(at(0, 9))
        async with DiscordStory(config, clock) as story:
            payload = fake.message_payload(lounge, bob, "hi all")
            payload["timestamp"] = clock.now().isoformat()
            fake.messages[lounge][payload["id"]] = payload
            await fake.dispatch("MESSAGE_CREATE", payload)
            welcome = await eventually_dm(world, bob, "Welcome to **club**")
            pressed = await fake.interaction(
                fake.dm_channels[bob], bob, "", component="nudges on", message=welcome
            )
            await fake.wait_for_request("POST", rf"/interactions/{pressed['id']}/[^/]+/callback")
            await story.app.drain()
            async with story.app.database.reading() as conn:
                rows = {
                    row.community: row
                    for row in await conn.execute(
                        select(memberships).where(memberships.c.member_ref.like(f"%{bob}"))
                    )
                }
        assert set(rows) == {"club"}, rows
        assert rows["club"].contacted_at is not None
    finally:
        await fake.stop()


async def test_the_hourly_cap_holds_in_any_hour_not_only_per_run(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    """A run that starts late (after a restart) and the next one on time must not together
    send more than the cap within one hour."""
    async with ConsoleStory(nudge_config(config_for, hourly_cap=1), clock, tmp_path) as story:
        for name in ("alice", "bob", "carol"):
            await story.say(f"{name}: hello")
        late = await story.tick(at(15) + timedelta(minutes=59))  # the 10:00 run, late
        on_time = await story.tick(at(15, 11))  # the 11:00 run, one minute later
        assert len(nudged(late)) + len(nudged(on_time)) <= 1, (late, on_time)
