"""Socket Mode: the real bolt handler connects to the fake's websocket and acks envelopes."""

from __future__ import annotations

import pytest

from bot.core import ButtonPressed, CommandInvoked, MemberJoined, MessageEdited, MessageReceived
from tests.fakes.slack_server import (
    FakeSlack,
    block_actions,
    event_callback,
    message_event,
    slash_command,
    view_submission,
)
from tests.helpers import Factory, RecordingSink, eventually

pytestmark = pytest.mark.timeout(30)


async def test_events_are_delivered_and_acknowledged(
    fake: FakeSlack, start_platform: Factory
) -> None:
    _, sink, _ = await start_platform("socket")
    assert fake.socket_connections == 1
    parent = fake.next_ts()
    first = await fake.push_envelope(
        "events_api",
        event_callback(message_event("C0GENERAL", "UALICE", "root", parent), event_id="Ev1"),
    )
    reply = message_event("C0GENERAL", "UFRAN", "reply", fake.next_ts(), thread_ts=parent)
    second = await fake.push_envelope("events_api", event_callback(reply, event_id="Ev2"))
    await fake.wait_ack(first)
    await fake.wait_ack(second)
    root, answer = sink.events(MessageReceived)
    assert (root.text, root.ref.thread) == ("root", None)
    assert (answer.text, answer.ref.thread) == ("reply", parent)
    assert answer.cursor is not None and root.cursor is not None and answer.cursor > root.cursor


async def test_starting_opens_one_socket_mode_url(fake: FakeSlack, start_platform: Factory) -> None:
    await start_platform("socket")
    # The start-up token check's URL is the one connected to: no second apps.connections.open.
    assert len(fake.calls_to("apps.connections.open")) == 1
    assert fake.socket_connections == 1


async def test_redelivered_envelopes_are_stored_once(
    fake: FakeSlack, start_platform: Factory
) -> None:
    _, sink, _ = await start_platform("socket")
    body = event_callback(
        message_event("C0GENERAL", "UALICE", "once", fake.next_ts()), event_id="Ev3"
    )
    for attempt in range(3):
        await fake.wait_ack(await fake.push_envelope("events_api", body, retry_attempt=attempt))
    assert len(sink.deliveries) == 3 and len(sink.events(MessageReceived)) == 1


async def test_edits_and_joins_arrive(fake: FakeSlack, start_platform: Factory) -> None:
    _, sink, _ = await start_platform("socket")
    old = {"type": "message", "user": "UALICE", "text": "a", "ts": "1790000001.000001"}
    new = {
        **old,
        "text": "a https://x.org",
        "edited": {"user": "UALICE", "ts": "1790000002.000000"},
    }
    changed = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C0GENERAL",
        "message": new,
        "previous_message": old,
        "event_ts": "1790000002.000001",
    }
    joined = {
        "type": "member_joined_channel",
        "user": "UCARL",
        "channel": "C0GENERAL",
        "event_ts": "1790000003.000000",
    }
    await fake.wait_ack(
        await fake.push_envelope("events_api", event_callback(changed, event_id="Ev4"))
    )
    await fake.wait_ack(
        await fake.push_envelope("events_api", event_callback(joined, event_id="Ev5"))
    )
    [edit] = sink.events(MessageEdited)
    [join] = sink.events(MemberJoined)
    assert edit.text == "a https://x.org" and join.member.name == "carl"


async def test_an_unqueued_event_is_not_acknowledged(
    fake: FakeSlack, start_platform: Factory
) -> None:
    _, sink, _ = await start_platform("socket")
    sink.fail_with = RuntimeError("queue full")
    body = event_callback(message_event("C0GENERAL", "UALICE", "x", fake.next_ts()), event_id="Ev6")
    refused = await fake.push_envelope("events_api", body)
    await eventually(lambda: sink.refused == 1)
    sink.fail_with = None
    accepted = await fake.push_envelope("events_api", body, retry_attempt=1)
    await fake.wait_ack(accepted)
    assert refused not in fake.acks
    assert len(sink.events(MessageReceived)) == 1


async def test_slash_commands_and_buttons_over_the_socket(
    fake: FakeSlack, start_platform: Factory
) -> None:
    _, sink, _ = await start_platform("socket")
    command = slash_command(
        "/facilitator",
        "help goal",
        user="UALICE",
        channel="C0GENERAL",
        response_url=fake.new_response_url(),
    )
    await fake.wait_ack(await fake.push_envelope("slash_commands", command))
    press = block_actions(
        "goal show",
        user="UALICE",
        channel="C0GENERAL",
        message_ts="1790000009.000000",
        response_url=fake.new_response_url(),
    )
    await fake.wait_ack(await fake.push_envelope("interactive", press))
    [invoked] = sink.events(CommandInvoked)
    [pressed] = sink.events(ButtonPressed)
    assert (invoked.path, invoked.text) == (("help",), "goal")
    assert pressed.action == "goal show"


