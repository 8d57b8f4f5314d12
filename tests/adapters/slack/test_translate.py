"""Pure translation: Slack payloads to core events, core content to mrkdwn and Block Kit."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack import commands as cm
from adapters.slack import render as rd
from adapters.slack import translate as tr
from bot.core import (
    Author,
    Button,
    Content,
    MemberJoined,
    MemberRef,
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    ReactionAdded,
    parse_arguments,
)
from bot.core.commands import wants_form
from tests.fakes.slack_server import event_callback, message_event
from tests.helpers import SLACK_START as START
from tests.helpers import commands

ALICE = Author(ref=MemberRef("slack", "T1", "UALICE"), name="alice")
BOT = Author(ref=MemberRef("slack", "T1", "UOTHER"), name="otherbot", is_bot=True)
AUTHORS = {"UALICE": ALICE, "UOTHER": BOT}


def test_cursor_sorts_like_time_and_round_trips() -> None:
    early, late = "999999999.999999", "1790000000.000001"
    assert tr.ts_to_cursor(early) < tr.ts_to_cursor(late)
    assert tr.cursor_to_ts(tr.ts_to_cursor(late)) == late


@settings(deadline=None)
@given(
    st.integers(0, 10**11), st.integers(0, 999_999), st.integers(0, 10**11), st.integers(0, 999_999)
)
def test_cursor_order_matches_timestamp_order(s1: int, f1: int, s2: int, f2: int) -> None:
    a, b = f"{s1}.{f1:06d}", f"{s2}.{f2:06d}"
    assert (tr.ts_to_cursor(a) < tr.ts_to_cursor(b)) == ((s1, f1) < (s2, f2))
    assert tr.cursor_to_ts(tr.ts_to_cursor(a)) == a


def test_a_channel_message_becomes_message_received_keyed_by_the_message() -> None:
    body = event_callback(
        message_event(
            "C1", "UALICE", "see &lt;<https://x.org/a?b=1&amp;c=2|x &amp; y>", "1790000001.000100"
        ),
        event_id="Ev1",
        team_id="T1",
    )
    event = tr.translate_event(body, "T1", AUTHORS)
    assert isinstance(event, MessageReceived)
    assert event.key == "slack:message:T1/C1/1790000001.000100"
    assert event.text == "see <<https://x.org/a?b=1&c=2|x & y>"
    assert str(event.ref) == "slack:T1/C1/1790000001.000100"
    assert event.ref.thread is None
    assert event.cursor == "001790000001.000100"
    assert event.sent_at.timestamp() == 1790000001.0001
    assert not event.is_direct


def test_a_thread_reply_names_its_root_and_a_dm_is_direct() -> None:
    reply = message_event(
        "C1", "UALICE", "me too", "1790000002.000000", thread_ts="1790000001.000000"
    )
    event = tr.translate_event(event_callback(reply, event_id="Ev2"), "T1", AUTHORS)
    assert isinstance(event, MessageReceived) and event.ref.thread == "1790000001.000000"
    dm = message_event("D1", "UALICE", "hi", "1790000003.000000", channel_type="im")
    event = tr.translate_event(event_callback(dm, event_id="Ev3"), "T1", AUTHORS)
    assert isinstance(event, MessageReceived) and event.is_direct


def test_bots_and_bookkeeping_subtypes_are_ignored() -> None:
    bot = message_event("C1", "UOTHER", "beep", "1.000000")
    assert tr.translate_event(event_callback(bot, event_id="E"), "T1", AUTHORS) is None
    integration = message_event("C1", "UALICE", "x", "1.000000", bot_id="B9", subtype="bot_message")
    assert tr.translate_event(event_callback(integration, event_id="E"), "T1", AUTHORS) is None
    join = message_event("C1", "UALICE", "joined", "1.000000", subtype="channel_join")
    assert tr.translate_event(event_callback(join, event_id="E"), "T1", AUTHORS) is None


def test_edits_deletes_and_unfurls() -> None:
    old = {"user": "UALICE", "text": "a", "ts": "5.000000"}
    new = {**old, "text": "a https://x.org", "edited": {"user": "UALICE", "ts": "6.000000"}}
    changed = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C1",
        "message": new,
        "previous_message": old,
        "event_ts": "6.000001",
        "ts": "6.000001",
    }
    event = tr.translate_event(event_callback(changed, event_id="Ev9"), "T1", AUTHORS)
    assert isinstance(event, MessageEdited)
    assert (event.key, event.text, event.edited_at.timestamp()) == (
        "slack:edit:T1/C1/5.000000/6.000000",
        "a https://x.org",
        6.0,
    )
    unfurl = {**changed, "message": {**old, "attachments": [{}]}}
    assert tr.translate_event(event_callback(unfurl, event_id="Ev10"), "T1", AUTHORS) is None
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": "C1",
        "deleted_ts": "5.000000",
        "previous_message": old,
        "event_ts": "7.000000",
    }
    event = tr.translate_event(event_callback(deleted, event_id="Ev11"), "T1", AUTHORS)
    assert isinstance(event, MessageDeleted) and event.ref.message == "5.000000"


def test_reactions_and_joins() -> None:
    reaction = {
        "type": "reaction_added",
        "user": "UALICE",
        "reaction": "bookmark",
        "item": {"type": "message", "channel": "C1", "ts": "5.000000"},
        "event_ts": "8.0",
    }
    event = tr.translate_event(event_callback(reaction, event_id="Ev12"), "T1", AUTHORS)
    assert isinstance(event, ReactionAdded) and event.emoji == "bookmark"
    assert event.message.message == "5.000000"
    on_file = {**reaction, "item": {"type": "file", "file": "F1"}}
    assert tr.translate_event(event_callback(on_file, event_id="Ev13"), "T1", AUTHORS) is None
    joined = {"type": "member_joined_channel", "user": "UALICE", "channel": "C1", "event_ts": "9.0"}
    event = tr.translate_event(event_callback(joined, event_id="Ev14"), "T1", AUTHORS)
    assert isinstance(event, MemberJoined) and event.member == ALICE


def test_slash_command_text_becomes_a_path_and_arguments() -> None:
    table = commands()
    assert tr.command_path(table, "") == (("help",), "")
    assert tr.command_path(table, "goal set a &lt;b&gt; &amp; c") == (("goal", "set"), "a <b> & c")
    assert tr.command_path(table, "goal set learn “Rust” well") == (
        ("goal", "set"),
        "learn “Rust” well",
    )
    payload = {
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "UALICE",
        "text": "help goal",
        "response_url": "http://x/r",
        "trigger_id": "t1",
    }
    event = tr.translate_command(payload, table, ALICE, START)
    assert (event.path, event.text, event.key) == (("help",), "goal", "slack:command:t1")
    target = tr.ReplyTarget.decode(event.reply_to.token)
    assert (target.user, target.channel, target.response_url) == ("UALICE", "C1", "http://x/r")


def test_modal_submission_is_the_command_with_its_arguments() -> None:
    table = commands()
    spec = table.resolve(("schedule",)).spec
    assert wants_form(spec, "") and not wants_form(spec, "x")
    assert not wants_form(table.resolve(("goal", "set")).spec, "")
    view = cm.command_modal(("schedule",), spec, channel="C1", response_url=None)
    assert [b["block_id"] for b in view["blocks"]] == ["title", "when", "minutes", "kind"]
    assert len(view["title"]["text"]) <= 24
    state = {
        "title": {"value": {"type": "plain_text_input", "value": 'Intro "live"'}},
        "when": {"value": {"type": "plain_text_input", "value": "2026-12-01 18:00"}},
        "minutes": {"value": {"type": "number_input", "value": "45"}},
        "kind": {"value": {"type": "static_select", "selected_option": {"value": "online"}}},
    }
    payload = {"view": {**view, "state": {"values": state}}}
    path, text, channel, response_url = cm.modal_submission(payload, table)
    assert (path, channel, response_url) == (("schedule",), "C1", None)
    assert parse_arguments(spec, text) == {
        "title": 'Intro "live"',
        "when": "2026-12-01 18:00",
        "minutes": 45,
        "kind": "online",
    }


def test_mrkdwn_escapes_member_text_and_renders_markup() -> None:
    assert rd.render_mrkdwn("a & b <c> d") == "a &amp; b &lt;c&gt; d"
    assert rd.render_mrkdwn("**bold** _it_ `code`") == "*bold* _it_ `code`"
    assert rd.render_mrkdwn("[a <b>](https://x.org/a|b)") == "<https://x.org/a%7Cb|a &lt;b&gt;>"
    assert rd.render_mrkdwn("<t:1790000000>") == (
        "<!date^1790000000^{date_short_pretty} {time}|2026-09-21 14:13 UTC>"
    )
    assert (
        rd.render_mrkdwn("<t:1790000000:d>") == "<!date^1790000000^{date_short_pretty}|2026-09-21>"
    )


@settings(deadline=None)
@given(st.text(alphabet="ab <>&\n*_", max_size=9000), st.integers(20, 3000))
def test_split_mrkdwn_keeps_limits_and_entities(text: str, limit: int) -> None:
    rendered = rd.render_mrkdwn(text)
    pieces = rd.split_mrkdwn(rendered, limit)
    assert all(0 < len(piece) <= limit for piece in pieces)
    for piece in pieces:
        assert piece.count("&") == piece.count(";")  # no &amp; cut in half
    assert "".join(pieces).replace(" ", "").replace("\n", "") == rendered.replace(" ", "").replace(
        "\n", ""
    )


def test_a_digest_reads_once_its_text_is_not_repeated_by_its_sections() -> None:
    # `text` is the complete message; the sections repeat parts of it (Content's contract).
    sections = (("Top links", "https://example.org/a"), ("New voices", "alice"))
    text = "Intro\n\n**Top links**\nhttps://example.org/a\n\n**New voices**\nalice\n\nFooter"
    [message] = rd.render_content(Content(text=text, title="Digest", sections=sections))
    shown = json.dumps(message.blocks)
    assert shown.count("Top links") == 1 and shown.count("alice") == 1
    assert "Intro" in shown and "Footer" in shown


def test_long_content_is_split_into_messages_within_block_kit_limits() -> None:
    sections = tuple((f"Week {i}", "x" * 4000) for i in range(40))
    buttons = tuple(Button(label=f"RSVP {i}", action=f"rsvp {i}") for i in range(30))
    # Sections-only content: the rich layout is all there is to render.
    content = Content(text="", title="T" * 200, sections=sections, buttons=buttons)
    messages = rd.render_content(content)
    assert len(messages) == 2  # 83 blocks
    blocks = [block for message in messages for block in message.blocks]
    assert all(len(message.blocks) <= 50 for message in messages)
    assert blocks[0]["type"] == "header" and len(blocks[0]["text"]["text"]) == 150
    sections_out = [b for b in blocks if b["type"] == "section"]
    assert all(len(b["text"]["text"]) <= 3000 for b in sections_out)
    assert len(sections_out) == 40 * 2
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [25, 5]
    assert actions[0]["elements"][3]["value"] == "rsvp 3"
    assert len({e["action_id"] for a in actions for e in a["elements"]}) == 30
    assert all(len(message.text) <= 3000 for message in messages)
    json.dumps([m.blocks for m in messages])


_SEGMENTS = st.one_of(
    st.text(alphabet="ab &<>", min_size=1, max_size=30),
    st.builds(lambda n: f"[label {n} & co](https://example.org/{n}?a=1&b=2)", st.integers(0, 999)),
    st.builds(lambda n: f"<t:{n}>", st.integers(0, 2_000_000_000)),
    st.just("\n"),
)


@settings(deadline=None)
@given(st.lists(_SEGMENTS, max_size=300), st.integers(100, 400))  # longer than any entity
def test_split_never_cuts_a_link_or_a_date(segments: list[str], limit: int) -> None:
    pieces = rd.split_mrkdwn(rd.render_mrkdwn(" ".join(segments)), limit)
    for piece in pieces:
        assert len(piece) <= limit
        assert piece.count("<") == piece.count(">")
        assert piece.count("&") == piece.count(";")


@settings(deadline=None)
@given(st.text(max_size=2000), st.integers(0, 10**11), st.integers(0, 999_999))
def test_any_member_text_becomes_a_message(text: str, seconds: int, micros: int) -> None:
    ts = f"{seconds}.{micros:06d}"
    body = event_callback(message_event("C1", "UALICE", text, ts), event_id="E")
    event = tr.translate_event(body, "T1", AUTHORS)
    assert isinstance(event, MessageReceived)
    assert event.text == tr.inbound_text(text) and event.cursor == tr.ts_to_cursor(ts)
    assert tr.is_ts(ts) and not tr.is_ts("soon") and not tr.is_ts("1.2.3")
