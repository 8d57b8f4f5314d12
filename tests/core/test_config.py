"""Configuration: validated once, with errors that name the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config, parse_config
from bot.core.config import ConfigError, Secrets

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_config_is_valid() -> None:
    config = load_config(ROOT / "config.example.toml")
    assert [c.name for c in config.communities] == ["demo"]
    assert config.console.facilitators == ("fran",)
    assert config.communities[0].platforms["console"].channels == ("general", "resources")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[communities]]\nname='a'\ntimezone='Europe/Berln'\n", "communities[0].timezone"),
        ("[[communities]]\nname='a'\ncolour='red'\n", "communities[0].colour: is not a known"),
        ("[web]\nport='x'\n[[communities]]\nname='a'\n", "web.port: must be a whole number"),
        ("[[communities]]\nname='A B'\n", "communities[0].name"),
        ("[bot]\nlog_level='LOUD'\n[[communities]]\nname='a'\n", "bot.log_level"),
        ("", "communities: is missing"),
        ("[[communities]]\nname='a'\n[[communities]]\nname='a'\n", "used twice"),
        ("[slack]\nmode='carrier-pigeon'\n[[communities]]\nname='a'\n", "slack.mode"),
        (
            "[[communities]]\nname='a'\n[communities.nudges]\nquiet_hours='9pm to 8am'\n",
            "nudges.quiet_hours: '9pm to 8am' is not a range of times; write e.g. \"21:00-08:00\"",
        ),
        (
            "[[communities]]\nname='a'\n[communities.nudges]\nhourly_cap=0\n",
            "communities[0].nudges.hourly_cap: must be between 1 and 1000",
        ),
        (
            "[[communities]]\nname='a'\n[communities.nudges]\nlibrary='nowhere.toml'\n",
            "communities[0].nudges.library: 'nowhere.toml' is not a file",
        ),
        (
            "[[communities]]\nname='a'\n[communities.introductions]\nwhen='someday'\n",
            "communities[0].introductions.when",
        ),
    ],
)
def test_errors_name_the_key_and_the_fix(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert expected in str(caught.value)
    assert str(caught.value).startswith(str(tmp_path / "config.toml"))


@pytest.mark.parametrize(
    "text",
    [
        "[discord]\ntoken='abc'\n[[communities]]\nname='a'\n",
        "[slack]\ncommand='xoxb-123-456-abcdef'\n[[communities]]\nname='a'\n",
        "[storage]\nurl='postgresql+asyncpg://bot:hunter2@db/f'\n[[communities]]\nname='a'\n",
    ],
)
def test_secrets_in_the_file_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="secret") as caught:
        load_config(write(tmp_path, text))
    assert "hunter2" not in str(caught.value)


def test_missing_corrupt_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file; copy config.example.toml"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[[communities]\nname="))
    path = tmp_path / "latin1.toml"
    path.write_bytes("# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_secrets_come_from_the_environment_and_never_show_in_repr() -> None:
    secrets = Secrets.from_environment({"DISCORD_TOKEN": "sekrit", "SLACK_BOT_TOKEN": ""})
    assert secrets.discord_token == "sekrit"
    assert secrets.slack_bot_token is None
    assert "sekrit" not in repr(secrets)
    assert secrets.any_platform


def test_defaults() -> None:
    config = parse_config({"communities": [{"name": "x"}]})
    assert config.storage.url == "sqlite+aiosqlite:///facilitator.db"
    assert config.retention.message_text_days == 90
    assert config.retention.delivery_keys_days == 14
    assert config.communities[0].timezone == "UTC"
