"""Filters: their keywords and the single posts they name."""

from __future__ import annotations

import sqlite3

from smallfedi.store.db import Database, Transaction


async def all_filters(db: Database) -> list[sqlite3.Row]:
    return await db.fetchall("SELECT * FROM filters ORDER BY id")


async def active(db: Database, now: str) -> list[sqlite3.Row]:
    """Filters that have not expired."""
    return await db.fetchall("SELECT * FROM filters WHERE expires_at IS NULL OR expires_at > ? ORDER BY id", (now,))


async def count(db: Database) -> int:
    return await db.fetchval("SELECT count(*) FROM filters")


async def get(db: Database, filter_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM filters WHERE id = ?", (filter_id,))


async def insert(tx: Transaction, filter_id: int, title: str, context: str, action: str,
                 expires_at: str | None, now: str) -> None:
    await tx.execute("INSERT INTO filters (id, title, context, action, expires_at, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)", (filter_id, title, context, action, expires_at, now))


async def update(tx: Transaction, filter_id: int, title: str, context: str, action: str,
                 expires_at: str | None) -> None:
    await tx.execute("UPDATE filters SET title = ?, context = ?, action = ?, expires_at = ? WHERE id = ?",
                     (title, context, action, expires_at, filter_id))


async def delete(tx: Transaction, filter_id: int) -> None:
    await tx.execute("DELETE FROM filters WHERE id = ?", (filter_id,))


async def keywords(db: Database, filter_ids) -> list[sqlite3.Row]:
    ids = list(filter_ids)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    return await db.fetchall(f"SELECT * FROM filter_keywords WHERE filter_id IN ({marks}) ORDER BY id", ids)


async def all_keywords(db: Database) -> list[sqlite3.Row]:
    return await db.fetchall("SELECT * FROM filter_keywords ORDER BY id")


async def get_keyword(db: Database, keyword_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM filter_keywords WHERE id = ?", (keyword_id,))


async def get_keyword_in(tx: Transaction, keyword_id: int) -> sqlite3.Row | None:
    async with tx.execute("SELECT * FROM filter_keywords WHERE id = ?", (keyword_id,)) as cur:
        return await cur.fetchone()


async def count_keywords_in(tx: Transaction, filter_id: int) -> int:
    async with tx.execute("SELECT count(*) FROM filter_keywords WHERE filter_id = ?", (filter_id,)) as cur:
        return (await cur.fetchone())[0]


async def insert_keyword(tx: Transaction, keyword_id: int, filter_id: int, keyword: str,
                         whole_word: bool) -> None:
    await tx.execute("INSERT INTO filter_keywords (id, filter_id, keyword, whole_word) VALUES (?, ?, ?, ?)",
                     (keyword_id, filter_id, keyword, int(whole_word)))


async def update_keyword(tx: Transaction, keyword_id: int, keyword: str, whole_word: bool) -> None:
    await tx.execute("UPDATE filter_keywords SET keyword = ?, whole_word = ? WHERE id = ?",
                     (keyword, int(whole_word), keyword_id))


async def delete_keyword(tx: Transaction, keyword_id: int) -> None:
    await tx.execute("DELETE FROM filter_keywords WHERE id = ?", (keyword_id,))


async def statuses(db: Database, filter_ids) -> list[sqlite3.Row]:
    ids = list(filter_ids)
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    return await db.fetchall(f"SELECT * FROM filter_statuses WHERE filter_id IN ({marks}) ORDER BY id", ids)


async def get_status(db: Database, row_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM filter_statuses WHERE id = ?", (row_id,))


async def find_status(db: Database, filter_id: int, status_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM filter_statuses WHERE filter_id = ? AND status_id = ?",
                             (filter_id, status_id))


async def insert_status(tx: Transaction, row_id: int, filter_id: int, status_id: int) -> None:
    await tx.execute("INSERT OR IGNORE INTO filter_statuses (id, filter_id, status_id) VALUES (?, ?, ?)",
                     (row_id, filter_id, status_id))


async def delete_status(tx: Transaction, row_id: int) -> None:
    await tx.execute("DELETE FROM filter_statuses WHERE id = ?", (row_id,))
