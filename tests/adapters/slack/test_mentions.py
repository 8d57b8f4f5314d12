"""`@Facilitator help` in a channel, and welcoming workspace joins only when asked to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.slack import translate as tr
from bot.config import parse_config
from bot.core import CommandInvoked, MemberJoined
from bot.core.config import ConfigError
from tests.fakes.slack_server import FakeSlack, event_callback, message_event, post_signed
from tests.helpers import Factory, SlackStory, eventually, slack_config, story_config

pytestmark = pytest.mark.timeout(60)


def mention(user: str, text: str, ts: str, channel: str = "C0GENERAL") -> dict[str, Any]:
    return {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }


def team_join(user: str, name: str) -> dict[str, Any]:
    return {
        "type": "team_join",
        "user": {"id": user, "name": name, "profile": {}},
        "event_ts": "1790000100.000100",
    }


def test_only_a_message_that_begins_with_the_bots_mention_is_a_command() -> None:
    assert tr.mentioned_command("<@UBOT> help", "UBOT") == "help"
    assert tr.mentioned_command("  <@UBOT|facilitator>: goal show", "UBOT") == "goal show"
    assert tr.mentioned_command("<@UBOT>", "UBOT") == ""
    assert tr.mentioned_command("thanks <@UBOT> for the digest", "UBOT") is None
    assert tr.mentioned_command("<@UALICE> help", "UBOT") is None


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_a_mention_becomes_the_command_it_names_and_a_retry_is_the_same_request(
    mode: str,
    fake: FakeSlack,
    start_platform: Factory,
    http_endpoint: Any,
    session: aiohttp.ClientSession,
) -> None:
    platform, sink, _ = await start_platform(mode)
    url = await http_endpoint(platform) if mode == "http" else ""

    async def push(event: dict[str, Any], event_id: str, retry: int = 0) -> None:
        body = event_callback(event, event_id=event_id)
        if mode == "http":
            status, _ = await post_signed(session, url, json.dumps(body), retry_num=retry or None)
            assert status == 200
        else:
            await fake.wait_ack(await fake.push_envelope("events_api", body, retry_attempt=retry))

    ts = fake.next_ts()
    await push(mention("UALICE", "<@UBOT> help", ts), "EvM1")
    await push(mention("UALICE", "<@UBOT> help", ts), "EvM1", retry=1)
    await push(mention("UALICE", "thanks <@UBOT>!", fake.next_ts()), "EvM2")
    await push(mention("UALICE", "<@UBOT>", fake.next_ts()), "EvM3")
    invoked = [event for event in sink.deliveries if isinstance(event, CommandInvoked)]
    assert [event.path for event in invoked] == [("help",), ("help",), ("help",)]
    assert len({event.key for event in invoked}) == 2  # the retry is the same request
    first = invoked[0]
    assert first.author.name == "alice" and str(first.channel) == "slack:T0001/C0GENERAL"
    assert tr.ReplyTarget.decode(first.reply_to.token).response_url is None


async def test_mentioning_the_bot_with_help_answers_privately_in_the_channel(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        message = fake.add_message("C0GENERAL", "UALICE", "<@UBOT> help")
        ts = message["ts"]
        # Slack sends the message and the mention: the message is stored, the mention answers
        await story.event(message_event("C0GENERAL", "UALICE", "<@UBOT> help", ts), "EvMsg")
        await story.event(mention("UALICE", "<@UBOT> help", ts), "EvMention")
        [answer] = fake.calls_to("chat.postEphemeral")
        assert answer.args["channel"] == "C0GENERAL" and answer.args["user"] == "UALICE"
        blocks = answer.args["blocks"]
        text = json.dumps(json.loads(blocks) if isinstance(blocks, str) else blocks)
        assert "/facilitator profile" in text
        assert fake.posted("C0GENERAL") == []  # nothing said in public


def joins_config(fake: FakeSlack, tmp_path: Path, welcome: bool | None) -> Any:
    base = story_config(fake, tmp_path)
    slack: dict[str, Any] = {"channels": ["general"], "facilitator_roles": ["facilitators"]}
    if welcome is not None:
        slack["welcome_workspace_joins"] = welcome
    return parse_config(
        {
            "storage": {"url": base.storage.url},
            "web": {"enabled": False},
            "fetch": {"previews": False},
            "console": {"enabled": False},
            "slack": {"mode": "socket", "api_base_url": fake.api_url},
            "communities": [{"name": "demo", "timezone": "Europe/Berlin", "slack": slack}],
        },
        source="story.toml",
    )


def dms_to(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    return fake.posted("D" + user) if "D" + user in fake.channels else []


@pytest.mark.parametrize("welcome", [True, False, None])
async def test_a_workspace_join_is_welcomed_only_when_the_community_says_so(
    welcome: bool | None, fake: FakeSlack, tmp_path: Path
) -> None:
    fake.add_user("UNEW", "newcomer")
    fake.add_user("UOTHER", "other")
    async with SlackStory(fake, joins_config(fake, tmp_path, welcome)) as story:
        await story.event(team_join("UNEW", "newcomer"), "EvJoin")
        await story.event(team_join("UNEW", "newcomer"), "EvJoin", retry=1)
        # A sentinel: joining a watched channel is always welcomed, so once its DM is there,
        # the workspace join's welcome would be too.
        await story.event(
            {
                "type": "member_joined_channel",
                "user": "UOTHER",
                "channel": "C0GENERAL",
                "event_ts": "1790000101.000100",
            },
            "EvSentinel",
        )
        await eventually(lambda: bool(dms_to(fake, "UOTHER")))
        welcomed = dms_to(fake, "UNEW")
        if welcome:
            [dm] = welcomed
            assert "Welcome" in dm["text"]
        else:
            assert welcomed == []


def test_welcome_workspace_joins_is_a_slack_setting() -> None:
    fake = FakeSlack()
    config = slack_config(fake, welcome_workspace_joins=True)
    assert config.communities[0].platforms["slack"].welcome_workspace_joins
    assert not slack_config(fake).communities[0].platforms["slack"].welcome_workspace_joins
    with pytest.raises(ConfigError, match="welcome_workspace_joins"):
        parse_config(
            {"communities": [{"name": "demo", "discord": {"welcome_workspace_joins": True}}]}
        )
    with pytest.raises(ConfigError, match="true or false"):
        slack_config(fake, welcome_workspace_joins="yes")


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_a_workspace_join_is_a_member_joined_in_the_home_channel(
    mode: str,
    fake: FakeSlack,
    start_platform: Factory,
    http_endpoint: Any,
    session: aiohttp.ClientSession,
) -> None:
    fake.add_user("UNEW", "newcomer")
    platform, sink, _ = await start_platform(
        mode, config=slack_config(fake, mode, welcome_workspace_joins=True)
    )
    body = event_callback(team_join("UNEW", "newcomer"), event_id="EvJ")
    if mode == "http":
        url = await http_endpoint(platform)
        assert (await post_signed(session, url, json.dumps(body)))[0] == 200
    else:
        await fake.wait_ack(await fake.push_envelope("events_api", body))
    [joined] = sink.events(MemberJoined)
    assert joined.member.name == "newcomer" and str(joined.channel) == "slack:T0001/C0GENERAL"
