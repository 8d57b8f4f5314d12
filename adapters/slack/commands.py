"""Slack's side of the neutral command layer: reading `/facilitator <text>`, deciding when a
command is asked for through a modal, building that modal and reading its submission (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.slack.render import MAX_BLOCKS, plain_text
from bot.core.commands import (
    MOMENT,
    CommandSpec,
    CommandTable,
    MessageAction,
    Param,
    ParamKind,
    Role,
    UsageError,
    check_field,
    wants_form,
)
from bot.core.communities import CommunityDirectory
from bot.core.events import Author
from bot.core.refs import ChannelRef
from bot.core.urls import extract_links

MODAL_CALLBACK = "facilitator_command"
TIME_SUFFIX = "__time"  # the block of a moment's time picker, beside its date picker
PICK_ACTION = "pick"  # an external select's action id: its options come from `suggest`
MAX_OPTIONS = 100  # a static select's options
MAX_OPTION_VALUE = 150
MAX_OPTION_TEXT = 75
MAX_METADATA = 3000  # a view's private_metadata

Json = dict[str, Any]

# -- modals for commands with many arguments ------------------------------------------


def _input(param: Param, label: str, element: Json, *, suffix: str = "") -> Json:
    return {
        "type": "input",
        "block_id": param.name + suffix,
        "label": plain_text(label, 2000),
        "hint": plain_text(param.help, 2000),
        "optional": not param.required,
        "element": {**element, "action_id": "value"},
    }


def command_modal(
    path: Sequence[str],
    spec: CommandSpec,
    *,
    channel: str,
    response_url: str | None,
    given: Mapping[str, str] | None = None,
) -> Json:
    """A modal asking for a command's arguments; its submission runs the command. Arguments
    already `given` (by the button that opened it) are not asked for again."""
    given = dict(given or {})
    blocks: list[Json] = []
    asked = [param for param in spec.params if param.name not in given]
    for param in asked[: MAX_BLOCKS - 1]:
        element: Json
        label = param.name.replace("_", " ")
        if param.picks == MOMENT:
            # a date picker and a time picker; the submission writes "YYYY-MM-DD HH:MM"
            blocks.append(_input(param, label + " (date)", {"type": "datepicker"}))
            blocks.append(
                _input(param, label + " (time)", {"type": "timepicker"}, suffix=TIME_SUFFIX)
            )
            continue
        if param.suggests:
            # sessions, links, weeks: picked from what exists, asked for as the member types
            picker = {"type": "external_select", "min_query_length": 0}
            block = _input(param, label, picker)
            block["element"]["action_id"] = PICK_ACTION
            blocks.append(block)
            continue
        if param.kind in (ParamKind.CHOICE, ParamKind.BOOLEAN):
            choices = param.choices if param.kind is ParamKind.CHOICE else ("on", "off")
            element = {
                "type": "static_select",
                "action_id": "value",
                "options": [{"text": plain_text(c, 75), "value": c} for c in choices[:100]],
            }
        elif param.kind is ParamKind.INTEGER:
            element = {"type": "number_input", "action_id": "value", "is_decimal_allowed": False}
        elif param.kind is ParamKind.MEMBER:
            element = {"type": "users_select", "action_id": "value"}
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
    metadata = json.dumps(
        {"path": list(path), "channel": channel, "response_url": response_url, "given": given}
    )
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


def _moment(param: Param, date: Mapping[str, Any], time: Mapping[str, Any] | None) -> str | None:
    """A picked date and time as the command reads them ("2026-12-03 17:00"), or None."""
    day = date.get("selected_date") or date.get("value")
    hour = (time or {}).get("selected_time")
    if not day and not hour:
        return None
    if not day:
        raise ModalError(param.name, "Pick a date as well.")
    if not hour:
        raise ModalError(param.name + TIME_SUFFIX, "Pick a time as well.")
    return f"{day} {hour}"


def _check(spec: CommandSpec, param: Param, value: str) -> None:
    """Refuse a field's value as the command would (its kind, its length, empty text)."""
    try:
        check_field(spec, param, value)
    except UsageError as problem:
        text = str(problem)
        raise ModalError(param.name, text[:1].upper() + text[1:].rstrip(".") + ".") from None


