"""Log lines never carry secrets or members' words: a filter for every handler the bot installs.

discord.py logs each REST call at DEBUG with its URL, and an interaction's URL holds the token
that lets anyone answer it for 15 minutes; slack-bolt logs a rejected request's whole body
(member text included) at INFO. At DEBUG, discord.py also logs every request and response body
(history read by backfill, answers that repeat a member's goal), and slack-sdk every Socket Mode
envelope and Web API payload. Rather than lose those lines, the filter blanks the secret part.
"""

from __future__ import annotations

import logging
import re

WITHHELD = "<withheld>"
# Libraries whose DEBUG and INFO lines are kept out (aiosqlite logs every statement with its
# parameters: members' names and words); their warnings still show.
NOISY_LOGGERS = ("alembic", "aiosqlite", "apscheduler", "discord.gateway", "discord.client")

_PATTERNS = (
    # Interaction and webhook tokens in Discord REST paths.
    re.compile(r"(/interactions/\d+/)[^/\s'\"]+"),
    re.compile(r"(/webhooks/\d+/)[^/\s'\"?]+"),
    # Slack tokens and a Discord bot token anywhere in a line.
    re.compile(r"()\bxox[abpors]-[\w-]+"),
    re.compile(r"()\bxapp-[\w-]+"),
    re.compile(r"()\b[\w-]{23,28}\.[\w-]{6,7}\.[\w-]{27,}"),
    # A member's secret calendar address.
    re.compile(r"(/calendar/)[^/\s'\"]+(?=\.ics)"),
    # discord.py at DEBUG: request bodies ("with ... has returned"), response bodies and
    # gateway payloads (messages, and interactions with their tokens).
    re.compile(r"(\bwith )(?!None has returned)\S.*?(?= has returned \d+$)", re.DOTALL),
    re.compile(r"(\bhas received )\S.*", re.DOTALL),
    re.compile(r"(WebSocket Event: )\S.*", re.DOTALL),
    # slack-sdk at DEBUG: Socket Mode envelopes in and acknowledgements out, Web API payloads.
    re.compile(r"(Received message \(type: \w+, data: ).+(?=, extra: )", re.DOTALL),
    re.compile(r"(Sending a message: ).+(?= from session: )", re.DOTALL),
    re.compile(r"(, data: )(?!\{\}, json: )\S.*?(?=, json: )", re.DOTALL),
    re.compile(r"(, json: )(?!\{\}, proxy: )\S.*?(?=, proxy: )", re.DOTALL),
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
    """Rewrites each record's message through `redact` (arguments are folded in first), and
    its traceback: an exception's text can hold a URL with a token in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, without its secrets."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text once it is set: format it here, then blank it.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
