"""The pure Discord translation layer, on payloads shaped as Discord sends them."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord import commands as c
from adapters.discord import render as r
from adapters.discord import translate as t
from bot.core.actions import Button, Content, Menu, MenuOption
from bot.core.commands import CommandSpec, CommandTable, Param, ParamKind, Role
from bot.core.events import (
    ButtonPressed,
    CommandInvoked,
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    ReactionAdded,
    ReactionRemoved,
)
from bot.core.refs import ChannelRef, MessageRef

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
GUILD, CHANNEL, THREAD = "1100000000000000001", "1100000000000000002", "1100000000000000300"
BOT, ALICE, ROLE = "1100000000000000010", "1100000000000000011", "1100000000000000020"

LOOKUP = t.Lookup(
    self_id=BOT,
    role_name=lambda guild, role: "Facilitators" if (guild, role) == (GUILD, ROLE) else None,
    thread_parent=lambda channel: CHANNEL if channel == THREAD else None,
)


def user(user_id: str = ALICE, name: str = "alice", bot: bool = False) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "global_name": name.title(),
        "discriminator": "0",
        "avatar": None,
        **({"bot": True} if bot else {}),
    }


def message(**overrides: Any) -> dict[str, Any]:
    """A MESSAGE_CREATE payload as the gateway sends it."""
    payload: dict[str, Any] = {
        "type": 0,
        "tts": False,
        "timestamp": "2026-11-23T08:59:58.123000+00:00",
        "pinned": False,
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "member": {"roles": [ROLE], "joined_at": "2026-01-01T00:00:00+00:00", "nick": None},
        "id": "1300000000000000001",
        "flags": 0,
        "embeds": [],
        "edited_timestamp": None,
        "content": "see https://Example.org/a?utm_source=x",
        "components": [],
        "channel_id": CHANNEL,
        "author": user(),
        "attachments": [],
        "guild_id": GUILD,
    }
    payload.update(overrides)
    return payload


def test_a_message_becomes_message_received_with_key_cursor_and_roles() -> None:
    event = t.message_received(message(), LOOKUP)
    assert isinstance(event, MessageReceived)
    assert event.key == "discord:msg:1300000000000000001"
    assert event.cursor == "01300000000000000001" and len(event.cursor) == 20
    assert event.ref == MessageRef(ChannelRef("discord", GUILD, CHANNEL), "1300000000000000001")
    assert event.author.ref.member == ALICE and event.author.name == "Alice"
    assert event.author.roles == {ROLE, "Facilitators"}
    assert event.sent_at == datetime(2026, 11, 23, 8, 59, 58, 123000, tzinfo=UTC)
    assert event.text == "see https://Example.org/a?utm_source=x" and not event.is_direct


def test_cursors_sort_like_snowflakes() -> None:
    assert t.cursor_of("999") < t.cursor_of("1000") < t.cursor_of(2**63)


def test_own_and_other_bots_messages_and_notices_are_dropped() -> None:
    assert t.message_received(message(author=user(BOT, "facilitator", bot=True)), LOOKUP) is None
    assert t.message_received(message(author=user("5", "feeds", bot=True)), LOOKUP) is None
    assert t.message_received(message(type=7), LOOKUP) is None  # "X joined the server"
    assert t.message_received(message(webhook_id="9"), LOOKUP) is None
    assert t.message_received(message(type=19), LOOKUP) is not None  # a reply


def test_thread_messages_belong_to_the_parent_channel_with_their_thread() -> None:
    event = t.message_received(message(channel_id=THREAD, id="1300000000000000400"), LOOKUP)
    assert event is not None
    assert event.ref == MessageRef(
        ChannelRef("discord", GUILD, CHANNEL), "1300000000000000400", THREAD
    )


def test_direct_messages_have_no_space_and_say_so() -> None:
    payload = message(channel_id="77")
    del payload["guild_id"], payload["member"]
    event = t.message_received(payload, LOOKUP)
    assert event is not None and event.is_direct
    assert event.ref.channel == ChannelRef("discord", "", "77") and event.author.roles == set()


def test_attachment_urls_count_as_text() -> None:
    payload = message(content="", attachments=[{"id": "1", "url": "https://cdn.example/x.pdf"}])
    event = t.message_received(payload, LOOKUP)
    assert event is not None and event.text == "\nhttps://cdn.example/x.pdf"


def test_edits_carry_the_edit_time_in_their_key_and_embed_updates_are_not_edits() -> None:
    edited = message(content="now https://b.example", edited_timestamp="2026-11-23T09:00:05+00:00")
    event = t.message_edited(edited, LOOKUP)
    assert isinstance(event, MessageEdited)
    assert event.key == "discord:edit:1300000000000000001:2026-11-23T09:00:05+00:00"
    assert event.edited_at == datetime(2026, 11, 23, 9, 0, 5, tzinfo=UTC)
    embed_only = {"id": "1", "channel_id": CHANNEL, "guild_id": GUILD, "embeds": []}
    assert t.message_edited(embed_only, LOOKUP) is None


def test_deletes() -> None:
    event = t.message_deleted({"id": "42", "channel_id": CHANNEL, "guild_id": GUILD}, LOOKUP, NOW)
    assert event == MessageDeleted(
        key="discord:del:42",
        ref=MessageRef(ChannelRef("discord", GUILD, CHANNEL), "42"),
        deleted_at=NOW,
    )


def test_reactions_use_neutral_emoji_names_and_skip_our_own() -> None:
    payload = {
        "user_id": ALICE,
        "channel_id": CHANNEL,
        "message_id": "42",
        "guild_id": GUILD,
        "emoji": {"id": None, "name": "🔖"},
        "member": {"user": user(), "roles": []},
        "type": 0,
    }
    added = t.reaction(payload, LOOKUP, NOW, added=True, delivery="s1.7")
    assert isinstance(added, ReactionAdded) and added.emoji == "bookmark"
    assert added.key == f"discord:react:42:{ALICE}:bookmark:add:s1.7"
    removed = t.reaction({**payload, "member": None}, LOOKUP, NOW, added=False, delivery="s1.8")
    assert isinstance(removed, ReactionRemoved)
    assert removed.key == f"discord:react:42:{ALICE}:bookmark:remove:s1.8"
    again = t.reaction(payload, LOOKUP, NOW, added=True, delivery="s1.9")
    assert again is not None and again.key != added.key  # a real second add is not a replay
    assert t.reaction({**payload, "user_id": BOT, "member": None}, LOOKUP, NOW, added=True) is None
    custom = t.emoji_from_discord({"id": "123", "name": "party"})
    assert custom == "party:123" and r.emoji_to_discord(custom) == "party:123"


def test_emoji_out() -> None:
    assert r.emoji_to_discord("bookmark") == "🔖"
    assert r.emoji_to_discord(":tada:") == "🎉"
    assert r.emoji_to_discord("🦀") == "🦀"
    with pytest.raises(ValueError, match="unknown emoji 'nonsense'"):
        r.emoji_to_discord("nonsense")


def interaction(data: dict[str, Any], kind: int = 2) -> dict[str, Any]:
    return {
        "id": "1400000000000000001",
        "application_id": BOT,
        "type": kind,
        "data": data,
        "guild_id": GUILD,
        "channel_id": THREAD,
        "member": {"user": user(), "roles": [ROLE], "permissions": "0"},
        "token": "aW50ZXJhY3Rpb246MTQ",
        "version": 1,
    }


def test_a_subcommand_with_typed_options_becomes_command_invoked() -> None:
    data = {
        "name": "settings",
        "type": 1,
        "options": [
            {"name": "quotes", "type": 5, "value": False},
            {"name": "days", "type": 4, "value": 3},
        ],
    }
    event = t.interaction(interaction(data), LOOKUP, NOW)
    assert isinstance(event, CommandInvoked)
    assert event.path == ("settings",) and event.options == {"quotes": "off", "days": "3"}
    assert event.key == "discord:interaction:1400000000000000001"
    assert event.channel == ChannelRef("discord", GUILD, CHANNEL)  # the thread's parent
    assert event.reply_to.token == "1400000000000000001:aW50ZXJhY3Rpb246MTQ"
    assert t.split_interaction_token(event.reply_to) == (
        "1400000000000000001",
        "aW50ZXJhY3Rpb246MTQ",
    )
    grouped = {
        "name": "goal",
        "options": [
            {
                "name": "set",
                "type": 1,
                "options": [{"name": "text", "type": 3, "value": "learn Rust"}],
            }
        ],
    }
    event = t.interaction(interaction(grouped), LOOKUP, NOW)
    assert isinstance(event, CommandInvoked)
    assert event.path == ("goal", "set") and event.options == {"text": "learn Rust"}


def test_a_button_press_becomes_button_pressed() -> None:
    payload = interaction({"custom_id": "forget-me confirm", "component_type": 2}, kind=3)
    payload["message"] = message(id="1300000000000000099", channel_id=THREAD)
    event = t.interaction(payload, LOOKUP, NOW)
    assert isinstance(event, ButtonPressed)
    assert event.action == "forget-me confirm"
    assert event.message == MessageRef(
        ChannelRef("discord", GUILD, CHANNEL), "1300000000000000099", THREAD
    )
    assert t.interaction(interaction({}, kind=4), LOOKUP, NOW) is None  # autocomplete


def table() -> CommandTable:
    commands = CommandTable()
    commands.add(
        CommandSpec(
            name="settings",
            help="Change how the bot treats you\nMore text that is not shown",
            params=(
                Param(name="quotes", help="Quote me?", kind=ParamKind.BOOLEAN, required=False),
                Param(name="days", help="How many", kind=ParamKind.INTEGER),
                Param(name="style", help="x" * 150, kind=ParamKind.CHOICE, choices=("a", "b")),
            ),
        )
    )
    commands.add(
        CommandSpec(
            name="goal",
            help="Your goals",
            role=Role.FACILITATOR,
            subcommands=(
                CommandSpec(name="set", help="Set one", params=(Param(name="text", help="t"),)),
                CommandSpec(name="show", help="Show them"),
            ),
        )
    )
    return commands


def test_commands_become_raw_application_commands() -> None:
    goal, settings_ = c.command_payloads(table())
    assert goal["name"] == "goal" and goal["type"] == 1
    assert [(o["type"], o["name"]) for o in goal["options"]] == [(1, "set"), (1, "show")]
    assert goal["options"][0]["options"] == [
        {"type": 3, "name": "text", "description": "t", "required": True, "max_length": 2000}
    ]
    assert settings_["description"] == "Change how the bot treats you"
    kinds = [(o["name"], o["type"], o["required"]) for o in settings_["options"]]
    assert kinds == [("days", 4, True), ("style", 3, True), ("quotes", 5, False)]
    style = settings_["options"][1]
    assert style["choices"] == [{"name": "a", "value": "a"}, {"name": "b", "value": "b"}]
    assert len(style["description"]) == 100


def test_discords_copy_of_our_commands_does_not_count_as_a_change() -> None:
    wanted = c.command_payloads(table())
    returned = []
    for command in wanted:
        copy = {**command, "id": "9", "application_id": BOT, "version": "3", "nsfw": False}
        copy["options"] = [
            {k: v for k, v in o.items() if not (k == "required" and v is False)}
            for o in command["options"]
        ]
        returned.append(copy)
    assert not c.commands_differ(wanted, returned)
    returned[0] = {**returned[0], "description": "changed"}
    assert c.commands_differ(wanted, returned)
    assert c.commands_differ(wanted, returned[1:])


def test_markup_renders_as_discord_markdown_and_moments_as_timestamps() -> None:
    rendered = r.render(
        "**Digest** for _week 3_: [The post](https://example.org/a_b) at <t:1700000000> "
        "on <t:1700000000:d>; run `/help`. 2*3 = 6 and snake_case stay literal"
    )
    assert rendered == (
        "**Digest** for *week 3*: [The post](https://example.org/a_b) at <t:1700000000:F> "
        "on <t:1700000000:D>; run `/help`. 2\\*3 = 6 and snake\\_case stay literal"
    )
    assert r.render("see https://example.org/a_b_c") == "see https://example.org/a_b_c"
    assert r.render("> not a quote") == "\\> not a quote"


words = st.text(alphabet="abcdefghij", min_size=1, max_size=30)
urls = words.map(lambda w: f"https://example.org/{w}?q={w}")
tokens = st.lists(st.one_of(words, urls, words.map(lambda w: f"[{w} {w}](https://x.org/{w})")))


@settings(max_examples=150, deadline=None)
@given(tokens, st.sampled_from([" ", "\n", "\n\n"]), st.integers(min_value=120, max_value=400))
def test_chunks_fit_and_never_split_words_or_links(
    parts: list[str], separator: str, limit: int
) -> None:
    text = separator.join(parts)
    pieces = r.chunk(text, limit)  # every generated word and link fits in `limit`
    assert all(len(piece) <= limit for piece in pieces)
    for piece in pieces:  # a masked link's "(url)" is never cut apart
        assert piece.count("(") == piece.count(")")
    assert re.split(r"\s+", " ".join(pieces).strip()) == re.split(r"\s+", text.strip())


def test_a_link_longer_than_the_limit_is_cut_between_words_first() -> None:
    text = "intro [a long label here](https://example.org/" + "x" * 80 + ")"
    assert r.chunk(text, 60)[0] == "intro"


def test_long_text_is_chunked_at_2000_characters() -> None:
    text = " ".join(f"word{i} https://example.org/{i}" for i in range(400))
    bodies = r.message_payloads(Content(text=text))
    assert len(bodies) > 1
    assert all(len(b["content"]) <= 2000 for b in bodies)
    assert all(b["allowed_mentions"] == {"parse": []} for b in bodies)


def check_limits(bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        embeds = body["embeds"]
        assert len(embeds) <= 10
        assert sum(r._embed_size(e) for e in embeds) <= 6000
        for embed in embeds:
            assert len(embed.get("title", "")) <= 256
            assert len(embed.get("description", "")) <= 4096
            assert len(embed.get("fields", [])) <= 25
            assert all(len(f["value"]) <= 1024 for f in embed.get("fields", []))


def test_a_long_digest_becomes_embeds_with_all_its_text_within_discords_limits() -> None:
    paragraphs = [
        f"**Section {i}**\n" + "[A post](https://example.org/p) · shared " * 30 for i in range(12)
    ]
    text = "Intro line.\n\n" + "\n\n".join(paragraphs) + "\n\nSee the archive."
    sections = tuple((f"Section {i}", p) for i, p in enumerate(paragraphs))
    bodies = r.message_payloads(Content(text=text, title="Weekly digest", sections=sections))
    check_limits(bodies)
    assert bodies[0]["embeds"][0]["title"] == "Weekly digest"
    shown = " ".join(e["description"] for b in bodies for e in b["embeds"])
    assert shown.split() == r.render(text).split()  # nothing lost, nothing repeated
    assert len(bodies) > 1


def test_sections_without_text_become_fields() -> None:
    short = [(f"Link {i}", "A short note. " * 20) for i in range(40)]
    sections = (*short, ("A long one", "Long text here. " * 700))
    bodies = r.message_payloads(Content(text="", title="Weekly digest", sections=sections))
    check_limits(bodies)
    assert bodies[0]["embeds"][0]["title"] == "Weekly digest"
    fields = [f["name"] for b in bodies for e in b["embeds"] for f in e.get("fields", [])]
    assert fields == [f"Link {i}" for i in range(40)]


def test_buttons_become_components_with_their_command_as_custom_id() -> None:
    buttons = tuple(Button(label=f"B{i}", action=f"rsvp yes {i}") for i in range(7))
    [body] = r.message_payloads(Content(text="Come?", buttons=buttons))
    rows = body["components"]
    assert [len(row["components"]) for row in rows] == [5, 2]
    assert rows[0]["components"][0] == {
        "type": 2,
        "style": 2,
        "label": "B0",
        "custom_id": "rsvp yes 0",
    }
    with pytest.raises(ValueError, match="100-character"):
        r.message_payloads(Content(text="x", buttons=(Button(label="l", action="a" * 101),)))


def test_a_command_in_the_bots_dms_comes_from_the_user_and_is_direct() -> None:
    payload = interaction({"name": "profile", "type": 1})
    del payload["guild_id"], payload["member"]
    payload["user"] = user()
    payload["channel_id"] = "55"
    event = t.interaction(payload, LOOKUP, NOW)
    assert isinstance(event, CommandInvoked)
    assert event.is_direct and event.channel == ChannelRef("discord", "", "55")
    assert event.author.ref.member == ALICE and event.author.roles == set()


def test_long_choice_lists_are_suggested_as_the_member_types() -> None:
    zones = (*(f"zone-{i:02d}" for i in range(40)), "europe-berlin")
    param = Param(name="zone", help="Your zone", kind=ParamKind.CHOICE, choices=zones)
    [payload] = c.command_payloads([CommandSpec(name="tz", help="Set", params=(param,))])
    option = payload["options"][0]
    assert option["autocomplete"] is True and "choices" not in option
    focus = t.autocomplete_focus(
        {"data": {"name": "tz", "options": [{"name": "zone", "value": "ber", "focused": True}]}}
    )
    assert focus == (("tz",), "zone", "ber")
    assert c.autocomplete_choices(param, "ber") == [
        {"name": "europe-berlin", "value": "europe-berlin"}
    ]
    assert len(c.autocomplete_choices(param, "zone")) == 25


def test_a_text_option_never_asks_for_more_than_discord_allows() -> None:
    option = c._option(Param(name="url", help="A link", max_length=8192))
    assert option["max_length"] == c.MAX_OPTION_LENGTH == 6000


def test_menus_take_a_row_each_above_the_buttons_that_fit_below() -> None:
    menus = tuple(
        Menu(
            placeholder=f"{n}. Criterion",
            options=(
                MenuOption(label="1. low", action=f"self-assess level A1 {n} 1"),
                MenuOption(label="2. high", action=f"self-assess level A1 {n} 2", chosen=True),
            ),
        )
        for n in (1, 2, 3)
    )
    buttons = tuple(Button(label=f"b{n}", action=f"x {n}") for n in range(12))
    [body] = r.message_payloads(Content(text="Pick", menus=menus, buttons=buttons))
    rows = body["components"]
    assert [row["components"][0]["type"] for row in rows] == [3, 3, 3, 2, 2]
    first = rows[0]["components"][0]
    assert first["custom_id"] == "menu:0" and first["placeholder"] == "1. Criterion"
    assert first["options"][1] == {
        "label": "2. high",
        "value": "self-assess level A1 1 2",
        "default": True,
    }
    assert sum(len(row["components"]) for row in rows[3:]) == 10  # two rows of five left


def test_a_pick_is_the_picked_options_command() -> None:
    picked = {"custom_id": "menu:0", "component_type": 3, "values": ["rsvp 3 going"]}
    payload = interaction(picked, kind=3)
    payload["message"] = message(id="1300000000000000099")
    event = t.interaction(payload, LOOKUP, NOW)
    assert isinstance(event, ButtonPressed) and event.action == "rsvp 3 going"


@settings(max_examples=50)
@given(
    key=st.text(min_size=1, max_size=12),
    short_key=st.text(
        alphabet=string.ascii_letters + string.digits + " -_", min_size=1, max_size=12
    ),
    path=st.sampled_from([("reflect",), ("self-assess", "finish")]),
)
def test_a_forms_custom_id_carries_the_path_and_the_arguments_outside_it(
    key: str, short_key: str, path: tuple[str, ...]
) -> None:
    # Any text either round-trips within Discord's 100 characters or is refused (None),
    # so the adapter falls back to a typed answer rather than a truncated id.
    custom_id = t.form_custom_id(path, {"assignment": key})
    if custom_id is not None:
        assert len(custom_id) <= 100
        assert t.form_target(custom_id) == (path, {"assignment": key})
    plain = t.form_custom_id(path, {"assignment": short_key})
    assert plain is not None and len(plain) <= 100
    assert t.form_target(plain) == (path, {"assignment": short_key})
    assert t.form_custom_id(path, {"assignment": "x" * 100}) is None


def test_a_code_span_naming_a_registered_command_becomes_its_mention() -> None:
    mentions = {"goal set": "111", "seek": "222"}
    text = "Set one with `/goal set <what you want to learn>`; ask with `/seek`; `/nope` stays."
    assert r.render(text, mentions) == (
        "Set one with </goal set:111> `<what you want to learn>`; ask with </seek:222>; "
        "`/nope` stays."
    )
    assert r.render(text) == (
        "Set one with `/goal set <what you want to learn>`; ask with `/seek`; `/nope` stays."
    )
    [body] = r.message_payloads(Content(text="Try `/seek <q>`"), mentions)
    assert body["content"] == "Try </seek:222> `<q>`"
