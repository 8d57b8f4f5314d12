"""Start-up pays only for what starting needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import config_file

ROOT = Path(__file__).resolve().parents[2]

# Each costs start-up time and serves a rare call: calendars, RRULEs, the archive's templates,
# charts, feed parsing (in the parser pool's workers) and migrating (only when behind).
ON_FIRST_USE = ("alembic", "icalendar", "dateutil", "jinja2", "PIL", "feedparser", "mako")
ON_POSTGRESQL = "sqlalchemy.dialects.postgresql"  # SQLite is the default


def test_starting_imports_no_library_that_only_a_rare_call_needs() -> None:
    probe = (
        "import sys, bot.cli, adapters.discord.platform, adapters.slack.platform; "
        "print(' '.join(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, check=True, timeout=60
    )
    loaded = set(result.stdout.decode().split())
    tops = {name.split(".")[0] for name in loaded}
    assert tops.isdisjoint(ON_FIRST_USE), sorted(tops & set(ON_FIRST_USE))
    assert ON_POSTGRESQL not in loaded


def test_the_command_loads_uncollected_then_freezes_what_it_loaded(tmp_path: Path) -> None:
    # Collecting while ~200,000 long-lived objects load finds nothing and costs every start.
    config = config_file(tmp_path, db=str(tmp_path / "bot.db"))
    probe = (
        "import gc, sys; from bot.__main__ import main; "
        f"sys.argv = ['facilitator', 'check', '--config', {str(config)!r}]; code = main(); "
        "print(code, gc.isenabled(), gc.get_freeze_count())"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, check=True, timeout=60
    )
    code, enabled, frozen = result.stdout.decode().split()[-3:]
    assert (code, enabled) == ("0", "True")
    assert int(frozen) > 50_000


def test_a_platforms_sdk_loads_uncollected_and_is_frozen() -> None:
    probe = (
        "import gc; from bot.runtime.platforms import _factory; "
        "before = gc.get_freeze_count(); _factory('discord'); "
        "print(gc.get_freeze_count() - before, gc.isenabled())"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, check=True, timeout=60
    )
    frozen, enabled = result.stdout.decode().split()
    assert enabled == "True" and int(frozen) > 20_000
