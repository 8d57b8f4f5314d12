"""The dependency rule: bot/ never imports discord or slack_bolt; adapters import only
bot.core from the bot package."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_bot_never_imports_platform_sdks() -> None:
    for path in (ROOT / "bot").rglob("*.py"):
        for name in imports(path):
            assert not name.startswith(("discord", "slack_bolt", "slack_sdk", "adapters")), (
                f"{path.relative_to(ROOT)} imports {name}"
            )


def test_adapters_import_only_the_core() -> None:
    for path in (ROOT / "adapters").rglob("*.py"):
        for name in imports(path):
            if name == "bot" or name.startswith("bot."):
                assert name == "bot.core" or name.startswith("bot.core."), (
                    f"{path.relative_to(ROOT)} imports {name}"
                )


def test_core_does_not_reach_into_services_or_storage() -> None:
    for path in (ROOT / "bot" / "core").rglob("*.py"):
        for name in imports(path):
            assert not name.startswith(("bot.services", "bot.storage", "bot.app")), path


def test_storage_imports_no_feature() -> None:
    for path in (ROOT / "bot" / "storage").rglob("*.py"):
        for name in imports(path):
            assert not name.startswith(("bot.features", "bot.runtime", "bot.app")), (
                f"{path.relative_to(ROOT)} imports {name}"
            )


def test_sqlalchemy_lives_only_in_storage_and_stores() -> None:
    for path in (ROOT / "bot").rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[1] == "storage" or path.stem == "store" or path.stem.endswith("_store"):
            continue
        for name in imports(path):
            assert not name.startswith("sqlalchemy"), f"{relative} imports {name}"


def test_public_class_names_are_unique() -> None:
    seen: dict[str, Path] = {}
    for folder in ("bot", "adapters"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                    assert node.name not in seen, (
                        f"{node.name} in {path.relative_to(ROOT)} and {seen[node.name]}"
                    )
                    seen[node.name] = path.relative_to(ROOT)
