"""A platform token that no community uses is a configuration error, not a silent idle."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import facilitator

CONSOLE_ONLY = """
[storage]
url = "sqlite+aiosqlite:///facilitator.db"
[web]
enabled = false
[[communities]]
name = "demo"
[communities.console]
channels = ["general"]
"""


def test_a_token_for_a_platform_no_community_is_on_stops_check_and_run(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONSOLE_ONLY, "utf-8")
    token = {"DISCORD_TOKEN": "not-a-real-token"}
    for command in ("check", "run"):
        result = facilitator(command, "--config", str(config), cwd=tmp_path, env=token)
        err = result.stderr.decode()
        assert result.returncode == 2, (command, err)
        assert "DISCORD_TOKEN is set, but no community is on discord" in err
        assert "[communities.discord]" in err
        assert "not-a-real-token" not in err + result.stdout.decode()


def test_a_token_for_a_platform_a_community_is_on_is_fine_for_check(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONSOLE_ONLY + '[communities.slack]\nchannels = ["general"]\n', "utf-8")
    result = facilitator(
        "check",
        "--config",
        str(config),
        cwd=tmp_path,
        env={"SLACK_BOT_TOKEN": "xoxb-not-real", "SLACK_APP_TOKEN": "xapp-not-real"},
    )
    assert result.returncode == 0, result.stderr.decode()
    assert "slack (socket mode)" in result.stdout.decode()


def test_check_refuses_what_run_would_refuse_for_a_missing_slack_secret(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONSOLE_ONLY + '[communities.slack]\nchannels = ["general"]\n', "utf-8")
    token = {"SLACK_BOT_TOKEN": "xoxb-not-real"}  # Socket Mode, and no SLACK_APP_TOKEN
    for command in ("check", "run"):
        result = facilitator(command, "--config", str(config), cwd=tmp_path, env=token)
        err = result.stderr.decode()
        assert result.returncode == 2, (command, err, result.stdout.decode())
        assert "SLACK_APP_TOKEN is not set" in err and "connections:write" in err
        assert "xoxb-not-real" not in err + result.stdout.decode()


def test_no_token_with_the_console_off_is_a_config_error_not_a_silent_idle(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONSOLE_ONLY + "[console]\nenabled = false\n", "utf-8")
    for command in ("check", "run"):
        result = facilitator(command, "--config", str(config), cwd=tmp_path)
        err = result.stderr.decode()
        assert result.returncode == 2, (command, err)
        assert "no platform would run" in err and '[console] enabled = "auto"' in err
