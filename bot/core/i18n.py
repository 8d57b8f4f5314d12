"""The message catalog: every text the bot sends comes from a `locales/<language>.toml`: the
kernel's (`bot/core/locales/`) and each feature's (`bot/features/<name>/locales/`).

Keys are dotted (`links.saved`); values use `{name}` placeholders. A language that lacks a key
falls back to English, so a partial translation still works.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
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


_BOT = Path(__file__).resolve().parent.parent


def catalog_files(language: str) -> list[Path]:
    """The kernel's file for `language`, then each feature's (`bot/features/*/locales/`)."""
    files = [_BOT / "core" / "locales" / f"{language}.toml"]
    files.extend(sorted((_BOT / "features").glob(f"*/locales/{language}.toml")))
    return [file for file in files if file.is_file()]


@cache
def _load(language: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for file in catalog_files(language):
        texts: dict[str, str] = {}
        _flatten("", tomllib.loads(file.read_text("utf-8")), texts)
        if clash := texts.keys() & out.keys():
            raise ValueError(f"{file}: {sorted(clash)[0]} is defined in another catalog file too")
        out.update(texts)
    return out


def available_languages() -> list[str]:
    """Languages with a catalog file."""
    return sorted(
        {file.name.removesuffix(".toml") for file in (_BOT / "core" / "locales").glob("*.toml")}
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
