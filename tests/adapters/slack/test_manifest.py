"""The app manifest asks for what the adapter needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from adapters.slack.platform import REQUIRED_SCOPES
from bot.core.config import SlackSettings
from tests.fakes.slack_server import ALL_SCOPES

MANIFEST = Path(__file__).resolve().parents[3] / "adapters" / "slack" / "manifest.yaml"


def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_manifest_grants_every_scope_the_self_check_expects() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert set(REQUIRED_SCOPES) <= scopes
    assert scopes == set(ALL_SCOPES)  # the fake grants what an installed app has


def test_the_manifest_subscribes_to_the_events_the_adapter_translates() -> None:
    settings = manifest()["settings"]
    events = set(settings["event_subscriptions"]["bot_events"])
    assert {"message.channels", "message.groups", "message.im"} <= events
    assert {"reaction_added", "reaction_removed", "member_joined_channel"} <= events
    assert {"app_mention", "team_join"} <= events  # @Facilitator help; workspace joins
    assert settings["interactivity"]["is_enabled"] and settings["socket_mode_enabled"]


def test_the_manifest_declares_the_configured_default_command() -> None:
    [command] = manifest()["features"]["slash_commands"]
    assert command["command"] == SlackSettings().command
    assert command["should_escape"] is False
