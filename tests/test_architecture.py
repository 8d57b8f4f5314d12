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


ADAPTERS = ("discord", "slack", "console")
SDKS = ("discord", "slack_bolt", "slack_sdk", "aiohttp", "yarl")


def test_each_adapter_is_a_package_split_by_responsibility() -> None:
    for name in ADAPTERS:
        package = ROOT / "adapters" / name
        for module in ("__init__", "platform", "translate", "render"):
            assert (package / f"{module}.py").is_file(), f"adapters/{name}/{module}.py"
    leftovers = sorted(p.name for p in (ROOT / "adapters").glob("*.py") if p.name != "__init__.py")
    assert not leftovers, f"adapter modules outside a package: {leftovers}"


def test_adapter_packages_import_from_bot_only_the_core() -> None:
    for name in ADAPTERS:
        for path in (ROOT / "adapters" / name).rglob("*.py"):
            for imported in imports(path):
                if imported == "bot" or imported.startswith("bot."):
                    assert imported.startswith("bot.core"), f"{path.relative_to(ROOT)}: {imported}"
                if imported.startswith("adapters."):
                    # one adapter never reaches into another
                    assert imported.startswith(f"adapters.{name}"), (
                        f"{path.relative_to(ROOT)} imports {imported}"
                    )


def test_adapter_package_init_does_not_load_the_sdk() -> None:
    # `create_platform` imports `.platform` when called: naming the package stays cheap.
    for name in ADAPTERS:
        path = ROOT / "adapters" / name / "__init__.py"
        tree = ast.parse(path.read_text("utf-8"))
        for node in tree.body:  # module level only; TYPE_CHECKING blocks are never run
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                for imported in names:
                    assert not imported.startswith((*SDKS, "adapters")), f"{path}: {imported}"


def test_translate_and_render_are_pure() -> None:
    # Tested on recorded payloads: no SDK, no network client in translation or rendering.
    for name in ADAPTERS:
        for module in ("translate", "render"):
            path = ROOT / "adapters" / name / f"{module}.py"
            for imported in imports(path):
                assert not imported.startswith(SDKS), f"{path.relative_to(ROOT)}: {imported}"


def test_core_imports_aiohttp_only_for_type_checking() -> None:
    for path in (ROOT / "bot" / "core").rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in tree.body:  # a top-level import runs; one under `if TYPE_CHECKING:` does not
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("aiohttp") for a in node.names), path
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("aiohttp"), path


def test_core_does_not_reach_into_services_or_storage() -> None:
    for path in (ROOT / "bot" / "core").rglob("*.py"):
        for name in imports(path):
            assert not name.startswith(("bot.services", "bot.storage", "bot.app")), path
