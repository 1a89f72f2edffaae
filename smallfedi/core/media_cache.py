"""Copies of remote avatars, headers and previews, held on disk within a size budget.

Pages and apps get an address on this server for a remote image: `/cache/KEY/URL`, where URL
is the original's address (base64url) and KEY an HMAC of it under the instance's secret, so the
address can't be forged into an open proxy. The first request fetches the image (through the
federation face's SSRF guard and size cap), later ones are served from disk; when the cache
grows past `storage.cache_mb`, the least recently served files go first. A budget of 0 turns
the cache off and pages link to the originals.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import os
from datetime import datetime, timedelta, timezone
from hashlib import sha256
from pathlib import Path

from smallfedi.core import images
from smallfedi.core.errors import DomainError, NotFound
from smallfedi.core.instance import Instance
from smallfedi.store import media as media_store
from smallfedi.store.db import format_time, utcnow

log = logging.getLogger("smallfedi.media_cache")

MAX_BYTES = 8 * 1024 * 1024  # one cached image
TOUCH_EVERY = timedelta(hours=1)  # how stale "last served" may get before it is written again
SERVED_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"}


def _key(inst: Instance, url: str) -> str:
    return hmac.new(inst.secret_key.encode(), b"media-cache:" + url.encode(), sha256).hexdigest()[:32]


def url_for(inst: Instance, remote_url: str | None) -> str | None:
    """The address to show a remote image by: through the cache, or the original with no budget."""
    if not remote_url or inst.config.storage.cache_mb == 0 or remote_url.startswith(inst.base_url + "/"):
        return remote_url
    encoded = base64.urlsafe_b64encode(remote_url.encode()).decode().rstrip("=")
    return f"{inst.base_url}/cache/{_key(inst, remote_url)}/{encoded}"


def _decode(inst: Instance, key: str, encoded: str) -> str:
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound("There is nothing at this address.") from None
    if not hmac.compare_digest(_key(inst, url), key) or not url.startswith(("https://", "http://")):
        raise NotFound("There is nothing at this address.")
    return url


async def open_cached(inst: Instance, key: str, encoded: str) -> tuple[Path, str]:
    """(file, content type) of a cached remote image, fetching it on first use."""
    if inst.config.storage.cache_mb == 0:
        raise NotFound("The media cache is turned off.")
    url = _decode(inst, key, encoded)
    # One fetch per image, however many ask at once; the lock lives while someone holds it.
    lock = inst.cache_fetch_locks.get(key)
    if lock is None:
        lock = inst.cache_fetch_locks[key] = asyncio.Lock()
    async with lock:
        row = await media_store.cache_get(inst.db, key)
        if row is not None and row["file"]:
            path = inst.config.cache_dir / row["file"]
            if path.exists():
                await _touch(inst, key, row["used_at"])
                return path, row["mime"]
        async with inst.cache_fetches:
            return await _fetch(inst, key, url)


async def _touch(inst: Instance, key: str, used_at: str | None) -> None:
    stale = format_time(datetime.now(timezone.utc) - TOUCH_EVERY)
    if used_at is None or used_at < stale:  # a write per hour per image, not per request
        async with inst.db.transaction() as tx:
            await media_store.cache_touch(tx, key, utcnow())


async def _fetch(inst: Instance, key: str, url: str) -> tuple[Path, str]:
    try:
        data, _declared = await inst.federation.fetch_media(url, MAX_BYTES)
    except DomainError as exc:
        log.info("not cached: %s", exc.message)
        raise NotFound("The remote image could not be fetched.") from None
    kind = images.sniff(data[:16])
    if kind is None or kind.mime not in SERVED_TYPES:
        # Only bytes that are an image are served from our origin, typed by what they are.
        log.info("not cached: %s is not an image", url)
        raise NotFound("The remote file is not an image.")
    name = f"{key}.{kind.ext}"
    folder = inst.config.cache_dir
    await asyncio.to_thread(_write, folder, name, data)
    now = utcnow()
    async with inst.db.transaction() as tx:
        await media_store.cache_register(tx, key, url, now)
        await media_store.cache_store(tx, key, name, kind.mime, len(data), now)
    await evict(inst)
    return folder / name, kind.mime


def _write(folder: Path, name: str, data: bytes) -> None:
    # A cache: no fsync; a torn file after a power cut is found missing or re-fetched.
    folder.mkdir(mode=0o700, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, folder / name)


async def evict(inst: Instance) -> tuple[int, int]:
    """Drop the least recently served files until the cache is within budget; (files, bytes)."""
    budget = inst.config.storage.cache_mb * 1024 * 1024
    _files, total = await media_store.cache_total(inst.db)
    removed = freed = 0
    while total > budget:
        oldest = await media_store.cache_oldest(inst.db, 100)
        if not oldest:
            break
        async with inst.db.transaction() as tx:
            for row in oldest:
                if total <= budget:
                    break
                await media_store.cache_drop(tx, row["key"])
                (inst.config.cache_dir / row["file"]).unlink(missing_ok=True)
                total -= row["size"]
                removed += 1
                freed += row["size"]
    return removed, freed
