"""Live sessions end to end through the console: scheduling, RSVPs and the wait-list,
changes and cancellations, time zones, questions, calendars and the digest."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from icalendar import Calendar

from bot.app import Application
from bot.core.clock import ManualClock
from bot.core.config import Config, Secrets
from bot.features.gatherings import GatheringService, store
from tests.helpers import ConsoleStory

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

LINK = "https://meet.example.org/guest-talk"
CREATE = (
    'fran: /host create title="Guest talk: Ana" when="2026-11-26 17:00" duration=90m '
    f"where={LINK} capacity=2"
)


def live_config(config_for: Callable[..., Config], *, web: bool = False) -> Config:
    extra = {"web": {"enabled": True, "port": 0}} if web else {}
    return config_for(
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general"], "announcements": "news", "digest": "digest"},
            }
        ],
        **extra,
    )


async def test_a_facilitator_schedules_a_talk_members_rsvp_and_the_wait_list_moves_up(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for), clock, tmp_path) as story:
        said = await story.say(CREATE)
        # Nothing is saved before the facilitator confirms; the time is shown in both zones.
        assert "Thu 26 Nov 2026 17:00 CET (Europe/Berlin) · 2026-11-26 16:00 UTC" in said
        # Too long for a button (Discord's custom_id holds 100 characters): the typed form is
        # shown, and the button confirms a draft kept for it.
        assert '/host create title="Guest talk: Ana" when="2026-11-26 17:00"' in said
        assert "capacity=2 confirm=yes" in said
        assert ": Create it → /host confirm 1]" in said
        assert "#news" not in said
        said = await story.say('fran: /host create title=Intro when="tomorrow 17:00"')
        line = 'host create title=Intro when="2026-11-24 17:00" duration=1h confirm=yes'
        assert f": Create it → /{line}]" in said
        said = await story.say("alice: /event list")
        assert "No upcoming sessions" in said

        said = await story.say(CREATE + " confirm=yes")
        assert "[1] #news Facilitator: Guest talk: Ana · event 1" in said
        assert "Thu 26 Nov 2026 17:00 CET · 1h30m · 2 place(s)" in said
        assert ": Going → /rsvp 1 going]" in said
        assert ": Can't → /rsvp 1 no]" in said
        assert LINK not in said  # the meeting link is private
        assert "Created event 1" in said
        said = await story.say(CREATE + " confirm=yes")  # the confirm button pressed twice
        assert "already exists: event 1" in said and "#news" not in said

        said = await story.say("alice: /rsvp 1 going")
        assert "(only alice sees this) You're going to Guest talk: Ana" in said
        assert LINK in said
        said = await story.say("bob: /rsvp 1 going")
        assert "(only bob sees this) You're going" in said
        said = await story.say("cleo: /rsvp 1 going")
        assert "is full (2 place(s)). You're number 1 on the wait-list" in said
        assert LINK not in said
        said = await story.say("dan: /rsvp 1 going")
        assert "number 2 on the wait-list" in said
        said = await story.say("cleo: /rsvp 1 going")
        assert "You're number 1 on the wait-list" in said

        said = await story.say("alice: /event list")
        assert "1. Guest talk: Ana — Thu 26 Nov 2026 17:00 CET · 1h30m · 2 going of 2" in said
        assert "you: going" in said

        said = await story.say("bob: /rsvp 1 no")
        assert "you can't make Guest talk: Ana" in said
        assert "✉ to cleo: A place opened up: you're now going to Guest talk: Ana" in said
        assert LINK in said.split("✉ to cleo:")[1]
        assert "✉ to dan" not in said
        said = await story.say("dan: /event list")
        assert "you: wait-list" in said

        # A bigger room: the facilitator raises the capacity and dan is in too.
        said = await story.say("fran: /host edit 1 capacity=3")
        assert "✉ to dan: A place opened up" in said
        assert "Updated event 1" in said


async def test_changes_and_cancellations_reach_those_who_answered(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for), clock, tmp_path) as story:
        await story.say(CREATE + " confirm=yes")
        await story.say("alice: /rsvp 1 going")
        await story.say("bob: /rsvp 1 maybe")
        await story.say("cleo: /rsvp 1 no")
        said = await story.say('fran: /host edit 1 when="2026-11-26 18:30"')
        assert (
            "✉ to alice: Guest talk: Ana has changed: it is now on Thu 26 Nov 2026 18:30 CET"
            in said
        )
        assert LINK in said.split("✉ to alice:")[1].split("\n")[0]
        assert "✉ to bob: Guest talk: Ana has changed" in said
        assert LINK not in said.split("✉ to bob:")[1].split("\n")[0]  # maybe is not going
        assert "✉ to cleo" not in said
        assert "#news Facilitator: Updated: Guest talk: Ana (event 1) is now on" in said
        said = await story.say("alice: /event list")
        assert "18:30 CET" in said and "you: going" in said  # the answer moved with it

        said = await story.say('fran: /host edit 1 when="yesterday 10:00"')
        assert "not a date I can read" in said or "in the past" in said
        said = await story.say("fran: /host edit 1 tz=America/New_York")
        assert "Thu 26 Nov 2026 18:30 EST America/New_York · 2026-11-26 23:30 UTC" in said
        said = await story.say("fran: /host edit 1 tz=Mars/Olympus")
        assert "'Mars/Olympus' is not a time zone" in said
        said = await story.say("alice: /host cancel 1")
        assert "Only facilitators can use `/host cancel`" in said or (
            "Only facilitators can use /host cancel" in said
        )

        said = await story.say("fran: /host cancel 1")
        assert "✉ to alice: Guest talk: Ana on Fri 27 Nov 2026 00:30 CET is cancelled" in said
        assert "✉ to bob:" in said and "✉ to cleo" not in said
        assert "#news Facilitator: Guest talk: Ana (event 1) is cancelled." in said
        assert "2 member(s) told" in said
        said = await story.say("alice: /rsvp 1 going")
        assert "Event 1 is cancelled" in said


async def test_natural_dates_other_zones_and_repeats_are_confirmed_in_community_time(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for), clock, tmp_path) as story:
        said = await story.say(
            'fran: /host create title="AMA" when="next thursday 12pm" tz=America/New_York '
            "repeat=weekly duration=1h"
        )
        assert "Starts Thu 26 Nov 2026 12:00 EST (America/New_York)" in said
        assert "· Thu 26 Nov 2026 18:00 CET in Europe/Berlin · 2026-11-26 17:00 UTC" in said
        assert "repeats weekly" in said
        # The confirm command holds the resolved date, so confirming later is the same time.
        assert 'when="2026-11-26 12:00" tz=America/New_York' in said
        said = await story.say(
            'fran: /host create title=Labs when="in 2 hours" repeat=FREQ=WEEKLY;BYDAY=TU,TH'
        )
        # Monday is not a Tuesday or a Thursday: the series starts on its first real day.
        assert "Starts Tue 24 Nov 2026 12:00 CET (Europe/Berlin)" in said
        said = await story.say(
            'fran: /host create title=X when="tomorrow 10:00" repeat=FREQ=WEEKLY;UNTIL=20260101'
        )
        assert "that repeat has no session on or after the start" in said
        said = await story.say("fran: /host create title=X when=tomorrow duration=1h")
        assert "has no time of day" in said
        said = await story.say('fran: /host create title=X when="2026-11-20 10:00"')
        assert "in the past" in said
        said = await story.say('fran: /host create title=X when="tomorrow 10:00" repeat=often')
        assert "is not a repeat" in said


async def test_members_set_their_time_zone_and_ask_the_host_questions(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for), clock, tmp_path) as story:
        said = await story.say("alice: /timezone")
        assert "You have not set a time zone" in said
        said = await story.say("alice: /timezone europe/berlin")
        assert "your time zone is Europe/Berlin (it is 10:00 there now)" in said
        said = await story.say("alice: /profile")
        assert "time zone: Europe/Berlin" in said
        said = await story.say("bob: /timezone Europe/Berln")
        assert "'Europe/Berln' is not a time zone" in said and "Europe/Berlin" in said
        said = await story.say("alice: /timezone clear")
        assert "cleared" in said
        said = await story.say("alice: /profile")
        assert "time zone: not set" in said

        await story.say(CREATE + " confirm=yes")
        said = await story.say("bob: /ask 1 How did you get started?")
        assert "your question for Guest talk: Ana is saved" in said
        said = await story.say("bob: /ask 7 Hello?")
        assert "There is no event 7 here" in said
        said = await story.say("bob: /export")
        exported = json.loads(next(tmp_path.glob("facilitator-export-bob-*.json")).read_text())
        assert exported["data"]["gathering_questions"][0]["text"] == "How did you get started?"


async def test_suggest_times_names_only_members_who_allow_it_and_proposes_a_rotation(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for), clock, tmp_path) as story:
        said = await story.say("fran: /host suggest-times")
        assert "No members have set a time zone yet" in said
        await story.say("ana: /timezone Europe/Berlin")
        await story.say("ben: /timezone America/Los_Angeles")
        await story.say("chi: /timezone Asia/Tokyo")
        await story.say("ben: /settings named=on")  # chi never says yes: not named
        said = await story.say("fran: /host suggest-times duration=60m days=3 repeat=weekly")
        assert "of the 3 member(s) with a known zone are between 08:00 and 21:00" in said
        assert "2 of 3 awake" in said
        assert "outside: 1 other(s)" in said  # chi has not allowed being named
        assert "chi" not in said
        assert "For a recurring series, take turns" in said
        assert "Each zone is outside its waking hours in at most 1 of" in said
        said = await story.say("ana: /host suggest-times")
        assert "Only facilitators" in said


async def test_a_creators_forget_me_keeps_the_session_for_everyone_else(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for), clock, tmp_path) as story:
        await story.say(CREATE + " confirm=yes")
        await story.say("alice: /rsvp 1 going")
        await story.say("fran: /forget-me confirm")
        said = await story.say("alice: /event list")
        assert "Guest talk: Ana" in said and "1 going" in said
        await story.say("alice: /forget-me confirm")
        said = await story.say("bob: /event list")
        assert "0 going" in said


async def _get(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


async def test_calendars_parse_back_and_keep_meeting_links_private(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for, web=True), clock, tmp_path) as story:
        base = f"http://127.0.0.1:{story.app.web.port}"
        said = await story.say(CREATE + " confirm=yes")
        assert "Add to your calendar: http://127.0.0.1:0/events/" in said
        await story.say(
            'fran: /host create title="Weekly circle" when="2026-11-24 18:00" repeat=weekly '
            "duration=45m where=https://meet.example.org/circle confirm=yes"
        )
        await story.say("alice: /rsvp 1 going")

        status, body = await _get(f"{base}/events.ics")
        assert status == 200
        assert b"meet.example.org" not in body
        cal = Calendar.from_ical(body)
        events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
        assert set(events) == {"Guest talk: Ana", "Weekly circle"}
        talk = events["Guest talk: Ana"]
        assert talk.decoded("DTSTART") == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
        assert talk.decoded("DTEND") - talk.decoded("DTSTART") == timedelta(minutes=90)
        assert str(talk["STATUS"]) == "CONFIRMED" and int(talk["SEQUENCE"]) == 0
        circle = events["Weekly circle"]
        assert str(circle["DTSTART"].params["TZID"]) == "Europe/Berlin"
        assert circle["RRULE"]["FREQ"] == ["WEEKLY"]
        assert cal.walk("VTIMEZONE")  # so calendar apps keep 18:00 across DST
        uid = str(talk["UID"])

        await story.say('fran: /host edit 1 title="Guest talk: Ana Silva"')
        await story.say("fran: /host cancel 1")
        status, body = await _get(f"{base}/events/{uid}.ics")
        one = Calendar.from_ical(body).walk("VEVENT")[0]
        assert str(one["UID"]) == uid  # stable across edits
        assert int(one["SEQUENCE"]) == 2 and str(one["STATUS"]) == "CANCELLED"
        assert str(one["SUMMARY"]) == "Guest talk: Ana Silva"
        assert (await _get(f"{base}/events/nope@facilitator.ics"))[0] == 404

        said = await story.say("bob: /rsvp 2 going")
        said = await story.say("bob: /event calendar")
        url = said.split(
            "Your personal calendar (with meeting links for sessions you're going to): "
        )[1].split()[0]
        status, body = await _get(url.replace("http://127.0.0.1:0", base))
        assert status == 200
        mine = {str(e["SUMMARY"]): e for e in Calendar.from_ical(body).walk("VEVENT")}
        assert str(mine["Weekly circle"]["URL"]) == "https://meet.example.org/circle"
        assert "URL" not in mine["Guest talk: Ana Silva"]  # bob is not going to that one
        said = await story.say("bob: /event calendar reset")
        assert (await _get(url.replace("http://127.0.0.1:0", base)))[0] == 404
        assert (await _get(f"{base}/calendar/not-a-token.ics"))[0] == 404
        fresh = said.split("going to): ")[1].split()[0].replace("http://127.0.0.1:0", base)
        assert (await _get(fresh))[0] == 200
        await story.say("bob: /forget-me confirm")
        assert (await _get(fresh))[0] == 404  # the token went with everything else


async def test_upcoming_sessions_appear_in_the_digest(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for), clock, tmp_path) as story:
        await story.say(
            'fran: /host create title="Weekly circle" when="2026-12-01 18:00" repeat=weekly '
            "duration=45m confirm=yes"
        )
        clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
        said = await story.say("fran: /digest preview")
        assert "Coming up" in said
        assert "Weekly circle" in said and "Tue 01 Dec 2026 18:00 CET" in said


async def test_a_private_archive_keeps_the_public_calendar_behind_its_token(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    config = config_for(web={"enabled": True, "port": 0, "archive": "private"})
    app = Application(
        config, secrets=Secrets(archive_token="s3cret-token"), clock=clock, platforms=[]
    )
    await app.start()
    try:
        async with app.database.transaction() as conn:
            gathering = await store.create_gathering(
                conn,
                community="demo",
                uid="abc@facilitator",
                title="Closed circle",
                description=None,
                starts_at=datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
                duration_minutes=60,
                timezone="Europe/Berlin",
                recurrence=None,
                where_url="https://meet.example.org/closed",
                capacity=None,
                host_ref=None,
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        assert app.service(GatheringService).event_url(gathering) == (
            "http://127.0.0.1:0/a/s3cret-token/events/abc@facilitator.ics"
        )
        base = f"http://127.0.0.1:{app.web.port}"
        assert (await _get(f"{base}/events.ics"))[0] == 404
        assert (await _get(f"{base}/events/abc@facilitator.ics"))[0] == 404
        status, body = await _get(f"{base}/a/s3cret-token/events.ics")
        assert status == 200 and b"Closed circle" in body and b"meet.example.org" not in body
    finally:
        await app.stop()


async def test_a_place_is_an_https_address_or_plain_text_and_other_schemes_are_refused(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for), clock, tmp_path) as story:
        for bad in ("javascript:alert(1)", "ftp://files.example.org/x", "file:///etc/passwd"):
            said = await story.say(
                f'fran: /host create title=Intro when="tomorrow 17:00" where={bad} confirm=yes'
            )
            assert "http(s) address" in said and "Created event" not in said, said
        said = await story.say(
            'fran: /host create title=Intro when="tomorrow 17:00" where=meet.example.org/intro '
            "confirm=yes"
        )
        assert "Created event 1" in said
        said = await story.say(
            'fran: /host create title=Walk when="tomorrow 18:00" where="Room 3, city library" '
            "confirm=yes"
        )
        assert "Created event 2" in said
        said = await story.say("alice: /rsvp 1 going")
        assert "Join here: https://meet.example.org/intro" in said
        said = await story.say("alice: /rsvp 2 going")
        assert "Where: Room 3, city library" in said and "Join here" not in said
        said = await story.say("fran: /host edit 2 where=mailto:x@example.org")
        assert "http(s) address" in said
        async with story.app.database.reading() as conn:
            first = await store.get_gathering(conn, 1)
            second = await store.get_gathering(conn, 2)
        assert first is not None and first.where_url == "https://meet.example.org/intro"
        assert second is not None and second.where_url == "Room 3, city library"


async def test_a_long_session_is_confirmed_by_its_draft_button_once_and_only_by_its_author(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for), clock, tmp_path) as story:
        said = await story.say(CREATE + ' description="' + "a long talk " * 8 + '"')
        assert ": Create it → /host confirm 1]" in said
        said = await story.say("alice: /host confirm 1")
        assert "Created event" not in said  # a member may not, and it is fran's draft anyway
        said = await story.say("fran: /host confirm 1")
        assert "Created event 1" in said and "[1] #news Facilitator: Guest talk: Ana" in said
        said = await story.say("fran: /host confirm 1")  # pressed twice: the draft is used
        assert "There is no draft 1 of yours" in said
        said = await story.say(CREATE)
        draft = said.split("/host confirm ")[1].split("]")[0]
        clock.advance(timedelta(days=1, minutes=1))
        said = await story.say(f"fran: /host confirm {draft}")
        assert "drafts are kept a day" in said


async def test_the_old_event_paths_still_run_the_facilitators_host_commands(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(live_config(config_for), clock, tmp_path) as story:
        said = await story.say(CREATE.replace("/host create", "/event create") + " confirm=yes")
        assert "Created event 1" in said
        said = await story.say("alice: /event cancel 1")
        assert "Only facilitators can use" in said and "/host cancel" in said
        said = await story.say("fran: /event cancel 1")
        assert "Cancelled" in said or "cancelled" in said
        said = await story.say("alice: /event list")
        assert "No upcoming sessions" in said and "/host create" in said
