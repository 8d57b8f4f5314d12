"""The transactional outbox: every side effect after an acknowledgement is a row written in
the transaction of its cause, and only the deliverer performs it.

The writer claims its own rows as it writes them (claim 1, a lease), so after the commit
they are handed to the deliverer in memory: no second round trip before the platform call.
Rows of one lane (a channel, a member's DMs) are performed in order; lanes run side by side.
Leases are renewed while the process lives; rows of a process that died are taken over once
their lease runs out, with the claim number as the fence: a holder that lost its lease (a
pause, a blocked loop) checks before it sends and stops. "Done" is written only on the
platform's confirmation, with the platform's reference and the row's confirmation hook in
the same transaction (a digest is "posted" only then). Transient failures are retried with
back-off, keeping the lane's order; permanent ones park the row, log it and, when the row
says so, tell whoever asked; answers to interactions that can no longer be answered are
dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core.actions import (
    Action,
    Answer,
    Post,
    PublishHome,
    React,
    SendDirect,
    Unreact,
    action_platform,
)
from bot.core.clock import Clock
from bot.core.platform import PlatformError, PlatformUnavailable
from bot.core.refs import MemberRef, MessageRef
from bot.runtime.actions import ActionPerformer
from bot.runtime.codec import decode_action, encode_action
from bot.storage import Connection
from bot.storage import outbox as repo
from bot.storage.database import Database

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(seconds=30)
# How long each platform lets an interaction be answered (Slack's response_url: 30 minutes).
ANSWER_LIFETIMES = {"discord": timedelta(minutes=15), "slack": timedelta(minutes=30)}
_DEFAULT_ANSWER_LIFETIME = timedelta(minutes=15)
_MAX_ATTEMPTS = 40
_FIRST_BACKOFF = 0.5  # seconds, doubled per failed attempt
_MAX_BACKOFF = 300.0
# How long the confirmation of an effect that is harmless to repeat (a reaction) may wait to
# share its transaction with others: at 200 messages a second that is one write instead of
# one per batch. A kill meanwhile only repeats the reaction, which the platform keeps once.
_IDEMPOTENT_LINGER = 0.25

# Runs in the transaction that marks a row done: (connection, the hook's arguments, what the
# platform answered, now). It may return effects that follow from the confirmation (a mirror
# created while its session changed): they are written in that same transaction.
DeliveredHook = Callable[
    [Connection, Mapping[str, Any], MessageRef | None, datetime],
    Awaitable["Sequence[Effect | Action] | None"],
]
ParkedHook = Callable[[Connection, Mapping[str, Any], datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Effect:
    """One side effect to write: the action, and what to do once the platform confirms it."""

    action: Action
    key: str | None = None  # stable for scheduled parts; None: a fresh one
    then: str | None = None  # a hook registered with `Outbox.on_delivered` / `on_parked`
    args: Mapping[str, Any] = field(default_factory=dict)  # JSON-ready, for the hook
    on_park: Action | None = None  # sent when the effect fails for good (to whoever asked)
    member: str | None = None  # whose words it carries (purged by /forget-me)
    lane: str | None = None  # None: `lane_of(action)`; else performed in order with that lane


@dataclass(frozen=True, slots=True)
class Attempt:
    """The newest effect written under a stable key: `base`, then `base:2`, `base:3`... (a
    post that failed for good is tried again under the next key; one still pending is not
    written twice)."""

    base: str
    number: int  # 0: nothing written under `base` yet
    status: str | None  # pending | done | parked | dropped; None: nothing written
    result_ref: str | None = None

    @property
    def key(self) -> str:
        """The key of this attempt (of the first one when none was written)."""
        return attempt_key(self.base, max(self.number, 1))

    @property
    def pending(self) -> bool:
        """Written and not yet delivered: writing it again would send it twice."""
        return self.status == repo.PENDING

    @property
    def delivered(self) -> bool:
        """Confirmed by the platform."""
        return self.status == repo.DONE

    def next_key(self) -> str:
        """The key to write now: this attempt's while none or one pending, else a new one."""
        if self.status is None or self.pending:
            return self.key
        return attempt_key(self.base, self.number + 1)


def attempt_key(base: str, number: int) -> str:
    """The outbox key of attempt `number` (1, 2...) of the effect keyed `base`."""
    base = base[:280]
    return base if number <= 1 else f"{base}:{number}"


