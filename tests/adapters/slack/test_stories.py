"""Stories through the whole application: the real bolt app, dispatcher, services and SQLite."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from adapters.slack import translate as slack_translate
from adapters.slack.platform import SlackPlatform
from bot.app import Application
from bot.config import parse_config
from bot.core import CommandSpec, ConfigError, ManualClock, Param, Role
from bot.core.commands import CommandTable
from bot.core.communities import CommunityDirectory
from bot.core.events import Author
from bot.core.refs import MemberRef
from bot.fetch.client import StaticResolver
from bot.storage.schema import links, messages, shares
from tests.fakes.slack_server import (
    FakeSlack,
    block_actions,
    event_callback,
    form_body,
    message_event,
    post_signed,
    slash_command,
)
from tests.helpers import SLACK_START as START
from tests.helpers import SlackStory, allow, answer_text, eventually, secrets, story_config

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    server.add_channel("C0GENERAL", "general")
    server.add_channel("C0RESOURCE", "resources")
    server.add_user("UALICE", "alice", tz="Europe/Berlin")
    server.add_user("UFRAN", "fran")
    server.add_usergroup("S0FACILS", "facilitators", ["UFRAN"])
    await server.start()
    yield server
    await server.stop()


async def test_a_link_shared_on_slack_is_stored_once_and_bookmarked(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        message = fake.add_message(
            "C0GENERAL", "UALICE", "see <https://Example.org/a?utm_source=x&amp;b=1|this>"
        )
        event = message_event("C0GENERAL", "UALICE", message["text"], message["ts"])
        await story.event(event, "Ev1")
        await story.event(event, "Ev1", retry=1)  # Slack retried: same event
        async with story.app.database.reading() as conn:
            stored = (await conn.execute(select(links.c.canonical_url, links.c.url))).all()
        assert stored == [("https://example.org/a?b=1", "https://Example.org/a?utm_source=x&b=1")]
        assert await story.count(shares) == 1
        assert [c.args["name"] for c in fake.calls_to("reactions.add")] == ["bookmark"]
        assert message["reactions"][0]["users"] == ["UBOT"]


async def test_help_is_answered_privately_and_lists_what_the_caller_may_use(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        [member_help] = await story.command("", "UALICE")
        [facilitator_help] = await story.command("help", "UFRAN")
        assert member_help["response_type"] == "ephemeral"
        assert "/facilitator profile" in answer_text([member_help])
        assert "/facilitator schedule" not in answer_text([member_help])
        assert "/facilitator schedule" in answer_text([facilitator_help])


async def test_facilitator_only_commands_are_refused_to_members(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        refused = await story.command("schedule Kick-off “Dec 1 18:00”", "UALICE")
        assert "Only facilitators can use" in answer_text(refused)
        done = await story.command("schedule Kick-off “Dec 1 18:00”", "UFRAN")
        assert answer_text(done) == "Scheduled Kick-off at Dec 1 18:00"
        wrong = await story.command("profile extra", "UALICE")
        assert "Usage: `/facilitator profile`" in answer_text(wrong)


async def test_a_usage_error_shows_its_example_with_the_workspace_command(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        wrong = await story.command("goal set", "UALICE")
        text = answer_text(wrong)
        assert "Example: `/facilitator goal set Read two papers" in text
        assert "`/goal set" not in text


async def test_the_modal_decision_applies_the_groups_role_as_the_dispatcher_does(
    fake: FakeSlack, tmp_path: Path
) -> None:
    # A facilitator group whose subcommand does not repeat the role: the dispatcher refuses
    # members, so the member must get that refusal at once, not a form to fill in first.
    table = CommandTable()
    table.add(
        CommandSpec(
            name="cohort",
            help="Facilitator tools",
            role=Role.FACILITATOR,
            subcommands=(
                CommandSpec(
                    name="rename",
                    help="Rename a cohort",
                    params=(Param(name="old", help="Old"), Param(name="new", help="New")),
                ),
            ),
        )
    )
    config = story_config(fake, tmp_path)
    directory = CommunityDirectory(config)
    directory.bind_space("slack", "T1", "demo")  # what the adapter learns at start
    platform = SlackPlatform(config, secrets(), directory, table, ManualClock(START))
    body = {"channel_id": "C0GENERAL"}
    member = Author(ref=MemberRef("slack", "T1", "UALICE"), name="alice")
    facilitator = Author(
        ref=MemberRef("slack", "T1", "UFRAN"), name="fran", roles=frozenset({"facilitators"})
    )
    path = ("cohort", "rename")
    assert table.resolve(path).role is Role.FACILITATOR
    assert not await platform._wants_modal(path, "", member, "T1", body)
    assert await platform._wants_modal(path, "", facilitator, "T1", body)


async def test_export_arrives_as_a_file_in_a_direct_message(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        await story.event(
            message_event("C0GENERAL", "UALICE", "https://a.org", fake.next_ts()), "Ev2"
        )
        answer = await story.command("export", "UALICE")
        assert "direct message" in answer_text(answer)
        [upload] = fake.uploads.values()
        exported = json.loads(upload)
        assert "slack:T0001/UALICE" in json.dumps(exported)
        assert fake.calls_to("files.completeUploadExternal")[0].args["channel_id"] == "DUALICE"


async def test_a_button_runs_its_command(fake: FakeSlack, tmp_path: Path) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        [ask] = await story.command("forget-me", "UALICE")
        assert "/facilitator forget-me confirm" in answer_text([ask])
        [actions] = [b for b in ask["blocks"] if b["type"] == "actions"]
        value = actions["elements"][0]["value"]
        assert value == "forget-me confirm"
        url = fake.new_response_url()
        press = block_actions(
            value, user="UALICE", channel="C0GENERAL", message_ts=fake.next_ts(), response_url=url
        )
        await fake.wait_ack(await fake.push_envelope("interactive", press))
        await story.app.drain()
        assert answer_text(fake.responses[url.rsplit("/", 1)[1]]).startswith("Done: I deleted")


async def test_backfill_after_a_restart_stores_missed_links_once(
    fake: FakeSlack, tmp_path: Path
) -> None:
    config = story_config(fake, tmp_path)
    async with SlackStory(fake, config) as story:
        first = fake.add_message("C0GENERAL", "UALICE", "https://one.org")
        await story.event(message_event("C0GENERAL", "UALICE", first["text"], first["ts"]), "Ev3")
    # while the bot is down
    missed = fake.add_message("C0GENERAL", "UFRAN", "https://two.org")
    fake.add_message("C0GENERAL", "UALICE", "and https://three.org", thread_ts=first["ts"])
    async with SlackStory(fake, config) as story:
        assert await story.count(links) == 3
        reacted = [c.args["timestamp"] for c in fake.calls_to("reactions.add")]
        assert reacted.count(missed["ts"]) == 1 and reacted.count(first["ts"]) == 1
        # Slack delivering the missed message late changes nothing
        await story.event(message_event("C0GENERAL", "UFRAN", missed["text"], missed["ts"]), "Ev4")
        assert await story.count(shares) == 3
    async with SlackStory(fake, config) as story:
        assert await story.count(shares) == 3
        assert len(fake.calls_to("reactions.add")) == 3


async def test_one_community_on_slack_and_the_console_shares_one_link(
    fake: FakeSlack, tmp_path: Path
) -> None:
    config = story_config(fake, tmp_path, console={"channels": ["general"]})
    async with SlackStory(fake, config, console=True) as story:
        await story.event(
            message_event("C0GENERAL", "UALICE", "<https://example.org/x>", fake.next_ts()), "Ev5"
        )
        await story.console.handle_line("bob: https://example.org/x?utm_medium=chat")
        await story.app.drain()
        assert await story.count(links) == 1
        async with story.app.database.reading() as conn:
            sharers = sorted((await conn.execute(select(shares.c.member_ref))).scalars())
        assert sharers == ["console:/bob", "slack:T0001/UALICE"]


async def test_http_mode_is_served_by_the_apps_web_server(fake: FakeSlack, tmp_path: Path) -> None:
    config = story_config(fake, tmp_path, mode="http")
    app = Application(
        config, secrets=secrets(), clock=ManualClock(START), resolver=StaticResolver({})
    )
    await app.start()  # the production path: create_platform from the environment's tokens
    try:
        assert [p.name for p in app.platforms] == ["slack"]
        url = f"http://127.0.0.1:{app.web.port}/slack/events"
        message = fake.add_message("C0RESOURCE", "UALICE", "https://http.example")
        body = json.dumps(
            event_callback(
                message_event("C0RESOURCE", "UALICE", message["text"], message["ts"]),
                event_id="EvH",
            )
        )
        async with aiohttp.ClientSession() as session:
            assert (await post_signed(session, url, body, secret="nope"))[0] == 401
            assert (await post_signed(session, url, body))[0] == 200
            assert (await post_signed(session, url, body, retry_num=1))[0] == 200
            response_url = fake.new_response_url()
            form = slash_command(
                "/facilitator",
                "profile",
                user="UALICE",
                channel="C0GENERAL",
                response_url=response_url,
            )
            status, _ = await post_signed(
                session, url, form_body(form), content_type="application/x-www-form-urlencoded"
            )
            assert status == 200
        await app.drain()
        await eventually(lambda: bool(fake.responses[response_url.rsplit("/", 1)[1]]))
        async with app.database.reading() as conn:
            assert (await conn.execute(select(func.count()).select_from(shares))).scalar_one() == 1
        assert len(fake.calls_to("reactions.add")) == 1
    finally:
        await app.stop()


async def test_http_mode_needs_the_web_server(fake: FakeSlack, tmp_path: Path) -> None:
    config = story_config(fake, tmp_path, mode="http")
    config = parse_config(
        {
            "storage": {"url": config.storage.url},
            "web": {"enabled": False},
            "fetch": {"previews": False},  # no outbound lookups from tests
            "console": {"enabled": False},
            "slack": {"mode": "http", "api_base_url": fake.api_url},
            "communities": [{"name": "demo", "slack": {"channels": ["general"]}}],
        }
    )
    app = Application(
        config, secrets=secrets(), clock=ManualClock(START), resolver=StaticResolver({})
    )
    try:
        with pytest.raises(ConfigError, match=r"set \[web\] enabled = true"):
            await app.start()
    finally:
        await app.stop()


async def test_a_display_name_never_makes_a_facilitator(fake: FakeSlack, tmp_path: Path) -> None:
    config = story_config(fake, tmp_path)
    config = parse_config(
        {
            "storage": {"url": config.storage.url},
            "web": {"enabled": False},
            "fetch": {"previews": False},  # no outbound lookups from tests
            "console": {"enabled": False},
            "slack": {"mode": "socket", "api_base_url": fake.api_url},
            "communities": [
                {"name": "demo", "slack": {"channels": ["general"], "facilitators": ["UFRAN"]}}
            ],
        }
    )
    fake.add_user("UMALLORY", "UFRAN")  # Mallory's display name is Fran's member id
    async with SlackStory(fake, config) as story:
        refused = await story.command("schedule Kick-off tomorrow", "UMALLORY")
        assert "Only facilitators can use" in answer_text(refused)
        done = await story.command("schedule Kick-off tomorrow", "UFRAN")
        assert answer_text(done) == "Scheduled Kick-off at tomorrow"


async def test_the_weekly_digest_is_posted_as_block_kit_once(
    fake: FakeSlack, tmp_path: Path
) -> None:
    config = story_config(fake, tmp_path)
    config = parse_config(
        {
            "storage": {"url": config.storage.url},
            "web": {"enabled": False},
            "fetch": {"previews": False},  # no outbound lookups from tests
            "console": {"enabled": False},
            "slack": {"mode": "socket", "api_base_url": fake.api_url},
            "communities": [
                {
                    "name": "demo",
                    "slack": {
                        "channels": ["general", "resources"],
                        "digest": "resources",
                        "facilitator_roles": ["S0FACILS"],
                    },
                    # Members who first run a command are welcomed too: not this story.
                    "members": {"welcome": False},
                }
            ],
        }
    )
    async with SlackStory(fake, config) as story:
        await allow(story.app.database, "slack:T0001/UALICE")
        shared = []
        for n, user in enumerate(("UALICE", "UFRAN", "UALICE")):
            text = f"worth it <https://site{n}.example.org/post&amp;x|post {n}> & <more>"
            shared.append(fake.add_message("C0GENERAL", user, text))
            await story.event(message_event("C0GENERAL", user, text, shared[-1]["ts"]), f"Ed{n}")
        year, week, _ = slack_translate.ts_to_datetime(shared[0]["ts"]).isocalendar()
        iso = f"{year}-W{week:02d}"
        refused = await story.command(f"digest post {iso}", "UALICE")
        assert "Only facilitators can use `/facilitator digest post`" in answer_text(refused)
        answer = await story.command(f"digest post {iso} confirm=yes", "UFRAN")  # weeks ago
        assert answer_text(answer).startswith(
            f"Posting the {iso} digest to 1 channel(s): #C0RESOURCE (slack)"
        )
        [digest] = fake.posted("C0RESOURCE")
        blocks = digest["blocks"]
        assert blocks[0] == {
            "type": "header",
            "text": {"type": "plain_text", "text": f"Weekly digest · demo · {iso}"},
        }
        body = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
        assert "<https://site0.example.org/post&amp;x>" in body
        assert "<more>" not in body  # member text is escaped, never markup
        assert "“alice: worth it post 0 &amp; &lt;more&gt;”" in body
        # Slack echoes the bot's own post back; it is acknowledged and not stored
        [echo] = fake.echoed
        await fake.wait_ack(echo)
        await story.app.drain()
        assert await story.count(messages) == 3
        again = await story.command(f"digest post {iso} confirm=yes", "UFRAN")  # weeks ago
        assert answer_text(again) == f"The {iso} digest was already posted to every digest channel."
        assert len(fake.posted("C0RESOURCE")) == 1


async def test_edits_add_shares_and_deletions_remove_them(fake: FakeSlack, tmp_path: Path) -> None:
    async with SlackStory(fake, story_config(fake, tmp_path)) as story:
        message = fake.add_message("C0GENERAL", "UALICE", "nothing yet")
        await story.event(
            message_event("C0GENERAL", "UALICE", message["text"], message["ts"]), "Ee1"
        )
        changed = fake.edit_message("C0GENERAL", message["ts"], "now <https://example.org/e>")
        await story.event(changed, "Ee2")
        await story.event(changed, "Ee2", retry=1)
        assert await story.count(shares) == 1
        deleted = {
            "type": "message",
            "subtype": "message_deleted",
            "channel": "C0GENERAL",
            "hidden": True,
            "deleted_ts": message["ts"],
            "event_ts": fake.next_ts(),
            "previous_message": dict(message),
        }
        await story.event(deleted, "Ee3")
        assert await story.count(shares) == 0


async def test_two_communities_in_one_workspace_never_mix(fake: FakeSlack, tmp_path: Path) -> None:
    config = parse_config(
        {
            "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'two.db'}"},
            "web": {"enabled": False},
            "fetch": {"previews": False},  # no outbound lookups from tests
            "console": {"enabled": False},
            "slack": {"mode": "socket", "api_base_url": fake.api_url},
            "communities": [
                {"name": "alpha", "slack": {"channels": ["general"], "facilitators": ["UFRAN"]}},
                {"name": "beta", "slack": {"channels": ["resources"], "facilitators": ["UALICE"]}},
            ],
        }
    )
    async with SlackStory(fake, config) as story:
        for channel, event_id in (("C0GENERAL", "Ea"), ("C0RESOURCE", "Eb")):
            await story.event(
                message_event(channel, "UALICE", "https://same.org", fake.next_ts()), event_id
            )
        async with story.app.database.reading() as conn:
            rows = sorted(
                (await conn.execute(select(links.c.community, links.c.canonical_url))).all()
            )
        assert rows == [("alpha", "https://same.org/"), ("beta", "https://same.org/")]
        # Alice facilitates beta, not alpha: what she may do depends on where she asks
        in_alpha = await story.command("schedule Kick-off now", "UALICE", channel="C0GENERAL")
        in_beta = await story.command("schedule Kick-off now", "UALICE", channel="C0RESOURCE")
        assert "Only facilitators" in answer_text(in_alpha)
        assert answer_text(in_beta) == "Scheduled Kick-off at now"
