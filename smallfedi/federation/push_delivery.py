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
from typing import TYPE_CHECKING

import httpx

from smallfedi.core import push as push_core
from smallfedi.core.instance import Instance
from smallfedi.federation import webpush
from smallfedi.federation.delivery import retry_after_seconds
from smallfedi.federation.fetch import BlockedAddress
from smallfedi.federation.worker import QueueWorker
from smallfedi.store import push as push_store

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

log = logging.getLogger("smallfedi.push")

CONCURRENCY = 4
BATCH = 32
FIRST_RETRY = 15.0          # seconds; doubles each attempt
MAX_RETRY = 3600.0
GIVE_UP_AFTER = 86400       # a push a day late is no use
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


class PushWorker(QueueWorker):
    name = "push"
    batch = BATCH

    def __init__(self, inst: Instance, client: httpx.AsyncClient, concurrency: int = CONCURRENCY) -> None:
        super().__init__(inst, concurrency)
        self.client = client
        self._key: ec.EllipticCurvePrivateKey | None = None

    async def _prepare(self) -> None:
        if self._key is None:
            self._key = await push_core.vapid_private_key(self.inst)

    async def _due(self, now: float, limit: int) -> list:
        return await push_store.due(self.inst.db, now, limit)

    async def _next_due_at(self) -> float | None:
        return await push_store.next_due_at(self.inst.db)

    async def _deliver(self, row) -> None:
        await self._push(row)

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
