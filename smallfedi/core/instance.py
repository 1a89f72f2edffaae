"""One instance's object graph: configuration, database, id generator, the owner, throttles.

Nothing here exists at import time; `Instance(config)` builds it and `open()` connects, so two
instances can live in one process (the federation tests run several side by side).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import TYPE_CHECKING

from smallfedi.config import Config
from smallfedi.core.errors import DomainError
from smallfedi.core.events import EventBus
from smallfedi.core.models import Account
from smallfedi.core.push import ensure_vapid_key
from smallfedi.core.throttle import Throttle
from smallfedi.ids import IdGenerator
from smallfedi.store import accounts as accounts_store
from smallfedi.store.db import Database

if TYPE_CHECKING:
    from smallfedi.core.ports import Federation

log = logging.getLogger("smallfedi")


class NotInitialised(DomainError):
    status = 503


class Instance:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.db = Database(config.db_path)
        self.ids = IdGenerator()
        # Per client address: five failed logins in fifteen minutes, then a pause.
        self.login_throttle = Throttle(limit=5, window_seconds=15 * 60)
        self._owner: Account | None = None
        self.secret_key = ""
        # The Web Push (VAPID) public key, base64url: apps' `server_key` and `vapid_key`.
        self.vapid_public_key = ""
        self.events = EventBus()
        # Media: one upload decoded at a time (a photo is the most memory the server ever holds);
        # the remote image cache fetches a few at once, each image once however many ask.
        self.media_processing = asyncio.Semaphore(1)
        self.cache_fetches = asyncio.Semaphore(4)
        self.cache_fetch_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Access tokens already checked, by hash: see core.oauth.grant_for.
        self.grants: dict = {}
        # The federation face's implementation of core.ports.Federation, set by the app.
        self.federation: Federation = None  # type: ignore[assignment]

    async def open(self) -> None:
        if not self.config.db_path.exists():
            raise NotInitialised(f"no database at {self.config.db_path}: run `smallfedi init` first")
        await self.db.open()
        secrets = await accounts_store.get_owner_secrets(self.db)
        if secrets is None:
            await self.db.close()
            raise NotInitialised("the database has no owner: run `smallfedi init` first")
        self.secret_key = secrets["secret_key"]
        self.vapid_public_key = await ensure_vapid_key(self.db)  # made here for instances from before push
        await self.refresh_owner()
        self.ids.bump(await self.db.fetchval(
            "SELECT max(coalesce((SELECT max(id) FROM statuses), 0),"
            " coalesce((SELECT max(id) FROM status_edits), 0), coalesce((SELECT max(id) FROM accounts), 0),"
            " coalesce((SELECT max(id) FROM media), 0))"
        ))
        self.config.media_dir.mkdir(mode=0o711, exist_ok=True)  # instances from before media
        self.config.cache_dir.mkdir(mode=0o700, exist_ok=True)

    async def close(self) -> None:
        await self.db.close()

    async def refresh_owner(self) -> Account:
        row = await accounts_store.get_owner_account(self.db)
        assert row is not None
        self._owner = Account.from_row(row)
        return self._owner

    async def refresh_owner_in(self, tx) -> Account:
        """Reload the owner inside a write transaction (before its rendering is queued)."""
        self._owner = Account.from_row(await accounts_store.get_owner_account_in(tx))
        return self._owner

    @property
    def owner(self) -> Account:
        assert self._owner is not None, "instance is not open"
        return self._owner

    # Addresses of the owner's things. One place, so every face agrees.
    @property
    def base_url(self) -> str:
        return self.config.url

    def actor_uri(self, username: str | None = None) -> str:
        return f"{self.config.url}/users/{username or self.owner.username}"

    def profile_url(self, username: str | None = None) -> str:
        return f"{self.config.url}/@{username or self.owner.username}"

    def status_uri(self, status_id: int) -> str:
        return f"{self.actor_uri()}/statuses/{status_id}"

    def status_url(self, status_id: int) -> str:
        return f"{self.profile_url()}/{status_id}"

    def tag_url(self, name: str) -> str:
        return f"{self.config.url}/tags/{name}"
