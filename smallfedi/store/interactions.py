"""Likes (favourites), boosts (statuses with reblog_of_id) and notifications."""

from __future__ import annotations

import sqlite3
from typing import Sequence

from smallfedi.store import domain_blocks
from smallfedi.store.db import Database, Transaction, page_bounds


async def add_favourite(tx: Transaction, fav_id: int, account_id: int, status_id: int, uri: str | None,
                        now: str) -> bool:
    cur = await tx.execute(
        "INSERT OR IGNORE INTO favourites (id, account_id, status_id, uri, created_at) VALUES (?, ?, ?, ?, ?)",
        (fav_id, account_id, status_id, uri, now))
    return cur.rowcount > 0


async def remove_favourite(tx: Transaction, account_id: int, status_id: int) -> sqlite3.Row | None:
    async with tx.execute("DELETE FROM favourites WHERE account_id = ? AND status_id = ? RETURNING *",
                          (account_id, status_id)) as cur:
        return await cur.fetchone()


async def favourite_by_uri(db: Database, uri: str) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM favourites WHERE uri = ?", (uri,))


async def find_reblog(db: Database, account_id: int, status_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM statuses WHERE +account_id = ? AND reblog_of_id = ?",
                             (account_id, status_id))


async def add_notification(tx: Transaction, notification_id: int, type_: str, account_id: int,
                           status_id: int | None, now: str, emoji: str | None = None) -> None:
    await tx.execute(
        "INSERT INTO notifications (id, type, account_id, status_id, emoji, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (notification_id, type_, account_id, status_id, emoji, now))


async def remove_notifications(tx: Transaction, type_: str, account_id: int,
                               status_id: int | None = None) -> None:
    await tx.execute(
        "DELETE FROM notifications WHERE type = ? AND account_id = ? AND status_id IS ?",
        (type_, account_id, status_id))


async def list_notifications(db: Database, *, max_id: int | None = None, limit: int = 20) -> list[sqlite3.Row]:
    params: list = []
    bound = ""
    if max_id is not None:
        bound = "WHERE id < ?"
        params.append(max_id)
    params.append(limit)
    where = f"WHERE NOT {domain_blocks.hidden('notifications.account_id')}" + (" AND id < ?" if bound else "")
    return await db.fetchall(f"SELECT * FROM notifications {where} ORDER BY id DESC LIMIT ?", params)


async def query_notifications(db: Database, *, types: Sequence[str] | None, exclude_types: Sequence[str],
                              account_id: int | None, max_id: int | None, since_id: int | None,
                              min_id: int | None, limit: int) -> list[sqlite3.Row]:
    """Notifications newest first, without blocked accounts (one by one or by domain) or those
    muted with their notifications."""
    where = [f"NOT {domain_blocks.hidden('notifications.account_id')}",
             "account_id NOT IN (SELECT account_id FROM account_mutes WHERE notifications = 1)"]
    bounds, params, order = page_bounds("id", max_id, since_id, min_id)
    where.extend(bounds)
    if types is not None:
        where.append(f"type IN ({', '.join('?' for _ in types)})")
        params.extend(types)
    if exclude_types:
        where.append(f"type NOT IN ({', '.join('?' for _ in exclude_types)})")
        params.extend(exclude_types)
    if account_id is not None:
        where.append("account_id = ?")
        params.append(account_id)
    rows = await db.fetchall(f"SELECT * FROM notifications WHERE {' AND '.join(where)} ORDER BY id {order} LIMIT ?",
                             (*params, limit))
    return rows if order == "DESC" else rows[::-1]


async def get_notification(db: Database, notification_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM notifications WHERE id = ?", (notification_id,))


async def delete_notification(tx: Transaction, notification_id: int) -> None:
    await tx.execute("DELETE FROM notifications WHERE id = ?", (notification_id,))


async def delete_all_notifications(tx: Transaction) -> None:
    await tx.execute("DELETE FROM notifications")


async def count_notifications_after(db: Database, after_id: int, limit: int) -> int:
    return await db.fetchval("SELECT count(*) FROM (SELECT 1 FROM notifications WHERE id > ? LIMIT ?)",
                             (after_id, limit))


async def favouriters(db: Database, status_id: int, max_id: int | None, limit: int) -> list[sqlite3.Row]:
    """Accounts that liked a post, with the like's id as `cursor`, newest first."""
    return await db.fetchall(
        "SELECT a.*, f.id AS cursor FROM favourites f JOIN accounts a ON a.id = f.account_id"
        " WHERE f.status_id = ? AND (? IS NULL OR f.id < ?) ORDER BY f.id DESC LIMIT ?",
        (status_id, max_id, max_id, limit))


async def rebloggers(db: Database, status_id: int, max_id: int | None, limit: int) -> list[sqlite3.Row]:
    return await db.fetchall(
        "SELECT a.*, s.id AS cursor FROM statuses s JOIN accounts a ON a.id = s.account_id"
        " WHERE s.reblog_of_id = ? AND (? IS NULL OR s.id < ?) ORDER BY s.id DESC LIMIT ?",
        (status_id, max_id, max_id, limit))
