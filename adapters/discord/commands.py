"""Discord's side of the neutral command layer: the raw application-command JSON, the check
whether Discord's copy differs, its bulk-upsert sync, and autocomplete choices.

Everything but `sync_commands` is pure; `sync_commands` only sends the routes it builds
through the request function it is given."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import discord
from discord.http import Route

from adapters.discord.translate import autocomplete_focus, form_custom_id
from bot.core.commands import CommandSpec, CommandTable, Param, ParamKind, Role, UsageError
from bot.core.suggestions import Suggestion

log = logging.getLogger("facilitator.discord")

MAX_CHOICES = 25
FACILITATORS_ONLY = "0"  # default_member_permissions: nobody but admins until a role is allowed
GUILD, BOT_DM = 0, 1  # interaction context types
MAX_CHOICE_TEXT = 100  # a choice's name and string value

Payload = dict[str, Any]


# ----------------------------------------------------------------------------- commands

_OPTION_TYPES = {
    ParamKind.TEXT: 3,
    ParamKind.CHOICE: 3,
    ParamKind.INTEGER: 4,
    ParamKind.BOOLEAN: 5,
    ParamKind.MEMBER: 6,  # USER: Discord's member picker; the value is the member's id
}


def _description(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "—"
    return first if len(first) <= 100 else first[:99] + "…"


MAX_OPTION_LENGTH = 6000  # the most characters Discord lets a string option hold


def _option(param: Param) -> Payload:
    option: Payload = {
        "type": _OPTION_TYPES[param.kind],
        "name": param.name.lower(),
        "description": _description(param.help),
        "required": param.required,
    }
    if param.kind is ParamKind.TEXT:
        # Discord refuses longer text before we see it; its own ceiling for an option is 6000.
        option["max_length"] = min(param.longest, MAX_OPTION_LENGTH)
    if param.suggests and param.kind in (ParamKind.TEXT, ParamKind.INTEGER):
        option["autocomplete"] = True  # it names a thing: members pick, they do not type ids
    elif param.kind is ParamKind.CHOICE and len(param.choices) > MAX_CHOICES:
        option["autocomplete"] = True  # Discord lists at most 25 choices; suggest instead
    elif param.kind is ParamKind.CHOICE and param.choices:
        option["choices"] = [{"name": c, "value": c} for c in param.choices]
    return option


MAX_INPUT_LENGTH = 4000  # a modal text input's most characters
MAX_INPUT_LABEL = 45
MAX_MODAL_TITLE = 45
MAX_LINE_INPUT = 200  # longer free text gets a paragraph box


def _input_label(param: Param) -> str:
    text = param.help.strip().splitlines()[0] if param.help.strip() else param.name
    text = text.split(":", 1)[0].split("(", 1)[0].strip() or param.name
    return text if len(text) <= MAX_INPUT_LABEL else text[: MAX_INPUT_LABEL - 1] + "…"


def form_modal(
    spec: CommandSpec, values: Mapping[str, str], path: Sequence[str] | None = None
) -> Payload | None:
    """The callback that opens the form of the command at `path` (a modal, type 9) filled
    with `values`; values of arguments outside the form ride in its custom_id. None when they
    do not fit there (the command is then answered as typed, saying what is missing)."""
    params = {param.name: param for param in spec.params}
    carried = {name: value for name, value in values.items() if name not in spec.form}
    custom_id = form_custom_id(path or (spec.name,), carried)
    if custom_id is None:
        return None
    rows: list[Payload] = []
    for name in spec.form:
        param = params[name]
        field: Payload = {
            "type": 4,
            "custom_id": name,
            "label": _input_label(param),
            "style": 2 if param.rest or param.longest > MAX_LINE_INPUT else 1,
            "required": param.required,
            "max_length": min(param.longest, MAX_INPUT_LENGTH),
        }
        if values.get(name):
            field["value"] = values[name][: field["max_length"]]
        rows.append({"type": 1, "components": [field]})
    title = spec.on_message or " ".join(path or (spec.name,))
    return {
        "type": 9,
        "data": {
            "custom_id": custom_id,
            "title": title[:MAX_MODAL_TITLE],
            "components": rows,
        },
    }


def autocomplete_choices(param: Param, typed: str) -> list[Payload]:
    """Up to 25 of a parameter's choices: those starting with `typed` first, then containing."""
    wanted = typed.strip().lower()
    starting = [c for c in param.choices if c.lower().startswith(wanted)]
    containing = [c for c in param.choices if wanted in c.lower() and c not in starting]
    return [{"name": c, "value": c} for c in (starting + containing)[:MAX_CHOICES]]


