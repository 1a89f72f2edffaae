"""The owner's outgoing activities and the durable delivery queue."""

from __future__ import annotations

import sqlite3
from typing import Iterable

from smallfedi.store.db import Database, Transaction


async def insert_activity(tx: Transaction, activity_id: int, uri: str, type_: str, json_text: str,
                          now: str) -> int:
    """Store an activity; one sent again under the same id (a repeated Follow) reuses its row."""
    async with tx.execute(
        "INSERT INTO activities (id, uri, type, json, created_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (uri) DO UPDATE SET json = excluded.json RETURNING id",
        (activity_id, uri, type_, json_text, now),
    ) as cur:
        return (await cur.fetchone())[0]


async def get_activity_by_uri(db: Database, uri: str) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM activities WHERE uri = ?", (uri,))


async def enqueue(tx: Transaction, activity_id: int, inboxes: Iterable[tuple[str, str]], now: str,
                  due: float) -> int:
    """(inbox_url, host) pairs; a repeated inbox for one activity is kept once."""
    rows = [(activity_id, inbox, host, due, now) for inbox, host in inboxes]
    await tx.executemany(
        "INSERT OR IGNORE INTO deliveries (activity_id, inbox_url, host, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?)", rows)
    return len(rows)


async def due(db: Database, now: float, limit: int) -> list[sqlite3.Row]:
    """Deliveries whose time has come, skipping paused hosts, with their activity's JSON;
    a post's deliveries to one host together (the worker sends them over one connection)."""
    return await db.fetchall(
        "SELECT d.*, a.json AS activity_json FROM deliveries d JOIN activities a ON a.id = d.activity_id"
        " LEFT JOIN host_health h ON h.host = d.host"
        " WHERE d.next_attempt_at <= ? AND coalesce(h.paused_until, 0) <= ?"
        " ORDER BY d.next_attempt_at, d.host LIMIT ?", (now, now, limit))


async def next_due_at(db: Database) -> float | None:
    return await db.fetchval(
        "SELECT min(max(d.next_attempt_at, coalesce(h.paused_until, 0))) FROM deliveries d"
        " LEFT JOIN host_health h ON h.host = d.host")


async def done(tx: Transaction, delivery_id: int) -> None:
    await tx.execute("DELETE FROM deliveries WHERE id = ?", (delivery_id,))


async def retry_later(tx: Transaction, delivery_id: int, when: float, error: str) -> None:
    await tx.execute("UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                     (when, error[:500], delivery_id))


async def host_failed(tx: Transaction, host: str, pause_after: int, pause_until: float) -> None:
    await tx.execute(
        "INSERT INTO host_health (host, failures, paused_until) VALUES (?, 1, 0)"
        " ON CONFLICT (host) DO UPDATE SET failures = failures + 1", (host,))
    await tx.execute("UPDATE host_health SET paused_until = ? WHERE host = ? AND failures >= ?",
                     (pause_until, host, pause_after))


async def host_ok(tx: Transaction, host: str) -> None:
    await tx.execute("DELETE FROM host_health WHERE host = ?", (host,))


async def pending_count(db: Database) -> int:
    return await db.fetchval("SELECT count(*) FROM deliveries")


async def seen(db: Database, uri: str) -> bool:
    return await db.fetchone("SELECT 1 FROM inbox_seen WHERE activity_uri = ?", (uri,)) is not None


def mark_seen_soon(db: Database, uri: str, now: str) -> None:
    """Record an inbound activity id with the next commit, without waiting for it (a crash
    before then only means a redelivery is handled again)."""
    db.write_soon("INSERT OR IGNORE INTO inbox_seen (activity_uri, received_at) VALUES (?, ?)", (uri, now))
