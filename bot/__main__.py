"""`python -m bot` and the `facilitator` command."""

from __future__ import annotations

import gc
import sys


def main() -> int:
    """Load the command line with the cyclic garbage collector paused, then run it."""
    # What the command imports (some 200,000 objects) lives as long as the process: collecting
    # while it loads finds nothing and cost about a sixth of a second of every start. Frozen
    # afterwards, it is also left out of every later full collection.
    gc.disable()
    try:
        from bot.cli import main as command
    finally:
        gc.freeze()
        gc.enable()
    return command()


if __name__ == "__main__":
    sys.exit(main())