async def latest_attempt(conn: Connection, base: str) -> Attempt:
    """The newest attempt written under `base` (see `Attempt`)."""
    base = base[:280]
    newest = Attempt(base, 0, None)
    for key, status, result_ref in await repo.attempts(conn, base):
        suffix = key[len(base) + 1 :]
        if key == base:
            number = 1
        elif suffix.isdigit():
            number = int(suffix)
        else:
            continue  # another key that only starts like this one
        if number > newest.number:
            newest = Attempt(base, number, status, result_ref)
    return newest


def direct_lane(member: MemberRef | str) -> str:
    """The lane of a member's direct messages."""
    return f"dm:{member}"


def lane_of(action: Action) -> str:
    """What must stay in order with this action: its channel, or the member's DMs."""
    match action:
        case Post():
            return str(action.channel)
        case SendDirect():
            return direct_lane(action.member)
        case PublishHome():
            return f"home:{action.member}"
        case Answer():
            if action.to.channel is not None:
                return str(action.to.channel)
            return f"interaction:{action.to.platform}:{action.to.token[:40]}"
        case _:
            if hasattr(action, "message"):
                return str(action.message.channel)
            return f"{action_platform(action)}:events"


def _holds_token(action: Action) -> bool:
    return isinstance(action, Answer) or (
        isinstance(action, SendDirect) and action.fallback is not None
    )


def _member_of(effect: Effect) -> str | None:
    if effect.member is not None:
        return effect.member
    if isinstance(effect.action, SendDirect | PublishHome):
        return str(effect.action.member)
    return None


def _expiry(action: Action, now: datetime) -> datetime | None:
    if isinstance(action, Answer):
        return now + ANSWER_LIFETIMES.get(action.to.platform, _DEFAULT_ANSWER_LIFETIME)
    return None


@dataclass(slots=True)
class Held:
    """A row this process holds, on its way to the platform."""

    key: str
    lane: str
    action: Action
    claim: int
    attempts: int = 0
    expires_at: datetime | None = None
    then: str | None = None
    args: str | None = None
    on_park: str | None = None
    resend: bool = False  # an earlier attempt may have reached the platform
    verify: bool = False  # our lease may have lapsed: check the claim before sending


@dataclass(slots=True)
class _Confirmation:
    held: Held
    ref: MessageRef | None

    @property
    def may_wait(self) -> bool:
        """Whether recording it can wait a little (repeating it would change nothing)."""
        return isinstance(self.held.action, React | Unreact) and self.held.then is None


