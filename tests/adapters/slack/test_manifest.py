"""The app manifest asks for what the adapter needs, and declares what it listens to."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.slack import commands as slack_commands
from adapters.slack.platform import REQUIRED_SCOPES, SUBSCRIBED_EVENTS
from bot.app import Application
from bot.core.clock import ManualClock
from bot.core.config import Config, Secrets, SlackSettings
from bot.features.loop.service import ANNOTATE, REFLECT, SHARE
from tests.fakes.slack_server import ALL_SCOPES, FakeSlack, message_shortcut
from tests.helpers import Factory, commands, eventually

MANIFEST = Path(__file__).resolve().parents[3] / "adapters" / "slack" / "manifest.yaml"


def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_manifest_grants_every_scope_the_self_check_expects() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert set(REQUIRED_SCOPES) <= scopes
    assert scopes == set(ALL_SCOPES)  # the fake grants what an installed app has
    assert "app_mentions:read" in scopes  # app_mention events need it


def test_the_manifest_subscribes_to_the_events_the_adapter_handles() -> None:
    settings = manifest()["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == SUBSCRIBED_EVENTS
    assert {"app_home_opened", "app_mention", "team_join"} <= SUBSCRIBED_EVENTS
    assert settings["interactivity"]["is_enabled"] and settings["socket_mode_enabled"]


def test_the_manifest_enables_the_home_tab() -> None:
    home = manifest()["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True  # DMs: exports, nudges, Home answers


def test_the_manifest_declares_the_configured_default_command() -> None:
    [command] = manifest()["features"]["slash_commands"]
    assert command["command"] == SlackSettings().command
    assert command["should_escape"] is False


def test_the_manifest_declares_a_shortcut_for_each_commands_message_menu_entry(
    config_for: Callable[..., Config], clock: ManualClock
) -> None:
    table = Application(config_for(), secrets=Secrets(), clock=clock).commands
    derived = slack_commands.shortcuts(table)
    declared = {item["callback_id"]: item for item in manifest()["features"].get("shortcuts", [])}
    assert set(declared) == set(derived)
    assert {s.name for s in derived.values()} == {
        spec.on_message for spec in table if spec.on_message
    }
    # an app installed from an older manifest keeps its shortcut working
    assert "facilitator_add_to_digest" in slack_commands.registered_shortcuts(table)
    for callback_id, item in declared.items():
        shortcut = derived[callback_id]
        assert item["type"] == "message" and item["name"] == shortcut.name
        assert len(item["name"]) <= 24 and len(item["description"]) <= 150


@pytest.mark.parametrize(
    "callback_id",
    [item["callback_id"] for item in manifest()["features"].get("shortcuts", [])]
    + list(slack_commands.LEGACY_CALLBACKS),
)
async def test_the_bolt_app_answers_each_shortcut_the_manifest_declares(
    callback_id: str, fake: FakeSlack, start_platform: Factory
) -> None:
    table = commands()
    table.add(SHARE)
    table.add(REFLECT)
    table.add(ANNOTATE)
    await start_platform("socket", commands=table)
    message = fake.add_message("C0GENERAL", "UFRAN", "see <https://example.org/a>")
    payload = message_shortcut(
        callback_id,
        message,
        user="UALICE",
        channel="C0GENERAL",
        response_url=fake.new_response_url(),
    )
    await fake.wait_ack(await fake.push_envelope("interactive", payload))
    # a listener opened its form (bolt answers an unregistered callback with a 404 log only)
    await eventually(lambda: len(fake.views) == 1)


def test_the_manifest_says_where_http_mode_puts_the_options_url() -> None:
    # Socket Mode brings select menus' option requests over the socket; HTTP mode needs the
    # Options Load URL, which the header tells operators to set.
    assert "settings.interactivity.message_menu_options_url" in MANIFEST.read_text("utf-8")
