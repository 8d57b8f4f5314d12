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
                marker = t("help.facilitator_marker") if spec.role is Role.FACILITATOR else ""
                lines.append(f"`{call.prefix}{spec.name}` — {spec.help}{marker}")
            lines.append(t("help.footer", prefix=call.prefix))
            return [call.answer("\n".join(lines))]
        path, _ = self._table.split_line(wanted)
        try:
            top = self._table.resolve(path[:1]).spec if len(path) == 1 else None
            resolved = self._table.resolve(path) if top is None or not top.is_group else None
        except UsageError as problem:
            return [call.answer(t("help.unknown", problem=str(problem), prefix=call.prefix))]
        if resolved is None:
            assert top is not None
            lines = [f"**{call.prefix}{top.name}** — {top.help}"]
            for sub in top.subcommands:
                if self._allowed(sub, top, call.is_facilitator):
                    lines.append(f"`{usage((top.name, sub.name), sub, call.prefix)}` — {sub.help}")
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