class Outbox:
    """Writes effects with their cause and delivers them: once, in order per lane."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        performer: ActionPerformer,
        *,
        owner: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        poll_seconds: float | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._performer = performer
        self.owner = owner or f"outbox:{uuid.uuid4().hex[:16]}"
        self.lease = lease
        self._poll_seconds = poll_seconds or min(5.0, lease.total_seconds() / 2)
        self._hooks: dict[str, DeliveredHook] = {}
        self._park_hooks: dict[str, ParkedHook] = {}
        self._lanes: dict[str, deque[Held]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._known: set[str] = set()  # keys held in memory
        self._confirmations: list[_Confirmation] = []
        self._flushing: asyncio.Task[None] | None = None
        self._urgent = asyncio.Event()  # a confirmation that should not wait is queued
        self._background: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._running = False
        self._valid_until = clock.now() + lease

    # --- writing ------------------------------------------------------------------------

    def on_delivered(self, name: str, hook: DeliveredHook) -> None:
        """Run `hook` in the transaction that confirms a row written with `then=name`."""
        if name in self._hooks and self._hooks[name] is not hook:
            raise ValueError(f"an outbox hook named {name!r} is registered already")
        self._hooks[name] = hook

    def on_parked(self, name: str, hook: ParkedHook) -> None:
        """Run `hook` in the transaction that parks a row written with `then=name` (undo what
        its cause assumed would reach the platform)."""
        if name in self._park_hooks and self._park_hooks[name] is not hook:
            raise ValueError(f"an outbox park hook named {name!r} is registered already")
        self._park_hooks[name] = hook

    async def write(
        self, conn: Connection, effects: Sequence[Effect | Action], now: datetime
    ) -> list[Held]:
        """Write effects in the caller's transaction, held by us; `hand_over` them after the
        commit. A key written before is left as it is (a resumed run re-emits its parts)."""
        if not effects:
            return []
        rows: list[dict[str, Any]] = []
        held: list[Held] = []
        lease_until = now + self.lease
        for item in effects:
            effect = item if isinstance(item, Effect) else Effect(action=item)
            key = effect.key or f"x:{uuid.uuid4().hex}"
            expires_at = _expiry(effect.action, now)
            args = json.dumps(dict(effect.args), separators=(",", ":")) if effect.then else None
            on_park = encode_action(effect.on_park) if effect.on_park is not None else None
            lane = effect.lane or lane_of(effect.action)
            rows.append(
                {
                    "key": key,
                    "lane": lane[:300],
                    "platform": action_platform(effect.action),
                    "action": encode_action(effect.action),
                    "words_of": _member_of(effect),
                    "status": repo.PENDING,
                    "claimed_by": self.owner,
                    "claim": 1,
                    "lease_until": lease_until,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "expires_at": expires_at,
                    "then_hook": effect.then,
                    "then_args": args,
                    "on_park": on_park,
                    "created_at": now,
                }
            )
            held.append(
                Held(
                    key=key,
                    lane=lane,
                    action=effect.action,
                    claim=1,
                    expires_at=expires_at,
                    then=effect.then,
                    args=args,
                    on_park=on_park,
                )
            )
        if all(effect.key is None for effect in effects if isinstance(effect, Effect)):
            await repo.insert_rows(conn, rows)
            return held
        inserted = await repo.insert_effects(conn, rows)
        return [item for item in held if item.key in inserted]

    def hand_over(self, held: Sequence[Held]) -> None:
        """Queue committed rows for delivery (call only after their transaction committed)."""
        for item in held:
            if item.key in self._known:
                continue
            self._known.add(item.key)
            self._lanes.setdefault(item.lane, deque()).append(item)
            if self._running:
                self._start_lane(item.lane)

    def _hand_over_next(self, lane: str, held: Sequence[Held]) -> None:
        """Queue committed rows right after the row `lane` is delivering now."""
        queue = self._lanes.setdefault(lane, deque())
        place = 1 if queue else 0
        for item in held:
            if item.key in self._known:
                continue
            self._known.add(item.key)
            queue.insert(place, item)
            place += 1
        if self._running and queue:
            self._start_lane(lane)

    # --- running ------------------------------------------------------------------------

    async def start(self) -> None:
        """Deliver what is queued, take every row whose holder is gone, and keep watching."""
        if self._running:
            return
        self._running = True
        for lane in list(self._lanes):
            self._start_lane(lane)
        self._background = [
            asyncio.create_task(self._poll(), name="outbox-poll"),
            asyncio.create_task(self._renew(), name="outbox-renew"),
        ]

    async def drain(self) -> None:
        """Wait until every row handed over so far is delivered (or parked) and recorded."""
        while self._workers or self._confirmations or self._flushing is not None:
            if self._workers:
                # `wait`, not `gather`: a caller that gives up must not cancel the lanes.
                await asyncio.wait(list(self._workers.values()))
            await self._flush_now()

    async def stop(self, within: float = 10.0, *, final: bool = True) -> None:
        """Deliver what is in hand (for at most `within` seconds), then let go of the rest for
        the next process or start; `final` False: a later stop follows (after the dispatcher's
        last batch), and only the last one logs what is left."""
        if self._running and within > 0:
            try:
                await asyncio.wait_for(self.drain(), within)
            except TimeoutError:
                log.warning("outbox: stopping with %d effect(s) undelivered", len(self._known))
        self._running = False
        tasks = [*self._background, *self._workers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._background = []
        await self._flush_now()
        try:
            async with self._database.transaction() as conn:
                released = await repo.release(conn, self.owner, self._clock.now())
            # The last stop lets go again of what an earlier one did (the rows stay ours until
            # another process takes them): its count is the whole.
            if final and released:
                log.info("outbox: %d undelivered effect(s) left for the next start", released)
        except Exception:
            log.exception("outbox: could not release held effects; they wait out their lease")
        self._lanes.clear()
        self._workers.clear()
        self._known.clear()

    def wake(self) -> None:
        """Look for rows to take now (another process's were released, or a test moved time)."""
        self._wake.set()

    async def take_stale(self, limit: int = 200) -> int:
        """Claim rows whose holder's lease ran out and queue them; return how many."""
        now = self._clock.now()
        taken: list[Held] = []
        async with self._database.transaction() as conn:
            for row in await repo.claimable(conn, now, limit):
                if row.key in self._known:
                    continue
                if not await repo.take(conn, row, self.owner, now + self.lease, now):
                    continue
                taken.append(
                    Held(
                        key=row.key,
                        lane=row.lane,
                        action=decode_action(row.action),
                        claim=row.claim + 1,
                        attempts=row.attempts,
                        expires_at=row.expires_at,
                        then=row.then_hook,
                        args=row.then_args,
                        on_park=row.on_park,
                        resend=True,
                    )
                )
        if taken:
            log.info("outbox: took %d undelivered effect(s) over", len(taken))
            self.hand_over(taken)
        return len(taken)

    async def _poll(self) -> None:
        while True:
            try:
                await self.take_stale()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox: looking for undelivered effects failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)

    async def _renew(self) -> None:
        every = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            now = self._clock.now()
            holding = sum(len(queue) for queue in self._lanes.values())
            try:
                async with self._database.transaction() as conn:
                    renewed = await repo.renew(conn, self.owner, now + self.lease)
                if now >= self._valid_until or renewed < holding:
                    # Our leases lapsed (the process was paused) or some rows are no longer
                    # ours: check each before sending it.
                    for queue in self._lanes.values():
                        for item in queue:
                            item.verify = True
                self._valid_until = now + self.lease
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox: renewing leases failed")

    def _start_lane(self, lane: str) -> None:
        if lane not in self._workers:
            self._workers[lane] = asyncio.create_task(self._run_lane(lane), name=f"lane {lane}")

    async def _run_lane(self, lane: str) -> None:
        queue = self._lanes[lane]
        try:
            while queue:
                item = queue[0]
                try:
                    await self._deliver(item)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("outbox: delivering %s failed unexpectedly", item.key)
                queue.popleft()
                self._known.discard(item.key)
        finally:
            self._workers.pop(lane, None)
            if not queue:
                self._lanes.pop(lane, None)
            else:
                current = asyncio.current_task()
                if self._running and current is not None and not current.cancelling():
                    self._start_lane(lane)

    # --- delivering ---------------------------------------------------------------------

    async def _deliver(self, item: Held) -> None:
        kind = type(item.action).__name__
        while True:
            now = self._clock.now()
            if item.expires_at is not None and now >= item.expires_at:
                log.warning("outbox: dropped a %s that can no longer be answered", kind)
                await self._close_now(item, repo.DROPPED, error="expired")
                return
            if (item.verify or now >= self._valid_until) and not await self._still_ours(item):
                log.warning("outbox: %s was taken over by another process; not sending", kind)
                return
            try:
                ref = await self._performer.perform_effect(
                    item.action, key=item.key, resend=item.resend
                )
            except PlatformUnavailable as error:
                if not await self._retry(item, error):
                    return
                continue
            except PlatformError as error:
                await self._park(item, str(error))
                return
            except (OSError, TimeoutError) as error:  # the network, beyond the adapter
                if not await self._retry(item, error):
                    return
                continue
            except Exception as error:
                log.exception("outbox: %s failed with a bug; parked", kind)
                await self._park(item, f"{type(error).__name__}: {error}")
                return
            confirmation = _Confirmation(item, ref)
            self._confirmations.append(confirmation)
            if not confirmation.may_wait:
                self._urgent.set()
            if self._flushing is None:
                self._flushing = asyncio.create_task(self._flush(), name="outbox-confirm")
            return

    async def _retry(self, item: Held, error: Exception) -> bool:
        """Count a transient failure and wait before the next attempt; False: parked."""
        item.attempts += 1
        item.resend = True
        if item.attempts >= _MAX_ATTEMPTS:
            await self._park(item, f"gave up after {item.attempts} attempts: {error}")
            return False
        delay = min(_MAX_BACKOFF, _FIRST_BACKOFF * 2 ** (item.attempts - 1))
        if isinstance(error, PlatformUnavailable) and error.retry_after:
            delay = max(delay, error.retry_after)  # a rate limit says how long
        log.warning(
            "outbox: %s failed (%s); attempt %d again in %.1f s",
            type(item.action).__name__,
            error,
            item.attempts + 1,
            delay,
        )
        now = self._clock.now()
        async with self._database.transaction() as conn:
            await repo.retry_later(
                conn,
                item.key,
                self.owner,
                item.claim,
                attempts=item.attempts,
                next_attempt_at=now + timedelta(seconds=delay),
                error=str(error)[:500],
            )
        await asyncio.sleep(delay)
        return True

    async def _still_ours(self, item: Held) -> bool:
        async with self._database.reading() as conn:
            held = await repo.still_held(conn, item.key, self.owner, item.claim)
        item.verify = not held
        return held

    async def _park(self, item: Held, error: str) -> None:
        log.warning(
            "outbox: parked a %s that failed for good: %s", type(item.action).__name__, error
        )
        now = self._clock.now()
        notices: list[Held] = []
        async with self._database.transaction() as conn:
            closed = await repo.close(
                conn, item.key, self.owner, item.claim, status=repo.PARKED, now=now, error=error
            )
            hook = self._park_hooks.get(item.then) if closed and item.then else None
            if hook is not None:
                try:
                    async with conn.begin_nested():
                        await hook(conn, json.loads(item.args) if item.args else {}, now)
                except Exception:
                    log.exception("outbox: hook %s failed after parking", item.then)
            if closed and item.on_park is not None:
                # In the parked row's lane, next: a welcome posted in the channel because the
                # DM was refused still comes before what followed the welcome.
                notice = Effect(action=decode_action(item.on_park), lane=item.lane)
                notices = await self.write(conn, [notice], now)
        self._hand_over_next(item.lane, notices)

    async def _close_now(self, item: Held, status: str, *, error: str) -> None:
        async with self._database.transaction() as conn:
            await repo.close(
                conn,
                item.key,
                self.owner,
                item.claim,
                status=status,
                now=self._clock.now(),
                error=error,
                keep_action=False,
            )

    async def _flush(self) -> None:
        try:
            while self._confirmations:
                if not self._urgent.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._urgent.wait(), _IDEMPOTENT_LINGER)
                self._urgent.clear()
                batch, self._confirmations = self._confirmations, []
                try:
                    await self._confirm(batch)
                except Exception:
                    # The effects happened; their rows stay pending and a later attempt finds
                    # them sent (nonce, metadata) or repeats an idempotent one.
                    log.exception("outbox: recording %d delivered effect(s) failed", len(batch))
        finally:
            self._flushing = None

    async def _flush_now(self) -> None:
        self._urgent.set()  # whoever waits for the records (drain, stop) waits for nobody else
        if self._flushing is not None:
            await asyncio.wait([self._flushing])
        if self._confirmations:
            self._flushing = asyncio.create_task(self._flush(), name="outbox-confirm")
            await asyncio.wait([self._flushing])

    async def _confirm(self, batch: list[_Confirmation]) -> None:
        now = self._clock.now()
        # Rows without a hook are closed in one statement each kind (the hot path: reactions);
        # rows with a hook one by one, so a hook runs only for a row that was still ours.
        plain = [c for c in batch if c.held.then not in self._hooks]
        hooked = [c for c in batch if c.held.then in self._hooks]
        following: list[Held] = []
        async with self._database.transaction() as conn:
            for keep in (True, False):
                await repo.close_many(
                    conn,
                    self.owner,
                    [
                        (c.held.key, c.held.claim, None if c.ref is None else str(c.ref)[:300])
                        for c in plain
                        if _holds_token(c.held.action) is not keep
                    ],
                    now,
                    keep_action=keep,
                )
            for confirmation in hooked:
                item = confirmation.held
                ref = confirmation.ref
                closed = await repo.close(
                    conn,
                    item.key,
                    self.owner,
                    item.claim,
                    status=repo.DONE,
                    now=now,
                    result_ref=None if ref is None else str(ref)[:300],
                    keep_action=not _holds_token(item.action),
                )
                if not closed:
                    log.warning("outbox: %s was confirmed by another holder", item.key)
                    continue
                hook = self._hooks[item.then] if item.then else None
                if hook is None:
                    continue
                args = json.loads(item.args) if item.args else {}
                try:
                    written: list[Held] = []
                    async with conn.begin_nested():
                        more = await hook(conn, args, ref, now)
                        if more:
                            written = await self.write(conn, more, now)
                    following.extend(written)
                except Exception:
                    log.exception("outbox: hook %s failed after delivery", item.then)
        self.hand_over(following)
