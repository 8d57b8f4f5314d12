"""The connected platforms, and the one way an action reaches them: the outbox's deliverer
calls `perform_effect` for each row."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from bot.core.actions import Action, Answer, Post, SendDirect, action_platform
from bot.core.platform import Capability, PerformsOnce, Platform, PlatformUnavailable
from bot.core.refs import MessageRef

log = logging.getLogger(__name__)


class ActionPerformer:
    """The connected platforms, and the one way actions reach them."""

    def __init__(self) -> None:
        self._platforms: dict[str, Platform] = {}

    def attach(self, platform: Platform) -> None:
        """Perform actions on `platform` from now on."""
        self._platforms[platform.name] = platform

    def capabilities(self, platform: str) -> frozenset[Capability]:
        """What a connected platform can do (nothing when it is not connected)."""
        connected = self._platforms.get(platform)
        return frozenset(connected.capabilities) if connected is not None else frozenset()

    async def perform_effect(self, action: Action, *, key: str, resend: bool) -> MessageRef | None:
        """Perform one outbox row's action; `PlatformUnavailable` when it may work later."""
        platform = self._platforms.get(action_platform(action))
        if platform is None:
            raise PlatformUnavailable(f"no {action_platform(action)} platform is connected")
        if (
            isinstance(action, Post)
            and action.start_thread
            and Capability.THREADS not in platform.capabilities
        ):
            action = replace(action, start_thread=None)
        return await self._perform(platform, action, key, resend)

    @staticmethod
    async def _perform(
        platform: Platform, action: Action, key: str, resend: bool
    ) -> MessageRef | None:
        # A direct message that says "sent" only when it was: the platform answers `fallback`
        # with `refused` itself and reports no ref, so the "sent" answer follows a ref only.
        if not isinstance(action, SendDirect) or action.sent is None or action.fallback is None:
            return await _once(platform, action, key, resend)
        ref = await _once(platform, replace(action, sent=None), key, resend)
        if ref is not None:
            await platform.perform(Answer(to=action.fallback, content=action.sent))
        return ref

    @staticmethod
    async def run_after_commit(work: Sequence[Callable[[], Awaitable[None]]]) -> None:
        """Run work left for after a commit (no platform calls), each isolated and logged."""
        for step in work:
            try:
                await step()
            except Exception:
                log.exception("background work after commit failed")


async def _once(platform: Platform, action: Action, key: str, resend: bool) -> MessageRef | None:
    if isinstance(platform, PerformsOnce):
        return await platform.perform_once(action, key=key, resend=resend)
    return await platform.perform(action)
