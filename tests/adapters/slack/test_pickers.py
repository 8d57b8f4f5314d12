"""External selects: sessions, links and weeks are picked from what exists, answered in the
ack (within Slack's 3 s, at most 100 options), instead of typed ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from adapters.slack import commands as slack_commands
from bot.core import Author, ChannelRef, MemberRef, Suggestion, SuggestionRequest
from bot.features.loop.service import ANNOTATE
from bot.storage.schema import gathering_questions, link_annotations
from tests.adapters.slack.test_gatherings import with_announcements
from tests.fakes.slack_server import (
    FakeSlack,
    block_suggestion,
    event_callback,
    form_body,
    message_event,
    post_signed,
    slash_command,
    view_submission,
)
from tests.helpers import Factory, SlackStory, commands, eventually, story_config

pytestmark = pytest.mark.timeout(60)

LINK = "https://meet.example.org/talk"


async def open_form(story: SlackStory, text: str, user: str) -> dict[str, Any]:
    url = story.fake.new_response_url()
    form = slash_command("/facilitator", text, user=user, channel="C0GENERAL", response_url=url)
    before = len(story.fake.views)
    await story.fake.wait_ack(await story.fake.push_envelope("slash_commands", form))
    await eventually(lambda: len(story.fake.views) > before)
    return story.fake.views[-1]


async def options(story: SlackStory, view: dict[str, Any], block: str, typed: str) -> list[Any]:
    payload = block_suggestion(view, block, typed, user="UALICE")
    ack = await story.fake.wait_ack(await story.fake.push_envelope("interactive", payload))
    assert ack is not None
    return list(ack["options"])


async def test_a_member_picks_the_session_their_question_is_for(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, with_announcements(fake, tmp_path)) as story:
        await story.command(
            f'event create title="Guest talk" when="2026-12-03 17:00" where={LINK} confirm=yes',
            "UFRAN",
        )
        view = await open_form(story, "ask", "UALICE")
        [picker] = [b for b in view["blocks"] if b["block_id"] == "id"]
        assert picker["element"]["type"] == "external_select"
        shown = "1 · Guest talk · Thu 03 Dec 2026 17:00 CET"
        assert await options(story, view, "id", "") == [
            {"text": {"type": "plain_text", "text": shown}, "value": "1"}
        ]
        assert await options(story, view, "id", "guest") != []
        assert await options(story, view, "id", "nothing like it") == []
        envelope = await fake.push_envelope(
            "interactive",
            view_submission(view, {"id": "1", "question": "Slides afterwards?"}, user="UALICE"),
        )
        await fake.wait_ack(envelope)
        await story.app.drain()
        async with story.app.database.reading() as conn:
            rows = (await conn.execute(select(gathering_questions.c.text))).all()
        assert [row.text for row in rows] == ["Slides afterwards?"]


async def test_a_member_picks_the_link_they_annotate(fake: FakeSlack, tmp_path: Path) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        for index, url in enumerate(("https://example.org/spacing", "https://example.org/other")):
            message = fake.add_message("C0GENERAL", "UFRAN", f"see {url}")
            await story.event(
                message_event("C0GENERAL", "UFRAN", message["text"], message["ts"]), f"Ev{index}"
            )
        view = await open_form(story, "annotate", "UALICE")
        listed = await options(story, view, "link", "")
        assert [o["value"] for o in listed] == ["L2", "L1"]  # newest first
        [spacing] = await options(story, view, "link", "SPACING")
        assert spacing["value"] == "L1" and "example.org/spacing" in spacing["text"]["text"]
        envelope = await fake.push_envelope(
            "interactive",
            view_submission(view, {"link": "L1", "text": "Key idea: spacing"}, user="UALICE"),
        )
        await fake.wait_ack(envelope)
        await story.app.drain()
        async with story.app.database.reading() as conn:
            rows = (await conn.execute(select(link_annotations.c.link_id))).all()
        assert [row.link_id for row in rows] == [1]


async def test_weeks_are_offered_newest_first(fake: FakeSlack, tmp_path: Path) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        alice = Author(ref=MemberRef("slack", "T0001", "UALICE"), name="alice")
        request = SuggestionRequest(
            source="weeks",
            typed="",
            author=alice,
            channel=ChannelRef("slack", "T0001", "C0GENERAL"),
        )
        weeks = await story.app.dispatcher.suggest(request)
        # "last" (the commands' default) and "this", then the weeks before, newest first
        assert [w.value for w in weeks[:4]] == ["last", "this", "2026-W46", "2026-W45"]
        assert weeks[0].label.startswith("last (2026-W47) · Mon 16 Nov")
        nothing = await story.app.dispatcher.suggest(
            SuggestionRequest(source="colour", typed="", author=alice, channel=request.channel)
        )
        assert nothing == []


def test_options_stay_within_slacks_limits() -> None:
    found = [(f"label {n} " + "x" * 100, str(n)) for n in range(150)] + [("long", "v" * 151)]
    options = slack_commands.suggestion_options(found)
    assert len(options) == 100
    assert all(len(o["text"]["text"]) <= 75 and len(o["value"]) <= 150 for o in options)


async def test_options_are_answered_over_http_too(
    fake: FakeSlack, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path, mode="http")) as story:
        message = fake.add_message("C0GENERAL", "UFRAN", "see https://example.org/a")
        url = f"http://127.0.0.1:{story.app.web.port}/slack/events"
        event = message_event("C0GENERAL", "UFRAN", message["text"], message["ts"])
        body = json.dumps(event_callback(event, event_id="EvH"))
        assert (await post_signed(session, url, body))[0] == 200
        await story.app.drain()
        view = {
            "id": "V1",
            "callback_id": slack_commands.MODAL_CALLBACK,
            "private_metadata": json.dumps({"path": ["annotate"], "channel": "C0GENERAL"}),
            "blocks": [
                {
                    "type": "input",
                    "block_id": "link",
                    "element": {"type": "external_select", "action_id": "pick"},
                }
            ],
        }
        payload = block_suggestion(view, "link", "", user="UALICE")
        status, text = await post_signed(
            session,
            url,
            form_body({"payload": json.dumps(payload)}),
            content_type="application/x-www-form-urlencoded",
        )
        assert status == 200
        assert [o["value"] for o in json.loads(text)["options"]] == ["L1"]


async def test_the_adapter_asks_the_sink_with_the_member_and_what_they_typed(
    fake: FakeSlack, start_platform: Factory
) -> None:
    table = commands()
    table.add(ANNOTATE)
    _, sink, _ = await start_platform("socket", commands=table)
    sink.suggestions["links"] = [Suggestion(label="L7 · " + "t" * 100, value="L7")]
    view = {
        "id": "V9",
        "private_metadata": json.dumps({"path": ["annotate"], "channel": "C0GENERAL"}),
        "blocks": [
            {
                "type": "input",
                "block_id": "link",
                "element": {"type": "external_select", "action_id": "pick"},
            },
            {
                "type": "input",
                "block_id": "text",
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
        ],
    }
    ack = await fake.wait_ack(
        await fake.push_envelope(
            "interactive", block_suggestion(view, "link", "spa", user="UALICE")
        )
    )
    assert ack is not None
    [option] = ack["options"]
    assert option["value"] == "L7" and len(option["text"]["text"]) == 75
    [request] = sink.suggested
    assert (request.source, request.typed, request.author.name) == ("links", "spa", "alice")
    assert str(request.channel) == "slack:T0001/C0GENERAL"
    # a select that is not one of ours, or a field that picks nothing, gets no options
    for block in ("text", "nope"):
        payload = block_suggestion(view, "link", "", user="UALICE") | {"block_id": block}
        ack = await fake.wait_ack(await fake.push_envelope("interactive", payload))
        assert ack is not None and ack["options"] == []
