"""Starts and stops the federation face's moving parts for one instance: the shared HTTP
client (signing, SSRF guard), the service the core calls, the delivery worker and the Web Push
worker.

Each part is made when first needed, not at start-up: the client (and httpx) on the first
outgoing request, the owner's signing key (and cryptography) on the first signed one, and a
worker when its queue first has something to send (at once if rows are left from before).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smallfedi import __version__
from smallfedi.core import push as push_core
from smallfedi.core.instance import Instance
from smallfedi.federation.service import FederationService
from smallfedi.store import accounts as accounts_store
from smallfedi.store import push as push_store
from smallfedi.store import queue as queue_store

if TYPE_CHECKING:
    import httpx

    from smallfedi.federation.delivery import DeliveryWorker
    from smallfedi.federation.push_delivery import PushWorker


class FederationRuntime:
    def __init__(self, inst: Instance, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.inst = inst
        self.transport = transport
        self.service: FederationService | None = None
        self.worker: DeliveryWorker | None = None
        self.push_worker: PushWorker | None = None
        self._client: httpx.AsyncClient | None = None
        self._auth: httpx.Auth | None = None
        self._private_key_pem = ""
        self._deliver = False

    async def start(self, deliver: bool = True) -> FederationService:
        inst = self.inst
        secrets = await accounts_store.get_owner_secrets(inst.db)
        self._private_key_pem = secrets["private_key_pem"]
        self.service = FederationService(inst, lambda: self.client, lambda: self.auth,
                                         wake_delivery=self.wake_delivery)
        inst.federation = self.service
        push_core.set_waker(inst, self.wake_push)
        self._deliver = deliver
        if deliver:
            # Rows left from the last run are sent now; new ones wake their worker when queued.
            if await queue_store.next_due_at(inst.db) is not None:
                self.wake_delivery()
            if await push_store.next_due_at(inst.db) is not None:
                self.wake_push()
        return self.service

    @property
    def client(self) -> httpx.AsyncClient:
        """The shared outgoing client. Pushes use it too (no signature: VAPID signs them)."""
        if self._client is None:
            from smallfedi.federation.fetch import make_client

            self._client = make_client(allow_private=self.inst.config.federation.allow_private_addresses,
                                       user_agent=f"smallfedi/{__version__} (+{self.inst.base_url})",
                                       transport=self.transport)
        return self._client

    @property
    def auth(self) -> httpx.Auth:
        """Signs requests as the owner."""
        if self._auth is None:
            from cryptography.hazmat.primitives import serialization

            from smallfedi.federation.fetch import HttpSignatureAuth

            key = serialization.load_pem_private_key(self._private_key_pem.encode("ascii"), password=None)
            self._auth = HttpSignatureAuth(self.inst.owner.key_id, key)
        return self._auth

    def wake_delivery(self) -> None:
        if self.worker is None:
            if not self._deliver:
                return  # deliver=False: the queue stays as it is
            from smallfedi.federation.delivery import DeliveryWorker

            self.worker = DeliveryWorker(self.inst, self.client, self.auth, sender=self._sender())
            self.worker.start()
        self.worker.wake()

    def _sender(self):
        """Deliveries' own lean HTTP (federation/sender.py) on the real network; with an injected
        transport (in-process federation in tests) they go through the httpx client like the rest."""
        if self.transport is not None:
            return None
        from smallfedi.federation.fetch import checked_addresses
        from smallfedi.federation.sender import Sender

        allow_private = self.inst.config.federation.allow_private_addresses

        async def addresses(host: str, timeout: float | None) -> list[str]:
            return await checked_addresses(host, timeout, allow_private=allow_private)

        return Sender(addresses, user_agent=f"smallfedi/{__version__} (+{self.inst.base_url})")

    def wake_push(self) -> None:
        if self.push_worker is None:
            if not self._deliver:
                return
            from smallfedi.federation.push_delivery import PushWorker

            self.push_worker = PushWorker(self.inst, self.client)
            self.push_worker.start()
        self.push_worker.wake()

    async def stop(self) -> None:
        self._deliver = False  # a wake from here on starts nothing
        push_core.set_waker(self.inst, None)
        if self.push_worker:
            await self.push_worker.stop()
        if self.worker:
            await self.worker.stop()
            if self.worker.sender is not None:
                self.worker.sender.close()
        if self._client:
            await self._client.aclose()
        # A later start() begins afresh, as it did when start() made everything.
        self.worker = self.push_worker = self._client = None
