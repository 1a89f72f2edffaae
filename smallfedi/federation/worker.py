"""The loop both outgoing queues share (ActivityPub deliveries, Web Push): read due rows from
SQLite, send each with bounded concurrency, sleep until woken or until the next row is due.

Rows stay in the table until they are answered, so a restart or a kill -9 resumes where the
worker stopped. Subclasses say how to read the queue and how to send one row.
"""

from __future__ import annotations

import asyncio
import logging
import time

IDLE_POLL = 60.0  # wake at least this often even without a signal
CRASH_PAUSE = 5.0


class QueueWorker:
    name = "queue"
    batch = 64

    def __init__(self, inst, concurrency: int) -> None:
        self.inst = inst
        self.log = logging.getLogger(f"smallfedi.{self.name}")
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._task: asyncio.Task | None = None
        self._in_flight: set[int] = set()
        self.sent = 0

    # What a subclass provides.
    async def _due(self, now: float, limit: int) -> list:
        raise NotImplementedError

    async def _next_due_at(self) -> float | None:
        raise NotImplementedError

    async def _deliver(self, row) -> None:
        raise NotImplementedError

    async def _failed(self, row, error: str, retry_after: float | None) -> None:
        raise NotImplementedError

    def _destination(self, row):
        """Rows with the same destination are sent in order, one at a time (default: each alone)."""
        return row["id"]

    async def _prepare(self) -> None:
        """Called before each pass (e.g. to load a key once)."""

    # The loop.
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"smallfedi-{self.name}")

    async def stop(self) -> None:
        """Stop taking new rows; sends in flight are abandoned and stay queued."""
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as group:
            while True:
                try:
                    await self._prepare()
                    await self._pass(group)
                except Exception:  # noqa: BLE001 - the worker must outlive any one bad row
                    self.log.exception("%s pass failed", self.name)
                    await asyncio.sleep(CRASH_PAUSE)

    async def _pass(self, group: asyncio.TaskGroup) -> None:
        # Clear before reading the queue: a wake from here on (a new row, a finished send)
        # is then never lost, and the wait below returns at once.
        self._wake.clear()
        # Rows being sent are still in the table; ask for enough to get past them.
        due = await self._due(time.time(), self.batch + len(self._in_flight))
        rows = [r for r in due if r["id"] not in self._in_flight]
        # Rows for one destination go out one after another over one connection, instead of
        # a new connection each (TLS and TCP set-up cost more than the POST itself).
        runs: dict = {}
        for row in rows:
            runs.setdefault(self._destination(row), []).append(row)
        for run in runs.values():
            await self._slots.acquire()
            self._in_flight.update(row["id"] for row in run)
            group.create_task(self._send_run(run))
        if rows:
            return
        if self._in_flight:
            timeout = IDLE_POLL  # a finishing send wakes us
        else:
            next_at = await self._next_due_at()
            timeout = IDLE_POLL if next_at is None else max(0.05, min(IDLE_POLL, next_at - time.time()))
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
        # arrives as the wake does, and stop() would then wait for a worker that never ends.
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _send_run(self, run: list) -> None:
        try:
            for row in run:
                await self._send(row)
        finally:
            self._slots.release()
            self.wake()

    async def _send(self, row) -> None:
        try:
            await self._deliver(row)
        except Exception:  # noqa: BLE001
            self.log.exception("%s row %s failed unexpectedly", self.name, row["id"])
            try:  # later, not at once: a row that always fails must not spin the worker
                await self._failed(row, "internal error", None)
            except Exception:  # noqa: BLE001
                self.log.exception("could not reschedule %s row %s", self.name, row["id"])
        finally:
            self._in_flight.discard(row["id"])