def modal_submission(
    payload: Mapping[str, Any], commands: CommandTable
) -> tuple[tuple[str, ...], str, str, str | None]:
    """A submitted command modal as (path, argument text, channel, response_url).

    Raises `ModalError` for a value the command would refuse, naming its field, so the form
    stays open with the problem under it.
    """
    view = payload.get("view") or {}
    metadata = json.loads(str(view.get("private_metadata") or "{}"))
    path = tuple(str(part) for part in metadata.get("path") or ())
    spec = commands.resolve(path).spec
    choices = metadata.get("choices") or {}
    state = (view.get("state") or {}).get("values") or {}
    given = {str(k): str(v) for k, v in (metadata.get("given") or {}).items()}
    words: list[str] = []
    for param in spec.params:
        if param.name in given:
            words.append(f"{param.name}={_quoted(param.name, given[param.name])}")
            continue
        fields = state.get(param.name) or {}
        entry = fields.get("value") or fields.get(PICK_ACTION) or {}
        value = entry.get("value")
        if param.picks == MOMENT:
            value = _moment(param, entry, (state.get(param.name + TIME_SUFFIX) or {}).get("value"))
        if value is None and entry.get("selected_user"):
            value = f"<@{entry['selected_user']}>"  # read like a typed mention
        if value is None and entry.get("selected_option"):
            value = entry["selected_option"].get("value")
            listed = choices.get(param.name)
            if listed is not None:  # the option's value is the index of what it stands for
                index = int(value) if str(value).isdigit() else -1
                if not 0 <= index < len(listed):
                    raise ModalError(param.name, "Pick one of the options.")
                value = listed[index]
        if value is None or value == "":
            if param.required:
                raise ModalError(param.name, "Fill this in.")
            continue
        _check(spec, param, str(value))
        words.append(f"{param.name}={_quoted(param.name, str(value))}")
    return path, " ".join(words), str(metadata.get("channel") or ""), metadata.get("response_url")


# -- message shortcuts ----------------------------------------------------------------


# Callback ids of manifests written before shortcuts were derived from the declarations:
# an installed app keeps working until its manifest is updated.
LEGACY_CALLBACKS = {"facilitator_add_to_digest": "share"}


@dataclass(frozen=True, slots=True)
class Shortcut:
    """A message shortcut: a command's message-menu entry (`CommandSpec.on_message`) as the
    manifest declares it and its modal asks it."""

    callback_id: str
    action: MessageAction

    @property
    def name(self) -> str:
        """As the manifest shows it in the message's menu."""
        return self.action.label

    @property
    def path(self) -> tuple[str, ...]:
        """The command its modal runs."""
        return (self.action.spec.name,)


def callback_id(spec: CommandSpec) -> str:
    """The shortcut's callback id for a command offered in a message's menu."""
    return "facilitator_" + spec.name.replace("-", "_")


def shortcuts(commands: CommandTable) -> dict[str, Shortcut]:
    """The message shortcuts the manifest declares, by callback id: one per command offered
    in a message's menu."""
    found = (Shortcut(callback_id(a.spec), a) for a in commands.message_actions())
    return {shortcut.callback_id: shortcut for shortcut in found}


def registered_shortcuts(commands: CommandTable) -> dict[str, Shortcut]:
    """The shortcuts the app answers: those declared, and the older ids of the same ones."""
    declared = shortcuts(commands)
    by_command = {shortcut.path[0]: shortcut for shortcut in declared.values()}
    older = {
        old: Shortcut(old, by_command[name].action)
        for old, name in LEGACY_CALLBACKS.items()
        if name in by_command
    }
    return {**declared, **older}


def no_link(shortcut: Shortcut, commands: CommandTable) -> str:
    """What a shortcut that needs a link says on a message without one."""
    text = f"This message has no link for *{shortcut.name}*."
    other = next((a for a in commands.message_actions() if not a.needs_link), None)
    if other is not None:
        text += f" To keep what you made of it, use *{other.label}* from the message's menu."
    return text


