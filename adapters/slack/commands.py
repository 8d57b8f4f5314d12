"""Slack's side of the neutral command layer: reading `/facilitator <text>`, deciding when a
command is asked for through a modal, building that modal and reading its submission (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.slack.render import MAX_BLOCKS, plain_text
from bot.core.commands import CommandSpec, CommandTable, ParamKind, Role, UsageError
from bot.core.communities import CommunityDirectory
from bot.core.events import Author
from bot.core.refs import ChannelRef

MODAL_CALLBACK = "facilitator_command"

Json = dict[str, Any]

# -- modals for commands with many arguments ------------------------------------------


def wants_modal(spec: CommandSpec, text: str) -> bool:
    """True when a command with two or more required arguments was given none."""
    return not text.strip() and sum(param.required for param in spec.params) >= 2


def command_modal(
    path: Sequence[str], spec: CommandSpec, *, channel: str, response_url: str | None
) -> Json:
    """A modal asking for a command's arguments; its submission runs the command."""
    blocks: list[Json] = []
    for param in spec.params[: MAX_BLOCKS - 1]:
        element: Json
        if param.kind in (ParamKind.CHOICE, ParamKind.BOOLEAN):
            choices = param.choices if param.kind is ParamKind.CHOICE else ("on", "off")
            element = {
                "type": "static_select",
                "action_id": "value",
                "options": [{"text": plain_text(c, 75), "value": c} for c in choices[:100]],
            }
        elif param.kind is ParamKind.INTEGER:
            element = {"type": "number_input", "action_id": "value", "is_decimal_allowed": False}
        else:
            element = {"type": "plain_text_input", "action_id": "value", "multiline": param.rest}
        blocks.append(
            {
                "type": "input",
                "block_id": param.name,
                "label": plain_text(param.name.replace("_", " "), 2000),
                "hint": plain_text(param.help, 2000),
                "optional": not param.required,
                "element": element,
            }
        )
    metadata = json.dumps({"path": list(path), "channel": channel, "response_url": response_url})
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "title": plain_text("/" + " ".join(path), 24),
        "submit": plain_text("Run", 24),
        "close": plain_text("Cancel", 24),
        "private_metadata": metadata,
        "blocks": blocks,
    }


_QUOTE_PAIRS = (('"', '"'), ("'", "'"), ("“", "”"), ("‘", "’"), ("«", "»"))


class ModalError(ValueError):
    """A form field that cannot become a command argument; `field` names its block."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field


def _quoted(field: str, value: str) -> str:
    for opening, closing in _QUOTE_PAIRS:
        if opening not in value and closing not in value:
            return f"{opening}{value}{closing}"
    raise ModalError(field, "This uses every kind of quote mark; remove some of them.")


def modal_submission(
    payload: Mapping[str, Any], commands: CommandTable
) -> tuple[tuple[str, ...], str, str, str | None]:
    """A submitted command modal as (path, argument text, channel, response_url).

    Raises `ModalError` for a value that cannot be written as an argument.
    """
    view = payload.get("view") or {}
    metadata = json.loads(str(view.get("private_metadata") or "{}"))
    path = tuple(str(part) for part in metadata.get("path") or ())
    spec = commands.resolve(path).spec
    state = (view.get("state") or {}).get("values") or {}
    words: list[str] = []
    for param in spec.params:
        entry = (state.get(param.name) or {}).get("value") or {}
        value = entry.get("value")
        if value is None and entry.get("selected_option"):
            value = entry["selected_option"].get("value")
        if value is None or value == "":
            continue
        words.append(f"{param.name}={_quoted(param.name, str(value))}")
    return path, " ".join(words), str(metadata.get("channel") or ""), metadata.get("response_url")


def asks_through_modal(
    commands: CommandTable,
    directory: CommunityDirectory,
    path: tuple[str, ...],
    text: str,
    author: Author,
    channel: ChannelRef,
) -> bool:
    """Should `/facilitator <path>` typed in `channel` open a modal for its arguments?"""
    try:
        resolved = commands.resolve(path)
    except UsageError:
        return False
    if not wants_modal(resolved.spec, text):
        return False
    if resolved.role is Role.FACILITATOR:
        # a member would fill the form only to be refused: let the refusal come at once
        community = directory.community_for(channel) or directory.default_community("slack")
        return community is not None and directory.is_facilitator(community, author)
    return True
