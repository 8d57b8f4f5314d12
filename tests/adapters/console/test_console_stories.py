"""Stories through the console adapter: the same dispatcher, services and storage as the
real platforms."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.console.platform import ConsolePlatform
from bot.app import Application
from bot.core.clock import ManualClock
from bot.core.config import Config, Secrets
from bot.storage.schema import (
    consents,
    link_annotations,
    links,
    members,
    messages,
    reflections,
    rsvps,
    shares,
    tombstones,
)
from tests.helpers import ConsoleStory

pytestmark = pytest.mark.both_backends


async def rows(story: ConsoleStory, table: object) -> int:
    async with story.app.database.reading() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_a_shared_link_is_collected_once_and_acknowledged(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        said = await story.say("alice: see https://Example.org/a?utm_source=x")
        assert "[1] #general alice: see https://Example.org/a?utm_source=x" in said
        assert "[1] Facilitator reacted :bookmark:" in said
        said = await story.say("bob@resources: me too https://example.org/a!")
        assert "[2] Facilitator reacted :bookmark:" in said
        async with story.app.database.reading() as conn:
            found = (await conn.execute(select(links.c.canonical_url, links.c.url))).all()
        assert found == [("https://example.org/a", "https://Example.org/a?utm_source=x")]
        assert await rows(story, shares) == 2


async def test_edits_add_shares_and_deletions_remove_them(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: nothing yet")
        said = await story.say("alice~1: now with https://example.org/b")
        assert "Facilitator reacted :bookmark:" in said
        assert await rows(story, shares) == 1
        said = await story.say("bob~1: hijack")
        assert "bob can only edit their own posts" in said
        await story.say("alice-1")
        assert await rows(story, shares) == 0
        assert await rows(story, links) == 0
        assert await rows(story, messages) == 0


async def test_profile_settings_and_no_reaction_when_switched_off(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: first https://a.org")
        said = await story.say("alice: /profile")
        assert "(only alice sees this)" in said
        assert "links shared: 1" in said and "link_reactions=on" in said
        said = await story.say("alice: /settings link_reactions=off quotes=off")
        assert "You allow: quotes=off" in said and "settings: link_reactions=off" in said
        said = await story.say("alice: again https://b.org")
        assert "reacted" not in said
        assert await rows(story, shares) == 2
        said = await story.say("alice: /settings quotes=maybe")
        assert "Quotes must be on or off, not 'maybe'" in said
        assert "Usage: /settings [quotes=on|off] [named=on|off] [introductions=on|off]" in said


async def test_help_lists_commands_and_explains_one(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        said = await story.say("alice: /help")
        for name in ("/profile", "/settings", "/export", "/forget-me", "/help"):
            assert name in said
        said = await story.say("alice: /help settings")
        assert "Usage: /settings [quotes=on|off] [named=on|off] [introductions=on|off]" in said
        assert "[introductions=on|off] [submissions=on|off] [link_reactions=on|off]" in said
        assert "[link_reactions=on|off] [digest_dm=on|off]" in said
        assert "Example: /settings quotes=on named=off" in said
        said = await story.say("alice: /frobnicate now")
        assert "there is no command called 'frobnicate'" in said and "/help" in said


async def test_export_writes_the_members_data_as_json(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: reading https://example.org/x")
        await story.say("bob: unrelated https://other.org")
        said = await story.say("alice: /export")
        assert "✉ to alice:" in said
        [file] = list(tmp_path.glob("facilitator-export-alice-*.json"))
        document = json.loads(file.read_text("utf-8"))
        assert document["member"] == "console:/alice"
        assert [row["url"] for row in document["data"]["shares"]] == ["https://example.org/x"]
        assert [row["text"] for row in document["data"]["messages"]] == [
            "reading https://example.org/x"
        ]
        assert "bob" not in file.read_text("utf-8")


async def test_forget_me_asks_first_then_deletes_and_leaves_a_tombstone(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: https://example.org/x")
        await story.say("bob: https://example.org/x")
        said = await story.say("alice: /forget-me")
        assert "cannot be undone" in said and "/forget-me confirm" in said
        assert await rows(story, shares) == 2
        clock.advance(timedelta(minutes=1))
        said = await story.say("alice: /forget-me confirm")
        assert "deleted" in said
        assert await rows(story, shares) == 1
        assert await rows(story, tombstones) == 1
        async with story.app.database.reading() as conn:
            names = list((await conn.execute(select(members.c.ref))).scalars())
        assert names == ["console:/bob"]
        # An edit of something alice wrote before forgetting never re-creates her data.
        await story.say("alice~1: https://example.org/y")
        assert await rows(story, shares) == 1


async def test_bad_input_gets_clear_messages_and_loses_nothing(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        assert "there is no channel #nowhere" in await story.say("alice@nowhere: hi")
        assert "there is no post 99" in await story.say("alice~99: x")
        assert "not understood" in await story.say("just words without a speaker")
        assert "unknown instruction" in await story.say("!dance")
        big = "x" * 100_000 + " https://big.example.org/"
        assert "reacted" in await story.say("alice: " + big)
        said = await story.say("alice: ")
        assert "[2]" in said
        said = await story.say("alice: javascript:alert(1) and http://127.0.0.1/ and http://[::1]/")
        assert await rows(story, links) == 3


async def test_the_console_clock_moves_on_command(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        said = await story.say("!clock +1d")
        assert "Tue 24 Nov 2026 10:00 CET" in said
        assert clock.now().day == 24


async def test_piped_input_with_invalid_utf8_is_skipped_and_the_run_ends(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async def script() -> AsyncIterator[bytes]:
        for line in (b"alice: ok https://a.org\n", b"bob: caf\xe9 \xff\n", b"bob: \x07fine\r\n"):
            yield line

    config = config_for()
    out = io.StringIO()
    app = Application(config, secrets=Secrets(), clock=clock)
    console = ConsolePlatform(
        config, app.directory, app.commands, clock, lines=script(), out=out, export_dir=tmp_path
    )
    app._given_platforms = [console]
    await app.start()
    await app.wait_done()
    await app.drain()
    await app.stop()
    text = out.getvalue()
    assert "! line 2: not valid UTF-8; skipped" in text
    assert "bob: fine" in text
    assert "reacted :bookmark:" in text


async def test_help_marks_facilitator_commands_once_and_shows_each_subcommands_usage(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        said = await story.say("fran: /help")
        assert "(facilitators)" in said
        assert "(facilitators) (facilitators)" not in said
        assert "(facilitators)_ _(facilitators)" not in said
        said = await story.say("fran: /help host")
        assert "/host create <title> <when>" in said
        assert "/host edit <id>" in said
        said = await story.say("alice: /help event")
        assert "/event list" in said and "/host create" not in said
        assert "/event create" not in said


async def test_a_posted_digest_is_printed_once(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = config_for(
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "console": {"channels": ["general"], "digest": "digest"},
            }
        ]
    )
    async with ConsoleStory(config, clock, tmp_path) as story:
        await story.say("alice: https://example.org/a is a fine read about connectivism")
        clock.set(clock.now() + timedelta(days=8))
        said = await story.say("fran: /digest post")
        assert said.count("https://example.org/a") == 1, said
        assert said.count("Top links") == 1, said


# --- every flow can be tried: a DM answered, a button pressed, a form filled ---------------

QUIET: dict[str, object] = {"welcome": False}  # no welcome DM between the lines of a story


def quiet(config_for: Callable[..., Config]) -> Config:
    return config_for(
        communities=[
            {
                "name": "demo",
                "timezone": "Europe/Berlin",
                "members": QUIET,
                "console": {"channels": ["general", "resources"], "announcements": "general"},
            }
        ]
    )


def button(said: str, action: str) -> int:
    """The number the console gave the one button whose command starts with `action`."""
    found = re.findall(r"\[button (\d+): [^\]]*? → /" + re.escape(action) + r"[^\]]*\]", said)
    assert len(found) == 1, said
    return int(found[0])


async def test_a_member_answers_the_bots_direct_message_with_at_dm(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(quiet(config_for), clock, tmp_path) as story:
        said = await story.say("alice: https://example.org/read")
        assert "✉ to alice: You shared https://example.org/read (L1) without a note" in said
        assert "Reply here" in said
        assert "↳ alice answers with `alice@dm: …`" in said  # once, on her first DM
        said = await story.say("alice@dm: Key idea: spacing beats cramming")
        assert "[2] ✉ from alice: Key idea: spacing beats cramming" in said
        assert "✉ to alice: Thanks! I attached your note to L1." in said
        assert "↳" not in said
        # her DM is hers: nobody else replies in it, reacts to it or acts on it
        assert "! post 2 is alice's direct message" in await story.say("bob>2: me too")
        assert "! post 2 is alice's direct message" in await story.say("bob+2 :eyes:")
        assert "! post 2 is alice's direct message" in await story.say("bob!reflect 2")
        async with story.app.database.reading() as conn:
            notes = (await conn.execute(select(link_annotations.c.text))).scalars().all()
        assert notes == ["Key idea: spacing beats cramming"]
        # a command in the DM is answered there, and the DM is no channel of the community
        said = await story.say("alice@dm: /profile")
        assert "(only alice sees this)" in said and "links shared: 1" in said
        async with story.app.database.reading() as conn:
            stored = (await conn.execute(select(messages.c.channel))).scalars().all()
        assert stored == ["console:/general"]  # a DM is never kept as a channel message


async def test_buttons_are_numbered_and_pressed_by_whoever_may_see_them(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(quiet(config_for), clock, tmp_path) as story:
        await story.say("alice: https://example.org/x")
        said = await story.say("alice: /forget-me")
        confirm = button(said, "forget-me confirm")
        assert f"! only alice sees button {confirm}" in await story.say(f"bob!press {confirm}")
        assert "there is no button 99" in await story.say("!press 99")
        assert "'soon' is not a button number" in await story.say("alice!press soon")
        assert await rows(story, shares) == 1  # none of that pressed anything
        # a public post's buttons: anyone may press them, so the console asks who
        said = await story.say(
            'fran: /event create title="Guest talk" when="2026-11-26 18:00" confirm=yes'
        )
        going = button(said, "rsvp 1 going")
        assert going > confirm  # numbers run across the session, like posts
        said = await story.say(f"!press {going}")
        assert f"everyone sees button {going}; say who presses it: alice!press {going}" in said
        said = await story.say(f"bob!press {going}")
        assert f"bob pressed [button {going}: Going]" in said
        assert "(only bob sees this)" in said
        async with story.app.database.reading() as conn:
            answered = (await conn.execute(select(rsvps.c.member_ref, rsvps.c.status))).all()
        assert answered == [("console:/bob", "going")]
        # `!press N` without a name: the one member the button was shown to presses it
        said = await story.say(f"!press {confirm}")
        assert f"alice pressed [button {confirm}: Delete all my data]" in said
        assert "Done: I deleted" in said
        assert await rows(story, shares) == 0


async def test_a_form_asks_each_argument_with_the_typed_commands_checks(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(quiet(config_for), clock, tmp_path) as story:
        typed = await story.say('fran: /event create "Talk" "tomorrow 18:00" capacity=lots')
        assert "Capacity must be a whole number, not 'lots'" in typed
        # a member is refused at once rather than given a form to fill for nothing
        said = await story.say("alice: /event create")
        assert "📝" not in said and "facilitators" in said
        said = await story.say("fran: /event create")
        assert "📝 /event create: a form for fran" in said
        assert "📝 fran, title (1/9): What the session is called" in said
        said = await story.say("fran: /profile")
        assert "fran is filling the form /event create: answer title" in said
        assert "title is required" in await story.say("fran: -")
        assert "📝 fran, when (2/9)" in await story.say("fran: Guest talk")
        said = await story.say("fran: tomorrow 18:00")
        assert "📝 fran, tz (3/9, optional)" in said and "fran!send" in said
        for _ in ("tz", "duration", "repeat", "where"):
            await story.say("fran: -")
        said = await story.say("fran: lots")
        assert "Capacity must be a whole number, not 'lots'; fran, capacity again:" in said
        assert "📝 fran, description (8/9, optional)" in await story.say("fran: 20")
        said = await story.say("fran!send")
        assert "📝 fran sent /event create" in said
        assert "Starts Tue 24 Nov 2026 18:00 CET (Europe/Berlin)" in said and "20 place(s)" in said
        [create] = re.findall(r"\[button (\d+): Create it → /[^\]]*title=\"Guest talk\"", said)
        said = await story.say(f"!press {create}")
        assert "Created event 1: Guest talk" in said
        assert "[button" in said and "→ /rsvp 1 going]" in said  # the announcement, in #general
        assert "fran has no form open" in await story.say("fran!cancel")
        # a value the handler refuses: the same answer as typed, then the form again, kept
        await story.say("fran: /event create")
        await story.say("fran: Book club")
        await story.say("fran: someday")
        said = await story.say("fran!send")
        typed = await story.say('fran: /event create "Book club" someday')
        refusal = typed.split("(only fran sees this) ", 1)[1]
        assert refusal.strip() and refusal in said
        said = await story.say("fran!form")
        assert "📝 /event create again for fran" in said
        assert "title (1/9): What the session is called (now 'Book club'; `fran: =` keeps" in said
        await story.say("fran: =")
        await story.say("fran: tomorrow 19:00")
        said = await story.say("fran!send")
        assert "Book club · 1h" in said and "Starts Tue 24 Nov 2026 19:00 CET" in said
        # a form opened on purpose, then closed without sending
        said = await story.say("alice!form /goal set")
        assert "📝 alice, text (1/1)" in said
        said = await story.say("alice!cancel")
        assert "alice closed the form /goal set; nothing was sent" in said
        said = await story.say("alice!form /goal set")
        said = await story.say("alice: learn to read a regression table")
        assert "📝 alice sent /goal set" in said and "learn to read a regression table" in said
        assert "Usage" not in said


async def test_times_are_shown_in_the_zone_the_reader_set(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(quiet(config_for), clock, tmp_path) as story:
        said = await story.say(
            'fran: /event create title="Guest talk" when="2026-11-26 18:00" confirm=yes'
        )
        assert "#general Facilitator:" in said and "Thu 26 Nov 2026 18:00 CET" in said
        assert "Thu 26 Nov 2026 18:00 CET" in await story.say("alice: /event list")
        await story.say("alice: /timezone America/New_York")
        said = await story.say("alice: /event list")
        assert "Thu 26 Nov 2026 12:00 EST" in said and "CET" not in said
        # what everyone reads stays in the community's zone, and so does what bob reads
        assert "Thu 26 Nov 2026 18:00 CET" in await story.say("bob: /event list")
        # a DM is read by one member too: the reminder comes in her zone
        await story.say("alice: /rsvp 1 going")
        await story.say("bob: /rsvp 1 going")
        said = await story.tick(datetime(2026, 11, 25, 17, 0, tzinfo=UTC))  # a day before
        assert "✉ to alice: Reminder: Guest talk starts Thu 26 Nov 2026 12:00 EST" in said
        assert "✉ to bob: Reminder: Guest talk starts Thu 26 Nov 2026 18:00 CET" in said
        said = await story.say("alice: /timezone clear")
        assert "Thu 26 Nov 2026 18:00 CET" in await story.say("alice: /event list")


async def test_help_lists_only_what_the_caller_may_use(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(quiet(config_for), clock, tmp_path) as story:
        said = await story.say("alice: /help")
        assert "/event list|calendar — Live sessions" in said
        for theirs in ("/digest", "/prompt", "/report", "create", "(facilitators)"):
            assert theirs not in said, theirs
        said = await story.say("fran: /help")
        assert "/digest preview|post|exclude|feature — " in said and "(facilitators)" in said
        assert "create" in said and "suggest-times" in said  # however the groups are cut
        said = await story.say("alice: /help digest")
        assert "Only facilitators can use /digest." in said and "preview" not in said
        said = await story.say("alice: /help event")
        assert "/event list — " in said and "/event calendar [reset] — " in said
        assert "Type /help event <subcommand> for its arguments and an example." in said
        said = await story.say("alice: /help event calendar")
        assert "Usage: /event calendar [reset]" in said


async def test_an_id_that_names_nothing_offers_what_the_caller_may_name(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(quiet(config_for), clock, tmp_path) as story:
        said = await story.say("alice: /rsvp 99 going")
        assert "There is no event 99 here; see /event list.\nThere is none yet." in said
        for title, when in (("Guest talk", "2026-11-26 18:00"), ("Q and A", "2026-11-25 17:00")):
            await story.say(f'fran: /event create title="{title}" when="{when}" confirm=yes')
        said = await story.say("alice: /rsvp 99 going")
        # the next sessions, soonest first, each with a button that runs the same command
        assert "You can name one of these:\n• 2 Q and A · Wed 25 Nov 2026 17:00 CET" in said
        assert "• 1 Guest talk · Thu 26 Nov 2026 18:00 CET" in said
        assert "[button 7: 2 · Q and A → /rsvp 2 going]" in said
        said = await story.say("!press 7")
        async with story.app.database.reading() as conn:
            answered = (await conn.execute(select(rsvps.c.gathering_id, rsvps.c.status))).all()
        assert answered == [(2, "going")]
        # links: only those the caller may see (their own, or shared where everyone reads)
        await story.say("bob: https://example.org/open")
        said = await story.say("alice: /annotate L7 a note")
        assert "There is no link L7 in this community" in said
        assert "• L1 https://example.org/open" in said
        assert '→ /annotate L1 text="a note"]' in said
        # feeds: only those the caller could remove
        said = await story.say("alice: /feed remove 3")
        assert "There is no feed 3 here" in said and "There is none yet." in said
        # a facilitator's schedules
        await story.say('fran: /prompt add stage=seek when="mon 09:00" channel=#general')
        said = await story.say("fran: /prompt remove 9")
        assert "There is no prompt schedule 9" in said
        assert "• 1 seek · mon 09:00 · #general" in said and "→ /prompt remove 1]" in said


async def test_a_button_in_a_direct_message_is_pressed_by_its_reader(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:  # with the welcome DM
        said = await story.say("alice: hello, first time here")
        assert "✉ to alice: Welcome to demo!" in said
        quotes = button(said, "settings quotes=on")
        assert f"! only alice sees button {quotes}" in await story.say(f"bob!press {quotes}")
        said = await story.say(f"!press {quotes}")
        assert f"alice pressed [button {quotes}: Yes, you may quote me]" in said
        assert "You allow: quotes=on" in said
        async with story.app.database.reading() as conn:
            given = (await conn.execute(select(consents.c.member_ref, consents.c.given))).all()
        assert given == [("console:/alice", True)]


async def test_a_post_is_added_to_the_digest_or_reflected_on_as_a_shortcut_would(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(quiet(config_for), clock, tmp_path) as story:
        await story.say("bob: https://example.org/spacing is what I keep citing")
        await story.say("bob: no link in this one")
        said = await story.say("alice!share 1")
        assert "📝 Add to digest: Share a link with a note" in said
        assert "Only what you write here is kept" in said
        assert "📝 alice, note (2/2, optional)" in said  # the link is filled in already
        said = await story.say("alice: A clear intro to spaced practice")
        assert "📝 alice sent /share" in said
        async with story.app.database.reading() as conn:
            sharers = (await conn.execute(select(shares.c.member_ref, shares.c.note))).all()
        assert ("console:/alice", "A clear intro to spaced practice") in sharers
        assert ("console:/bob", None) in sharers  # bob's words are not copied into hers
        said = await story.say("alice!share 2")
        assert "! post 2 has no link for Add to digest" in said and "📝" not in said
        said = await story.say("alice!reflect 1")
        assert "📝 Reflect on this: " in said and "Only what you write here is kept" in said
        assert "📝 alice, text (2/2)" in said
        said = await story.say("alice: It made me rethink cramming before exams")
        assert "📝 alice sent /reflect" in said
        async with story.app.database.reading() as conn:
            kept = (await conn.execute(select(reflections.c.text, reflections.c.link_url))).all()
        assert kept == [("It made me rethink cramming before exams", "https://example.org/spacing")]
        assert "write the post's number: alice!reflect 12" in await story.say("alice!reflect")
        assert "there is no post 9" in await story.say("alice!share 9")
        # every command offered in a message's menu is an instruction, Annotate link too
        said = await story.say("alice!annotate 1")
        assert "📝 Annotate link: " in said and "📝 alice, text (2/2)" in said
        said = await story.say("alice: Key idea: spacing beats cramming")
        assert "📝 alice sent /annotate" in said
        async with story.app.database.reading() as conn:
            notes = (await conn.execute(select(link_annotations.c.text))).scalars().all()
        assert notes == ["Key idea: spacing beats cramming"]


async def test_a_member_opens_their_home_page_and_presses_its_buttons(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(config_for(), clock, tmp_path) as story:
        await story.say("alice: /goal set Read two papers")
        said = await story.say("alice!home")
        assert "⌂ alice's home page: YOUR WEEK IN" in said, said
        assert "Read two papers" in said and "No sessions planned yet." in said
        assert "For facilitators" not in said  # members see no dashboard
        [allow] = re.findall(r"\[button (\d+): Turn quotes on → /settings quotes=on\]", said)
        assert f"only alice sees button {allow}" in await story.say(f"bob!press {allow}")
        await story.say(f"alice!press {allow}")
        # the refresh after her press is kept quietly; opening the page again shows it
        said = await story.say("alice!home")
        assert "Turn quotes off → /settings quotes=off" in said, said

        said = await story.say("fran!home")
        assert "For facilitators" in said and "Active members:" in said, said
        [post] = re.findall(r"\[button (\d+): Post the digest → /digest post", said)
        [preview] = re.findall(r"\[button (\d+): Preview the digest → /digest preview", said)
        said = await story.say(f"fran!press {preview}")
        assert "(only fran sees this) WEEKLY DIGEST" in said and "Preview (only you" in said
        said = await story.say(f"fran!press {post}")
        assert "no digest channel" in said, said  # the same answer as `/digest post` typed
        assert "unknown instruction" in await story.say("alice!homes")
