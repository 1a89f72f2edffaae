"""SQL for media attachments and the cache of remote images."""

from __future__ import annotations

import sqlite3
from typing import Sequence

from smallfedi.store.db import Database, Transaction

MEDIA_COLUMNS = ("id", "account_id", "status_id", "position", "type", "mime", "file", "preview_file",
                 "remote_url", "preview_remote_url", "size", "width", "height", "preview_width",
                 "preview_height", "blurhash", "description", "focus_x", "focus_y", "created_at")


async def insert(tx: Transaction, values: dict) -> None:
    columns = [c for c in MEDIA_COLUMNS if c in values]
    # Column names come from the fixed tuple above, never from input.
    await tx.execute(f"INSERT INTO media ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                     tuple(values[c] for c in columns))


async def get(db: Database, media_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM media WHERE id = ?", (media_id,))


async def get_many_in(tx: Transaction, media_ids: Sequence[int]) -> list[sqlite3.Row]:
    if not media_ids:
        return []
    marks = ", ".join("?" for _ in media_ids)
    async with tx.execute(f"SELECT * FROM media WHERE id IN ({marks})", tuple(media_ids)) as cur:
        return list(await cur.fetchall())


async def update_description(tx: Transaction, media_id: int, description: str, focus_x: float,
                             focus_y: float) -> None:
    await tx.execute("UPDATE media SET description = ?, focus_x = ?, focus_y = ? WHERE id = ?",
                     (description, focus_x, focus_y, media_id))


async def attach(tx: Transaction, status_id: int, media_ids: Sequence[int]) -> None:
    """The post's attachments become exactly these, in this order; others it had are let go."""
    await tx.execute("UPDATE media SET status_id = NULL WHERE status_id = ?", (status_id,))
    for position, media_id in enumerate(media_ids):
        await tx.execute("UPDATE media SET status_id = ?, position = ? WHERE id = ?",
                         (status_id, position, media_id))


async def delete_for_status(tx: Transaction, status_id: int) -> None:
    await tx.execute("DELETE FROM media WHERE status_id = ?", (status_id,))


async def for_statuses(db: Database, status_ids: Sequence[int]) -> list[sqlite3.Row]:
    if not status_ids:
        return []
    marks = ", ".join("?" for _ in status_ids)
    return await db.fetchall(
        f"SELECT * FROM media WHERE status_id IN ({marks}) ORDER BY status_id, position", tuple(status_ids))


async def delete_unattached(tx: Transaction, before: str) -> int:
    """Uploads never posted (an app gave up on its draft), older than `before`."""
    cur = await tx.execute("DELETE FROM media WHERE status_id IS NULL AND file IS NOT NULL AND created_at < ?",
                           (before,))
    return cur.rowcount


async def files_in_use(db: Database) -> set[str]:
    rows = await db.fetchall("SELECT file FROM media WHERE file IS NOT NULL"
                             " UNION SELECT preview_file FROM media WHERE preview_file IS NOT NULL")
    return {r[0] for r in rows}


async def local_totals(db: Database) -> tuple[int, int]:
    """(attachments, bytes) of the owner's stored media as recorded."""
    row = await db.fetchone("SELECT count(*), coalesce(sum(size), 0) FROM media WHERE file IS NOT NULL")
    return row[0], row[1]


# ------------------------------------------------------------------------- the remote cache

async def cache_register(tx: Transaction, key: str, url: str, now: str) -> None:
    await tx.execute("INSERT OR IGNORE INTO media_cache (key, url, created_at) VALUES (?, ?, ?)", (key, url, now))


async def cache_get(db: Database, key: str) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM media_cache WHERE key = ?", (key,))


async def cache_store(tx: Transaction, key: str, file: str, mime: str, size: int, now: str) -> None:
    await tx.execute("UPDATE media_cache SET file = ?, mime = ?, size = ?, used_at = ? WHERE key = ?",
                     (file, mime, size, now, key))


async def cache_touch(tx: Transaction, key: str, now: str) -> None:
    await tx.execute("UPDATE media_cache SET used_at = ? WHERE key = ?", (now, key))


async def cache_total(db: Database) -> tuple[int, int]:
    """(files held, bytes)."""
    row = await db.fetchone("SELECT count(*), coalesce(sum(size), 0) FROM media_cache WHERE file IS NOT NULL")
    return row[0], row[1]


async def cache_oldest(db: Database, limit: int) -> list[sqlite3.Row]:
    return await db.fetchall("SELECT key, file, size FROM media_cache WHERE file IS NOT NULL"
                             " ORDER BY used_at LIMIT ?", (limit,))


async def cache_drop(tx: Transaction, key: str) -> None:
    await tx.execute("UPDATE media_cache SET file = NULL, mime = NULL, size = 0, used_at = NULL WHERE key = ?",
                     (key,))


async def for_status_in(tx: Transaction, status_id: int) -> list[sqlite3.Row]:
    """A post's attachments read inside the transaction that attached them."""
    async with tx.execute("SELECT * FROM media WHERE status_id = ? ORDER BY position", (status_id,)) as cur:
        return list(await cur.fetchall())
