"""The delivery worker: takes due rows from the queue, signs and POSTs them, retries with backoff.

Rows live in SQLite, so a restart (or a kill -9) resumes where it stopped. A row is deleted
only after the receiving server answered; a crash in between sends it twice, which inboxes
absorb because they deduplicate by activity id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

from smallfedi.core.instance import Instance
from smallfedi.federation.fetch import HttpSignatureAuth
from smallfedi.federation.sender import Sender, SendError
from smallfedi.federation.signatures import sign_headers
from smallfedi.federation.worker import QueueWorker
from smallfedi.store import follows as follows_store
from smallfedi.store import queue as queue_store

log = logging.getLogger("smallfedi.delivery")

CONCURRENCY = 16            # hosts sent to at once; a Pi's uplink and CPU are the limit, not the queue
SIGNING_THREADS = 2
BATCH = 64                 # rows read per pass
FIRST_RETRY = 30.0         # seconds; doubles each attempt
MAX_RETRY = 12 * 3600.0
GIVE_UP_AFTER = 7 * 86400  # about a week of trying, as Mastodon does
PAUSE_AFTER_FAILURES = 5   # a host failing this many times in a row rests…
PAUSE_SECONDS = 15 * 60    # …this long before we try it again


def backoff(attempts: int) -> float:
    return min(FIRST_RETRY * (2 ** attempts), MAX_RETRY)


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class DeliveryWorker(QueueWorker):
    name = "delivery"
    batch = BATCH

    def __init__(self, inst: Instance, client: httpx.AsyncClient, auth: HttpSignatureAuth,
                 concurrency: int = CONCURRENCY, sender: Sender | None = None) -> None:
        super().__init__(inst, concurrency)
        self.client = client
        self.auth = auth
        self.sender = sender  # None: through the httpx client (an injected transport, in tests)
        self._signing = ThreadPoolExecutor(SIGNING_THREADS, thread_name_prefix="smallfedi-sign")

    async def stop(self) -> None:
        await super().stop()
        self._signing.shutdown(wait=False)

    def _destination(self, row) -> str:
        return row["host"]

    async def _due(self, now: float, limit: int) -> list:
        return await queue_store.due(self.inst.db, now, limit)

    async def _next_due_at(self) -> float | None:
        return await queue_store.next_due_at(self.inst.db)

    async def _deliver(self, row) -> None:
        body = row["activity_json"].encode("utf-8")
        headers = {"Content-Type": "application/activity+json", "Accept": "application/activity+json"}
        try:
            if self.sender is not None:
                # RSA signing is most of a delivery's CPU, and cryptography lets go of the GIL
                # while it signs: in threads it runs beside the event loop, on another core.
                headers.update(await asyncio.get_running_loop().run_in_executor(
                    self._signing, sign_headers, "POST", row["inbox_url"], headers, body, self.auth.key_id,
                    self.auth.private_key))
                status, answer = await self.sender.post(row["inbox_url"], headers, body)
            else:
                response = await self.client.post(row["inbox_url"], content=body, auth=self.auth, headers=headers)
                status, answer = response.status_code, response.headers
        except (httpx.HTTPError, SendError) as exc:
            await self._failed(row, f"{type(exc).__name__}: {exc}", None)
            return
        if 200 <= status < 300:
            async with self.inst.db.transaction(public=False) as tx:
                await queue_store.done(tx, row["id"])
                await queue_store.host_ok(tx, row["host"])
            self.sent += 1
            return
        if status == 410:
            # The inbox is gone for good: stop sending there, and drop a follower who lived there.
            async with self.inst.db.transaction() as tx:
                await queue_store.done(tx, row["id"])
                dropped = await follows_store.delete_by_inbox(tx, self.inst.owner.id, row["inbox_url"])
            log.info("inbox %s is gone (410); dropped %d follower(s)", row["inbox_url"], dropped)
            return
        if 400 <= status < 500 and status not in (401, 408, 425, 429):
            # A permanent refusal: trying again would get the same answer.
            # (401 is retried: the receiver may not have fetched our key yet.)
            async with self.inst.db.transaction(public=False) as tx:
                await queue_store.done(tx, row["id"])
            log.warning("%s refused delivery %s with %d; giving up", row["inbox_url"], row["id"], status)
            return
        await self._failed(row, f"HTTP {status}", retry_after_seconds(answer.get("retry-after")))

    async def _failed(self, row, error: str, retry_after: float | None) -> None:
        created = datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))
        age = (datetime.now(timezone.utc) - created).total_seconds()
        now = time.time()
        async with self.inst.db.transaction(public=False) as tx:
            await queue_store.host_failed(tx, row["host"], PAUSE_AFTER_FAILURES, now + PAUSE_SECONDS)
            if age > GIVE_UP_AFTER:
                await queue_store.done(tx, row["id"])
                log.warning("giving up on %s after a week: %s", row["inbox_url"], error)
                return
            delay = max(backoff(row["attempts"]), min(retry_after or 0, MAX_RETRY))
            await queue_store.retry_later(tx, row["id"], now + delay, error)
        log.info("delivery to %s failed (%s); next try in %.0f s", row["inbox_url"], error, delay)
