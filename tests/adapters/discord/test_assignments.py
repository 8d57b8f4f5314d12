"""Assignments on Discord with the real discord.py client against the fake: the
self-evaluation picked in a private message with select menus (four criteria a page, a Next
button), redrawn in place; the Finish button opens a form for strengths, improvements and the
grade; a draft survives a restart; the facilitator grades from paged private answers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.clock import ManualClock
from tests.helpers import DiscordStory, World, eventually_dm

pytestmark = pytest.mark.timeout(60)

Story = Callable[..., DiscordStory]
Payload = dict[str, Any]
RUBRIC = (
    "Depth: thin|fair|deep; Sources: few|many; Voice: borrowed|own; "
    "Links: none|some; Clarity: muddy|clear"
)


async def _responses(world: World, sent: Payload, count: int = 1) -> list[Payload]:
    """The first `count` responses Discord recorded for an interaction (callback first)."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        responses = world.fake.interaction_responses.get(sent["token"], [])
        if len(responses) >= count:
            return responses
        assert asyncio.get_running_loop().time() < deadline, responses
        await asyncio.sleep(0.01)


async def _answer(world: World, sent: Payload) -> Payload:
    """The message an interaction was answered with: the callback's, or after a deferral
    (type 5 "thinking", or type 6 for a button) the edit of the original."""
    first = (await _responses(world, sent))[0]
    if first.get("type") in (5, 6):
        return _message((await _responses(world, sent, 2))[1])
    return _message(first)


def _message(response: Payload) -> Payload:
    """The message a response drew (a callback's `data`, or an edit's body), with an id, as
    Discord hands it back on the next button press."""
    body = response.get("data", response)
    return {"id": "9" * 18, **body}


def _text(message: Payload) -> str:
    parts = [str(message.get("content") or "")]
    for embed in message.get("embeds") or ():
        parts.append(str(embed.get("title") or ""))
        parts.append(str(embed.get("description") or ""))
        parts.extend(f"{f['name']} {f['value']}" for f in embed.get("fields") or ())
    return "\n".join(parts)


def _selects(message: Payload) -> list[Payload]:
    return [
        part
        for row in message.get("components") or ()
        for part in row["components"]
        if part["type"] == 3
    ]


def _buttons(message: Payload) -> dict[str, str]:
    return {
        part["label"]: part["custom_id"]
        for row in message.get("components") or ()
        for part in row["components"]
        if part["type"] == 2
    }


def _sub(name: str, **options: Any) -> list[Payload]:
    return [
        {
            "type": 1,
            "name": name,
            "options": [
                {"type": 4 if isinstance(v, int) else 3, "name": k, "value": v}
                for k, v in options.items()
            ],
        }
    ]


async def _run(world: World, user: str, command: str, options: list[Payload]) -> Payload:
    """Run a slash command; return the message it answered with."""
    sent = await world.fake.interaction(world.general, user, command, options)
    return await _answer(world, sent)


async def _redrawn(world: World, sent: Payload) -> Payload:
    """What a button press or pick redrew its message with: type 7, or the edit of the
    button's message after a type 6 deferral; never a new message."""
    first = (await _responses(world, sent))[0]
    assert first.get("type") in (6, 7), first
    return await _answer(world, sent)


async def _pick(world: World, user: str, page: Payload, criterion: int, level: int) -> Payload:
    """Pick `level` (1-based) in the menu of criterion `criterion` (1-based on the page)."""
    select = _selects(page)[criterion - 1]
    value = select["options"][level - 1]["value"]
    sent = await world.fake.pick(world.general, user, page, select["custom_id"], value)
    return await _redrawn(world, sent)


async def _press(world: World, user: str, page: Payload, label: str) -> Payload:
    sent = await world.fake.interaction(
        world.general, user, "", component=_buttons(page)[label], message=page
    )
    return sent


async def _create_assignment(world: World) -> None:
    created = await _run(
        world,
        world.fran,
        "assignment",
        _sub(
            "create",
            title="Blog post 1",
            due="2026-12-10 17:00",
            rubric=RUBRIC,
            scale="letter",
        ),
    )
    assert "Blog post 1" in _text(created) and "A1" in _text(created), _text(created)


