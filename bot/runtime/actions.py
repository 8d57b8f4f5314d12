"""Performing actions on the connected platforms: in order and isolated for events, strictly
(errors propagate) for scheduled work."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from bot.core.actions import Action, Answer, Post, SendDirect, action_platform
from bot.core.platform import (
    Capability,
    PerformsOnce,
    Platform,
    PlatformError,
    PlatformUnavailable,
)
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

    async def perform(self, actions: Sequence[Action]) -> None:
        """Perform actions in order; a failing one is logged and the rest go on."""
        for action in actions:
            platform = self._platforms.get(action_platform(action))
            if platform is None:
                log.warning(
                    "no %s platform to perform %s", action_platform(action), type(action).__name__
                )
                continue
            try:
                await self._perform(platform, action)
            except Exception:
                log.exception("%s could not perform %s", platform.name, type(action).__name__)

    async def perform_one(self, action: Action) -> MessageRef | None:
        """Perform one action for scheduled work and return what it posted; errors propagate."""
        # Raising lets the scheduled run fail and be retried; a platform without threads gets
        # the message plain rather than an error.
        platform = self._platforms.get(action_platform(action))
        if platform is None:
            raise PlatformError(f"no {action_platform(action)} platform is connected")
        if (
            isinstance(action, Post)
            and action.start_thread
            and Capability.THREADS not in platform.capabilities
        ):
            action = replace(action, start_thread=None)
        return await self._perform(platform, action)

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
        platform: Platform, action: Action, key: str | None = None, resend: bool = False
    ) -> MessageRef | None:
        # A direct message that says "sent" only when it was: the platform answers `fallback`
        # with `refused` itself and reports no ref, so the "sent" answer follows a ref only.
        if not isinstance(action, SendDirect) or action.sent is None or action.fallback is None:
            return await _once(platform, action, key, resend)
        ref = await _once(platform, replace(action, sent=None), key, resend)
        if ref is not None:
            await platform.perform(Answer(to=action.fallback, content=action.sent))
        return ref

    async def perform_then(
        self,
        actions: Sequence[Action],
        after: Sequence[Callable[[], Awaitable[None]]],
        first: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        """Run `first`, perform actions, then run the work left for after the commit."""
        for work in first:
            try:
                await work()
            except Exception:
                log.exception("work before the actions failed")
        await self.perform(actions)
        for work in after:
            try:
                await work()
            except Exception:
                log.exception("background work after commit failed")


async def _once(
    platform: Platform, action: Action, key: str | None, resend: bool
) -> MessageRef | None:
    if key is not None and isinstance(platform, PerformsOnce):
        return await platform.perform_once(action, key=key, resend=resend)
    return await platform.perform(action)
