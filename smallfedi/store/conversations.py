"""What the owner did to each direct conversation (read, removed); the conversations
themselves are derived from the direct posts (statuses.list_direct)."""

from __future__ import annotations

import sqlite3
from typing import Iterable

from smallfedi.store.db import Database, Transaction


async def by_participants(db: Database, keys: Iterable[str]) -> dict[str, sqlite3.Row]:
    keys = list(keys)
    if not keys:
        return {}
    found = {}
    for start in range(0, len(keys), 500):  # SQLite's bound on parameters
        chunk = keys[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in await db.fetchall(f"SELECT * FROM conversations WHERE participants IN ({marks})", chunk):
            found[row["participants"]] = row
    return found


async def get(db: Database, conversation_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM conversations WHERE id = ?", (conversation_id,))


async def ensure(tx: Transaction, conversation_id: int, participants: str) -> None:
    await tx.execute("INSERT OR IGNORE INTO conversations (id, participants) VALUES (?, ?)",
                     (conversation_id, participants))


async def mark_read(tx: Transaction, conversation_id: int, up_to: int) -> None:
    await tx.execute("UPDATE conversations SET read_up_to = max(read_up_to, ?) WHERE id = ?", (up_to, conversation_id))


async def remove(tx: Transaction, conversation_id: int, up_to: int) -> None:
    await tx.execute("UPDATE conversations SET removed_up_to = max(removed_up_to, ?),"
                     " read_up_to = max(read_up_to, ?) WHERE id = ?", (up_to, up_to, conversation_id))
