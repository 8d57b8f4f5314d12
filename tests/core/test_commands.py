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