async def test_self_evaluation_by_menus_and_a_form_then_the_facilitators_grade(
    world: World, story_for: Story
) -> None:
    async with story_for(world, members={"welcome": False}) as story:
        await _create_assignment(world)
        page = await _run(
            world,
            world.alice,
            "submit",
            [
                {"type": 3, "name": "assignment", "value": "A1"},
                {"type": 3, "name": "work", "value": "https://alice.example/post"},
            ],
        )
        selects = _selects(page)
        assert [s["placeholder"] for s in selects] == [
            "1. Depth",
            "2. Sources",
            "3. Voice",
            "4. Links",
        ]
        assert [o["label"] for o in selects[0]["options"]] == ["1. thin", "2. fair", "3. deep"]
        assert {"Next ▶", "Finish", "Throw away the draft"} <= set(_buttons(page))

        page = await _pick(world, world.alice, page, 1, 3)
        assert "Depth: **deep**" in _text(page) or "Depth: deep" in _text(page), _text(page)
        [chosen] = [o for o in _selects(page)[0]["options"] if o.get("default")]
        assert chosen["label"] == "3. deep"
        for criterion, level in ((2, 2), (3, 2), (4, 1)):
            page = await _pick(world, world.alice, page, criterion, level)
        pressed = await _press(world, world.alice, page, "Next ▶")
        page = await _redrawn(world, pressed)
        assert [s["placeholder"] for s in _selects(page)] == ["5. Clarity"]
        page = await _pick(world, world.alice, page, 1, 2)

        # Finish opens a form: strengths, what to improve and the proposed grade.
        pressed = await _press(world, world.alice, page, "Finish")
        [opened] = await _responses(world, pressed)
        assert opened["type"] == 9, opened
        modal = opened["data"]
        fields = [row["components"][0]["custom_id"] for row in modal["components"]]
        assert fields == ["strengths", "improve", "grade"]
        wrong = await world.fake.submit_form(
            world.general,
            world.alice,
            modal["custom_id"],
            {"strengths": "clear", "improve": "more sources", "grade": "Z"},
        )
        refused = _text(await _answer(world, wrong))
        assert "Z" in refused and "A" in refused, refused  # the grades it may be
        done = await world.fake.submit_form(
            world.general,
            world.alice,
            modal["custom_id"],
            {"strengths": "clear", "improve": "more sources", "grade": "A"},
        )
        said = _text(await _answer(world, done))
        match = re.search(r"\((S\d+)\)", said)
        assert match is not None, said
        sub = match.group(1)

        # The facilitator's queue, as a private answer with a button per submission.
        queue = await _run(world, world.fran, "grade", _sub("queue"))
        assert sub in _text(queue) and "proposes" in _text(queue), _text(queue)
        shown = await _run(world, world.fran, "grade", _sub("show", submission=sub))
        assert "deep" in _text(shown) and "more sources" in _text(shown), _text(shown)
        await _run(
            world, world.fran, "grade", _sub("propose", submission=sub, grade="B", comment="Why A?")
        )
        await eventually_dm(world, world.alice, "instead of your")
        await _run(
            world,
            world.alice,
            "discuss",
            [
                {"type": 3, "name": "submission", "value": sub},
                {"type": 3, "name": "text", "value": "Six papers cited"},
            ],
        )
        await eventually_dm(world, world.fran, "Six papers cited")
        await _run(world, world.fran, "grade", _sub("final", submission=sub, grade="A"))
        await eventually_dm(world, world.alice, "is graded")
        await story.app.drain()
    # Every message, answer and form the bot sent passed the fake's checks of Discord's rules.
    assert not world.fake.refused_callbacks


async def test_a_draft_picked_by_menus_is_resumed_after_a_restart(
    world: World, story_for: Story
) -> None:
    async with story_for(world, members={"welcome": False}) as story:
        await _create_assignment(world)
        page = await _run(
            world,
            world.alice,
            "submit",
            [
                {"type": 3, "name": "assignment", "value": "A1"},
                {"type": 3, "name": "work", "value": "https://alice.example/post"},
            ],
        )
        page = await _pick(world, world.alice, page, 2, 2)
        await story.app.drain()
    async with story_for(world, members={"welcome": False}) as story:
        page = await _run(world, world.alice, "self-assess", _sub("show", assignment="A1"))
        [chosen] = [o for o in _selects(page)[1]["options"] if o.get("default")]
        assert chosen["label"] == "2. many"
        assert not [o for o in _selects(page)[0]["options"] if o.get("default")]
    assert not world.fake.refused_callbacks


