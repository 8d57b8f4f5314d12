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


def test_debug_bodies_of_both_clients_are_blanked_and_the_lines_kept() -> None:
    # discord.py's request and response lines, and its gateway payloads.
    sent = 'POST https://d/api/v10/channels/1/messages with {"content":"my words"} has returned 200'
    assert redact(sent) == (
        f"POST https://d/api/v10/channels/1/messages with {WITHHELD} has returned 200"
    )
    assert redact("GET /users/@me with None has returned 200") == (
        "GET /users/@me with None has returned 200"
    )
    assert redact("GET /channels/1/messages has received [{'content': 'mine'}]") == (
        f"GET /channels/1/messages has received {WITHHELD}"
    )
    assert "token" not in redact("For Shard ID 0: WebSocket Event: {'t': 'X', 'token': 'a'}")
    # slack-sdk's Socket Mode envelopes and acknowledgements, and its Web API payloads.
    envelope = "Received message (type: TEXT, data: '{\"text\": \"mine\"}', extra: , session: s_1)"
    assert redact(envelope) == (
        f"Received message (type: TEXT, data: {WITHHELD}, extra: , session: s_1)"
    )
    ack = 'Sending a message: {"envelope_id": "e", "payload": {"text": "mine"}} from session: s_1'
    assert redact(ack) == f"Sending a message: {WITHHELD} from session: s_1"
    request = (
        "Sending a request - url: POST /api/chat.postMessage, params: {}, files: {}, "
        "data: {}, json: {'text': 'mine'}, proxy: {}, headers: {}"
    )
    assert "mine" not in redact(request) and "data: {}, json: <withheld>, proxy" in redact(request)
    assert redact("GET /calendar/s3cret.ics") == f"GET /calendar/{WITHHELD}.ics"


def test_a_traceback_is_blanked_too() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.logs.traceback")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError("404 for url='https://d/api/v10/webhooks/1/secret-token/messages'")
        except RuntimeError:
            logger.exception("answering failed")
    finally:
        logger.removeHandler(handler)
    assert "secret-token" not in stream.getvalue()
    assert f"/webhooks/1/{WITHHELD}/messages" in stream.getvalue()
    assert "answering failed" in stream.getvalue() and "RuntimeError" in stream.getvalue()
