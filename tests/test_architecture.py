"""The house rules (docs/architecture.md): which room may import which, where SQL lives, how
features are built, and that every member's data has an owner for /export and /forget-me."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from bot.features import FEATURES
from bot.runtime.feature import member_tables
from bot.storage.member_data import member_columns

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"
FEATURE_DIR = BOT / "features"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (ROOT / relative).with_suffix(".py").is_file() or (ROOT / relative).is_dir()


def imports(path: Path) -> set[str]:
    """Every module `path` imports; `from package import module` counts as the module."""
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            for alias in node.names:
                if is_module(f"{node.module}.{alias.name}"):
                    found.add(f"{node.module}.{alias.name}")
    return found


def sources(folder: Path) -> Iterator[tuple[Path, set[str]]]:
    for path in sorted(folder.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path, imports(path)


def feature_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["bot", "features"] else None


def test_bot_never_imports_platform_sdks() -> None:
    for path, names in sources(BOT):
        for name in names:
            assert not name.startswith(("discord", "slack_bolt", "slack_sdk", "adapters")), (
                f"{path.relative_to(ROOT)} imports {name}"
            )


def test_adapters_import_only_the_core() -> None:
    for path, names in sources(ROOT / "adapters"):
        for name in names:
            if name == "bot" or name.startswith("bot."):
                assert name == "bot.core" or name.startswith("bot.core."), (
                    f"{path.relative_to(ROOT)} imports {name}"
                )


def test_the_core_imports_nothing_outside_the_core() -> None:
    for path, names in sources(BOT / "core"):
        for name in names:
            if name == "bot" or name.startswith("bot."):
                assert name.startswith("bot.core"), f"{path.relative_to(ROOT)} imports {name}"


def test_the_kernel_imports_no_feature() -> None:
    # The runtime and storage serve every feature and know none of them.
    for folder in ("runtime", "storage", "fetch", "web"):
        for path, names in sources(BOT / folder):
            for name in names:
                assert not name.startswith("bot.features"), (
                    f"{path.relative_to(ROOT)} imports {name}"
                )
                assert not name.startswith(("bot.app", "bot.cli")), path


def test_storage_imports_neither_the_runtime_nor_a_feature() -> None:
    for path, names in sources(BOT / "storage"):
        for name in names:
            assert not name.startswith(("bot.runtime", "bot.features")), (
                f"{path.relative_to(ROOT)} imports {name}"
            )


def test_a_feature_reaches_another_only_through_its_package() -> None:
    # `bot.features.digest` (its __init__ and __all__) is a feature's public surface;
    # `bot.features.digest.store` is its own business.
    for path, names in sources(FEATURE_DIR):
        own = feature_of(module_name(path))
        for name in names:
            other = feature_of(name)
            if other is None or other == own or own is None:
                continue
            assert name == f"bot.features.{other}", (
                f"{path.relative_to(ROOT)} imports {name}: import what {other} exports "
                f"from bot.features.{other} instead"
            )


def test_a_features_package_says_what_it_exports() -> None:
    for package in sorted(FEATURE_DIR.glob("*/__init__.py")):
        tree = ast.parse(package.read_text("utf-8"))
        names = [
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        ]
        assert "__all__" in names, f"{package.relative_to(ROOT)} has no __all__"
        assert "FEATURE" in names, f"{package.relative_to(ROOT)} declares no FEATURE"


def test_every_feature_folder_is_in_the_feature_list() -> None:
    folders = {path.parent.name for path in FEATURE_DIR.glob("*/__init__.py")}
    assert folders == {feature.name for feature in FEATURES}


def test_a_feature_is_built_only_through_the_feature_list() -> None:
    # Services of a feature are constructed in its own folder (its `build`), never by the
    # composition root, the runtime, the CLI or another feature.
    services: dict[str, str] = {}
    for path in FEATURE_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id == "Service" for base in node.bases
            ):
                services[node.name] = feature_of(module_name(path)) or ""
    assert "DigestService" in services and "LinkService" in services
    for path in sorted(BOT.rglob("*.py")):
        own = feature_of(module_name(path))
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                home = services.get(node.func.id)
                assert home is None or home == own, (
                    f"{path.relative_to(ROOT)}:{node.lineno} builds {node.func.id} of {home}"
                )


def test_platform_sdks_and_http_frameworks_stay_out_of_features() -> None:
    for path, names in sources(FEATURE_DIR):
        for name in names:
            assert not name.startswith(("adapters", "discord", "slack")), path


def test_every_table_with_member_data_has_an_owner() -> None:
    # /export and /forget-me cover exactly the tables some feature (or the kernel) owns: a new
    # table with a member column must be claimed, or members could not see or delete it.
    owned = member_tables(FEATURES)
    marked = {table.name for table, _ in member_columns()}
    assert marked - owned == set(), "add these tables to a Feature's member_tables"
    assert owned - marked == set(), "these owned tables hold no member column"


def test_two_features_never_claim_one_table() -> None:
    claimed: dict[str, str] = {}
    for feature in FEATURES:
        for table in feature.member_tables:
            assert table not in claimed, f"{table}: {claimed[table]} and {feature.name}"
            claimed[table] = feature.name
def test_sqlalchemy_lives_only_in_storage_and_stores() -> None:
    for path in (ROOT / "bot").rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[1] == "storage" or path.stem == "store" or path.stem.endswith("_store"):
            continue
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
