"""config.toml with every feature's own tables: the kernel's reader (`bot.core.config`)
given the sections the feature list declares."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.core import config as kernel
from bot.core.config import Config, ConfigSection
from bot.features import FEATURES


def sections() -> tuple[ConfigSection[Any], ...]:
    """Every top-level table a feature owns."""
    return tuple(section for feature in FEATURES for section in feature.settings)


def parse_config(data: Mapping[str, Any], source: str = "config.toml") -> Config:
    """Validate parsed TOML into a `Config`; raise `ConfigError` naming the key and the fix."""
    return kernel.parse_config(data, source, sections())


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raise `ConfigError` with a fix for every problem."""
    return kernel.load_config(path, sections())
