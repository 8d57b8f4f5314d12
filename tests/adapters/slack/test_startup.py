"""Start-up: self-check lines, channel binding, facilitators, time zones, backfill after restart."""

from __future__ import annotations

import logging

import pytest

from adapters.slack.platform import SlackPlatform, create_platform
from bot.core import (
    ChannelRef,
    CommunityDirectory,
    ConfigError,
    ManualClock,
    MemberRef,
    MessageEdited,
    MessageReceived,
    PlatformError,
    Purpose,
    Secrets,
)
from tests.fakes.slack_server import BOT_TOKEN, FakeSlack, event_callback, message_event
from tests.helpers import SLACK_START as START
from tests.helpers import Factory, RecordingSink, commands, eventually, secrets, slack_config

pytestmark = pytest.mark.timeout(30)

GENERAL = ChannelRef("slack", "T0001", "C0GENERAL")
RESOURCES = ChannelRef("slack", "T0001", "C0RESOURCE")


async def test_channels_are_bound_to_their_community(start_platform: Factory) -> None:
    _, _, directory = await start_platform()
    assert directory.community_for(GENERAL) == "demo"
    assert directory.is_watched(RESOURCES)
    assert directory.channel("demo", "slack", Purpose.ANNOUNCEMENTS) == GENERAL
    # commands from anywhere in the workspace (DMs too) belong to the only community
    assert directory.community_for(ChannelRef("slack", "T0001", "DUALICE")) == "demo"


async def test_words_in_a_watched_private_channel_are_never_read_as_public(
    fake: FakeSlack, start_platform: Factory
) -> None:
    """Only the members invited to a private channel read it: it is watched (links and
    reflections there count), but nothing written there may be quoted to the community."""
    fake.add_channel("C0COHORT", "cohort", private=True)
    config = slack_config(fake, channels=["general", "#resources", "cohort"])
    _, _, directory = await start_platform(config=config)
    cohort = ChannelRef("slack", "T0001", "C0COHORT")
    assert directory.is_watched(cohort) and not directory.is_read_by_all(cohort)
    assert not directory.is_public(str(cohort))
    assert directory.is_read_by_all(GENERAL) and directory.is_public(str(GENERAL))


async def test_facilitators_by_user_id_and_user_group(
    fake: FakeSlack, start_platform: Factory
) -> None:
    platform, _, directory = await start_platform()
    fran = await platform.author("T0001", "UFRAN")
    carl = await platform.author("T0001", "UCARL")
    alice = await platform.author("T0001", "UALICE")
    assert fran.roles == frozenset({"S0FACILS", "facilitators"})
    assert directory.is_facilitator("demo", fran)
    assert directory.is_facilitator("demo", carl)
    assert not directory.is_facilitator("demo", alice)
    fake.usergroups["S0FACILS"].users.append("UALICE")
    assert (await platform.author("T0001", "UALICE")).roles == frozenset()  # cached for a while
    assert len(fake.calls_to("usergroups.users.list")) == 1


async def test_group_membership_is_refreshed_after_the_cache_expires(
    fake: FakeSlack, start_platform: Factory
) -> None:
    platform, _, directory = await start_platform(cache_seconds=0.0)
    fake.usergroups["S0FACILS"].users.append("UALICE")
    assert directory.is_facilitator("demo", await platform.author("T0001", "UALICE"))


async def test_member_time_zones_are_cached(fake: FakeSlack, start_platform: Factory) -> None:
    platform, _, _ = await start_platform()
    alice = MemberRef("slack", "T0001", "UALICE")
    assert await platform.member_timezone(alice) == "Europe/Berlin"
    assert (
        await platform.member_timezone(MemberRef("slack", "T0001", "UFRAN")) == "America/New_York"
    )
    assert await platform.member_timezone(alice) == "Europe/Berlin"
    assert [c.args["user"] for c in fake.calls_to("users.info")] == ["UALICE", "UFRAN"]


