"""Tasks for ParserPool tests; a tiny module so a fresh worker imports it at once."""

from __future__ import annotations

import os
import time


def runaway() -> None:
    """Stands in for a parse that never ends."""
    time.sleep(60)


def crash() -> None:
    """Stands in for a parse that kills its worker."""
    os._exit(3)
