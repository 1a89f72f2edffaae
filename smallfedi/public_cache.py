"""Rendered public documents kept in memory until the database says they changed.

A popular post makes thousands of servers fetch the same few documents (the actor, the post,
WebFinger, the profile page) within a minute. They are the same for every anonymous reader,
so the first answer is kept and replayed until `Database.public_generation` moves (every
commit that may change what strangers see bumps it) or a minute has passed (what time alone
changes, such as a poll closing). Only GETs without a session or a token are answered from
here; with authorized fetch on, signed requests go to the endpoints, which verify them. An
answer that sets a cookie is never kept. Entries are few and small (a byte budget, least
recently used out first).
"""

from __future__ import annotations

import time
from collections import OrderedDict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DISCOVERY_PATHS = frozenset({"/.well-known/webfinger", "/.well-known/host-meta", "/.well-known/host-meta.json",
                             "/.well-known/nodeinfo", "/nodeinfo/2.0", "/nodeinfo/2.1"})
KEPT_STATUSES = frozenset({200, 404, 410})
MAX_ENTRY_BYTES = 256 * 1024
MAX_BYTES = 4 * 1024 * 1024
TTL_SECONDS = 60.0
SESSION_COOKIE = b"sf_session="


class _Entry:
    __slots__ = ("generation", "expires", "start", "body")

    def __init__(self, generation: int, expires: float, start: Message, body: bytes) -> None:
        self.generation = generation
        self.expires = expires
        self.start = start
        self.body = body


class DocumentCache:
    """The kept answers: a byte budget, least recently used out first."""

    def __init__(self, inst, max_bytes: int = MAX_BYTES) -> None:
        self.inst = inst
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None or entry.generation != self.inst.db.public_generation or entry.expires <= now:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: tuple, entry: _Entry) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= len(old.body)
        self._entries[key] = entry
        self.bytes += len(entry.body)
        while self.bytes > self.max_bytes and self._entries:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= len(evicted.body)

    def __len__(self) -> int:
        return len(self._entries)


class PublicCache:
    """ASGI middleware answering anonymous GETs of public documents from a DocumentCache."""

    def __init__(self, app: ASGIApp, cache: DocumentCache) -> None:
        self.app = app
        self.cache = cache
        self.inst = cache.inst

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope) if scope["type"] == "http" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        entry = self.cache.get(key, now)
        if entry is not None:
            await send(entry.start)
            await send({"type": "http.response.body", "body": entry.body})
            return
        # Read before rendering: a commit landing meanwhile leaves this entry already stale.
        generation = self.inst.db.public_generation
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        keep = True

        async def capture(message: Message) -> None:
            nonlocal start, size, keep
            if message["type"] == "http.response.start":
                start = message
                keep = message["status"] in KEPT_STATUSES and not any(
                    name.lower() == b"set-cookie" for name, _ in message.get("headers", ()))
            elif message["type"] == "http.response.body" and keep:
                size += len(message.get("body", b""))
                if size > MAX_ENTRY_BYTES:
                    keep = False
                    chunks.clear()
                else:
                    chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        if keep and start is not None:
            self.cache.put(key, _Entry(generation, now + TTL_SECONDS, start, b"".join(chunks)))

    def _key(self, scope: Scope) -> tuple | None:
        if scope["method"] != "GET" or not self._public_path(scope["path"]):
            return None
        accept = b""
        signed_fetch = self.inst.config.federation.require_signed_fetch
        for name, value in scope["headers"]:
            if name == b"authorization":
                return None
            if name == b"cookie" and SESSION_COOKIE in value:
                return None  # the owner sees their own controls
            if signed_fetch and name in (b"signature", b"signature-input"):
                return None  # the endpoint verifies the signer
            if name == b"accept":
                accept = value
        if len(accept) > 512:
            return None
        return scope["path"], scope.get("query_string", b""), accept

    def _public_path(self, path: str) -> bool:
        if path in DISCOVERY_PATHS:
            return True
        name = self.inst.owner.username
        for prefix in (f"/@{name}", f"/users/{name}"):
            if path == prefix or (path.startswith(prefix) and path[len(prefix)] in "/."):
                return not path.endswith(("/inbox", "/edit", "/delete"))
        return False
