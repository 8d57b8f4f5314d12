"""The neutral command layer: declarations, parsing and usage errors."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.commands import (
    CommandSpec,
    CommandTable,
    Param,
    ParamKind,
    Role,
    UsageError,
    parse_arguments,
    tokenize,
    usage,
)

SHARE = CommandSpec(
    name="share",
    help="Share a link",
    example="/share https://x.org note",
    params=(Param(name="url", help="u"), Param(name="note", help="n", required=False, rest=True)),
)
GOAL = CommandSpec(
    name="goal",
    help="Goals",
    subcommands=(
        CommandSpec(name="set", help="s", params=(Param(name="text", help="t", rest=True),)),
        CommandSpec(name="show", help="show"),
    ),
)


def test_positional_rest_and_keyword_arguments() -> None:
    assert parse_arguments(SHARE, "https://x.org?a=b read   this") == {
        "url": "https://x.org?a=b",
        "note": "read   this",
    }
    assert parse_arguments(SHARE, 'note="a b" url=https://x.org') == {
        "url": "https://x.org",
        "note": "a b",
    }


def test_straight_and_curly_quotes_both_parse() -> None:
    assert parse_arguments(SHARE, "“https://x.org” ‘hello world’") == {
        "url": "https://x.org",
        "note": "hello world",
    }
    assert [t.value for t in tokenize("a 'b c' \"d e\" «f g»")] == ["a", "b c", "d e", "f g"]


def test_usage_errors_say_what_is_wrong() -> None:
    with pytest.raises(UsageError, match="missing url"):
        parse_arguments(SHARE, "")
    with pytest.raises(UsageError, match="never closed"):
        parse_arguments(SHARE, '"https://x.org')
    count = CommandSpec(
        name="count", help="c", params=(Param(name="n", help="n", kind=ParamKind.INTEGER),)
    )
    with pytest.raises(UsageError, match="whole number"):
        parse_arguments(count, "seven")
    with pytest.raises(UsageError, match="unexpected"):
        parse_arguments(count, "1 2")


def test_typed_options_are_validated_too() -> None:
    flag = CommandSpec(
        name="flag",
        help="f",
        params=(Param(name="on", help="o", kind=ParamKind.BOOLEAN, keyword_only=True),),
    )
    assert parse_arguments(flag, options={"on": "off"}) == {"on": False}
    with pytest.raises(UsageError, match="unknown option"):
        parse_arguments(flag, options={"other": "x"})
    with pytest.raises(UsageError, match="unknown setting"):
        parse_arguments(flag, "colour=red")


def test_groups_resolve_and_need_a_subcommand() -> None:
    table = CommandTable()
    table.add(GOAL)
    assert table.split_line("/goal set learn Rust") == (("goal", "set"), "learn Rust")
    assert table.resolve(("goal", "show")).spec.name == "show"
    with pytest.raises(UsageError, match="needs one of: set, show"):
        table.resolve(("goal",))
    with pytest.raises(UsageError, match="no 'drop'"):
        table.resolve(("goal", "drop"))
    assert usage(("goal",), GOAL) == "/goal set|show"


def test_platform_names_are_refused() -> None:
    table = CommandTable()
    with pytest.raises(ValueError, match="built-in"):
        table.add(CommandSpec(name="me", help="x"))
    with pytest.raises(ValueError):
        CommandSpec(name="Bad Name", help="x")


@given(st.text(max_size=200))
def test_parsing_never_fails_with_anything_but_a_usage_error(text: str) -> None:
    with contextlib.suppress(UsageError):
        parse_arguments(SHARE, text)


def test_an_unknown_key_is_named_with_the_valid_ones() -> None:
    edit = CommandSpec(
        name="edit",
        help="e",
        params=(
            Param(name="id", help="i", kind=ParamKind.INTEGER),
            Param(name="title", help="t", required=False, keyword_only=True),
            Param(name="place", help="p", required=False, keyword_only=True),
        ),
    )
    with pytest.raises(UsageError, match=r"unknown key 'colour'; the keys are: id, title, place"):
        parse_arguments(edit, "1 colour=red")
    # inside free text a `word=` is just text
    assert parse_arguments(SHARE, "https://x.org a=b is neat")["note"] == "a=b is neat"


def test_errors_quote_at_most_80_characters_and_long_text_is_refused_once() -> None:
    count = CommandSpec(
        name="count", help="c", params=(Param(name="n", help="n", kind=ParamKind.INTEGER),)
    )
    with pytest.raises(UsageError) as caught:
        parse_arguments(count, "x" * 100_000)
    assert len(str(caught.value)) < 140
    assert "x" * 79 + "…" in str(caught.value)
    with pytest.raises(UsageError, match="at most 2000 characters long; this one has 100001"):
        parse_arguments(SHARE, "https://x.org " + "y" * 100_001)
    short = CommandSpec(name="ask", help="a", params=(Param(name="q", help="q", max_length=10),))
    with pytest.raises(UsageError, match="q can be at most 10 characters"):
        parse_arguments(short, "elevenchars")
    table = CommandTable()
    with pytest.raises(UsageError) as unknown:
        table.resolve(("z" * 5000,))
    assert len(str(unknown.value)) < 140


def _group(name: str, *subs: CommandSpec, **extra: object) -> CommandSpec:
    return CommandSpec(name=name, help=name, subcommands=subs, **extra)  # type: ignore[arg-type]


def test_a_group_mixing_member_and_facilitator_subcommands_is_refused() -> None:
    with pytest.raises(ValueError, match="mixes member and facilitator subcommands \\(create\\)"):
        _group(
            "event",
            CommandSpec(name="list", help="l"),
            CommandSpec(name="create", help="c", role=Role.FACILITATOR),
        )
    facilitators = _group("host", CommandSpec(name="create", help="c"), role=Role.FACILITATOR)
    assert facilitators.audience is Role.FACILITATOR
    assert _group("event", CommandSpec(name="list", help="l")).audience is Role.MEMBER


def test_a_split_groups_old_paths_still_resolve_to_the_new_group() -> None:
    table = CommandTable()
    table.add(_group("event", CommandSpec(name="list", help="l")))
    table.add(
        _group(
            "host",
            CommandSpec(name="create", help="c", params=(Param(name="title", help="t"),)),
            CommandSpec(name="list", help="the host's own list"),
            role=Role.FACILITATOR,
            formerly=("event",),
        )
    )
    old = table.resolve(("event", "create"))
    assert old.path == ("host", "create") and old.role is Role.FACILITATOR
    assert table.resolve(("Event", "CREATE")).path == ("host", "create")
    assert table.resolve(("event", "list")).path == ("event", "list")  # its own sub wins
    assert table.split_line("/event create Talk") == (("event", "create"), "Talk")
    with pytest.raises(UsageError, match="/event has no 'nope'"):
        table.resolve(("event", "nope"))


def test_an_alias_that_only_renames_a_group_no_longer_declared_resolves_too() -> None:
    table = CommandTable()
    table.add(_group("host", CommandSpec(name="cancel", help="c"), formerly=("event",)))
    assert table.split_line("event cancel 3") == (("event", "cancel"), "3")
    assert table.resolve(("event", "cancel")).path == ("host", "cancel")
    with pytest.raises(ValueError, match="alias twice"):
        table.add(_group("other", CommandSpec(name="cancel", help="c"), formerly=("event",)))
