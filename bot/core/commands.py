"""The neutral command layer: each command is declared once; adapters expose it natively.

Arguments are positional or `key=value`, in straight or curly quotes. A command with
subcommands is a group (Discord cannot invoke a bare parent), so groups carry an explicit
`show`/`list` subcommand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """Who may run a command."""

    MEMBER = "member"
    FACILITATOR = "facilitator"


MOMENT = "moment"  # a date and a time: a platform may show date and time pickers
PICKS = frozenset({MOMENT})


class ParamKind(StrEnum):
    """How an argument is read."""

    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    # A member of the community: typed as their name or a mention; platforms offer their own
    # member picker (Discord's user option, Slack's users_select) and hand over a mention.
    MEMBER = "member"


# Discord's own slash commands: ours must never take these names. (On Slack every command is
# a subcommand of our one slash command, so Slack's built-ins cannot collide.)
RESERVED_NAMES = frozenset(
    {
        "me",
        "nick",
        "shrug",
        "tableflip",
        "unflip",
        "spoiler",
        "tts",
        "giphy",
        "tenor",
        "thread",
        "kick",
        "ban",
        "timeout",
        "msg",
    }
)

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")

MAX_FORM_FIELDS = 5  # a Discord modal holds at most five inputs
# One Discord message: no free text we accept needs more, and a longer one is refused once.
DEFAULT_MAX_LENGTH = 2000
# An error quotes at most this much of what was typed, so a huge input cannot come back whole.
QUOTE_LENGTH = 80


def quoted(raw: str) -> str:
    """`raw` quoted for an error message, cut to QUOTE_LENGTH characters with "…"."""
    if len(raw) <= QUOTE_LENGTH:
        return repr(raw)
    return repr(raw[: QUOTE_LENGTH - 1] + "…")


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """One declared argument."""

    name: str
    help: str
    kind: ParamKind = ParamKind.TEXT
    required: bool = True
    choices: tuple[str, ...] = ()
    rest: bool = False  # a trailing TEXT that takes the rest of the line
    keyword_only: bool = False  # only as key=value (settings-like commands)
    max_length: int = 0  # the longest TEXT accepted; 0 means DEFAULT_MAX_LENGTH
    # The suggestion source (bot/core/suggestions.py) of an argument that names a thing
    # ("sessions", "links", "zones"...): platforms offer its suggestions as it is typed.
    suggests: str = ""
    # How a platform may let members pick the value instead of typing it (a hint; the typed
    # form always works): `MOMENT`, a date and a time. Things are picked through `suggests`.
    picks: str = ""

    def __post_init__(self) -> None:
        if bool(self.choices) != (self.kind is ParamKind.CHOICE):
            raise ValueError(f"{self.name}: choices go with ParamKind.CHOICE, and only there")
        if self.picks and self.picks not in PICKS:
            raise ValueError(
                f"{self.name}: picks must be one of {sorted(PICKS)}, not {self.picks!r}"
            )

    @property
    def longest(self) -> int:
        """The most characters this argument accepts."""
        return self.max_length or DEFAULT_MAX_LENGTH

    def usage(self) -> str:
        """How this argument is written in a usage line."""
        shown = f"{self.name}=…" if self.keyword_only else self.name
        if self.kind is ParamKind.CHOICE:
            shown = (
                f"{self.name}={'|'.join(self.choices)}"
                if self.keyword_only
                else "|".join(self.choices)
            )
        elif self.kind is ParamKind.BOOLEAN and self.keyword_only:
            shown = f"{self.name}=on|off"
        return f"<{shown}>" if self.required else f"[{shown}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandSpec:
    """A command (or a group of subcommands) as every platform will show it."""

    name: str
    help: str
    example: str = ""
    params: tuple[Param, ...] = ()
    role: Role = Role.MEMBER
    subcommands: tuple[CommandSpec, ...] = ()
    private: bool = True  # the answer is shown to the caller only
    # Groups whose subcommands this group's once were: `/event create` still runs
    # `/host create` when typed (old habits, old buttons); platforms list only the new name.
    formerly: tuple[str, ...] = ()
    # Also offered in a message's menu under this label (Discord: a message command); run so,
    # the command gets that message as `Invocation.subject` instead of its arguments.
    on_message: str = ""
    # Arguments asked in a form (a Discord modal): when the command is run without one of them
    # that it needs, and from a message's menu when `subject_link` names the field filled in
    # with the message's first link (or the message's address).
    form: tuple[str, ...] = ()
    subject_link: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"command name {self.name!r} is not lower-case letters and dashes")
        if self.subcommands and self.params:
            raise ValueError(f"group {self.name!r} cannot take arguments itself")
        if self.on_message and (self.subcommands or not 1 <= len(self.on_message) <= 32):
            raise ValueError(f"{self.name!r}: a menu label is 1-32 characters, not on a group")
        names = {param.name for param in self.params}
        if len(self.form) > MAX_FORM_FIELDS or not set(self.form) <= names:
            raise ValueError(f"{self.name!r}: a form asks 1-5 of the command's own arguments")
        if self.subject_link and self.subject_link not in self.form:
            raise ValueError(f"{self.name!r}: subject_link must be one of the form's fields")
        if self.formerly and not self.subcommands:
            raise ValueError(f"only a group can say what it was formerly ({self.name!r})")
        roles = {required_role(sub, self) for sub in self.subcommands}
        if len(roles) > 1:
            # One group, one audience: a platform can hide a whole command from members
            # (Discord's default_member_permissions), never one subcommand of it.
            mixed = ", ".join(s.name for s in self.subcommands if s.role is Role.FACILITATOR)
            raise ValueError(
                f"group {self.name!r} mixes member and facilitator subcommands ({mixed}); "
                "move the facilitator ones into a group of their own"
            )

    @property
    def audience(self) -> Role:
        """Who the whole command is for (a group is for one audience: see __post_init__)."""
        if self.subcommands:
            return required_role(self.subcommands[0], self)
        return self.role

    @property
    def is_group(self) -> bool:
        """True when this command only holds subcommands."""
        return bool(self.subcommands)

    def subcommand(self, name: str) -> CommandSpec | None:
        """The subcommand called `name`, if any."""
        return next((sub for sub in self.subcommands if sub.name == name), None)


def with_prefix(example: str, prefix: str) -> str:
    """An example as members type it on a platform: `/goal show` is `/facilitator goal show` on
    a Slack workspace whose command is `/facilitator` (the prefix "/facilitator ")."""
    return prefix + example.removeprefix("/") if example.startswith("/") else example


def usage(path: Sequence[str], spec: CommandSpec, prefix: str = "/") -> str:
    """A usage line such as `/goal set <text>`."""
    parts = [prefix + " ".join(path)]
    if spec.is_group:
        parts.append("|".join(sub.name for sub in spec.subcommands))
    parts.extend(param.usage() for param in spec.params)
    return " ".join(parts)


def wants_form(spec: CommandSpec, text: str) -> bool:
    """True when a command with two or more required arguments was given none: where the
    platform has forms (a Slack modal, the console's field-by-field form) it asks for each."""
    return not text.strip() and sum(param.required for param in spec.params) >= 2


def needs_form(spec: CommandSpec, given: Mapping[str, str]) -> bool:
    """Whether a command run with `given` argument texts opens its form: a field the form
    holds is required and missing."""
    return any(
        p.required and p.name in spec.form and not given.get(p.name, "").strip()
        for p in spec.params
    )


class UsageError(ValueError):
    """A command's arguments were wrong; the message says what and how to fix it."""


_QUOTES = {'"': '"', "'": "'", "“": "”", "”": "”", "‘": "’", "’": "’", "„": "“", "«": "»"}
_KEY = re.compile(r"([a-z][a-z0-9_-]*)=", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Token:
    """One argument word, with where it started in the raw text."""

    value: str
    start: int
    quoted: bool = False
    key: str | None = None


def tokenize(text: str) -> list[Token]:
    """Split arguments on white space, honouring straight and curly quotes."""
    tokens: list[Token] = []
    index, length = 0, len(text)
    while index < length:
        if text[index].isspace():
            index += 1
            continue
        start = index
        key: str | None = None
        key_match = _KEY.match(text, index)
        if key_match and index + len(key_match.group(0)) <= length:
            key = key_match.group(1).lower()
            index += len(key_match.group(0))
        if index < length and text[index] in _QUOTES:
            closing = _QUOTES[text[index]]
            end = text.find(closing, index + 1)
            if end == -1 and closing != text[index]:
                end = text.find(text[index], index + 1)
            if end == -1:
                raise UsageError(f"a quote opened at character {index + 1} is never closed")
            tokens.append(Token(text[index + 1 : end], start, True, key))
            index = end + 1
            continue
        end = index
        while end < length and not text[end].isspace():
            end += 1
        tokens.append(Token(text[index:end], start, False, key))
        index = end
    return tokens


_TRUE = {"on", "yes", "true", "1", "y"}
_FALSE = {"off", "no", "false", "0", "n"}

ArgumentValue = str | int | bool


def _convert(param: Param, raw: str) -> ArgumentValue:
    if param.kind is ParamKind.INTEGER:
        try:
            return int(raw)
        except ValueError:
            raise UsageError(f"{param.name} must be a whole number, not {quoted(raw)}") from None
    if param.kind is ParamKind.BOOLEAN:
        lowered = raw.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise UsageError(f"{param.name} must be on or off, not {quoted(raw)}")
    if param.kind is ParamKind.CHOICE:
        lowered = raw.lower()
        if lowered not in param.choices:
            raise UsageError(
                f"{param.name} must be one of {', '.join(param.choices)}, not {quoted(raw)}"
            )
        return lowered
    if not raw.strip() and param.required:
        raise UsageError(f"{param.name} cannot be empty")
    if len(raw) > param.longest:
        raise UsageError(
            f"{param.name} can be at most {param.longest} characters long; "
            f"this one has {len(raw)}, so shorten it"
        )
    return raw


def _unknown_key(key: str, spec: CommandSpec) -> UsageError:
    keys = [param.name for param in spec.params]
    noun = "setting" if all(param.keyword_only for param in spec.params) else "key"
    if not keys:
        return UsageError(f"unknown {noun} {quoted(key)}; this command takes no {noun}s")
    return UsageError(f"unknown {noun} {quoted(key)}; the {noun}s are: {', '.join(keys)}")


def parse_arguments(
    spec: CommandSpec,
    text: str = "",
    options: Mapping[str, str] | None = None,
    *,
    partial: bool = False,
) -> dict[str, ArgumentValue]:
    """Read a command's arguments from raw text or typed options; raise `UsageError`.
    `partial` reads what is given without asking for the rest (a form fills it in)."""
    params = {param.name: param for param in spec.params}
    values: dict[str, ArgumentValue] = {}
    if options is not None:
        for name, raw in options.items():
            if name not in params:
                raise UsageError(f"unknown option {quoted(name)}")
            values[name] = _convert(params[name], raw)
    else:
        positional = [param for param in spec.params if not param.keyword_only]
        tokens = tokenize(text)
        pending: list[Token] = []
        for token in tokens:
            if token.key is not None and token.key.replace("-", "_") in params:
                name = token.key.replace("-", "_")
                if name in values:
                    raise UsageError(f"{name} is given twice")
                values[name] = _convert(params[name], token.value)
            elif token.key is not None and not positional:
                raise _unknown_key(token.key, spec)
            else:
                pending.append(token)
        open_params = [param for param in positional if param.name not in values]
        for position, token in enumerate(pending):
            landing = open_params[position] if position < len(open_params) else None
            if token.key is not None and (landing is None or not landing.rest):
                # `colour=red` is a key the command does not have, not a stray value
                raise _unknown_key(token.key, spec)
            if landing is None:
                raise UsageError(f"unexpected {quoted(token.value)}")
            param = landing
            if param.rest:
                remaining = pending[position:]
                if len(remaining) == 1 and remaining[0].quoted:
                    raw = remaining[0].value
                else:
                    raw = text[token.start :].strip()
                values[param.name] = _convert(param, raw)
                break
            values[param.name] = _convert(param, token.value)
    for param in spec.params:
        if param.required and param.name not in values and not partial:
            raise UsageError(f"missing {param.name}")
    return values


def check_field(spec: CommandSpec, param: Param, raw: str) -> ArgumentValue:
    """One argument of `spec` read on its own, as a form field: the typed command's checks;
    raise `UsageError`."""
    alone = CommandSpec(name=spec.name, help=spec.help, params=(param,), role=spec.role)
    return parse_arguments(alone, options={param.name: raw})[param.name]


_WRITTEN_QUOTES = (('"', '"'), ("'", "'"), ("“", "”"), ("‘", "’"), ("«", "»"))


def _written(value: ArgumentValue) -> str | None:
    """A value as typed: bare when it is one word, else in the first quotes it lacks."""
    if isinstance(value, bool):
        return "on" if value else "off"
    text = str(value)
    if text and not any(c.isspace() for c in text) and not any(c in _QUOTES for c in text):
        return text
    for opening, closing in _WRITTEN_QUOTES:
        if opening not in text and closing not in text:
            return f"{opening}{text}{closing}"
    return None


def command_line(
    path: Sequence[str], spec: CommandSpec, arguments: Mapping[str, ArgumentValue]
) -> str | None:
    """The line (without prefix) that runs `path` with `arguments`, as a button carries it:
    leading positional arguments bare, the rest as key=value; None when a value cannot be
    written (it uses every kind of quote mark)."""
    words = [" ".join(path)]
    positional = True
    for param in spec.params:
        if param.name not in arguments:
            positional = False
            continue
        written = _written(arguments[param.name])
        if written is None:
            return None
        bare = positional and not param.keyword_only and not param.rest
        bare = bare and written == str(arguments[param.name]) and "=" not in written
        if bare:
            words.append(written)
        else:
            positional = False
            words.append(f"{param.name}={written}")
    return " ".join(words)


def argument_text(value: ArgumentValue) -> str:
    """An argument's value as a form field or option shows it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


@dataclass(frozen=True, slots=True)
class Resolved:
    """A command path resolved against the declarations."""

    path: tuple[str, ...]
    spec: CommandSpec
    group: CommandSpec | None = None

    @property
    def role(self) -> Role:
        """Who may run it: a facilitator group's subcommands are for facilitators too."""
        return required_role(self.spec, self.group)


def required_role(spec: CommandSpec, group: CommandSpec | None = None) -> Role:
    """The one rule for who may run `spec` (a subcommand of `group`, if given)."""
    if spec.role is Role.FACILITATOR or (group is not None and group.role is Role.FACILITATOR):
        return Role.FACILITATOR
    return Role.MEMBER


@dataclass(frozen=True, slots=True)
class MessageAction:
    """A command offered in a message's menu (`CommandSpec.on_message`), as a platform builds
    it from the declaration: a form whose `link` field takes one of the message's links and
    whose `words` field takes the member's own words (never the message's)."""

    spec: CommandSpec
    link: str
    words: str

    @property
    def label(self) -> str:
        """The entry's name in the message's menu."""
        return self.spec.on_message

    @property
    def needs_link(self) -> bool:
        """Whether a message without a link cannot be used (its link field is required)."""
        return next(p for p in self.spec.params if p.name == self.link).required

    @property
    def intro(self) -> str:
        """The line the form opens with: what the command does, and what is kept."""
        return (
            f"{self.spec.help.rstrip('.')}. Only what you write here is kept; the message's "
            "own words are not copied."
        )


def message_action(spec: CommandSpec) -> MessageAction | None:
    """`spec` as a message's menu entry, when it offers one with a form of a link and words."""
    if not spec.on_message or not spec.form:
        return None
    params = {param.name: param for param in spec.params if param.name in spec.form}
    link = spec.subject_link or next((n for n in spec.form if not params[n].rest), "")
    words = next((n for n in spec.form if params[n].rest and n != link), "")
    if not link or not words:
        return None
    return MessageAction(spec, link, words)


@dataclass(slots=True)
class CommandTable:
    """All declared commands, by name."""

    commands: dict[str, CommandSpec] = field(default_factory=dict)
    # (former group, subcommand) -> the group that holds it now
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, spec: CommandSpec) -> None:
        """Declare a command; names must be unique and not Discord's own."""
        if spec.name in RESERVED_NAMES:
            raise ValueError(f"/{spec.name} is a platform's built-in command")
        if spec.name in self.commands:
            raise ValueError(f"/{spec.name} is declared twice")
        for former in spec.formerly:
            for sub in spec.subcommands:
                if (former, sub.name) in self.aliases:
                    raise ValueError(f"/{former} {sub.name} is an alias twice")
                self.aliases[(former, sub.name)] = spec.name
        self.commands[spec.name] = spec

    def renamed(self, path: Sequence[str]) -> tuple[str, ...] | None:
        """The current path of a former one (`event create` -> `host create`), if it is one."""
        if len(path) < 2:
            return None
        key = (path[0].lower(), path[1].lower())
        group = self.aliases.get(key)
        if group is None:
            return None
        top = self.commands.get(key[0])
        if top is not None and top.subcommand(key[1]) is not None:
            return None  # the group's own subcommand wins over an alias
        return (group, key[1])

    def resolve(self, path: Sequence[str]) -> Resolved:
        """Find the spec for a path such as ("goal", "set"); raise `UsageError` if unknown."""
        if not path:
            raise UsageError("no command given")
        current = self.renamed(path)
        if current is not None:
            path = current
        top = self.commands.get(path[0].lower())
        if top is None:
            raise UsageError(f"there is no command called {quoted(path[0])}")
        if not top.is_group:
            return Resolved((top.name,), top)
        if len(path) < 2:
            raise UsageError(
                f"/{top.name} needs one of: {', '.join(s.name for s in top.subcommands)}"
            )
        sub = top.subcommand(path[1].lower())
        if sub is None:
            raise UsageError(
                f"/{top.name} has no {quoted(path[1])}; use one of: "
                + ", ".join(s.name for s in top.subcommands)
            )
        return Resolved((top.name, sub.name), sub, top)

    def on_message(self, label: str) -> CommandSpec | None:
        """The command a message's menu entry called `label` runs, if any."""
        return next((spec for spec in self.commands.values() if spec.on_message == label), None)

    def message_actions(self) -> tuple[MessageAction, ...]:
        """Every command offered in a message's menu, as a form (Slack's message shortcuts,
        the console's `alice!share 12`), in declaration order."""
        found = (message_action(spec) for spec in self.commands.values())
        return tuple(action for action in found if action is not None)

    def form_for_line(self, line: str) -> tuple[Resolved, dict[str, str]] | None:
        """The command a button's or menu option's line runs, with the argument texts it
        gives, when it lacks a field its form asks for (the platform opens the form); None
        when it runs as it is (or is wrong, and is answered saying so)."""
        path, rest = self.split_line(line)
        try:
            resolved = self.resolve(path)
            given = parse_arguments(resolved.spec, rest, partial=True)
        except UsageError:
            return None
        texts = {name: argument_text(value) for name, value in given.items()}
        if not resolved.spec.form or not needs_form(resolved.spec, texts):
            return None
        return resolved, texts

    def split_line(self, line: str) -> tuple[tuple[str, ...], str]:
        """Split `goal set learn Rust` into the command path and the argument text."""
        stripped = line.strip().lstrip("/")
        head, _, rest = stripped.partition(" ")
        top = self.commands.get(head.lower())
        if top is None and any(former == head.lower() for former, _ in self.aliases):
            sub, _, rest2 = rest.strip().partition(" ")
            return ((head, sub), rest2) if sub else ((head,), "")
        if top is not None and top.is_group:
            sub, _, rest2 = rest.strip().partition(" ")
            if sub:
                return (head, sub), rest2
            return (head,), ""
        return (head,), rest

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.commands.values())
