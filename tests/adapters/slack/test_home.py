"""The App Home: each member's own page, published through the outbox when they open it and
after their changes, with buttons that run the same commands as typing them."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.slack import render as slack_render
from bot.core import ButtonPressed, HomeOpened, MemberRef, PublishHome
from bot.core.actions import Button, HomePage, Panel
from bot.core.commands import parse_arguments
from bot.core.config import Config
from tests.adapters.slack.test_gatherings import with_announcements
from tests.fakes.slack_server import (
    FakeSlack,
    app_home_opened,
    event_callback,
    form_body,
    home_press,
    message_event,
    post_signed,
)
from tests.helpers import Factory, SlackStory, eventually, story_config

pytestmark = pytest.mark.timeout(60)

LINK = "https://meet.example.org/talk"


def with_digest(fake: FakeSlack, tmp_path: Path) -> Config:
    config = with_announcements(fake, tmp_path)
    [community] = config.communities
    slack = replace(community.platforms["slack"], digest="digest")
    platforms = {**community.platforms, "slack": slack}
    return replace(config, communities=(replace(community, platforms=platforms),))


def home_text(fake: FakeSlack, user: str) -> str:
    view = fake.homes[user]
    return "\n".join(
        block["text"]["text"] for block in view["blocks"] if block["type"] in ("section", "header")
    )


def home_buttons(fake: FakeSlack, user: str) -> list[str]:
    return [
        element["value"]
        for block in fake.homes[user]["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def publishes(fake: FakeSlack, user: str) -> int:
    return sum(1 for who, _ in fake.home_publishes if who == user)


async def open_home(story: SlackStory, user: str, event_id: str) -> None:
    before = publishes(story.fake, user)
    await story.event(app_home_opened(user), event_id)
    await eventually(lambda: publishes(story.fake, user) > before)


async def press_on_home(story: SlackStory, value: str, user: str) -> None:
    await story.fake.wait_ack(
        await story.fake.push_envelope("interactive", home_press(value, user=user))
    )
    await story.app.drain()


def dm_texts(fake: FakeSlack, user: str) -> str:
    posts = fake.posted("D" + user) if "D" + user in fake.channels else []
    return "\n".join(post["text"] for post in posts)


async def test_a_member_sees_their_page_and_rsvps_from_it(fake: FakeSlack, tmp_path: Path) -> None:
    async with SlackStory(fake, with_announcements(fake, tmp_path)) as story:
        await open_home(story, "UALICE", "EvH1")
        shown = home_text(fake, "UALICE")
        assert "Your week in demo" in shown and "This week (2026-W48)" in shown
        assert "No sessions planned yet." in shown
        assert "quotes: *off*" in shown  # consents are off until given
        assert "settings quotes=on" in home_buttons(fake, "UALICE")
        assert "digest post" not in home_buttons(fake, "UALICE")  # members see no dashboard

        await story.command(
            f'event create title="Guest talk" when="2026-12-03 17:00" where={LINK} confirm=yes',
            "UFRAN",
        )
        await open_home(story, "UALICE", "EvH2")
        assert "Session: Guest talk" in home_text(fake, "UALICE")
        assert home_buttons(fake, "UALICE")[:3] == ["rsvp 1 going", "rsvp 1 maybe", "rsvp 1 no"]

        seen = publishes(fake, "UALICE")
        await press_on_home(story, "rsvp 1 going", "UALICE")
        # the same command as typing it: the answer (with the private link) by DM ...
        await eventually(lambda: LINK in dm_texts(fake, "UALICE"))
        assert "You're going to" in dm_texts(fake, "UALICE")
        # ... and the page shows it
        await eventually(lambda: publishes(fake, "UALICE") > seen)
        assert "your answer: *going*" in home_text(fake, "UALICE")

        await press_on_home(story, "settings quotes=on", "UALICE")
        await eventually(lambda: "quotes: *on*" in home_text(fake, "UALICE"))
        assert "settings quotes=off" in home_buttons(fake, "UALICE")


async def test_a_facilitator_previews_and_posts_the_digest_from_their_page(
    fake: FakeSlack, tmp_path: Path
) -> None:
    fake.add_channel("C0DIGEST", "digest")
    async with SlackStory(fake, with_digest(fake, tmp_path)) as story:
        await open_home(story, "UALICE", "EvF0")
        await open_home(story, "UFRAN", "EvF1")
        shown = home_text(fake, "UFRAN")
        assert "For facilitators" in shown and "Active members:" in shown
        buttons = home_buttons(fake, "UFRAN")
        assert buttons[:2] == ["digest preview", "digest post"]
        for line in buttons:  # every button is a command that parses, as typed
            path, text = story.app.commands.split_line(line)
            parse_arguments(story.app.commands.resolve(path).spec, text)
        await press_on_home(story, "digest preview", "UFRAN")
        await eventually(
            lambda: "Preview" in dm_texts(fake, "UFRAN") or "preview" in dm_texts(fake, "UFRAN")
        )


async def test_only_members_who_opened_their_page_lately_get_it_refreshed(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, with_announcements(fake, tmp_path)) as story:
        await story.command("settings quotes=on", "UFRAN")  # fran never opened theirs
        await open_home(story, "UALICE", "EvO1")
        await story.command("settings quotes=on", "UALICE")
        await eventually(lambda: publishes(fake, "UALICE") == 2)
        assert publishes(fake, "UFRAN") == 0
        story.clock.advance(timedelta(days=31))
        await story.command("settings quotes=off", "UALICE")
        await story.command("goal set Read two papers", "UALICE")
        # a sentinel: carl's page, published after alice's commands were handled
        await open_home(story, "UCARL", "EvSentinel")
        assert publishes(fake, "UALICE") == 2  # her page was not opened for 31 days
        await open_home(story, "UALICE", "EvO2")
        assert "quotes: *off*" in home_text(fake, "UALICE")
        assert "Read two papers" in home_text(fake, "UALICE")


async def test_a_new_session_refreshes_every_recent_page_of_its_community(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """Every page lists the upcoming sessions: a facilitator's new session reaches the pages
    opened in the last 30 days, not those left longer."""
    async with SlackStory(fake, with_announcements(fake, tmp_path), home_interval=0.0) as story:
        await open_home(story, "UALICE", "EvA")
        story.clock.advance(timedelta(days=31))
        await open_home(story, "UCARL", "EvC")  # alice's page is now 31 days old
        before = {user: publishes(fake, user) for user in ("UALICE", "UCARL")}
        await story.command(
            f'host create title="Guest talk" when="2026-12-30 17:00" where={LINK} confirm=yes',
            "UFRAN",
        )
        await eventually(lambda: publishes(fake, "UCARL") > before["UCARL"])
        assert "Guest talk" in home_text(fake, "UCARL")
        assert publishes(fake, "UALICE") == before["UALICE"]


async def test_a_burst_of_changes_publishes_a_members_page_a_bounded_number_of_times(
    fake: FakeSlack, tmp_path: Path
) -> None:
    interval = 1.0
    config = with_announcements(fake, tmp_path)
    async with SlackStory(fake, config, home_interval=interval) as story:
        await story.command(
            f'event create title="Guest talk" when="2026-12-03 17:00" where={LINK} confirm=yes',
            "UFRAN",
        )
        await open_home(story, "UALICE", "EvB1")
        answers = ["going", "maybe", "no"] * 4
        for answer in answers:
            await story.fake.push_envelope(
                "interactive", home_press(f"rsvp 1 {answer}", user="UALICE")
            )
        await eventually(lambda: dm_texts(fake, "UALICE").count("\n") >= len(answers) - 1, 10)
        await eventually(lambda: "your answer: *no*" in home_text(fake, "UALICE"), 10)
        await story.app.drain()
        times = [at for who, at in fake.home_publishes if who == "UALICE"]
        # the opening, then one in flight and one with the latest state per interval passed:
        # far fewer than one per change, however slowly the presses were handled
        elapsed = times[-1] - times[0]
        assert 2 <= len(times) <= 2 + elapsed / interval < len(answers)
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert all(gap >= interval * 0.95 for gap in gaps)


def test_a_page_is_cut_whole_panels_at_a_time_within_the_home_tabs_block_limit() -> None:
    panel = Panel(
        heading="Session",
        text="a line",
        buttons=(Button(label="Going", action="rsvp 1 going"),),
    )
    view = slack_render.home_view(HomePage(title="Yours", panels=(panel,) * 40))
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    assert len(view["blocks"]) == 1 + 4 * 24  # a header, then 24 whole panels
    ids = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_opening_home_and_pressing_its_buttons_arrive_as_events(
    mode: str,
    fake: FakeSlack,
    start_platform: Factory,
    http_endpoint: Any,
    session: aiohttp.ClientSession,
) -> None:
    platform, sink, _ = await start_platform(mode)
    url = await http_endpoint(platform) if mode == "http" else ""
    opened = event_callback(app_home_opened("UALICE"), event_id="EvHome")
    messages_tab = event_callback(app_home_opened("UALICE", tab="messages"), event_id="EvMsgs")
    press = home_press("rsvp 1 going", user="UALICE")
    for body in (opened, messages_tab):
        if mode == "http":
            assert (await post_signed(session, url, json.dumps(body)))[0] == 200
        else:
            await fake.wait_ack(await fake.push_envelope("events_api", body))
    if mode == "http":
        form = form_body({"payload": json.dumps(press)})
        status, _ = await post_signed(
            session, url, form, content_type="application/x-www-form-urlencoded"
        )
        assert status == 200
    else:
        await fake.wait_ack(await fake.push_envelope("interactive", press))
    [home] = sink.events(HomeOpened)  # the Messages tab is not the Home
    assert home.member.name == "alice" and str(home.channel) == "slack:T0001/DUALICE"
    [pressed] = sink.events(ButtonPressed)
    assert pressed.action == "rsvp 1 going" and pressed.message.channel.channel == ""
    assert pressed.reply_to.channel is None  # answered by DM, in a lane of the member's own

    page = HomePage(title="Yours", panels=(Panel(heading="Week", text="**2** links"),))
    await platform.perform(PublishHome(member=MemberRef("slack", "T0001", "UALICE"), page=page))
    assert "*2* links" in home_text(fake, "UALICE")


async def test_the_week_names_who_engaged_only_with_their_consent(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, with_announcements(fake, tmp_path)) as story:
        await story.command("settings named=on", "UFRAN")
        now = f"{story.clock.now().timestamp():.0f}"  # in this week
        message = fake.add_message(
            "C0GENERAL", "UALICE", "see https://example.org/paper", ts=now + ".000100"
        )
        await story.event(
            message_event("C0GENERAL", "UALICE", message["text"], message["ts"]), "EvShare"
        )
        for user, event_id in (("UFRAN", "EvR1"), ("UCARL", "EvR2")):
            reaction = {
                "type": "reaction_added",
                "user": user,
                "reaction": "eyes",
                "item": {"type": "message", "channel": "C0GENERAL", "ts": message["ts"]},
                "event_ts": f"{now}.00020{event_id[-1]}",
            }
            await story.event(reaction, event_id)
        await story.command("reflect Spacing beats cramming, for me too", "UALICE")
        await open_home(story, "UALICE", "EvW1")
        shown = home_text(fake, "UALICE")
        assert "*Shared:* 1 link(s)" in shown and "https://example.org/paper" in shown
        assert "*Reflected:* 1 reflection(s)" in shown and "Spacing beats cramming" in shown
        assert "fran, 1 more who have not allowed being named" in shown
        assert "carl" not in shown


async def test_forgetting_empties_the_page(fake: FakeSlack, tmp_path: Path) -> None:
    async with SlackStory(fake, with_announcements(fake, tmp_path)) as story:
        await story.command("goal set Read two papers", "UALICE")
        await open_home(story, "UALICE", "EvG1")
        assert "Read two papers" in home_text(fake, "UALICE")
        await story.command("forget-me confirm", "UALICE")
        await eventually(lambda: "Nothing is kept about you" in home_text(fake, "UALICE"))
        assert "Read two papers" not in home_text(fake, "UALICE")
        await story.command("forget-me confirm", "UFRAN")  # fran never opened a page
        await open_home(story, "UCARL", "EvSentinel")  # published after fran's forget-me
        assert "UFRAN" not in fake.homes


async def test_over_http_the_page_is_published_on_opening_and_after_a_press(
    fake: FakeSlack, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path, mode="http")) as story:
        url = f"http://127.0.0.1:{story.app.web.port}/slack/events"
        body = json.dumps(event_callback(app_home_opened("UALICE"), event_id="EvHttp"))
        assert (await post_signed(session, url, body))[0] == 200
        await eventually(lambda: publishes(fake, "UALICE") == 1)
        assert "quotes: *off*" in home_text(fake, "UALICE")
        press = form_body({"payload": json.dumps(home_press("settings quotes=on", user="UALICE"))})
        status, _ = await post_signed(
            session, url, press, content_type="application/x-www-form-urlencoded"
        )
        assert status == 200
        await eventually(lambda: "quotes: *on*" in home_text(fake, "UALICE"))


async def test_someone_engaging_with_a_members_message_refreshes_their_open_page(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, with_announcements(fake, tmp_path)) as story:
        await story.command("settings named=on", "UFRAN")
        now = f"{story.clock.now().timestamp():.0f}"
        message = fake.add_message(
            "C0GENERAL", "UALICE", "see https://example.org/paper", ts=now + ".000100"
        )
        await story.event(
            message_event("C0GENERAL", "UALICE", message["text"], message["ts"]), "EvShare"
        )
        carls = fake.add_message("C0GENERAL", "UCARL", "a thought", ts=now + ".000150")
        await story.event(message_event("C0GENERAL", "UCARL", "a thought", carls["ts"]), "EvC")
        await open_home(story, "UALICE", "EvOpen")
        assert "nobody yet this week" in home_text(fake, "UALICE")
        before = publishes(fake, "UALICE")
        reaction = {
            "type": "reaction_added",
            "user": "UFRAN",
            "reaction": "eyes",
            "item": {"type": "message", "channel": "C0GENERAL", "ts": message["ts"]},
            "event_ts": f"{now}.000200",
        }
        await story.event(reaction, "EvReact")
        await eventually(lambda: "fran" in home_text(fake, "UALICE"))
        # a reply in her thread, by someone who did not allow being named: counted
        reply = message_event("C0GENERAL", "UCARL", "nice one", f"{now}.000300")
        reply["thread_ts"] = message["ts"]
        await story.event(reply, "EvReply")
        await eventually(lambda: "1 more who have not allowed" in home_text(fake, "UALICE"))
        assert publishes(fake, "UALICE") == before + 2
        # her own reaction to her message changes nothing; carl never opened his page
        await story.event({**reaction, "user": "UALICE", "event_ts": f"{now}.0004"}, "EvOwn")
        await story.event(
            {**reaction, "item": {**reaction["item"], "ts": carls["ts"]}, "event_ts": f"{now}.5"},
            "EvOnCarl",
        )
        await open_home(story, "UFRAN", "EvSentinel")  # published after both were handled
        assert publishes(fake, "UALICE") == before + 2 and "UCARL" not in fake.homes


async def test_an_answer_to_a_members_question_refreshes_their_open_page(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, with_announcements(fake, tmp_path)) as story:
        await story.command("settings named=on", "UFRAN")
        await story.command("seek Who knows a primer on spaced practice?", "UALICE")

        def posted_question() -> tuple[str, dict[str, Any]] | None:
            for channel in fake.channels.values():
                for message in channel.messages:
                    if message.get("bot_id") and "spaced practice" in message["text"]:
                        return channel.id, message
            return None

        await eventually(lambda: posted_question() is not None)
        found = posted_question()
        assert found is not None
        channel, question = found
        await open_home(story, "UALICE", "EvQOpen")
        assert "nobody yet this week" in home_text(fake, "UALICE")
        now = f"{story.clock.now().timestamp():.0f}"
        answer = message_event(channel, "UFRAN", "Try the Make It Stick book", f"{now}.7")
        answer["thread_ts"] = question["ts"]
        await story.event(answer, "EvAnswer")
        await eventually(lambda: "fran" in home_text(fake, "UALICE"))
