"""Start-up pays only for what starting needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each costs start-up time and serves a rare call: calendars, RRULEs, the archive's templates,
# charts, feed parsing (in the parser pool's workers) and migrating (only when behind).
ON_FIRST_USE = ("alembic", "icalendar", "dateutil", "jinja2", "PIL", "feedparser", "mako")


def test_starting_imports_no_library_that_only_a_rare_call_needs() -> None:
    probe = (
        "import sys, bot.cli, adapters.discord.platform, adapters.slack.platform; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, check=True, timeout=60
    )
    loaded = set(result.stdout.decode().split())
    assert loaded.isdisjoint(ON_FIRST_USE), sorted(loaded & set(ON_FIRST_USE))
