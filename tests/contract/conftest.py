"""The `driver` fixture: the application on one platform, chosen by the test's parameter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from _pytest.mark import ParameterSet

from bot.core.clock import ManualClock
from bot.core.platform import Capability
from tests.contract.drivers import ConsoleDriver, DiscordDriver, Driver, SlackDriver

PLATFORMS = ("discord", "slack", "console")


def platforms(**xfail: str) -> list[ParameterSet]:
    """One parameter per platform; `console="..."` marks that platform's run as a strict
    expected failure with that reason: a gap of the adapter, which its driver reports by
    raising NotImplementedError (any other failure is a real failure)."""
    unknown = set(xfail) - set(PLATFORMS)
    assert not unknown, f"no such platform: {unknown}"
    return [
        pytest.param(
            name,
            id=name,
            marks=[gap(xfail[name])] if name in xfail else [],
        )
        for name in PLATFORMS
    ]


def gap(reason: str) -> pytest.MarkDecorator:
    """A strict expected failure: the driver raises NotImplementedError for what the adapter
    lacks; an XPASS (the adapter caught up) fails the run until the mark is removed."""
    return pytest.mark.xfail(strict=True, raises=NotImplementedError, reason=reason)


def needs(driver: Driver, *capabilities: Capability) -> None:
    """Skip when the platform does not declare one of `capabilities` at all."""
    missing: Sequence[Capability] = [c for c in capabilities if c not in driver.capabilities]
    if missing:
        named = ", ".join(f"Capability.{c.name}" for c in missing)
        pytest.skip(f"{driver.name} does not declare {named}")


@pytest.fixture
async def driver(
    request: pytest.FixtureRequest, db_url: str, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[Driver]:
    """The running application on the platform named by the test's `driver` parameter."""
    name: Any = request.param
    made: Driver
    if name == "discord":
        made = DiscordDriver(db_url, clock)
    elif name == "slack":
        made = SlackDriver(tmp_path)
    elif name == "console":
        made = ConsoleDriver(db_url, clock, tmp_path)
    else:  # pragma: no cover - PLATFORMS lists them all
        raise AssertionError(f"no driver for {name!r}")
    async with made:
        yield made
