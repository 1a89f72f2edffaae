"""The push worker: takes due rows from the push queue, encrypts and POSTs them to the apps'
push endpoints, retries with backoff.

Like the delivery worker, its rows live in SQLite, so a restart resumes where it stopped, and
a row is deleted only after the push service answered. Every request goes through the
instance's guarded client, so an endpoint can't reach a private address. Endpoints are
capability URLs (they carry the device's token), so logs name only their host.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from smallfedi.core import push as push_core
from smallfedi.core.instance import Instance
from smallfedi.federation import webpush
from smallfedi.federation.delivery import retry_after_seconds
from smallfedi.federation.fetch import BlockedAddress
from smallfedi.store import push as push_store

log = logging.getLogger("smallfedi.push")

CONCURRENCY = 4
BATCH = 32
FIRST_RETRY = 15.0          # seconds; doubles each attempt
MAX_RETRY = 3600.0
GIVE_UP_AFTER = 86400       # a push a day late is no use
IDLE_POLL = 60.0
SEND_TIMEOUT = 30.0         # the whole request, however slowly the endpoint answers
GONE = (404, 410)           # the subscription has expired or was removed: forget it
TRANSIENT = (408, 425, 429)


def backoff(attempts: int) -> float:
    return min(FIRST_RETRY * (2 ** attempts), MAX_RETRY)


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or "?"
    except (httpx.InvalidURL, TypeError):
        return "?"


class PushWorker:
    def __init__(self, inst: Instance, client: httpx.AsyncClient, concurrency: int = CONCURRENCY) -> None:
        self.inst = inst
        self.client = client
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._task: asyncio.Task | None = None
        self._in_flight: set[int] = set()
        self._key: ec.EllipticCurvePrivateKey | None = None
        self.sent = 0

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="smallfedi-push")

    async def stop(self) -> None:
        """Stop taking new rows; pushes in flight are abandoned and stay queued."""
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
                    if self._key is None:
                        self._key = await push_core.vapid_private_key(self.inst)
                    await self._pass(group)
                except Exception:  # noqa: BLE001 - the worker must outlive any one bad row
                    log.exception("push pass failed")
                    await asyncio.sleep(5)

    async def _pass(self, group: asyncio.TaskGroup) -> None:
        self._wake.clear()  # before reading: a wake from here on is never lost
        due = await push_store.due(self.inst.db, time.time(), BATCH + len(self._in_flight))
        rows = [r for r in due if r["id"] not in self._in_flight]
        for row in rows:
            await self._slots.acquire()
            self._in_flight.add(row["id"])
            group.create_task(self._send(row))
        if rows:
            return
        if self._in_flight:
            timeout = IDLE_POLL
        else:
            next_at = await push_store.next_due_at(self.inst.db)
            timeout = IDLE_POLL if next_at is None else max(0.05, min(IDLE_POLL, next_at - time.time()))
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            pass

    async def _send(self, row) -> None:
        try:
            await self._push(row)
        except Exception:  # noqa: BLE001
            log.exception("push %s to %s failed unexpectedly", row["id"], _host(row["endpoint"]))
            try:  # later, not at once: a row that always fails must not spin the worker
                await self._failed(row, "internal error", None)
            except Exception:  # noqa: BLE001
                log.exception("could not reschedule push %s", row["id"])
        finally:
            self._in_flight.discard(row["id"])
            self._slots.release()
            self.wake()

    async def _push(self, row) -> None:
        payload = await push_core.payload_for(self.inst, row["notification_id"], row["access_token"])
        if payload is None:  # the notification went meanwhile
            await self._done(row)
            return
        try:
            request = webpush.build_request(
                payload, endpoint=row["endpoint"], p256dh=push_core.b64url_decode(row["p256dh"]),
                auth=push_core.b64url_decode(row["auth"]), standard=bool(row["standard"]), vapid_key=self._key,
                vapid_public=self.inst.vapid_public_key, subject=self.inst.base_url)
        except ValueError as exc:  # a payload too large, keys that no longer load: it will not get better
            log.warning("push %s can't be encrypted (%s); dropping it", row["id"], exc)
            await self._done(row)
            return
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                # Streamed and never read: the answer's status is all we need, whatever its size.
                async with self.client.stream("POST", row["endpoint"], content=request.body,
                                              headers=request.headers) as response:
                    status = response.status_code
                    retry_after = retry_after_seconds(response.headers.get("retry-after"))
        except BlockedAddress as exc:
            log.warning("push endpoint %s refused: %s; dropping the push", _host(row["endpoint"]), exc)
            await self._done(row)
            return
        except (httpx.HTTPError, httpx.InvalidURL, TimeoutError) as exc:
            await self._failed(row, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, None)
            return
        if 200 <= status < 300:
            await self._done(row)
            self.sent += 1
            return
        if status in GONE:
            async with self.inst.db.transaction() as tx:
                await push_store.delete_subscription(tx, row["subscription_id"])
            log.info("push subscription %s is gone (%d at %s); removed it",
                     row["subscription_id"], status, _host(row["endpoint"]))
            return
        if 400 <= status < 500 and status not in TRANSIENT:
            # A permanent refusal (a bad key, a payload it won't take): sending again won't help.
            await self._done(row)
            log.warning("%s refused push %s with %d; giving up on it", _host(row["endpoint"]), row["id"], status)
            return
        await self._failed(row, f"HTTP {status}", retry_after)

    async def _done(self, row) -> None:
        async with self.inst.db.transaction() as tx:
            await push_store.done(tx, row["id"])

    async def _failed(self, row, error: str, retry_after: float | None) -> None:
        now = time.time()
        async with self.inst.db.transaction() as tx:
            if now - row["created_at"] > GIVE_UP_AFTER:
                await push_store.done(tx, row["id"])
                log.warning("giving up on push %s to %s after a day: %s", row["id"], _host(row["endpoint"]), error)
                return
            delay = max(backoff(row["attempts"]), min(retry_after or 0, MAX_RETRY))
            await push_store.retry_later(tx, row["id"], now + delay, error)
        log.info("push to %s failed (%s); next try in %.0f s", _host(row["endpoint"]), error, delay)
