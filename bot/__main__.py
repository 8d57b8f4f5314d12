"""`python -m bot` is the `facilitator` command."""

import sys

from bot.cli import main

sys.exit(main())
