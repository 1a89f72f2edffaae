"""Browser sessions: only the SHA-256 of a session cookie's token is stored."""

from __future__ import annotations

import sqlite3

from smallfedi.store.db import Database, Transaction


async def insert(tx: Transaction, token_hash: str, user_agent: str, now: str) -> None:
    await tx.execute(
        "INSERT INTO web_sessions (token_hash, created_at, last_seen_at, user_agent) VALUES (?, ?, ?, ?)",
        (token_hash, now, now, user_agent[:300]),
    )


async def get(db: Database, token_hash: str) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM web_sessions WHERE token_hash = ?", (token_hash,))


async def delete(tx: Transaction, token_hash: str) -> None:
    await tx.execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,))


async def delete_all(tx: Transaction) -> None:
    await tx.execute("DELETE FROM web_sessions")


async def delete_older_than(tx: Transaction, cutoff: str) -> None:
    await tx.execute("DELETE FROM web_sessions WHERE last_seen_at < ?", (cutoff,))


async def touch(tx: Transaction, token_hash: str, now: str) -> None:
    await tx.execute("UPDATE web_sessions SET last_seen_at = ? WHERE token_hash = ?", (now, token_hash))
