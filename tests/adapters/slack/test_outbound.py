"""Actions performed on Slack: posts, threads, reactions, DMs with files, answers, pacing, 429s."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.slack.translate import reply_ref
from bot.core import (
    Answer,
    Attachment,
    Button,
    ChannelRef,
    Content,
    Edit,
    InteractionRef,
    MemberRef,
    MessageRef,
    PlatformError,
    Post,
    React,
    SendDirect,
    Unreact,
)
from tests.fakes.slack_server import FakeSlack
from tests.helpers import Factory

pytestmark = pytest.mark.timeout(30)

GENERAL = ChannelRef("slack", "T0001", "C0GENERAL")


async def test_a_post_is_block_kit_and_a_long_one_is_split(
    fake: FakeSlack, start_platform: Factory
) -> None:
    platform, _, _ = await start_platform()
    short = await platform.perform(
        Post(
            channel=GENERAL,
            content=Content(
                text="Hello <world> & **all** at <t:1790000000>",
                buttons=(Button(label="Join", action="rsvp 1 yes", style="primary"),),
            ),
        )
    )
    assert short is not None and short.channel == GENERAL
    [posted] = fake.posted("C0GENERAL")
    section, actions = posted["blocks"]
    assert section["text"]["text"].startswith(
        "Hello &lt;world&gt; &amp; *all* at <!date^1790000000^"
    )
    assert actions["elements"][0] == {
        "type": "button",
        "action_id": "facilitator:0",
        "text": {"type": "plain_text", "text": "Join"},
        "value": "rsvp 1 yes",
        "style": "primary",
    }
    sections = tuple((f"Link {i}", "word " * 700) for i in range(60))
    first = await platform.perform(
        Post(channel=GENERAL, content=Content(text="", title="Week 48", sections=sections))
    )
    digest = fake.posted("C0GENERAL")[1:]
    assert len(digest) == 3  # 1 header + 120 sections = 121 blocks
    assert first is not None and first.message == fake.channels["C0GENERAL"].messages[1]["ts"]


async def test_replies_go_into_the_thread(fake: FakeSlack, start_platform: Factory) -> None:
    platform, _, _ = await start_platform()
    root = MessageRef(GENERAL, "1790000001.000001")
    reply = MessageRef(GENERAL, "1790000002.000001", thread="1790000001.000001")
    for target in (root, reply):
        sent = await platform.perform(
            Post(channel=GENERAL, content=Content(text="noted"), thread=target)
        )
        assert sent is not None and sent.thread == "1790000001.000001"
    assert [p["thread_ts"] for p in fake.posted()] == ["1790000001.000001"] * 2


async def test_posts_are_paced_per_channel(fake: FakeSlack, start_platform: Factory) -> None:
    platform, _, _ = await start_platform(post_interval=0.15)
    started = time.monotonic()
    for n in range(3):
        await platform.perform(Post(channel=GENERAL, content=Content(text=f"post {n}")))
    assert time.monotonic() - started >= 0.3
    assert [p["text"] for p in fake.posted()] == ["post 0", "post 1", "post 2"]


async def test_a_429_is_retried_after_retry_after(fake: FakeSlack, start_platform: Factory) -> None:
    platform, _, _ = await start_platform()
    fake.rate_limit("chat.postMessage", times=1, retry_after=1)
    started = time.monotonic()
    sent = await platform.perform(Post(channel=GENERAL, content=Content(text="patience")))
    assert time.monotonic() - started >= 1.0
    assert sent is not None
    assert len(fake.calls_to("chat.postMessage")) == 2 and len(fake.posted()) == 1


async def test_reactions_are_added_once_and_removed(
    fake: FakeSlack, start_platform: Factory
) -> None:
    platform, _, _ = await start_platform()
    message = fake.add_message("C0GENERAL", "UALICE", "https://x.org")
    ref = MessageRef(GENERAL, message["ts"])
    await platform.perform(React(message=ref, emoji=":bookmark:"))
    await platform.perform(React(message=ref, emoji="bookmark"))  # already_reacted is fine
    assert message["reactions"] == [{"name": "bookmark", "users": ["UBOT"], "count": 1}]
    await platform.perform(Unreact(message=ref, emoji="bookmark"))
    await platform.perform(Unreact(message=ref, emoji="bookmark"))
    assert message["reactions"][0]["count"] == 0


async def test_a_direct_message_can_carry_a_file(fake: FakeSlack, start_platform: Factory) -> None:
    platform, _, _ = await start_platform()
    export = Attachment(filename="export.json", data=b'{"links": []}', mime_type="application/json")
    sent = await platform.perform(
        SendDirect(
            member=MemberRef("slack", "T0001", "UALICE"),
            content=Content(text="Your data", attachment=export),
        )
    )
    assert sent is not None and sent.channel.channel == "DUALICE"
    assert fake.posted("DUALICE")[0]["text"] == "Your data"
    [complete] = fake.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == "DUALICE" and complete.args["_ok"]
    assert list(fake.uploads.values()) == [b'{"links": []}']


async def test_a_members_dm_is_opened_once_for_many_messages(
    fake: FakeSlack, start_platform: Factory
) -> None:
    platform, _, _ = await start_platform()
    alice = MemberRef("slack", "T0001", "UALICE")
    for text in ("first", "second", "third"):
        await platform.perform(SendDirect(member=alice, content=Content(text=text)))
    assert [m["text"] for m in fake.posted("DUALICE")] == ["first", "second", "third"]
    assert len(fake.calls_to("conversations.open")) == 1


async def test_a_members_dm_is_opened_once_when_two_lanes_send_at_once(
    fake: FakeSlack, start_platform: Factory
) -> None:
    # A DM and an answer's file (two outbox lanes) can reach the same member together.
    platform, _, _ = await start_platform()
    alice = MemberRef("slack", "T0001", "UALICE")
    await asyncio.gather(
        *(platform.perform(SendDirect(member=alice, content=Content(text=t))) for t in "ab")
    )
    assert sorted(m["text"] for m in fake.posted("DUALICE")) == ["a", "b"]
    assert len(fake.calls_to("conversations.open")) == 1


async def test_a_refused_dm_falls_back_to_a_private_answer(
    fake: FakeSlack, start_platform: Factory
) -> None:
    platform, _, _ = await start_platform()
    ghost = MemberRef("slack", "T0001", "UGONE")
    with pytest.raises(PlatformError, match="user_not_found"):
        await platform.perform(SendDirect(member=ghost, content=Content(text="hi")))
    fallback = reply_ref("T0001", "UGONE", "C0GENERAL", None)
    assert (
        await platform.perform(
            SendDirect(member=ghost, content=Content(text="hi"), fallback=fallback)
        )
        is None
    )
    [ephemeral] = fake.calls_to("chat.postEphemeral")
    assert ephemeral.args["user"] == "UGONE" and ephemeral.args["channel"] == "C0GENERAL"


async def test_an_expired_response_url_falls_back_to_post_ephemeral(
    fake: FakeSlack, start_platform: Factory
) -> None:
    platform, _, _ = await start_platform()
    expired = f"{fake.base_url}/response/R-expired"
    await platform.perform(
        Answer(to=reply_ref("T0001", "UALICE", "C0GENERAL", expired), content=Content(text="ok"))
    )
    [ephemeral] = fake.calls_to("chat.postEphemeral")
    assert ephemeral.args["user"] == "UALICE"
    await platform.perform(
        Answer(
            to=reply_ref("T0001", "UALICE", "C0GENERAL", None),
            content=Content(text="all"),
            ephemeral=False,
        )
    )
    assert fake.posted("C0GENERAL")[0]["text"] == "all"
    with pytest.raises(PlatformError):
        await platform.perform(
            Answer(to=InteractionRef("slack", "garbage"), content=Content(text="x"))
        )


async def test_edit_replaces_the_text(fake: FakeSlack, start_platform: Factory) -> None:
    platform, _, _ = await start_platform()
    sent = await platform.perform(Post(channel=GENERAL, content=Content(text="draft")))
    assert sent is not None
    await platform.perform(Edit(message=sent, content=Content(text="final")))
    assert fake.channels["C0GENERAL"].messages[0]["text"] == "final"
    with pytest.raises(PlatformError, match="message_not_found"):
        await platform.perform(
            Edit(message=MessageRef(GENERAL, "1.000000"), content=Content(text="x"))
        )


async def test_posting_where_the_bot_is_not_is_a_platform_error(
    fake: FakeSlack, start_platform: Factory
) -> None:
    platform, _, _ = await start_platform()
    fake.add_channel("C0PRIVATE", "private", bot_member=False)
    with pytest.raises(PlatformError, match="not_in_channel"):
        await platform.perform(
            Post(channel=ChannelRef("slack", "T0001", "C0PRIVATE"), content=Content(text="x"))
        )


async def test_a_public_answer_and_an_answer_with_a_file(
    fake: FakeSlack, start_platform: Factory
) -> None:
    platform, _, _ = await start_platform()
    url = fake.new_response_url()
    to = reply_ref("T0001", "UALICE", "C0GENERAL", url)
    await platform.perform(Answer(to=to, content=Content(text="for everyone"), ephemeral=False))
    chart = Attachment(filename="chart.png", data=b"\x89PNG...", mime_type="image/png")
    await platform.perform(Answer(to=to, content=Content(text="your chart", attachment=chart)))
    public, private = fake.responses[url.rsplit("/", 1)[1]]
    assert (public["response_type"], private["response_type"]) == ("in_channel", "ephemeral")
    assert list(fake.uploads.values()) == [b"\x89PNG..."]
    [complete] = fake.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == "DUALICE"  # files go privately, by direct message


async def test_a_missing_scope_is_a_platform_error_naming_it(
    fake: FakeSlack, start_platform: Factory
) -> None:
    fake.scopes = tuple(scope for scope in fake.scopes if scope != "reactions:write")
    platform, _, _ = await start_platform()
    message = fake.add_message("C0GENERAL", "UALICE", "https://x.org")
    with pytest.raises(PlatformError, match="missing_scope"):
        await platform.perform(React(message=MessageRef(GENERAL, message["ts"]), emoji="bookmark"))
    assert "reactions" not in message


async def test_a_resent_post_is_found_by_its_metadata_and_not_posted_again(
    fake: FakeSlack, start_platform: Factory
) -> None:
    platform, _, _ = await start_platform()
    post = Post(channel=GENERAL, content=Content(text="the weekly digest"))
    first = await platform.perform_once(post, key="digest:W49", resend=False)
    again = await platform.perform_once(post, key="digest:W49", resend=True)
    assert again == first
    assert fake.creations_per_metadata_key == {"digest:W49": 1}
    # Slack shows metadata only to readers who ask for it (`include_all_metadata`).
    listed = fake._m_conversations_history({"channel": "C0GENERAL"})
    assert all("metadata" not in message for message in listed["messages"])
    # A resend of a post that never arrived posts it.
    other = Post(channel=GENERAL, content=Content(text="never arrived"))
    await platform.perform_once(other, key="prompt:1", resend=True)
    assert fake.creations_per_metadata_key["prompt:1"] == 1


async def test_a_rate_limited_or_failing_slack_is_retried_not_refused(
    fake: FakeSlack, start_platform: Factory
) -> None:
    from bot.core import PlatformUnavailable

    platform, _, _ = await start_platform()
    fake.rate_limit("chat.postMessage", times=10, retry_after=0)
    with pytest.raises(PlatformUnavailable):
        await platform.perform(Post(channel=GENERAL, content=Content(text="later")))
