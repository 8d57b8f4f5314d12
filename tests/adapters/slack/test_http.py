"""HTTP mode: the real bolt app behind /slack/events, with signed requests over real HTTP."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest

from adapters.slack.platform import SlackPlatform
from bot.core import (
    Answer,
    ButtonPressed,
    CommandInvoked,
    CommunityDirectory,
    Content,
    ManualClock,
    MessageReceived,
    ReactionAdded,
)
from tests.fakes.slack_server import (
    FakeSlack,
    block_actions,
    event_callback,
    form_body,
    message_event,
    post_signed,
    slash_command,
)
from tests.helpers import SLACK_START as START
from tests.helpers import Factory, commands, eventually, secrets, slack_config

pytestmark = pytest.mark.timeout(30)


async def test_a_signed_message_event_is_delivered(
    fake: FakeSlack, start_platform: Factory, http_endpoint, session: aiohttp.ClientSession
) -> None:
    platform, sink, _ = await start_platform("http")
    url = await http_endpoint(platform)
    ts = fake.next_ts()
    body = event_callback(
        message_event("C0GENERAL", "UALICE", "see https://x.org", ts), event_id="Ev1"
    )
    status, _ = await post_signed(session, url, json.dumps(body))
    assert status == 200
    # the ack comes after the event was handed over (process_before_response)
    [event] = sink.events(MessageReceived)
    assert event.author.name == "alice" and event.text == "see https://x.org"
    assert str(event.ref.channel) == "slack:T0001/C0GENERAL"


async def test_bad_signature_and_old_timestamp_are_refused(
    fake: FakeSlack, start_platform: Factory, http_endpoint, session: aiohttp.ClientSession
) -> None:
    platform, sink, _ = await start_platform("http")
    url = await http_endpoint(platform)
    body = json.dumps(
        event_callback(message_event("C0GENERAL", "UALICE", "hi", fake.next_ts()), event_id="Ev2")
    )
    assert (await post_signed(session, url, body, secret="wrong"))[0] == 401
    stale = int(time.time()) - 6 * 60
    assert (await post_signed(session, url, body, timestamp=stale))[0] == 401
    async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
        assert r.status == 401
    assert sink.deliveries == []


async def test_url_verification_is_answered(
    start_platform: Factory, http_endpoint, session: aiohttp.ClientSession
) -> None:
    platform, _, _ = await start_platform("http")
    url = await http_endpoint(platform)
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"})
    status, text = await post_signed(session, url, body)
    assert status == 200 and "abc123" in text


async def test_retries_are_stored_once_and_a_retry_alone_is_kept(
    fake: FakeSlack, start_platform: Factory, http_endpoint, session: aiohttp.ClientSession
) -> None:
    platform, sink, _ = await start_platform("http")
    url = await http_endpoint(platform)
    first = json.dumps(
        event_callback(message_event("C0GENERAL", "UALICE", "one", fake.next_ts()), event_id="EvA")
    )
    for retry in (None, 1, 2):
        assert (await post_signed(session, url, first, retry_num=retry))[0] == 200
    # the original of this one never arrived: its first retry is the only delivery
    lost = json.dumps(
        event_callback(message_event("C0GENERAL", "UALICE", "two", fake.next_ts()), event_id="EvB")
    )
    assert (await post_signed(session, url, lost, retry_num=1))[0] == 200
    assert [e.text for e in sink.events(MessageReceived)] == ["one", "two"]
    assert len(sink.deliveries) == 4


async def test_own_and_other_bots_messages_are_ignored(
    fake: FakeSlack, start_platform: Factory, http_endpoint, session: aiohttp.ClientSession
) -> None:
    platform, sink, _ = await start_platform("http")
    url = await http_endpoint(platform)
    own = message_event("C0GENERAL", "UBOT", "I posted this", fake.next_ts(), bot_id="BBOT")
    other = message_event("C0GENERAL", "UOTHERBOT", "beep", fake.next_ts())
    integration = message_event(
        "C0GENERAL", "UALICE", "rss", fake.next_ts(), bot_id="B77", subtype="bot_message"
    )
    for index, event in enumerate((own, other, integration)):
        status, _ = await post_signed(
            session, url, json.dumps(event_callback(event, event_id=f"EvX{index}"))
        )
        assert status == 200
    assert sink.deliveries == []


async def test_reactions_are_delivered(
    fake: FakeSlack, start_platform: Factory, http_endpoint, session: aiohttp.ClientSession
) -> None:
    platform, sink, _ = await start_platform("http")
    url = await http_endpoint(platform)
    reaction = {
        "type": "reaction_added",
        "user": "UFRAN",
        "reaction": "tada",
        "event_ts": fake.next_ts(),
        "item": {"type": "message", "channel": "C0GENERAL", "ts": "1790000001.000001"},
    }
    assert (await post_signed(session, url, json.dumps(event_callback(reaction, event_id="EvR"))))[
        0
    ] == 200
    [event] = sink.events(ReactionAdded)
    assert event.author.roles == frozenset({"S0FACILS", "facilitators"})


async def test_a_slash_command_is_acknowledged_and_answered_privately(
    fake: FakeSlack, start_platform: Factory, http_endpoint, session: aiohttp.ClientSession
) -> None:
    platform, sink, _ = await start_platform("http")
    url = await http_endpoint(platform)
    response_url = fake.new_response_url()
    form = slash_command(
        "/facilitator",
        "goal set learn “async” Rust",
        user="UALICE",
        channel="C0GENERAL",
        response_url=response_url,
    )
    started = time.monotonic()
    status, _ = await post_signed(
        session, url, form_body(form), content_type="application/x-www-form-urlencoded"
    )
    assert status == 200 and time.monotonic() - started < 3
    [command] = sink.events(CommandInvoked)
    assert command.path == ("goal", "set") and command.text == "learn “async” Rust"
    await platform.perform(
        Answer(to=command.reply_to, content=Content(text="Goal saved: **learn**"))
    )
    [answer] = fake.responses[response_url.rsplit("/", 1)[1]]
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["text"]["text"] == "Goal saved: *learn*"


async def test_a_button_press_becomes_its_command_line(
    fake: FakeSlack, start_platform: Factory, http_endpoint, session: aiohttp.ClientSession
) -> None:
    platform, sink, _ = await start_platform("http")
    url = await http_endpoint(platform)
    response_url = fake.new_response_url()
    payload = block_actions(
        "rsvp 12 yes",
        user="UALICE",
        channel="C0GENERAL",
        message_ts="1790000005.000005",
        response_url=response_url,
    )
    body = form_body({"payload": json.dumps(payload)})
    status, _ = await post_signed(
        session, url, body, content_type="application/x-www-form-urlencoded"
    )
    assert status == 200
    [pressed] = sink.events(ButtonPressed)
    assert pressed.action == "rsvp 12 yes" and pressed.message.message == "1790000005.000005"
    await platform.perform(Answer(to=pressed.reply_to, content=Content(text="You're in.")))
    await eventually(lambda: len(fake.responses[response_url.rsplit("/", 1)[1]]) == 1)


async def test_a_failing_sink_gets_no_ack_so_slack_retries(
    fake: FakeSlack, start_platform: Factory, http_endpoint, session: aiohttp.ClientSession
) -> None:
    platform, sink, _ = await start_platform("http")
    url = await http_endpoint(platform)
    body = json.dumps(
        event_callback(message_event("C0GENERAL", "UALICE", "x", fake.next_ts()), event_id="EvF")
    )
    sink.fail_with = RuntimeError("database is locked")
    status, _ = await post_signed(session, url, body)
    assert status == 500
    sink.fail_with = None
    assert (await post_signed(session, url, body, retry_num=1))[0] == 200
    assert len(sink.events(MessageReceived)) == 1


async def test_socket_mode_serves_no_http_routes(start_platform: Factory) -> None:
    platform, _, _ = await start_platform("socket")
    assert platform.http_routes() == []


async def test_a_malformed_event_is_acknowledged_logged_and_skipped(
    fake: FakeSlack,
    start_platform: Factory,
    http_endpoint,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    platform, sink, _ = await start_platform("http")
    url = await http_endpoint(platform)
    broken = {
        "type": "reaction_added",
        "user": "UALICE",
        "reaction": "x",
        "event_ts": "soon",
        "item": {"type": "message", "channel": "C0GENERAL", "ts": "1.0"},
    }
    status, _ = await post_signed(
        session, url, json.dumps(event_callback(broken, event_id="EvBad"))
    )
    assert status == 200 and sink.deliveries == []
    assert "ignored a malformed reaction_added event EvBad" in caplog.text
    ok = event_callback(
        message_event("C0GENERAL", "UALICE", "fine", fake.next_ts()), event_id="EvOk"
    )
    assert (await post_signed(session, url, json.dumps(ok)))[0] == 200
    assert len(sink.events(MessageReceived)) == 1


async def test_requests_before_start_are_turned_away_with_503(
    fake: FakeSlack, http_endpoint, session: aiohttp.ClientSession
) -> None:
    config = slack_config(fake, "http")
    platform = SlackPlatform(
        config, secrets(), CommunityDirectory(config), commands(), ManualClock(START)
    )
    url = await http_endpoint(platform)
    body = json.dumps(
        event_callback(message_event("C0GENERAL", "UALICE", "x", "1.000000"), event_id="E")
    )
    assert (await post_signed(session, url, body))[0] == 503  # Slack retries it later
