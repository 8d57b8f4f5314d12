"""Actions as JSON and back, so the outbox can keep them across a crash.

Only the frozen dataclasses of `bot.core.actions` and `bot.core.refs` travel; anything else
is refused when written, never discovered broken when read back.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime
from typing import Any

from bot.core.actions import (
    Action,
    Answer,
    Attachment,
    Button,
    Content,
    Edit,
    HomePage,
    Menu,
    MenuOption,
    MirrorGathering,
    Panel,
    Post,
    PublishHome,
    React,
    SendDirect,
    Unreact,
)
from bot.core.refs import ChannelRef, InteractionRef, MemberRef, MessageRef

_TYPES: dict[str, type[Any]] = {
    kind.__name__: kind
    for kind in (
        Post,
        React,
        Unreact,
        SendDirect,
        Answer,
        Edit,
        MirrorGathering,
        PublishHome,
        HomePage,
        Panel,
        Content,
        Button,
        Menu,
        MenuOption,
        Attachment,
        ChannelRef,
        MessageRef,
        MemberRef,
        InteractionRef,
    )
}


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, tuple):
        return {"tuple": [_encode(item) for item in value]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if dataclasses.is_dataclass(value) and type(value).__name__ in _TYPES:
        fields = {
            field.name: _encode(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
        return {"type": type(value).__name__, "fields": fields}
    raise TypeError(f"cannot keep a {type(value).__name__} in the outbox")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "b64" in value:
        return base64.b64decode(value["b64"])
    if "dt" in value:
        return datetime.fromisoformat(value["dt"])
    if "tuple" in value:
        return tuple(_decode(item) for item in value["tuple"])
    kind = _TYPES[value["type"]]
    return kind(**{name: _decode(item) for name, item in value["fields"].items()})


def encode_action(action: Action) -> str:
    """An action as compact JSON."""
    return json.dumps(_encode(action), separators=(",", ":"), ensure_ascii=False)


def decode_action(text: str) -> Action:
    """The action `encode_action` wrote."""
    action: Action = _decode(json.loads(text))
    return action
