"""Assignments through the real application and console: a facilitator creates one with a
rubric and a scale; a member hands in work, evaluates it themselves (a level per criterion,
then strengths, improvements and a grade); the facilitator proposes another grade, the member
answers in the relayed dialogue, the final grade is recorded and the member told. Also:
resubmission keeps the history, late work is marked (or refused), an extension moves one
member's due time, a draft survives a restart, and forgetting a member takes it all."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.core.clock import ManualClock
from bot.core.config import Config
from bot.features import FEATURES
from bot.runtime.feature import member_tables
from bot.storage.member_data import export_member
from bot.storage.schema import grade_notes, submission_drafts, submissions
from tests.helpers import ConsoleStory

pytestmark = [pytest.mark.timeout(60), pytest.mark.both_backends]

RUBRIC = {
    "name": "blog",
    "criteria": [
        {"name": "Connections", "levels": ["beginning", "developing", "proficient", "exemplary"]},
        {"name": "Sources", "levels": ["few", "some", "many"]},
        {"name": "Clarity", "levels": ["unclear", "clear"]},
        {"name": "Voice", "levels": ["absent", "present"]},
        {"name": "Reflection", "levels": ["surface", "deep"]},
    ],
}


QUIET = {
    "name": "demo",
    "timezone": "Europe/Berlin",
    "console": {"channels": ["general", "resources"], "digest": "general"},
    "members": {"welcome": False},
}


def course(config_for: Callable[..., Config], **extra: Any) -> Config:
    return config_for(
        communities=[QUIET],
        rubrics=[RUBRIC],
        scales=[{"name": "pmd", "grades": ["distinction", "merit", "pass", "fail"]}],
        **extra,
    )


async def count(story: ConsoleStory, table: Any) -> int:
    async with story.app.database.reading() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def create(story: ConsoleStory, due: str = "2026-12-10 17:00", extra: str = "") -> str:
    rubric = "" if "rubric=" in extra else "rubric=blog"
    said = await story.say(
        f'fran: /assignment create "Blog post 1" "{due}" {rubric} scale=letter {extra}'
    )
    match = re.search(r"\((A\d+)\)", said)
    assert match is not None, said
    return match.group(1)


async def evaluate(story: ConsoleStory, member: str, key: str, levels: list[int]) -> str:
    said = ""
    for number, level in enumerate(levels, 1):
        said = await story.say(f"{member}: /self-assess level {key} {number} {level}")
    return said


async def test_a_full_cycle_from_assignment_to_final_grade_with_a_dialogue(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(course(config_for), clock, tmp_path) as story:
        key = await create(story)
        said = await story.say(f"alice: /submit {key} https://alice.example/week-1")
        assert "draft" in said and "Connections" in said and "page 1 of 2" in said, said
        said = await evaluate(story, "alice", key, [3, 2, 2, 1])
        assert "1. Connections: proficient" in said and "page 1 of 2" in said
        said = await story.say(f"alice: /self-assess level {key} 5 9")
        assert "There is no level 9 for Reflection" in said and "1. surface" in said
        said = await story.say(
            f'alice: /self-assess finish {key} strengths="clear links" improve="more sources" '
            "grade=A"
        )
        assert "Choose a level for criteria 5 first" in said, said
        await story.say(f"alice: /self-assess level {key} 5 2")
        said = await story.say(
            f'alice: /self-assess finish {key} strengths="clear links" improve="more sources" '
            "grade=Q"
        )
        assert "'Q' is not a grade here; grades are A, B, C, D, F" in said
        said = await story.say(
            f'alice: /self-assess finish {key} strengths="clear links" improve="more sources" '
            "grade=a"
        )
        assert "Submitted Blog post 1" in said, said
        submission = re.search(r"\((S\d+)\)", said)
        assert submission is not None
        sub = submission.group(1)
        assert await count(story, submission_drafts) == 0

        said = await story.say("bob: /grade queue")
        assert "for facilitators" in said.lower() or "only facilitators" in said.lower(), said
        said = await story.say("fran: /report")
        assert "Assignments: 1 handed in this week (0 late); 1 waiting for a grade" in said
        said = await story.say("fran: /grade queue")
        assert sub in said and "proposes A" in said and "Connections 3/4" in said, said
        said = await story.say(f"fran: /grade propose {sub} B The sources need a second look")
        assert "Proposed to the member" in said
        assert "proposes B instead of your A" in said  # alice's DM, printed
        said = await story.say(f"alice: /discuss {sub} I cited six papers, see the end")
        assert "Sent about" in said and "I cited six papers" in said  # fran's DM
        said = await story.say(f"bob: /discuss {sub} let me see")
        assert f"no submission {sub} that you can see" in said
        said = await story.say(f"fran: /grade final {sub} A Fair point, well argued")
        assert "final grade A is recorded" in said
        assert "is graded: A" in said

        said = await story.say(f"alice: /submission {key}")
        for words in (
            "clear links",
            "more sources",
            "Final grade A, by fran",
            "proposed a grade (B)",
            "I cited six papers",
            "Connections: proficient",
        ):
            assert words in said, (words, said)
        said = await story.say(f"alice: /submit {key} https://alice.example/week-1-v2")
        assert "graded already" in said
        assert await count(story, grade_notes) == 3


async def test_resubmission_keeps_history_late_is_marked_and_an_extension_helps_one_member(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = course(config_for)
    async with ConsoleStory(config, clock, tmp_path) as story:
        key = await create(story, due="tomorrow 17:00", extra='rubric="Depth: thin|deep"')
        finish = 'strengths="ok" improve="more" grade=B'
        await story.say(f"alice: /submit {key} First try at the post")
        await story.say(f"alice: /self-assess level {key} 1 1")
        await story.say(f"alice: /self-assess finish {key} {finish}")
        await story.say(f"alice: /submit {key} Second, better try")
        await story.say(f"alice: /self-assess level {key} 1 2")
        said = await story.say(f"alice: /self-assess finish {key} {finish}")
        assert "version 2" in said and "replaces the earlier one" in said
        said = await story.say(f"alice: /submission {key}")
        assert "Earlier versions" in said and "First try" in said and "Second, better" in said

    # Due times hold across a restart: the clock, not the process, decides what is late.
    async with ConsoleStory(config, clock, tmp_path) as story:
        said = await story.say("carol: /submission")
        assert f"{key} Blog post 1 · due" in said, said
        said = await story.say(f'fran: /assignment extend {key} "in 3 days" member=carol')
        assert "carol may now hand in" in said, said
        assert "You have an extension" in said
        clock.advance(timedelta(days=2))
        said = await story.say(f"alice: /submit {key} Third try")
        assert "can be replaced only before its due time" in said
        await story.say(f"bob: /submit {key} Late but here")
        await story.say(f"bob: /self-assess level {key} 1 1")
        said = await story.say(f"bob: /self-assess finish {key} {finish}")
        assert "marked late" in said
        await story.say(f"carol: /submit {key} Within my extension")
        await story.say(f"carol: /self-assess level {key} 1 2")
        said = await story.say(f"carol: /self-assess finish {key} {finish}")
        assert "Submitted" in said and "marked late" not in said
        async with story.app.database.reading() as conn:
            rows = (await conn.execute(select(submissions.c.late).order_by(submissions.c.id))).all()
        assert [row.late for row in rows] == [False, False, True, False]


async def test_late_refused_edit_locked_and_a_draft_resumed_after_a_restart(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    config = course(config_for)
    async with ConsoleStory(config, clock, tmp_path) as story:
        key = await create(story, due="tomorrow 17:00", extra="late=off")
        await story.say(f"alice: /submit {key} https://alice.example/post")
        await evaluate(story, "alice", key, [1, 1])
    async with ConsoleStory(config, clock, tmp_path) as story:
        said = await story.say(f"alice: /self-assess show {key}")
        assert "1. Connections: beginning" in said and "2. Sources: few" in said
        assert "3. Clarity: not chosen yet" in said
        said = await story.say("alice: /submission")
        assert "self-evaluation under way" in said
        said = await story.say(f"alice: /submit {key} https://alice.example/better-post")
        assert "Kept https://alice.example/better-post" in said  # new work, levels kept
        assert "1. Connections: beginning" in said
        await evaluate(story, "alice", key, [1, 1, 2, 2, 2])
        said = await story.say(
            f'alice: /self-assess finish {key} strengths="s" improve="i" grade=C'
        )
        assert "Submitted" in said
        said = await story.say(f"fran: /assignment edit {key} title=Other")
        assert "can no longer be edited" in said
        clock.advance(timedelta(days=2))
        said = await story.say(f"bob: /submit {key} https://bob.example/post")
        assert "takes no late submissions" in said
        clock.advance(timedelta(days=1))
        said = await story.say(f"bob: /self-assess show {key}")
        assert "no self-evaluation under way" in said


async def test_forget_me_after_grading_takes_submissions_grades_and_dialogue(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(course(config_for), clock, tmp_path) as story:
        key = await create(story, extra='rubric="Depth: thin|deep"')
        await story.say(f"alice: /submit {key} My words")
        await story.say(f"alice: /self-assess level {key} 1 2")
        said = await story.say(
            f'alice: /self-assess finish {key} strengths="a" improve="b" grade=A'
        )
        sub = re.search(r"\((S\d+)\)", said)
        assert sub is not None
        await story.say(f"fran: /grade propose {sub.group(1)} B Why not B?")
        await story.say(f"alice: /discuss {sub.group(1)} Because")
        await story.say(f"fran: /grade accept {sub.group(1)} ok")
        async with story.app.database.reading() as conn:
            data = await export_member(conn, "console:/alice", member_tables(FEATURES))
        assert [row["strengths"] for row in data["submissions"]] == ["a"]
        assert [row["text"] for row in data["grade_notes"]] == ["Because"]
        await story.say("alice: /forget-me confirm")
        assert await count(story, submissions) == 0
        assert await count(story, grade_notes) == 0


async def test_the_digest_lists_titles_only_of_members_who_allowed_it_never_grades(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(course(config_for), clock, tmp_path) as story:
        key = await create(story, extra='rubric="Depth: thin|deep"')
        for member, work in (("alice", "https://alice.example/networks"), ("bob", "Bob's essay")):
            await story.say(f"{member}: /submit {key} {work}")
            await story.say(f"{member}: /self-assess level {key} 1 2")
            said = await story.say(
                f'{member}: /self-assess finish {key} strengths="a" improve="b" grade=B'
            )
            assert "settings submissions=on" in said  # asked at submission, default off
        await story.say("alice: /settings submissions=on")
        clock.advance(timedelta(days=7))
        said = await story.say("fran: /digest preview")
        assert "Handed in this week" in said, said
        assert "Blog post 1: https://alice.example/networks" in said
        section = said.split("Handed in this week")[1]
        assert "Bob's essay" not in said
        assert re.search(r"\bB\b", section) is None and "grade" not in section.lower()


async def test_on_the_console_levels_are_picked_by_number_and_finish_asks_for_the_rest(
    config_for: Callable[..., Config], clock: ManualClock, tmp_path: Path
) -> None:
    async with ConsoleStory(course(config_for), clock, tmp_path) as story:
        key = await create(story)
        said = await story.say(f"alice: /submit {key} https://alice.example/week-1")
        # each criterion's levels are numbered options, as a menu's would be
        [proficient] = re.findall(r"\[button (\d+): 3\. proficient → /self-assess level", said)
        said = await story.say(f"alice!press {proficient}")
        assert "1. Connections: proficient" in said, said
        assert re.search(r"\[button \d+: 3\. proficient ✓ →", said), said
        for criterion, level in ((2, 2), (3, 2), (4, 1)):
            [option] = re.findall(
                rf"\[button (\d+): [^\]]* → /self-assess level {key} {criterion} {level}\]", said
            )
            said = await story.say(f"alice!press {option}")
        assert "4. Voice: absent" in said, said
        [next_page] = re.findall(r"\[button (\d+): Next ▶", said)
        said = await story.say(f"alice!press {next_page}")
        assert "page 2 of 2" in said and "Reflection" in said, said
        [deep] = re.findall(r"\[button (\d+): 2\. deep →", said)
        said = await story.say(f"alice!press {deep}")
        [finish] = re.findall(r"\[button (\d+): Finish →", said)
        said = await story.say(f"alice!press {finish}")
        # the fields Finish lacks are asked for one by one, as a modal would ask them
        assert "📝" in said and "strengths" in said, said
        assert "improve" in await story.say("alice: clear links")
        assert "grade" in await story.say("alice: more sources")
        said = await story.say("alice: a")  # the last field sends the form
        assert "Submitted Blog post 1" in said, said
        assert await count(story, submission_drafts) == 0
        async with story.app.database.reading() as conn:
            row = (await conn.execute(select(submissions))).one()
        assert row.strengths == "clear links" and row.proposed_grade == "A", row
