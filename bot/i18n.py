"""The message catalog: every text the bot sends comes from `bot/locales/<language>.toml`.

Keys are dotted (`links.saved`); values use `{name}` placeholders. A language that lacks a key
falls back to English, so a partial translation still works.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

FALLBACK = "en"


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(name, value, out)
        elif isinstance(value, str):
            out[name] = value
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            out[name] = "\n".join(value)
        else:
            raise ValueError(f"locales: {name} must be text")


@cache
def _load(language: str) -> dict[str, str]:
    try:
        text = resources.files("bot.locales").joinpath(f"{language}.toml").read_text("utf-8")
    except FileNotFoundError:
        return {}
    out: dict[str, str] = {}
    _flatten("", tomllib.loads(text), out)
    return out


def available_languages() -> list[str]:
    """Languages with a catalog file."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in resources.files("bot.locales").iterdir()
        if entry.name.endswith(".toml")
    )


class Catalog:
    """Texts in one language."""

    def __init__(self, language: str = FALLBACK) -> None:
        self.language = language
        self._texts = _load(language)
        self._fallback = _load(FALLBACK)

    def has(self, key: str) -> bool:
        """True when the key exists in this language or the fallback."""
        return key in self._texts or key in self._fallback

    def __call__(self, key: str, /, **values: object) -> str:
        """The text for `key` with `{placeholders}` filled in."""
        template = self._texts.get(key) or self._fallback.get(key)
        if template is None:
            raise KeyError(f"no text {key!r} in the {self.language} catalog")
        return template.format(**values) if values else template
