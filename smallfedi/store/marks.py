"""The owner's own marks: bookmarks, pins, muted threads and accounts, notes, read markers,
and Idempotency-Keys of posts made through apps."""

from __future__ import annotations

import sqlite3

from smallfedi.store.db import Database, Transaction

_STATUS_MARKS = ("bookmarks", "pins")
# Listed like bookmarks: the owner's likes (the favourites table holds remote likes too).
_LISTED = {"bookmarks": ("bookmarks", ""), "pins": ("pins", ""),
           "favourites": ("favourites", "m.account_id = (SELECT id FROM accounts WHERE local = 1)")}


def _table(kind: str) -> str:
    assert kind in _STATUS_MARKS
    return kind


async def add(tx: Transaction, kind: str, mark_id: int, status_id: int, now: str) -> None:
    await tx.execute(f"INSERT OR IGNORE INTO {_table(kind)} (id, status_id, created_at) VALUES (?, ?, ?)",
                     (mark_id, status_id, now))


async def remove(tx: Transaction, kind: str, status_id: int) -> None:
    await tx.execute(f"DELETE FROM {_table(kind)} WHERE status_id = ?", (status_id,))


async def page(db: Database, kind: str, *, max_id: int | None, min_id: int | None, limit: int) -> list[sqlite3.Row]:
    """(mark id, status row) newest mark first; the mark id is the paging cursor."""
    table, condition = _LISTED[kind]
    where, params = [condition] if condition else [], []
    if max_id is not None:
        where.append("m.id < ?")
        params.append(max_id)
    if min_id is not None:
        where.append("m.id > ?")
        params.append(min_id)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    order = "ASC" if min_id is not None and max_id is None else "DESC"
    rows = await db.fetchall(
        f"SELECT m.id AS mark_id, s.* FROM {table} m JOIN statuses s ON s.id = m.status_id {clause}"
        f" ORDER BY m.id {order} LIMIT ?", (*params, limit))
    return sorted(rows, key=lambda r: r["mark_id"], reverse=True)


async def set_status_muted(tx: Transaction, status_id: int, muted: bool) -> None:
    if muted:
        await tx.execute("INSERT OR IGNORE INTO status_mutes (status_id) VALUES (?)", (status_id,))
    else:
        await tx.execute("DELETE FROM status_mutes WHERE status_id = ?", (status_id,))


async def mute_account(tx: Transaction, mute_id: int, account_id: int, notifications: bool,
                       now: str) -> None:
    await tx.execute(
        "INSERT INTO account_mutes (id, account_id, notifications, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (account_id) DO UPDATE SET notifications = excluded.notifications",
        (mute_id, account_id, int(notifications), now))


async def unmute_account(tx: Transaction, account_id: int) -> None:
    await tx.execute("DELETE FROM account_mutes WHERE account_id = ?", (account_id,))


async def account_mute(db: Database, account_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM account_mutes WHERE account_id = ?", (account_id,))


async def set_note(tx: Transaction, account_id: int, note: str) -> None:
    if note:
        await tx.execute("INSERT INTO account_notes (account_id, note) VALUES (?, ?)"
                         " ON CONFLICT (account_id) DO UPDATE SET note = excluded.note", (account_id, note))
    else:
        await tx.execute("DELETE FROM account_notes WHERE account_id = ?", (account_id,))


async def note(db: Database, account_id: int) -> str:
    return await db.fetchval("SELECT note FROM account_notes WHERE account_id = ?", (account_id,)) or ""


async def markers(db: Database) -> list[sqlite3.Row]:
    return await db.fetchall("SELECT * FROM markers")


async def set_marker(tx: Transaction, timeline: str, last_read_id: int, now: str) -> None:
    await tx.execute(
        "INSERT INTO markers (timeline, last_read_id, version, updated_at) VALUES (?, ?, 1, ?)"
        " ON CONFLICT (timeline) DO UPDATE SET last_read_id = excluded.last_read_id,"
        " version = markers.version + 1, updated_at = excluded.updated_at", (timeline, last_read_id, now))


async def idempotent_status(db: Database, key: str, since: float) -> int | None:
    return await db.fetchval("SELECT status_id FROM idempotency_keys WHERE key = ? AND created_at > ?", (key, since))


async def remember_idempotency(tx: Transaction, key: str, status_id: int, now: float,
                               forget_before: float) -> None:
    await tx.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (forget_before,))
    await tx.execute("INSERT OR REPLACE INTO idempotency_keys (key, status_id, created_at) VALUES (?, ?, ?)",
                     (key, status_id, now))


async def list_muted_accounts(db: Database, *, max_id: int | None, limit: int) -> list[sqlite3.Row]:
    return await db.fetchall(
        "SELECT m.id AS mute_id, a.* FROM account_mutes m JOIN accounts a ON a.id = m.account_id"
        " WHERE (? IS NULL OR m.id < ?) ORDER BY m.id DESC LIMIT ?", (max_id, max_id, limit))
