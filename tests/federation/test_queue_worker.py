"""The queue worker's pass: bounded concurrency, and one destination's rows in order over one
connection rather than side by side."""

from __future__ import annotations

import asyncio
import time

import pytest

from smallfedi.federation.worker import QueueWorker

pytestmark = pytest.mark.anyio


class Recorder(QueueWorker):
    name = "test"

    def __init__(self, rows: list[dict], concurrency: int) -> None:
        super().__init__(inst=None, concurrency=concurrency)
        self.rows = rows
        self.busy: dict[str, int] = {}
        self.most_at_once = 0
        self.order: list[int] = []
        self.overlap = False

    async def _due(self, now: float, limit: int) -> list:
        return self.rows[:limit]

    async def _next_due_at(self):
        return None

    def _destination(self, row):
        return row["host"]

    async def _deliver(self, row) -> None:
        host = row["host"]
        self.overlap |= self.busy.get(host, 0) > 0
        self.busy[host] = self.busy.get(host, 0) + 1
        self.most_at_once = max(self.most_at_once, sum(self.busy.values()))
        await asyncio.sleep(0.002)
        self.busy[host] -= 1
        self.order.append(row["id"])
        self.rows.remove(row)


async def test_one_hosts_rows_go_one_after_another_and_concurrency_is_bounded():
    rows = [{"id": n, "host": f"h{n % 10}", "created_at": "2026-01-01T00:00:00Z", "attempts": 0}
            for n in range(60)]
    worker = Recorder(rows, concurrency=4)
    worker.start()
    deadline = time.monotonic() + 10
    while worker.rows and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    await worker.stop()
    assert not worker.rows and sorted(worker.order) == list(range(60))
    assert not worker.overlap  # never two at once to one host
    assert worker.most_at_once <= 4
    for host in range(10):  # each host's rows in the order they were due
        sent = [n for n in worker.order if n % 10 == host]
        assert sent == sorted(sent)
