"""Assignments on Slack with the real slack-bolt app against the fake: a full cycle from the
assignment to the final grade with the dialogue relayed by direct message, and the App Home's
assignments panel for members and facilitators, and the self-evaluation picked from menus."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.core.logs import NOISY_LOGGERS, redact
from tests.adapters.slack.test_forms import open_form, submit
from tests.adapters.slack.test_home import dm_texts, home_buttons, home_text, open_home
from tests.fakes.slack_server import FakeSlack, block_actions
from tests.helpers import SlackStory, answer_text, eventually, story_config

pytestmark = pytest.mark.timeout(60)


async def test_a_full_cycle_with_a_dialogue_by_direct_message_and_the_home_panel(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        said = answer_text(
            await story.command(
                'assignment create "Blog post 1" "2026-12-10 17:00" '
                'rubric="Depth: thin|deep; Sources: few|many" scale=letter',
                "UFRAN",
            )
        )
        assert "Created *Blog post 1* (A1)" in said, said
        said = answer_text(await story.command("assignment create x y", "UALICE"))
        assert "facilitator" in said.lower()

        await open_home(story, "UALICE", "EvA1")
        assert "*Blog post 1* · due" in home_text(fake, "UALICE")
        assert "submit A1" in home_buttons(fake, "UALICE")

        said = answer_text(await story.command("submit A1 https://alice.example/post", "UALICE"))
        assert "Depth" in said and "Sources" in said, said
        await story.command("self-assess level A1 1 2", "UALICE")
        await story.command("self-assess level A1 2 1", "UALICE")
        said = answer_text(
            await story.command(
                'self-assess finish A1 strengths="clear" improve="more sources" grade=A', "UALICE"
            )
        )
        match = re.search(r"\((S\d+)\)", said)
        assert match is not None, said
        sub = match.group(1)

        await open_home(story, "UFRAN", "EvA2")
        assert "Waiting for a grade: 1" in home_text(fake, "UFRAN")
        assert "*Blog post 1* by alice · proposes *A*" in home_text(fake, "UFRAN")
        buttons = home_buttons(fake, "UFRAN")
        assert buttons.index(f"grade show {sub}") + 1 == buttons.index("grade queue")
        said = answer_text(await story.command("grade queue", "UFRAN"))
        assert sub in said and "proposes *A*" in said

        await story.command(f"grade propose {sub} B The sources need a second look", "UFRAN")
        await eventually(lambda: "proposes *B* instead of your *A*" in dm_texts(fake, "UALICE"))
        await story.command(f"discuss {sub} I cited six papers at the end", "UALICE")
        await eventually(lambda: "I cited six papers" in dm_texts(fake, "UFRAN"))
        # a third member sees nothing of it
        said = answer_text(await story.command(f"discuss {sub} hello", "UBOB"))
        assert "that you can see" in said
        await story.command(f"grade final {sub} A Fair point", "UFRAN")
        await eventually(lambda: "is graded: *A*" in dm_texts(fake, "UALICE"))

        await open_home(story, "UALICE", "EvA3")
        assert "graded: *A*" in home_text(fake, "UALICE")
        said = answer_text(await story.command("submission A1", "UALICE"))
        assert "I cited six papers" in said and "Final grade *A*" in said


def _menus(post: dict[str, Any]) -> list[dict[str, Any]]:
    return [b["accessory"] for b in post["blocks"] if b.get("accessory", {}).get("type")]


def _button_values(post: dict[str, Any]) -> dict[str, str]:
    return {
        element["text"]["text"]: element["value"]
        for block in post["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


async def _interact(story: SlackStory, value: str, *, picked: bool = False) -> dict[str, Any]:
    """UALICE presses a button or picks a menu option; returns what its response_url got."""
    posts = story.fake.responses[
        await _press(story, "UALICE", value, picked=picked, channel="C0GENERAL")
    ]
    return posts[0] if posts else {}


async def test_the_self_evaluation_is_picked_from_menus_redrawn_in_place_and_finished_in_a_form(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        await story.command(
            'assignment create "Blog post 1" "2026-12-10 17:00" '
            'rubric="Depth: thin|deep; Sources: few|many" scale=letter',
            "UFRAN",
        )
        [page] = await story.command("submit A1 https://alice.example/post", "UALICE")
        menus = _menus(page)
        assert [m["placeholder"]["text"] for m in menus] == ["1. Depth", "2. Sources"]
        assert all(m["type"] == "static_select" for m in menus)
        deep = menus[0]["options"][1]
        assert deep["text"]["text"] == "2. deep"

        redrawn = await _interact(story, deep["value"], picked=True)
        assert redrawn["replace_original"] is True, redrawn
        assert _menus(redrawn)[0]["initial_option"]["text"]["text"] == "2. deep"
        assert "initial_option" not in _menus(redrawn)[1]
        redrawn = await _interact(story, _menus(redrawn)[1]["options"][0]["value"], picked=True)
        assert _menus(redrawn)[1]["initial_option"]["text"]["text"] == "1. few"

        finish = _button_values(redrawn)["Finish"]
        assert await _interact(story, finish) == {}  # a form opened; nothing answered yet
        view = fake.views[-1]
        assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [
            "strengths",
            "improve",
            "grade",
        ]
        ack = await submit(
            story, view, {"strengths": "clear", "improve": "more sources", "grade": "A"}, "UALICE"
        )
        assert ack is None or "errors" not in ack
        await eventually(lambda: "(S1)" in answer_text(fake.responses[_last_rid(fake)]))
        said = answer_text(await story.command("submission A1", "UALICE"))
        assert "deep" in said and "more sources" in said, said


def _last_rid(fake: FakeSlack) -> str:
    """The response_url the form's submission answers on: the Finish press's."""
    return [rid for rid, posts in fake.responses.items()][-1]


SENTINELS = {"UZARA": "zq-zara-4412", "UYUSUF": "zq-yusuf-7781", "UXENIA": "zq-xenia-2290"}


async def _press(
    story: SlackStory, user: str, value: str, *, picked: bool = False, channel: str = ""
) -> str:
    """`user` presses a button (or picks an option) on a message in `channel` (their DM with
    the bot unless given); returns the response_url's id, where the answer goes."""
    url = story.fake.new_response_url()
    payload = block_actions(
        value,
        user=user,
        channel=channel or f"D{user}",
        message_ts=story.fake.next_ts(),
        response_url=url,
        picked=picked,
        action_id="facilitator:menu0" if picked else "facilitator:0",
    )
    await story.fake.wait_ack(await story.fake.push_envelope("interactive", payload))
    await story.app.drain()
    return url.rsplit("/", 1)[1]


