"""Starts and stops the federation face's moving parts for one instance: the shared HTTP
client (signing, SSRF guard), the service the core calls, the delivery worker and the Web Push
worker."""

from __future__ import annotations

import httpx
from cryptography.hazmat.primitives import serialization

from smallfedi import __version__
from smallfedi.core import push as push_core
from smallfedi.core.instance import Instance
from smallfedi.federation.delivery import DeliveryWorker
from smallfedi.federation.fetch import make_client
from smallfedi.federation.push_delivery import PushWorker
from smallfedi.federation.service import FederationService
from smallfedi.federation.signatures import HttpSignatureAuth
from smallfedi.store import accounts as accounts_store


class FederationRuntime:
    def __init__(self, inst: Instance, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.inst = inst
        self.transport = transport
        self.client: httpx.AsyncClient | None = None
        self.service: FederationService | None = None
        self.worker: DeliveryWorker | None = None
        self.push_worker: PushWorker | None = None

    async def start(self, deliver: bool = True) -> FederationService:
        inst = self.inst
        secrets = await accounts_store.get_owner_secrets(inst.db)
        key = serialization.load_pem_private_key(secrets["private_key_pem"].encode("ascii"), password=None)
        auth = HttpSignatureAuth(inst.owner.key_id, key)
        self.client = make_client(allow_private=inst.config.federation.allow_private_addresses,
                                  user_agent=f"smallfedi/{__version__} (+{inst.base_url})",
                                  transport=self.transport)
        self.worker = DeliveryWorker(inst, self.client, auth)
        self.service = FederationService(inst, self.client, auth, wake_delivery=self.worker.wake)
        inst.federation = self.service
        # Pushes go through the same guarded client (no signature: VAPID signs them).
        self.push_worker = PushWorker(inst, self.client)
        push_core.set_waker(inst, self.push_worker.wake)
        if deliver:
            self.worker.start()
            self.push_worker.start()
        return self.service

    async def stop(self) -> None:
        push_core.set_waker(self.inst, None)
        if self.push_worker:
            await self.push_worker.stop()
        if self.worker:
            await self.worker.stop()
        if self.client:
            await self.client.aclose()
