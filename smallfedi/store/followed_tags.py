"""Hashtags the owner follows."""

from __future__ import annotations

import sqlite3

from smallfedi.store.db import Database, Transaction, newest_first, page_bounds


async def is_followed(db: Database, name: str) -> bool:
    return await db.fetchone("SELECT 1 FROM followed_tags WHERE name = ?", (name,)) is not None


async def follow(tx: Transaction, row_id: int, name: str, now: str) -> None:
    await tx.execute("INSERT OR IGNORE INTO followed_tags (id, name, created_at) VALUES (?, ?, ?)",
                     (row_id, name, now))


async def unfollow(tx: Transaction, name: str) -> None:
    await tx.execute("DELETE FROM followed_tags WHERE name = ?", (name,))


async def page(db: Database, *, max_id: int | None, since_id: int | None, min_id: int | None,
               limit: int) -> list[sqlite3.Row]:
    """Followed hashtags, the most recently followed first; `id` is the paging cursor."""
    where, params, order = page_bounds("id", max_id, since_id, min_id)
    rows = await db.fetchall(
        f"SELECT id, name FROM followed_tags WHERE {' AND '.join(['1', *where])} ORDER BY id {order} LIMIT ?",
        (*params, limit))
    return newest_first(rows, order)