async def test_a_blind_peer_review_reaches_each_side_without_the_others_name_anywhere(
    fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for noisy in NOISY_LOGGERS:  # as `facilitator run` sets them (bot/cli.py)
        caplog.set_level(logging.WARNING, logger=noisy)
    for user, name in SENTINELS.items():
        fake.add_user(user, name)
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        await story.command(
            'assignment create "Essay" "2026-12-10 17:00" rubric="Depth: thin|deep" '
            "scale=letter reviews=1 blind=on",
            "UFRAN",
        )
        seen: dict[str, list[Any]] = {user: [] for user in SENTINELS}
        for user in SENTINELS:
            seen[user] += await story.command("submit A1 Networks learn when members connect", user)
            seen[user] += await story.command("self-assess level A1 1 2", user)
            seen[user] += await story.command(
                'self-assess finish A1 strengths="clear" improve="sources" grade=B', user
            )
        story.clock.set(datetime(2026, 12, 10, 16, 5, tzinfo=UTC))
        story.app.scheduler.poke()
        await story.app.scheduler.idle()
        await story.app.drain()
        for user in SENTINELS:
            await eventually(lambda u=user: "to review" in dm_texts(fake, u))  # type: ignore[misc]
            await open_home(story, user, f"EvHome{user}")
            assert "Peer review `R" in home_text(fake, user) and "to do" in home_text(fake, user)
            assert "review show R" in " ".join(home_buttons(fake, user))
            seen[user].append(fake.homes[user])

        # each reviewer opens the review from their DM's button, picks from the menu, and
        # finishes in a form
        for user in SENTINELS:
            [dm] = [p for p in fake.posted(f"D{user}") if "to review" in p["text"]]
            [open_review] = [v for v in _button_values(dm).values() if v.startswith("review show")]
            page = fake.responses[await _press(story, user, open_review)][0]
            seen[user].append(page)
            assert "author is not named to you" in answer_text([page])
            deep = _menus(page)[0]["options"][1]["value"]
            redrawn = fake.responses[await _press(story, user, deep, picked=True)][0]
            assert redrawn["replace_original"] is True
            seen[user].append(redrawn)
            await _press(story, user, _button_values(redrawn)["Finish"])
            view = fake.views[-1]
            seen[user].append(view)
            ack = await submit(
                story, view, {"strength": "a clear line", "suggestion": "cite"}, user
            )
            assert ack is None or "errors" not in ack
        for user in SENTINELS:
            await eventually(lambda u=user: "reviewed your submission" in dm_texts(fake, u))  # type: ignore[misc]
            seen[user] += fake.posted(f"D{user}")
            seen[user] += await story.command("submission A1", user)
            seen[user] += await story.command("review list", user)

        # the leak probe: no member's sentinel name reaches another member, nor any log line
        for user, things in seen.items():
            shown = json.dumps(things)
            for other, name in SENTINELS.items():
                if other != user:
                    assert name not in shown, (user, name)
                    assert other not in shown, (user, other)
        # as the running bot writes them: through the filter on every handler (bot/core/logs.py)
        logged = "\n".join(redact(record.getMessage()) for record in caplog.records)
        for name in SENTINELS.values():
            assert name not in logged
        # the facilitator sees who reviewed whom
        said = answer_text(await story.command("grade show S1", "UFRAN"))
        assert any(name in said for name in SENTINELS.values()), said


async def test_a_member_is_picked_from_slacks_user_menu_in_a_form(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        await story.command('assignment create "Essay" "2026-12-10 17:00"', "UFRAN")
        await story.command("submission", "UALICE")  # alice is known to the bot
        view, _ = await open_form(story, "assignment extend", "UFRAN")
        [member] = [b for b in view["blocks"] if b.get("block_id") == "member"]
        assert member["element"]["type"] == "users_select"
        ack = await submit(
            story,
            view,
            {"assignment": "A1", "due": "2026-12-14", "due__time": "17:00", "member": "UALICE"},
            "UFRAN",
        )
        assert ack is None or "errors" not in ack, ack
        await eventually(lambda: "You have an extension" in dm_texts(fake, "UALICE"))
