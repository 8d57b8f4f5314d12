"""`command_line` writes what a button carries; `check_field` and `wants_form` are the rules
forms follow. Each holds against the one parser every typed command goes through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.commands import (
    CommandSpec,
    CommandTable,
    Param,
    ParamKind,
    UsageError,
    check_field,
    command_line,
    parse_arguments,
    wants_form,
)

ANNOTATE = CommandSpec(
    name="annotate",
    help="Add a note",
    params=(
        Param(name="link", help="The link"),
        Param(name="text", help="The note", rest=True),
    ),
)
RSVP = CommandSpec(
    name="rsvp",
    help="Answer",
    params=(
        Param(name="id", help="The session", kind=ParamKind.INTEGER),
        Param(name="answer", help="Going?", kind=ParamKind.CHOICE, choices=("going", "no")),
        Param(name="note", help="Why", required=False, keyword_only=True),
        Param(name="loud", help="Tell all", kind=ParamKind.BOOLEAN, required=False),
    ),
)
TABLE = CommandTable({"annotate": ANNOTATE, "rsvp": RSVP})

words = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    lambda text: text.strip() == text and text
)


# The pairs a written value may be put in, as the parser reads them.
QUOTE_PAIRS = (('"', '"'), ("'", "'"), ("“", "”"), ("‘", "’"), ("«", "»"))


def typed_back(line: str) -> dict[str, object]:
    path, rest = TABLE.split_line(line)
    return dict(parse_arguments(TABLE.resolve(path).spec, rest))


@given(link=words, text=words)
def test_a_written_line_reads_back_as_the_same_arguments(link: str, text: str) -> None:
    arguments = {"link": link, "text": text}
    line = command_line(("annotate",), ANNOTATE, arguments)
    if line is None:  # only a value holding a mark of every kind of quote cannot be written
        assert any(
            all(opening in value or closing in value for opening, closing in QUOTE_PAIRS)
            for value in (link, text)
        )
        return
    assert typed_back(line) == arguments


@given(
    number=st.integers(min_value=0, max_value=10**6),
    answer=st.sampled_from(("going", "no")),
    note=st.none() | words,
    loud=st.none() | st.booleans(),
)
def test_kinds_and_keywords_read_back_too(
    number: int, answer: str, note: str | None, loud: bool | None
) -> None:
    arguments: dict[str, object] = {"id": number, "answer": answer}
    if note is not None:
        arguments["note"] = note
    if loud is not None:
        arguments["loud"] = loud
    line = command_line(("rsvp",), RSVP, arguments)  # type: ignore[arg-type]
    if line is None:
        return
    assert typed_back(line) == arguments


def test_leading_positional_arguments_are_written_bare() -> None:
    assert command_line(("rsvp",), RSVP, {"id": 3, "answer": "going"}) == "rsvp 3 going"
    line = command_line(("annotate",), ANNOTATE, {"link": "L1", "text": "spacing works"})
    assert line == 'annotate L1 text="spacing works"'


def test_a_form_field_is_refused_as_the_typed_command_refuses_it() -> None:
    for raw in ("soon", "3.5"):
        with pytest.raises(UsageError) as typed:
            parse_arguments(RSVP, f"{raw} going")
        with pytest.raises(UsageError) as field:
            check_field(RSVP, RSVP.params[0], raw)
        assert str(field.value) == str(typed.value)
    assert check_field(RSVP, RSVP.params[1], "GOING") == "going"
    with pytest.raises(UsageError, match="text cannot be empty"):
        check_field(ANNOTATE, ANNOTATE.params[1], " ")


def test_a_form_is_for_a_bare_command_with_two_required_arguments() -> None:
    assert wants_form(ANNOTATE, "") and wants_form(RSVP, "  ")
    assert not wants_form(ANNOTATE, "L1 a note")
    assert not wants_form(CommandSpec(name="seek", help="x", params=(ANNOTATE.params[1],)), "")