def _params(spec: CommandSpec) -> list[Payload]:
    # A form's fields are optional here: run without them, the command opens its form.
    params = [replace(p, required=False) if p.name in spec.form else p for p in spec.params]
    # Discord refuses a required option after an optional one.
    ordered = sorted(params, key=lambda p: not p.required)
    return [_option(p) for p in ordered]


def command_payload(spec: CommandSpec) -> Payload:
    """One neutral command as a raw CHAT_INPUT application command."""
    if spec.is_group:
        options = [
            {
                "type": 1,
                "name": sub.name,
                "description": _description(sub.help),
                "options": _params(sub),
            }
            for sub in spec.subcommands
        ]
    else:
        options = _params(spec)
    hidden = spec.audience is Role.FACILITATOR
    return {
        "type": 1,
        "name": spec.name,
        "description": _description(spec.help),
        "options": options,
        # "0": no member sees a facilitator command until a server admin allows a role under
        # Server Settings -> Integrations; the bot's own role check still decides who runs it.
        "default_member_permissions": FACILITATORS_ONLY if hidden else None,
        # Facilitator commands only in guilds (a DM has no roles to allow); the rest in the
        # bot's DMs too.
        "contexts": [GUILD] if hidden else [GUILD, BOT_DM],
    }


def hidden_commands(table: CommandTable | Iterable[CommandSpec]) -> list[str]:
    """The names of the commands registered hidden from members (facilitators' commands)."""
    specs: Iterable[CommandSpec] = table
    return sorted(spec.name for spec in specs if spec.audience is Role.FACILITATOR)


MAX_MESSAGE_COMMANDS = 5  # Discord's limit of message (context-menu) commands per app


def message_command_payload(spec: CommandSpec) -> Payload:
    """A command's message-menu entry as a raw MESSAGE application command (type 3)."""
    hidden = spec.audience is Role.FACILITATOR
    return {
        "type": 3,
        "name": spec.on_message,
        "default_member_permissions": FACILITATORS_ONLY if hidden else None,
        "contexts": [GUILD],  # members' messages in the community's server
    }


def command_payloads(table: CommandTable | Iterable[CommandSpec]) -> list[Payload]:
    """Every neutral command as the body of a bulk upsert, sorted by name: slash commands,
    then message-menu entries."""
    specs = sorted(table, key=lambda s: s.name)
    menus = [message_command_payload(spec) for spec in specs if spec.on_message]
    if len(menus) > MAX_MESSAGE_COMMANDS:
        raise ValueError(
            f"{len(menus)} message-menu commands; Discord allows {MAX_MESSAGE_COMMANDS}"
        )
    return [*(command_payload(spec) for spec in specs), *menus]


def _normal(value: Any, template: Any) -> Any:
    """`value` reduced to the keys `template` has (Discord adds ids, versions, defaults)."""
    if isinstance(template, dict) and isinstance(value, dict):
        return {k: _normal(value.get(k, _DEFAULTS.get(k)), v) for k, v in template.items()}
    if isinstance(template, list) and isinstance(value, list):
        if template and len(value) == len(template):
            return [_normal(v, t) for v, t in zip(value, template, strict=True)]
        return value
    return value


_DEFAULTS: Mapping[str, Any] = {"options": [], "required": False}


def _key(command: Mapping[str, Any]) -> tuple[int, str]:
    return int(command.get("type") or 1), str(command.get("name"))


def commands_differ(wanted: list[Payload], current: list[Payload]) -> bool:
    """True when the registered commands do not match what we would register."""
    by_key = {_key(c): c for c in current}
    if set(by_key) != {_key(c) for c in wanted}:
        return True
    return any(_normal(by_key[_key(w)], w) != w for w in wanted)