async def test_a_facilitator_gets_a_form_for_a_long_command(
    fake: FakeSlack, start_platform: Factory
) -> None:
    _, sink, _ = await start_platform("socket")
    command = slash_command(
        "/facilitator",
        "schedule",
        user="UFRAN",
        channel="C0GENERAL",
        response_url=fake.new_response_url(),
    )
    await fake.wait_ack(await fake.push_envelope("slash_commands", command))
    [view] = fake.views
    assert sink.deliveries == []
    submitted = view_submission(
        view, {"title": "Kick-off", "when": "2026-12-01 18:00", "minutes": "60"}, user="UFRAN"
    )
    await fake.wait_ack(await fake.push_envelope("interactive", submitted))
    [invoked] = sink.events(CommandInvoked)
    assert invoked.path == ("schedule",)
    assert invoked.text == 'title="Kick-off" when="2026-12-01 18:00" minutes="60"'
    assert str(invoked.channel) == "slack:T0001/C0GENERAL"


async def test_a_member_is_not_offered_a_facilitator_form(
    fake: FakeSlack, start_platform: Factory
) -> None:
    _, sink, directory = await start_platform("socket")
    command = slash_command(
        "/facilitator",
        "schedule",
        user="UALICE",
        channel="C0GENERAL",
        response_url=fake.new_response_url(),
    )
    await fake.wait_ack(await fake.push_envelope("slash_commands", command))
    assert fake.views == []
    [invoked] = sink.events(CommandInvoked)
    assert not directory.is_facilitator("demo", invoked.author)


async def test_the_client_reconnects_after_the_socket_drops(
    fake: FakeSlack, start_platform: Factory
) -> None:
    _, sink, _ = await start_platform("socket", ping_interval=0.2)
    await fake.drop_connections()
    await eventually(lambda: fake.socket_connections >= 2 and fake.connected, within=10)
    body = event_callback(
        message_event("C0GENERAL", "UALICE", "back", fake.next_ts()), event_id="Ev7"
    )
    await fake.wait_ack(await fake.push_envelope("events_api", body))
    assert [e.text for e in sink.events(MessageReceived)] == ["back"]


async def test_a_burst_of_events_makes_one_lookup_per_member(
    fake: FakeSlack, start_platform: Factory
) -> None:
    _, sink, _ = await start_platform("socket")
    envelopes = []
    for n in range(30):
        event = message_event("C0GENERAL", ("UALICE", "UFRAN")[n % 2], f"m{n}", fake.next_ts())
        envelopes.append(
            await fake.push_envelope("events_api", event_callback(event, event_id=f"B{n}"))
        )
    for envelope in envelopes:
        await fake.wait_ack(envelope)
    assert len(sink.events(MessageReceived)) == 30
    assert sorted(c.args["user"] for c in fake.calls_to("users.info")) == ["UALICE", "UFRAN"]
    assert len(fake.calls_to("usergroups.users.list")) == 1
    assert len(fake.calls_to("auth.test")) == 1  # the start-up check's answer serves bolt too


async def test_a_form_value_that_cannot_be_an_argument_keeps_the_form_open(
    fake: FakeSlack, start_platform: Factory
) -> None:
    _, sink, _ = await start_platform("socket")
    command = slash_command(
        "/facilitator",
        "schedule",
        user="UFRAN",
        channel="C0GENERAL",
        response_url=fake.new_response_url(),
    )
    await fake.wait_ack(await fake.push_envelope("slash_commands", command))
    [view] = fake.views
    title = "\"'“”‘’«»"
    submitted = view_submission(view, {"title": title, "when": "now", "minutes": "5"}, user="UFRAN")
    ack = await fake.wait_ack(await fake.push_envelope("interactive", submitted))
    assert ack == {
        "response_action": "errors",
        "errors": {"title": "This uses every kind of quote mark; remove some of them."},
    }
    assert sink.deliveries == []


async def test_a_refresh_request_moves_to_a_new_socket(
    fake: FakeSlack, start_platform: Factory
) -> None:
    _, sink, _ = await start_platform("socket")
    await fake.ask_to_reconnect()
    await eventually(lambda: fake.socket_connections == 2 and fake.connected, within=10)
    body = event_callback(
        message_event("C0GENERAL", "UALICE", "fresh", fake.next_ts()), event_id="Ev8"
    )
    await fake.wait_ack(await fake.push_envelope("events_api", body))
    assert [e.text for e in sink.events(MessageReceived)] == ["fresh"]


async def test_what_was_said_while_the_socket_was_down_is_backfilled_after_it_reconnects(
    fake: FakeSlack, start_platform: Factory
) -> None:
    """Slack may not redeliver what it sent to a connection that dropped: each new connection
    after the first records the gap as an unread range and reads it from history."""
    _, sink, _ = await start_platform("socket", ping_interval=0.2)
    seen = fake.add_message("C0GENERAL", "UALICE", "before the drop")
    event = message_event("C0GENERAL", "UALICE", seen["text"], seen["ts"])
    body = event_callback(event, event_id="Ev1")
    await fake.wait_ack(await fake.push_envelope("events_api", body))
    reads = len(fake.calls_to("conversations.history"))
    await fake.drop_connections()
    missed = fake.add_message("C0GENERAL", "UFRAN", "said while the socket was down")
    await eventually(lambda: fake.socket_connections >= 2 and fake.connected, within=10)
    await eventually(lambda: "said while the socket was down" in texts(sink), within=10)
    assert texts(sink).count("before the drop") == 1
    assert len(fake.calls_to("conversations.history")) > reads
    assert [e.ref.message for e in sink.events(MessageReceived)][-1] == missed["ts"]


def texts(sink: RecordingSink) -> list[str]:
    return [e.text for e in sink.events(MessageReceived)]
