"""Commands by path: the services' handlers, and turning an invoked command or a pressed
button into a call (resolved, role checked, arguments parsed) or the answer that explains
why it cannot run."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.actions import Answer, Content
from bot.core.commands import (
    ArgumentValue,
    CommandSpec,
    CommandTable,
    Role,
    UsageError,
    parse_arguments,
    usage,
    with_prefix,
)
from bot.core.events import ButtonPressed, CommandInvoked
from bot.runtime.service import CommandHandler, Delivered, Invocation, Service


@dataclass(frozen=True, slots=True)
class _Route:
    spec: CommandSpec
    group: CommandSpec | None
    handler: CommandHandler


@dataclass(frozen=True, slots=True)
class CommandCall:
    """A command ready to run: its handler, what it is called with, and how it is shown."""

    handler: CommandHandler
    invocation: Invocation
    shown: str


class CommandRouter:
    """The declared commands (`table`) and the handler of each path."""

    def __init__(self) -> None:
        self.table = CommandTable()
        self._routes: dict[tuple[str, ...], _Route] = {}

    def add(self, service: Service) -> None:
        """Register a service's commands; every path needs a handler."""
        for spec, handlers in service.commands():
            self.table.add(spec)
            if spec.is_group:
                for sub in spec.subcommands:
                    path = (spec.name, sub.name)
                    if path not in handlers:
                        raise ValueError(f"{service.name}: no handler for /{' '.join(path)}")
                    self._routes[path] = _Route(sub, spec, handlers[path])
            else:
                if (spec.name,) not in handlers:
                    raise ValueError(f"{service.name}: no handler for /{spec.name}")
                self._routes[(spec.name,)] = _Route(spec, None, handlers[(spec.name,)])

    def prepare(
        self, event: CommandInvoked | ButtonPressed, delivered: Delivered, prefix: str
    ) -> CommandCall | Answer:
        """The call an event asks for, or the answer to an unknown command, a member who may
        not run it, or arguments that do not fit."""
        texts = delivered.texts
        if isinstance(event, ButtonPressed):
            path, text = self.table.split_line(event.action)
            options = None
        else:
            path, text, options = event.path, event.text, event.options
        try:
            resolved = self.table.resolve(path)
        except UsageError as problem:
            message = texts(
                "common.unknown_command", problem=str(problem).rstrip("."), prefix=prefix
            )
            return Answer(to=event.reply_to, content=Content(text=message))
        route = self._routes[resolved.path]
        shown = prefix + " ".join(resolved.path)
        if resolved.role is Role.FACILITATOR and not delivered.is_facilitator:
            message = texts("common.facilitators_only", command=shown)
            return Answer(to=event.reply_to, content=Content(text=message))
        subject = event.subject if isinstance(event, CommandInvoked) else None
        arguments: dict[str, ArgumentValue]
        try:
            if subject is not None:
                if not route.spec.on_message:
                    raise UsageError(f"{shown} cannot be run on a message")
                arguments = {}  # the message is what it works on
            else:
                arguments = parse_arguments(route.spec, text, options)
        except UsageError as problem:
            return Answer(
                to=event.reply_to,
                content=Content(
                    text=_usage_error(route, resolved.path, problem, delivered, prefix)
                ),
                refused=True,
            )
        invocation = Invocation(
            event=event,
            path=resolved.path,
            spec=route.spec,
            arguments=arguments,
            community=delivered.community,
            texts=texts,
            is_facilitator=delivered.is_facilitator,
            prefix=prefix,
        )
        return CommandCall(handler=route.handler, invocation=invocation, shown=shown)


def _usage_error(
    route: _Route,
    path: tuple[str, ...],
    problem: UsageError,
    delivered: Delivered,
    prefix: str,
) -> str:
    """How the command is used, with an example when it declares one."""
    line = usage(path, route.spec, prefix)
    problem_text = str(problem).rstrip(".").capitalize()
    if route.spec.example:
        return delivered.texts(
            "common.usage_error",
            problem=problem_text,
            usage=line,
            example=with_prefix(route.spec.example, prefix),
        )
    return delivered.texts("common.usage_error_no_example", problem=problem_text, usage=line)
