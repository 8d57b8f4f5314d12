"""`help`: what the caller may use, and how to use one command."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core.actions import Action
from bot.core.commands import (
    CommandSpec,
    CommandTable,
    Param,
    Role,
    UsageError,
    required_role,
    usage,
    with_prefix,
)
from bot.core.i18n import Catalog
from bot.runtime.service import CommandHandler, Invocation, Service, Transaction

HELP = CommandSpec(
    name="help",
    help="List the commands you can use, or show how to use one",
    example="/help settings",
    params=(Param(name="command", help="A command to explain", required=False, rest=True),),
)


class HelpService(Service):
    """Answers `help` from the same declarations every platform registers."""

    name = "help"

    def __init__(self, table: CommandTable) -> None:
        self._table = table

    def commands(self) -> Sequence[tuple[CommandSpec, Mapping[tuple[str, ...], CommandHandler]]]:
        """The help command."""
        return ((HELP, {("help",): self.help}),)

    @staticmethod
    def _allowed(spec: CommandSpec, group: CommandSpec | None, is_facilitator: bool) -> bool:
        return is_facilitator or required_role(spec, group) is Role.MEMBER

    @classmethod
    def _usable(cls, group: CommandSpec, is_facilitator: bool) -> list[CommandSpec]:
        """The subcommands of `group` the caller may run."""
        return [sub for sub in group.subcommands if cls._allowed(sub, group, is_facilitator)]

    @staticmethod
    def _marker(t: Catalog, spec: CommandSpec, group: CommandSpec | None = None) -> str:
        """The facilitators' mark, once: the role says it, never the help text."""
        if required_role(spec, group) is not Role.FACILITATOR:
            return ""
        if group is not None and group.role is Role.FACILITATOR:
            return ""  # the whole group is marked already
        return t("help.facilitator_marker")

    async def help(self, call: Invocation, tx: Transaction) -> list[Action]:
        """List commands, or explain one."""
        t = call.texts
        wanted = str(call.arguments.get("command", "")).strip().lstrip("/")
        if call.prefix.strip() != "/" and wanted.startswith(call.prefix.strip().lstrip("/")):
            wanted = wanted[len(call.prefix.strip().lstrip("/")) :].strip()
        if not wanted:
            lines = [t("help.heading")]
            for spec in sorted(self._table, key=lambda spec: spec.name):
                if not self._allowed(spec, None, call.is_facilitator):
                    continue
                shown = call.prefix + spec.name
                if spec.is_group:
                    subs = self._usable(spec, call.is_facilitator)
                    if not subs:
                        continue  # a group whose every subcommand is someone else's
                    shown += " " + "|".join(sub.name for sub in subs)
                lines.append(f"`{shown}` — {spec.help}{self._marker(t, spec)}")
            lines.append(t("help.footer", prefix=call.prefix))
            return [call.answer("\n".join(lines))]
        path, _ = self._table.split_line(wanted)
        try:
            # a bare group is not a runnable path, but it is something to explain
            top = self._table.commands.get(path[0].lower()) if len(path) == 1 else None
            resolved = self._table.resolve(path) if top is None or not top.is_group else None
        except UsageError as problem:
            return [call.answer(t("help.unknown", problem=str(problem), prefix=call.prefix))]
        if resolved is None:
            assert top is not None
            subs = self._usable(top, call.is_facilitator)
            if not subs:
                return [call.answer(t("common.facilitators_only", command=call.prefix + top.name))]
            lines = [f"**{call.prefix}{top.name}** — {top.help}"]
            for sub in subs:
                line = usage((top.name, sub.name), sub, call.prefix)
                lines.append(f"`{line}` — {sub.help}{self._marker(t, sub, top)}")
            lines.append(t("help.group_footer", prefix=call.prefix, group=top.name))
            return [call.answer("\n".join(lines))]
        spec = resolved.spec
        if not self._allowed(spec, resolved.group, call.is_facilitator):
            return [call.answer(t("common.facilitators_only", command=call.prefix + wanted))]
        lines = [
            f"**{call.prefix}{' '.join(resolved.path)}** — {spec.help}",
            t("help.usage", usage=usage(resolved.path, spec, call.prefix)),
        ]
        lines.extend(f"• `{param.name}`: {param.help}" for param in spec.params)
        if spec.example:
            lines.append(t("help.example", example=with_prefix(spec.example, call.prefix)))
        return [call.answer("\n".join(lines))]