def commands_hash(wanted: list[Payload]) -> str:
    """A stable hash of the command set (logged, to see when a sync happened)."""
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:12]


def focused_param(commands: CommandTable, payload: Mapping[str, Any]) -> tuple[Param, str] | None:
    """The declared argument an autocomplete interaction is typing, and what is typed so far."""
    focus = autocomplete_focus(payload)
    if focus is None:
        return None
    path, name, typed = focus
    with contextlib.suppress(UsageError):
        spec = commands.resolve(path).spec
        param = next((p for p in spec.params if p.name == name), None)
        if param is not None:
            return param, typed
    return None


def autocomplete_answer(commands: CommandTable, payload: Mapping[str, Any]) -> list[Payload]:
    """The choices to suggest from a long choice list (none when nothing matches)."""
    found = focused_param(commands, payload)
    if found is None:
        return []
    return autocomplete_choices(*found)


def suggestion_choices(param: Param, suggestions: Iterable[Suggestion]) -> list[Payload]:
    """Suggestions as Discord choices: at most 25, names and values cut to 100 characters, an
    integer option's values as integers (one that is not a number is left out)."""
    choices: list[Payload] = []
    for suggestion in suggestions:
        value: str | int = suggestion.value[:MAX_CHOICE_TEXT]
        if param.kind is ParamKind.INTEGER:
            if not suggestion.value.isdigit():
                continue
            value = int(suggestion.value)
        name = suggestion.label or suggestion.value
        if len(name) > MAX_CHOICE_TEXT:
            name = name[: MAX_CHOICE_TEXT - 1] + "…"
        choices.append({"name": name, "value": value})
        if len(choices) == MAX_CHOICES:
            break
    return choices


Request = Callable[..., Awaitable[Any]]


def mention_ids(registered: Sequence[Payload], table: CommandTable) -> dict[str, str]:
    """How texts name each registered slash command ("goal set", "seek"), with the id its
    mention needs (`</goal set:ID>`); a group is mentioned through its subcommands only."""
    ids = {
        str(command.get("name")): str(command.get("id"))
        for command in registered
        if command.get("type", 1) == 1 and command.get("id")
    }
    found: dict[str, str] = {}
    for spec in table:
        if spec.name not in ids:
            continue
        if spec.is_group:
            for sub in spec.subcommands:
                found[f"{spec.name} {sub.name}"] = ids[spec.name]
        else:
            found[spec.name] = ids[spec.name]
    return found


async def sync_commands(
    request: Request, app: int, wanted: list[Payload], *, guilds: list[str] | None
) -> dict[str, list[Payload]]:
    """Register every neutral command in each of `guilds` (or globally when None), only where
    Discord's copy differs; return what is registered, by guild id ("" for global)."""
    scopes: list[tuple[str, Route, Route]] = []
    if guilds is not None:
        for gid in guilds:
            path = "/applications/{application_id}/guilds/{guild_id}/commands"
            scopes.append(
                (
                    f"guild {gid}",
                    Route("GET", path, application_id=app, guild_id=gid),
                    Route("PUT", path, application_id=app, guild_id=gid),
                )
            )
    else:
        path = "/applications/{application_id}/commands"
        scopes.append(
            (
                "global",
                Route("GET", path, application_id=app),
                Route("PUT", path, application_id=app),
            )
        )
    registered: dict[str, list[Payload]] = {}
    for scope, get, put in scopes:
        where = scope.removeprefix("guild ") if scope != "global" else ""
        try:
            current = await request(get)
            if not commands_differ(wanted, list(current or [])):
                log.info("discord: %d commands already registered (%s)", len(wanted), scope)
                registered[where] = list(current or [])
                continue
            registered[where] = list(await request(put, json=wanted) or [])
            log.info(
                "discord: registered %d commands (%s, set %s)",
                len(wanted),
                scope,
                commands_hash(wanted),
            )
        except discord.HTTPException as error:
            log.error(
                "discord: could not register commands (%s): %s; re-invite the bot with the "
                "applications.commands scope",
                scope,
                error,
            )
    return registered