def suggestion_target(payload: Mapping[str, Any], commands: CommandTable) -> tuple[str, str] | None:
    """Which kind of thing an external select in one of our forms lists, and the channel the
    form was opened in; None for anything else."""
    view = payload.get("view") or {}
    try:
        metadata = json.loads(str(view.get("private_metadata") or "{}"))
        path = tuple(str(part) for part in metadata.get("path") or ())
        spec = commands.resolve(path).spec
    except (ValueError, UsageError, AttributeError):
        return None
    block = str(payload.get("block_id") or "")
    param = next((p for p in spec.params if p.name == block), None)
    if param is None or not param.suggests:
        return None
    return param.suggests, str(metadata.get("channel") or "")


def suggestion_options(found: Sequence[tuple[str, str]]) -> list[Json]:
    """Suggestions as a select's options, within Slack's limits (100 options, values of at
    most 150 characters, labels of 75)."""
    options = [
        {"text": plain_text(label, MAX_OPTION_TEXT), "value": value}
        for label, value in found
        if 0 < len(value) <= MAX_OPTION_VALUE
    ]
    return options[:MAX_OPTIONS]


def message_links(text: str) -> list[str]:
    """The links of a message (as Slack wrote it), each once, in order."""
    return list(dict.fromkeys(found.url for found in extract_links(text)))


def shortcut_modal(
    shortcut: Shortcut,
    commands: CommandTable,
    text: str,
    *,
    channel: str,
    response_url: str | None,
) -> Json:
    """The modal a message shortcut opens: a pick of the message's links and a field for
    the member's own words (never pre-filled with the message's); its submission runs the
    command like a typed one. A shortcut that needs a link, on a message without one, opens a
    view that says so."""
    spec = commands.resolve(shortcut.path).spec
    action = shortcut.action
    params = {param.name: param for param in spec.params}
    links: list[str] = []
    budget = MAX_METADATA - 600  # what the path, channel and response_url leave
    for link in message_links(text)[:MAX_OPTIONS]:
        if len(link) <= params[action.link].longest and len(json.dumps(link)) + 2 <= budget:
            links.append(link)
            budget -= len(json.dumps(link)) + 2
    title = plain_text(shortcut.name, 24)
    if action.needs_link and not links:
        return {
            "type": "modal",
            "title": title,
            "close": plain_text("Close", 24),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": no_link(shortcut, commands)}}
            ],
        }
    blocks: list[Json] = [{"type": "section", "text": {"type": "mrkdwn", "text": action.intro}}]
    choices: dict[str, list[str]] = {}
    if links:
        options = [
            {"text": plain_text(link, MAX_OPTION_TEXT), "value": str(index)}
            for index, link in enumerate(links)
        ]
        choices[action.link] = links
        link_param = params[action.link]
        blocks.append(
            {
                "type": "input",
                "block_id": action.link,
                "label": plain_text("Link", 2000),
                "optional": not link_param.required,
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": options,
                    "initial_option": options[0],
                },
            }
        )
    words = params[action.words]
    blocks.append(
        {
            "type": "input",
            "block_id": action.words,
            "label": plain_text(words.help, 2000),
            "optional": not words.required,
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": True,
                "max_length": min(words.longest, 3000),
            },
        }
    )
    metadata = {
        "path": list(shortcut.path),
        "channel": channel,
        "response_url": response_url,
        "choices": choices,
    }
    encoded = json.dumps(metadata)
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "title": title,
        "submit": plain_text("Save", 24),
        "close": plain_text("Cancel", 24),
        "private_metadata": encoded,
        "blocks": blocks,
    }


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
    if not wants_form(resolved.spec, text):
        return False
    if resolved.role is Role.FACILITATOR:
        # a member would fill the form only to be refused: let the refusal come at once
        community = directory.community_for(channel) or directory.default_community("slack")
        return community is not None and directory.is_facilitator(community, author)
    return True