async def _hand_in(world: World, user: str) -> None:
    page = await _run(
        world,
        user,
        "submit",
        [
            {"type": 3, "name": "assignment", "value": "A1"},
            {"type": 3, "name": "work", "value": "Networks learn when members connect"},
        ],
    )
    for criterion in (1, 2, 3, 4):
        page = await _pick(world, user, page, criterion, 2)
    page = await _redrawn(world, await _press(world, user, page, "Next ▶"))
    await _pick(world, user, page, 1, 2)
    finished = await _run(
        world,
        user,
        "self-assess",
        _sub("finish", assignment="A1", strengths="ideas", improve="sources", grade="B"),
    )
    assert "Submitted" in _text(finished), _text(finished)


async def test_a_blind_peer_review_is_picked_from_menus_and_reaches_the_author_unnamed(
    world: World, story_for: Story, clock: ManualClock
) -> None:
    bea = world.fake.add_member(world.guild, name="bea-sentinel-55")
    async with story_for(world, members={"welcome": False}) as story:
        created = await _run(
            world,
            world.fran,
            "assignment",
            _sub(
                "create",
                title="Essay",
                due="2026-12-10 17:00",
                rubric=RUBRIC,
                scale="letter",
                reviews=1,
            ),
        )
        assert "Peer review: 1 per submission, blind" in _text(created), _text(created)
        for user in (world.alice, bea):
            await _hand_in(world, user)
        clock.set(datetime(2026, 12, 10, 16, 5, tzinfo=UTC))
        story.app.scheduler.poke()
        await story.app.scheduler.idle()
        await story.app.drain()
        told = await eventually_dm(world, world.alice, "to review")
        assert "bea" not in told["content"]
        [review] = re.findall(r"review show (R\d+)", str(told.get("components")))
        page = await _run(world, world.alice, "review", _sub("show", review=review))
        assert "author is not named to you" in _text(page) and "bea" not in _text(page)
        for criterion in (1, 2, 3, 4):
            page = await _pick(world, world.alice, page, criterion, 1)
        page = await _redrawn(world, await _press(world, world.alice, page, "Next ▶"))
        page = await _pick(world, world.alice, page, 1, 1)
        pressed = await _press(world, world.alice, page, "Finish")
        [opened] = await _responses(world, pressed)
        assert opened["type"] == 9, opened
        modal = opened["data"]
        assert [row["components"][0]["custom_id"] for row in modal["components"]] == [
            "strength",
            "suggestion",
        ]
        done = await world.fake.submit_form(
            world.general,
            world.alice,
            modal["custom_id"],
            {"strength": "a clear line", "suggestion": "cite a source"},
        )
        assert f"Sent your review {review}" in _text(await _answer(world, done))
        received = await eventually_dm(world, bea, "reviewed your submission")
        assert "a clear line" in received["content"] and "alice" not in received["content"]
        await story.app.drain()
    assert not world.fake.refused_callbacks


async def test_a_member_is_picked_with_discords_user_option(world: World, story_for: Story) -> None:
    async with story_for(world, members={"welcome": False}):
        await _create_assignment(world)
        registered = world.fake.registered(world.guild, "assignment")
        [extend] = [o for o in registered["options"] if o["name"] == "extend"]
        [member] = [o for o in extend["options"] if o["name"] == "member"]
        assert member["type"] == 6  # USER: Discord's own member picker
        [reassign] = [
            o
            for o in world.fake.registered(world.guild, "grade")["options"]
            if o["name"] == "reassign"
        ]
        assert [o["type"] for o in reassign["options"]] == [3, 6]
        options = [
            {
                "type": 1,
                "name": "extend",
                "options": [
                    {"type": 3, "name": "assignment", "value": "A1"},
                    {"type": 3, "name": "due", "value": "2026-12-14 17:00"},
                    {"type": 6, "name": "member", "value": world.alice},
                ],
            }
        ]
        await _run(world, world.alice, "submission", [])  # alice is known to the bot
        said = _text(await _run(world, world.fran, "assignment", options))
        assert "alice" in said and "A1" in said, said
        await eventually_dm(world, world.alice, "You have an extension")
    assert not world.fake.refused_callbacks
