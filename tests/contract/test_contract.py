"""One contract, held against every adapter: each case runs on every platform that declares
what it needs (tests/contract/drivers.py drives each one)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.core.platform import Capability
from bot.storage.schema import link_annotations, links, messages, shares
from tests.contract.conftest import needs, platforms
from tests.contract.drivers import Driver, eventually

pytestmark = pytest.mark.timeout(30)


async def count(driver: Driver, table: Any, *where: Any) -> int:
    async with driver.app.database.reading() as conn:
        query = select(func.count()).select_from(table)
        for condition in where:
            query = query.where(condition)
        return int((await conn.execute(query)).scalar_one())


async def stored(driver: Driver, ref: str) -> int:
    """How many times message `ref` is stored."""
    return await count(driver, messages, messages.c.ref == ref)


async def shared(driver: Driver, ref: str) -> int:
    """How many shares message `ref` made."""
    return await count(driver, shares, shares.c.message_ref == ref)


async def captured(driver: Driver, ref: str) -> None:
    """Wait until message `ref` is stored with its share and, where the platform reacts,
    the bot's reaction has reached the platform."""

    async def done() -> bool:
        if not await shared(driver, ref):
            return False
        return Capability.REACTIONS not in driver.capabilities or bool(driver.reactions(ref))

    await eventually(done, app=driver.app, what=f"the share of {ref}")


def dm_containing(driver: Driver, text: str) -> list[str]:
    return [dm for dm in driver.direct_messages() if text in dm]


@pytest.mark.parametrize("driver", platforms(), indirect=True)
async def test_a_shared_link_is_stored_once_and_acknowledged(driver: Driver) -> None:
    ref = await driver.post("see https://Example.org/contract?utm_source=x")
    await captured(driver, ref)
    async with driver.app.database.reading() as conn:
        urls = (await conn.execute(select(links.c.canonical_url))).scalars().all()
    assert urls == ["https://example.org/contract"]
    assert await shared(driver, ref) == 1
    assert await stored(driver, ref) == 1
    if Capability.REACTIONS in driver.capabilities:
        assert driver.reactions(ref) == ["bookmark"]


@pytest.mark.parametrize("driver", platforms(), indirect=True)
async def test_a_member_command_is_answered_only_to_the_caller(driver: Driver) -> None:
    needs(driver, Capability.EPHEMERAL)
    answer = await driver.command("profile")
    assert answer.private, answer
    assert answer.text.strip()


@pytest.mark.parametrize("driver", platforms(), indirect=True)
async def test_a_reply_in_a_thread_is_stored_as_a_reply_to_its_root(driver: Driver) -> None:
    needs(driver, Capability.THREADS)
    root = await driver.post("Who has read a good primer on interviews?")
    await eventually(lambda: stored(driver, root), app=driver.app, what="the root stored")
    reply = await driver.reply(root, "I liked the one by Kvale")
    await eventually(lambda: stored(driver, reply), app=driver.app, what="the reply stored")
    async with driver.app.database.reading() as conn:
        rows = {
            row.ref: row
            for row in await conn.execute(
                select(messages.c.ref, messages.c.channel, messages.c.thread).where(
                    messages.c.ref.in_([root, reply])
                )
            )
        }
    assert rows[root].thread is None
    assert rows[reply].thread == root.rsplit("/", 1)[1]  # the root message's own id
    assert rows[reply].channel == rows[root].channel  # a reply belongs to the root's channel


@pytest.mark.parametrize("driver", platforms(), indirect=True)
async def test_an_event_delivered_twice_is_handled_once(driver: Driver) -> None:
    if not driver.redelivers:
        pytest.skip(f"not applicable: {driver.name} never delivers one event twice")
    ref = await driver.post("https://example.org/once")
    await captured(driver, ref)
    await driver.redeliver(ref)  # Discord: the same MESSAGE_CREATE; Slack: a retry
    # The sentinel: a second message after the duplicate; once its effect is visible, the
    # duplicate (delivered before it) has been handled too.
    sentinel = await driver.post("https://example.org/sentinel")
    await captured(driver, sentinel)
    assert await stored(driver, ref) == 1
    assert await shared(driver, ref) == 1
    assert await count(driver, shares) == 2
    if Capability.REACTIONS in driver.capabilities:
        assert driver.reactions(ref) == ["bookmark"]
        assert driver.reactions(sentinel) == ["bookmark"]


@pytest.mark.parametrize("driver", platforms(), indirect=True)
async def test_pressing_a_button_runs_its_command(driver: Driver) -> None:
    needs(driver, Capability.BUTTONS)
    mine = await driver.post("https://example.org/mine")
    await captured(driver, mine)
    asked = await driver.command("forget-me")
    assert asked.buttons == ["forget-me confirm"], asked
    assert await shared(driver, mine) == 1  # asking deletes nothing
    done = await driver.press(asked, "forget-me confirm")
    assert "Done: I deleted" in done.text, done
    assert await stored(driver, mine) == 0
    assert await shared(driver, mine) == 0


@pytest.mark.parametrize("driver", platforms(), indirect=True)
async def test_a_direct_reply_to_the_bot_is_handled(driver: Driver) -> None:
    needs(driver, Capability.DIRECT_MESSAGES)
    ref = await driver.post("https://example.org/read")  # a bare link: the bot asks, by DM
    await captured(driver, ref)
    await eventually(
        lambda: bool(dm_containing(driver, "without a note")),
        app=driver.app,
        what="the literacy question by DM",
    )
    note = "Key idea: spacing beats cramming; a blog, so take it with salt"
    await driver.direct_message(note)
    await eventually(
        lambda: bool(dm_containing(driver, "I attached your note to L1")),
        app=driver.app,
        what="the thanks by DM",
    )
    async with driver.app.database.reading() as conn:
        notes = (await conn.execute(select(link_annotations.c.text))).scalars().all()
    assert notes == [note]
    assert len(dm_containing(driver, "I attached your note")) == 1


@pytest.mark.parametrize("driver", platforms(), indirect=True)
async def test_an_id_that_names_nothing_is_answered_with_what_exists(driver: Driver) -> None:
    needs(driver, Capability.BUTTONS)
    ref = await driver.post("https://example.org/spacing")
    await captured(driver, ref)
    answer = await driver.command("annotate L99 spacing beats cramming")
    assert "There is no link L99" in answer.text, answer
    assert "You can name one of these" in answer.text and "example.org/spacing" in answer.text
    assert answer.buttons == ['annotate L1 text="spacing beats cramming"'], answer
    async with driver.app.database.reading() as conn:
        assert not (await conn.execute(select(link_annotations.c.text))).scalars().all()
    done = await driver.press(answer, answer.buttons[0])
    assert "Attached your note to L1" in done.text, done
    async with driver.app.database.reading() as conn:
        notes = (await conn.execute(select(link_annotations.c.text))).scalars().all()
    assert notes == ["spacing beats cramming"]
