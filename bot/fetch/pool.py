"""`ParserPool`: parsing of fetched pages and feeds in worker processes, off the event loop.

The start method is `forkserver`: forking a process that already runs aiosqlite's threads can
deadlock. A task that overruns its time limit takes its workers down with it (a process pool
cannot cancel a running call), and the pool starts afresh for the next task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class ParseFailed(Exception):
    """A parse did not finish: it took too long or its worker died."""


def _background() -> None:
    """Worker start-up: parsing yields the CPU to the event loop's process when both want it."""
    with contextlib.suppress(OSError):
        os.nice(10)


def default_workers() -> int:
    """One core is left for the event loop."""
    return max(1, (os.cpu_count() or 2) - 1)


class ParserPool:
    """A small forkserver process pool with a time limit per task; not tied to one loop."""

    def __init__(self, workers: int | None = None, *, timeout: float = 10.0) -> None:
        self.workers = workers or default_workers()
        self.timeout = timeout
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0

    def _current(self) -> tuple[ProcessPoolExecutor, int]:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_background,
            )
            self._generation += 1
        return self._executor, self._generation

    def _restart(self, generation: int) -> None:
        """Kill the workers of `generation` (if still current) so the next task gets new ones."""
        if self._executor is None or generation != self._generation:
            return
        executor, self._executor = self._executor, None
        # The executor has no public way to stop a running call; its processes are the only
        # handle on a runaway parse.
        processes: dict[int, Any] = getattr(executor, "_processes", None) or {}
        for process in list(processes.values()):
            process.terminate()
        executor.shutdown(wait=False, cancel_futures=True)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function(*args)` in a worker; ParseFailed if it overruns or its worker dies.

        `function` and its arguments must be picklable (module-level functions, bytes, str).
        Exceptions it raises come back as they are.
        """
        loop = asyncio.get_running_loop()
        for attempt in range(2):
            executor, generation = self._current()
            future = loop.run_in_executor(executor, function, *args)
            try:
                return await asyncio.wait_for(future, self.timeout)
            except TimeoutError:
                log.warning(
                    "parse %s overran %.1f s; restarting workers", function.__name__, self.timeout
                )
                self._restart(generation)
                raise ParseFailed(
                    f"{function.__name__} took longer than {self.timeout:g} s"
                ) from None
            except BrokenProcessPool:
                # Another task's restart (or a crash) broke the pool under us: one retry on a
                # fresh pool, then give up.
                self._restart(generation)
                if attempt == 1:
                    raise ParseFailed(f"{function.__name__}: the worker process died") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Stop the workers."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
