"""Message shortcuts: "Add to digest" and "Reflect on this" open a modal with the payload's
fresh trigger_id; the member's own words, never the message's, become the note."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from adapters.slack import commands as slack_commands
from bot.core import CommandInvoked
from bot.features.loop.service import REFLECT as REFLECT_SPEC
from bot.features.loop.service import SHARE
from bot.storage.schema import link_annotations, reflections, shares
from tests.fakes.slack_server import (
    FakeSlack,
    form_body,
    message_event,
    message_shortcut,
    post_signed,
    view_submission,
)
from tests.helpers import Factory, SlackStory, commands, eventually, story_config

pytestmark = pytest.mark.timeout(60)

ADD, REFLECT = "facilitator_share", "facilitator_reflect"
FRANS_WORDS = "Fran's own take: the best intro to spaced practice I know"


async def shortcut(story: SlackStory, callback: str, message: dict[str, Any], user: str) -> None:
    url = story.fake.new_response_url()
    payload = message_shortcut(callback, message, user=user, channel="C0GENERAL", response_url=url)
    await story.fake.wait_ack(await story.fake.push_envelope("interactive", payload))


async def submit(
    story: SlackStory, view: dict[str, Any], values: dict[str, str], user: str
) -> dict[str, Any] | None:
    envelope = await story.fake.push_envelope(
        "interactive", view_submission(view, values, user=user)
    )
    ack = await story.fake.wait_ack(envelope)
    await story.app.drain()
    return ack


async def franss_link(story: SlackStory) -> dict[str, Any]:
    text = f"{FRANS_WORDS} <https://example.org/paper|paper> and <https://example.org/b>"
    message = story.fake.add_message("C0GENERAL", "UFRAN", text)
    await story.event(message_event("C0GENERAL", "UFRAN", text, message["ts"]), "EvFran")
    return message


async def test_add_to_digest_credits_the_member_who_used_it_with_their_own_note(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        message = await franss_link(story)
        await shortcut(story, ADD, message, "UALICE")
        await eventually(lambda: len(fake.views) == 1)
        [view] = fake.views
        shown = json.dumps(view)
        assert "https://example.org/paper" in shown and "https://example.org/b" in shown
        assert FRANS_WORDS not in shown  # her words are not offered as alice's note
        ack = await submit(story, view, {"url": "1", "note": "Short and clear"}, "UALICE")
        assert ack is None or "response_action" not in ack
        async with story.app.database.reading() as conn:
            rows = (
                await conn.execute(select(shares.c.member_ref, shares.c.url, shares.c.note))
            ).all()
        alices = [row for row in rows if row.member_ref == "slack:T0001/UALICE"]
        assert [(row.url, row.note) for row in alices] == [
            ("https://example.org/b", "Short and clear")
        ]
        # fran's own share of her message is hers, and her words stayed hers
        assert all(row.note != FRANS_WORDS for row in rows)


async def test_reflect_on_this_keeps_the_modal_open_on_a_refused_value(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        message = await franss_link(story)
        await shortcut(story, REFLECT, message, "UALICE")
        await eventually(lambda: len(fake.views) == 1)
        [view] = fake.views
        refused = await submit(story, view, {"about": "0", "text": "   "}, "UALICE")
        assert refused is not None and refused["response_action"] == "errors"
        assert set(refused["errors"]) == {"text"}
        too_long = await submit(story, view, {"about": "0", "text": "x" * 5000}, "UALICE")
        assert too_long is not None and "at most" in too_long["errors"]["text"]
        async with story.app.database.reading() as conn:
            assert (await conn.execute(select(reflections.c.id))).all() == []
        ack = await submit(story, view, {"about": "0", "text": "Spacing is worth a try"}, "UALICE")
        assert ack is None or "response_action" not in ack
        async with story.app.database.reading() as conn:
            [row] = (
                await conn.execute(
                    select(reflections.c.member_ref, reflections.c.text, reflections.c.link_url)
                )
            ).all()
        assert row == ("slack:T0001/UALICE", "Spacing is worth a try", "https://example.org/paper")


async def test_add_to_digest_on_a_message_without_a_link_says_what_to_do_instead(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        message = fake.add_message("C0GENERAL", "UFRAN", "no link here")
        await shortcut(story, ADD, message, "UALICE")
        await eventually(lambda: len(fake.views) == 1)
        [view] = fake.views
        assert "Reflect on this" in json.dumps(view) and "submit" not in view


async def test_a_stale_trigger_opens_nothing(fake: FakeSlack, tmp_path: Path) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        message = await franss_link(story)
        old = "trigger-1"  # issued long ago: Slack's trigger_ids last 3 seconds
        url = fake.new_response_url()
        payload = message_shortcut(
            ADD, message, user="UALICE", channel="C0GENERAL", response_url=url, trigger_id=old
        )
        await fake.wait_ack(await fake.push_envelope("interactive", payload))
        await eventually(lambda: bool(fake.calls_to("views.open")))
        assert fake.views == [] and fake.calls_to("views.open")[0].args["_ok"] is False


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_a_shortcut_opens_its_modal_and_the_submission_is_the_command(
    mode: str,
    fake: FakeSlack,
    start_platform: Factory,
    http_endpoint: Any,
    session: aiohttp.ClientSession,
) -> None:
    table = commands()
    table.add(SHARE)
    table.add(REFLECT_SPEC)
    platform, sink, _ = await start_platform(mode, commands=table)
    url = await http_endpoint(platform) if mode == "http" else ""
    message = fake.add_message("C0GENERAL", "UFRAN", "see <https://example.org/a>")

    async def interact(payload: dict[str, Any]) -> str:
        if mode == "http":
            status, text = await post_signed(
                session,
                url,
                form_body({"payload": json.dumps(payload)}),
                content_type="application/x-www-form-urlencoded",
            )
            assert status == 200
            return text
        ack = await fake.wait_ack(await fake.push_envelope("interactive", payload))
        return json.dumps(ack or {})

    response_url = fake.new_response_url()
    await interact(
        message_shortcut(
            ADD, message, user="UALICE", channel="C0GENERAL", response_url=response_url
        )
    )
    [view] = fake.views
    assert view["callback_id"] == slack_commands.MODAL_CALLBACK
    await interact(view_submission(view, {"url": "0", "note": "mine"}, user="UALICE"))
    [invoked] = sink.events(CommandInvoked)
    assert invoked.path == ("share",) and invoked.author.name == "alice"
    assert invoked.text == 'url="https://example.org/a" note="mine"'
    assert str(invoked.channel) == "slack:T0001/C0GENERAL"


async def test_annotate_link_adds_the_members_note_to_the_messages_link(
    fake: FakeSlack, tmp_path: Path
) -> None:
    # Every command offered in a message's menu is a shortcut, from its declaration alone.
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        message = await franss_link(story)
        await shortcut(story, "facilitator_annotate", message, "UALICE")
        await eventually(lambda: len(fake.views) == 1)
        [view] = fake.views
        shown = json.dumps(view)
        assert "Annotate link" in shown and "Only what you write here is kept" in shown
        assert FRANS_WORDS not in shown
        ack = await submit(story, view, {"link": "0", "text": "Key idea: spacing"}, "UALICE")
        assert ack is None or "response_action" not in ack
        async with story.app.database.reading() as conn:
            found = (
                await conn.execute(select(link_annotations.c.member_ref, link_annotations.c.text))
            ).all()
        assert found == [("slack:T0001/UALICE", "Key idea: spacing")]
