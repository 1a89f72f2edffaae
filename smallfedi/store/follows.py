"""Follows in both directions; one side of every row is the owner."""

from __future__ import annotations

import sqlite3

from smallfedi.store.db import Database, Transaction


async def upsert(tx: Transaction, follow_id: int, follower_id: int, target_id: int, uri: str,
                 accepted: bool, now: str) -> None:
    await tx.execute(
        "INSERT INTO follows (id, follower_id, target_id, uri, accepted, created_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (follower_id, target_id) DO UPDATE SET uri = excluded.uri,"
        " accepted = max(follows.accepted, excluded.accepted)",
        (follow_id, follower_id, target_id, uri, int(accepted), now),
    )


async def get(db: Database, follower_id: int, target_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM follows WHERE follower_id = ? AND target_id = ?",
                             (follower_id, target_id))


async def get_in(tx: Transaction, follower_id: int, target_id: int) -> sqlite3.Row | None:
    async with tx.execute("SELECT * FROM follows WHERE follower_id = ? AND target_id = ?",
                          (follower_id, target_id)) as cur:
        return await cur.fetchone()


async def get_by_uri(db: Database, uri: str) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM follows WHERE uri = ?", (uri,))


async def accept(tx: Transaction, follower_id: int, target_id: int) -> bool:
    cur = await tx.execute("UPDATE follows SET accepted = 1 WHERE follower_id = ? AND target_id = ? AND accepted = 0",
                           (follower_id, target_id))
    return cur.rowcount > 0


async def delete(tx: Transaction, follower_id: int, target_id: int) -> bool:
    cur = await tx.execute("DELETE FROM follows WHERE follower_id = ? AND target_id = ?", (follower_id, target_id))
    return cur.rowcount > 0


async def list_accounts(db: Database, *, follower_id: int | None = None, target_id: int | None = None,
                        accepted: bool = True, max_id: int | None = None, limit: int = 40) -> list[sqlite3.Row]:
    """The other side of the owner's follows, newest first: followers (target_id=owner) or
    followed accounts (follower_id=owner). Each row has the account's columns plus follow_id."""
    if (follower_id is None) == (target_id is None):
        raise ValueError("give exactly one of follower_id, target_id")
    mine, other = ("follower_id", "target_id") if follower_id is not None else ("target_id", "follower_id")
    params: list = [follower_id if follower_id is not None else target_id, int(accepted)]
    bound = ""
    if max_id is not None:
        bound = " AND f.id < ?"
        params.append(max_id)
    params.append(limit)
    return await db.fetchall(
        f"SELECT a.*, f.id AS follow_id FROM follows f JOIN accounts a ON a.id = f.{other}"
        f" WHERE f.{mine} = ? AND f.accepted = ?{bound} ORDER BY f.id DESC LIMIT ?",
        params,
    )


async def count(db: Database, *, follower_id: int | None = None, target_id: int | None = None) -> int:
    if follower_id is not None:
        return await db.fetchval("SELECT count(*) FROM follows WHERE follower_id = ? AND accepted = 1", (follower_id,))
    return await db.fetchval("SELECT count(*) FROM follows WHERE target_id = ? AND accepted = 1", (target_id,))


async def follower_inboxes_in(tx: Transaction, owner_id: int) -> list[str]:
    """Where a post to followers goes: each follower's shared inbox if it has one, deduplicated."""
    async with tx.execute(
        "SELECT DISTINCT coalesce(a.shared_inbox_url, a.inbox_url) FROM follows f"
        " JOIN accounts a ON a.id = f.follower_id"
        " WHERE f.target_id = ? AND f.accepted = 1 AND a.local = 0 AND a.inbox_url IS NOT NULL",
        (owner_id,),
    ) as cur:
        return [r[0] for r in await cur.fetchall()]


async def delete_by_inbox(tx: Transaction, owner_id: int, inbox_url: str) -> int:
    """Drop followers whose personal inbox is gone (410)."""
    cur = await tx.execute(
        "DELETE FROM follows WHERE target_id = ? AND follower_id IN"
        " (SELECT id FROM accounts WHERE inbox_url = ? AND local = 0)", (owner_id, inbox_url))
    return cur.rowcount
