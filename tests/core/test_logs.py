"""The log filter blanks secrets and request bodies, and keeps the rest of each line."""

from __future__ import annotations

import io
import logging

from bot.core.logs import WITHHELD, RedactSecrets, redact


def test_tokens_and_bodies_are_blanked_and_the_line_kept() -> None:
    assert redact("POST /api/v10/interactions/123/aW50ZXJhY3Rpb24/callback has returned 204") == (
        f"POST /api/v10/interactions/123/{WITHHELD}/callback has returned 204"
    )
    assert redact("PATCH /webhooks/99/tok-en.x/messages/@original") == (
        f"PATCH /webhooks/99/{WITHHELD}/messages/@original"
    )
    assert WITHHELD in redact("using xoxb-1234-abcd and xapp-1-A1-2")
    assert "xoxb-1234" not in redact("using xoxb-1234-abcd")
    refused = "Invalid request signature detected (signature: v0=0, body: {'text': 'mine'})"
    assert redact(refused) == refused.split("body: ")[0] + f"body: {WITHHELD}"
    assert redact("an ordinary line") == "an ordinary line"


def test_the_filter_rewrites_formatted_records() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    try:
        logger.warning("%s %s", "GET", "/interactions/5/secret-token/callback")
    finally:
        logger.removeHandler(handler)
    assert "secret-token" not in stream.getvalue()
    assert f"/interactions/5/{WITHHELD}/callback" in stream.getvalue()