async def test_self_check_reports_each_problem_in_one_line(
    fake: FakeSlack, start_platform: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    fake.scopes = tuple(s for s in fake.scopes if s not in ("reactions:write", "files:write"))
    fake.channels["C0RESOURCE"].members.discard("UBOT")
    config = slack_config(
        fake, channels=["general", "resources", "nowhere"], facilitator_roles=["mentors"]
    )
    with caplog.at_level(logging.WARNING, logger="adapters.slack"):
        await start_platform(config=config)
    lines = [r.getMessage() for r in caplog.records if r.name == "adapters.slack"]
    assert len(lines) == 5, lines
    assert any("lacks the scope reactions:write" in line and "reinstall" in line for line in lines)
    assert any("lacks the scope files:write" in line for line in lines)
    assert any("not in #resources" in line and "/invite @facilitator" in line for line in lines)
    assert any("channel nowhere" in line and "communities[0].slack" in line for line in lines)
    assert any("user group mentors does not exist" in line for line in lines)
    assert all("\n" not in line for line in lines)


async def test_a_wrong_team_is_reported(
    fake: FakeSlack, start_platform: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="adapters.slack"):
        _, _, directory = await start_platform(config=slack_config(fake, team="T9999"))
    assert "belongs to team T0001" in caplog.text
    assert directory.community_for(GENERAL) is None


def test_missing_tokens_are_explained(fake: FakeSlack) -> None:
    config = slack_config(fake, "http")
    directory = CommunityDirectory(config)
    clock = ManualClock(START)
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        create_platform(config, Secrets(), directory, commands(), clock)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        create_platform(config, Secrets(slack_bot_token=BOT_TOKEN), directory, commands(), clock)
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        create_platform(
            slack_config(fake), Secrets(slack_bot_token=BOT_TOKEN), directory, commands(), clock
        )


async def test_first_start_does_not_import_old_history(
    fake: FakeSlack, start_platform: Factory
) -> None:
    fake.add_message("C0GENERAL", "UALICE", "long ago")
    platform, sink, _ = await start_platform()
    await platform.wait_backfilled()
    assert sink.deliveries == []
    # Only where each channel begins (its newest message) is asked, nothing is read.
    assert [c.args.get("limit") for c in fake.calls_to("conversations.history")] == ["1", "1"]
    assert set(sink.cursors) == {GENERAL, RESOURCES}


async def test_messages_missed_while_stopped_are_backfilled_once(
    fake: FakeSlack, start_platform: Factory
) -> None:
    sink = RecordingSink()
    platform, _, _ = await start_platform(sink=sink)
    old_root = fake.add_message("C0GENERAL", "UALICE", "old question")
    seen = fake.add_message("C0GENERAL", "UFRAN", "seen live")
    for message in (old_root, seen):
        body = event_callback(
            message_event("C0GENERAL", message["user"], message["text"], message["ts"]),
            event_id="E" + message["ts"],
        )
        await fake.wait_ack(await fake.push_envelope("events_api", body))
    await platform.stop()

    # while the bot is away
    fake.add_message("C0GENERAL", "UALICE", "answer in an old thread", thread_ts=old_root["ts"])
    missed = fake.add_message("C0GENERAL", "UCARL", "new https://x.org/a")
    fake.add_message("C0GENERAL", "UBOT", "a bot post", bot_id="BBOT")
    fake.add_message("C0GENERAL", "UALICE", "reply to new", thread_ts=missed["ts"])
    # #resources had no message yet: where it began (empty) was kept at the first start.
    fake.add_message("C0RESOURCE", "UALICE", "first words in resources")
    changed = fake.edit_message("C0GENERAL", old_root["ts"], "old question, see https://y.org")

    platform, _, _ = await start_platform(sink=sink)
    await platform.wait_backfilled()
    texts = [e.text for e in sink.events(MessageReceived)]
    assert texts == [
        "old question",
        "seen live",
        "answer in an old thread",
        "new https://x.org/a",
        "reply to new",
        "first words in resources",
    ]
    assert [e.ref.thread for e in sink.events(MessageReceived)][2:] == [
        old_root["ts"],
        None,
        missed["ts"],
        None,
    ]
    [edit] = sink.events(MessageEdited)
    assert (edit.ref.message, edit.text) == (old_root["ts"], "old question, see https://y.org")
    assert len(sink.deliveries) == 7

    # late live deliveries of what backfill found have the same keys: stored once
    late = event_callback(
        message_event("C0GENERAL", "UCARL", missed["text"], missed["ts"]), event_id="Elate"
    )
    await fake.wait_ack(await fake.push_envelope("events_api", late))
    await fake.wait_ack(
        await fake.push_envelope("events_api", event_callback(changed, event_id="Elate2"))
    )
    assert len(sink.deliveries) == 9
    assert len(sink.events(MessageReceived)) == 6 and len(sink.events(MessageEdited)) == 1


async def test_backfill_pages_through_long_history(
    fake: FakeSlack, start_platform: Factory
) -> None:
    sink = RecordingSink()
    anchor = fake.add_message("C0GENERAL", "UALICE", "anchor")
    sink.cursors[GENERAL] = "00" + anchor["ts"]
    sink.cursors[RESOURCES] = "00" + anchor["ts"]
    for n in range(450):
        fake.add_message("C0GENERAL", "UALICE", f"m{n}")
    fake.channels["C0GENERAL"].messages.append({"type": "message", "ts": "later", "text": "?"})
    platform, _, _ = await start_platform(sink=sink)
    await platform.wait_backfilled()
    # History answers newest first: each page is delivered oldest first and committed before
    # the next (older) page is asked for, so a stop resumes below what was stored.
    texts = [e.text for e in sink.events(MessageReceived)]
    assert texts == [f"m{n}" for n in (*range(251, 450), *range(51, 251), *range(51))]
    reads = [c for c in fake.calls_to("conversations.history") if c.args["channel"] == "C0GENERAL"]
    assert len(reads) == 3
    assert sink.ranges == {} and len(sink.closed) == 2  # #general's and #resources' (empty)


async def test_backfill_survives_a_rate_limit(fake: FakeSlack, start_platform: Factory) -> None:
    sink = RecordingSink()
    anchor = fake.add_message("C0GENERAL", "UALICE", "anchor")
    sink.cursors[GENERAL] = sink.cursors[RESOURCES] = "00" + anchor["ts"]
    fake.add_message("C0GENERAL", "UALICE", "after")
    fake.rate_limit("conversations.history", times=1, retry_after=0)
    await start_platform(sink=sink)
    await eventually(lambda: len(sink.deliveries) == 1)
    reads = [c for c in fake.calls_to("conversations.history") if c.args["channel"] == "C0GENERAL"]
    assert len(reads) == 2


async def test_refused_tokens_stop_the_start_with_the_fix(fake: FakeSlack) -> None:
    config = slack_config(fake)
    for wrong, named in (
        (
            Secrets(slack_bot_token="xoxb-wrong", slack_app_token="xapp-test-app-token"),
            "SLACK_BOT_TOKEN",
        ),
        (Secrets(slack_bot_token=BOT_TOKEN, slack_app_token="xapp-wrong"), "SLACK_APP_TOKEN"),
    ):
        platform = SlackPlatform(
            config, wrong, CommunityDirectory(config), commands(), ManualClock(START)
        )
        with pytest.raises(PlatformError, match=f"{named} was refused \\(invalid_auth\\)"):
            await platform.start(RecordingSink())
        await platform.stop()
    assert fake.socket_connections == 0


async def test_an_unreachable_slack_is_one_clear_error(fake: FakeSlack) -> None:
    config = slack_config(fake)
    await fake.stop()  # nothing listens there any more
    platform = SlackPlatform(
        config,
        secrets(),
        CommunityDirectory(config),
        commands(),
        ManualClock(START),
        max_connection_retries=0,
    )
    with pytest.raises(
        PlatformError, match=r"cannot reach http://127\.0\.0\.1:\d+/api/ .*api_base_url"
    ):
        await platform.start(RecordingSink())
    await platform.stop()


async def test_public_channels_are_found_without_groups_read(
    fake: FakeSlack, start_platform: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    fake.scopes = tuple(s for s in fake.scopes if s != "groups:read")
    with caplog.at_level(logging.WARNING, logger="adapters.slack"):
        _, _, directory = await start_platform()
    assert directory.is_watched(GENERAL) and directory.is_watched(RESOURCES)
    lines = [r.getMessage() for r in caplog.records if r.name == "adapters.slack"]
    assert len(lines) == 1 and "lacks the scope groups:read" in lines[0]
