"""Log lines never carry secrets or members' words: a filter for every handler the bot installs.

discord.py logs each REST call at DEBUG with its URL, and an interaction's URL holds the token
that lets anyone answer it for 15 minutes; slack-bolt logs a rejected request's whole body
(member text included) at INFO. Rather than lose those lines, the filter blanks the secret part.
"""

from __future__ import annotations

import logging
import re

WITHHELD = "<withheld>"

_PATTERNS = (
    # Interaction and webhook tokens in Discord REST paths.
    re.compile(r"(/interactions/\d+/)[^/\s'\"]+"),
    re.compile(r"(/webhooks/\d+/)[^/\s'\"?]+"),
    # Slack tokens and a Discord bot token anywhere in a line.
    re.compile(r"()\bxox[abpors]-[\w-]+"),
    re.compile(r"()\bxapp-[\w-]+"),
    re.compile(r"()\b[\w-]{23,28}\.[\w-]{6,7}\.[\w-]{27,}"),
    # What slack-bolt prints of a request it refused or did not handle.
    re.compile(r"((?:request )?body: ?)\S.*", re.IGNORECASE | re.DOTALL),
    re.compile(r"(Unhandled request \().*(?=\))", re.DOTALL),
)


def redact(text: str) -> str:
    """`text` with tokens and request bodies replaced by a marker."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + WITHHELD, text)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites each record's message through `redact` (arguments are folded in first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, without its secrets."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
