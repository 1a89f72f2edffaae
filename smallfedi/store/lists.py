"""The owner's lists and their members."""

from __future__ import annotations

import sqlite3
from typing import Sequence

from smallfedi.store.db import Database, Transaction, page_bounds


async def all_lists(db: Database) -> list[sqlite3.Row]:
    return await db.fetchall("SELECT * FROM lists ORDER BY lower(title), id")


async def count(db: Database) -> int:
    return await db.fetchval("SELECT count(*) FROM lists")


async def get(db: Database, list_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM lists WHERE id = ?", (list_id,))


async def insert(tx: Transaction, list_id: int, title: str, replies_policy: str, exclusive: bool,
                 now: str) -> None:
    await tx.execute("INSERT INTO lists (id, title, replies_policy, exclusive, created_at) VALUES (?, ?, ?, ?, ?)",
                     (list_id, title, replies_policy, int(exclusive), now))


async def update(tx: Transaction, list_id: int, title: str, replies_policy: str, exclusive: bool) -> None:
    await tx.execute("UPDATE lists SET title = ?, replies_policy = ?, exclusive = ? WHERE id = ?",
                     (title, replies_policy, int(exclusive), list_id))


async def delete(tx: Transaction, list_id: int) -> None:
    await tx.execute("DELETE FROM lists WHERE id = ?", (list_id,))


async def members(db: Database, list_id: int, *, max_id: int | None, since_id: int | None, min_id: int | None,
                  limit: int | None) -> list[sqlite3.Row]:
    """Members newest first (by when they were added), each with the account's columns and
    `cursor`, the membership's id. limit=None: all of them."""
    bounds, values, order = page_bounds("m.id", max_id, since_id, min_id)
    where, params = ["m.list_id = ?", *bounds], [list_id, *values]
    tail = ""
    if limit is not None:
        tail = " LIMIT ?"
        params.append(limit)
    rows = await db.fetchall(
        f"SELECT a.*, m.id AS cursor FROM list_accounts m JOIN accounts a ON a.id = m.account_id"
        f" WHERE {' AND '.join(where)} ORDER BY m.id {order}{tail}", params)
    return rows if order == "DESC" else rows[::-1]


async def count_members(db: Database, list_id: int) -> int:
    return await db.fetchval("SELECT count(*) FROM list_accounts WHERE list_id = ?", (list_id,))


async def member_ids(db: Database, list_id: int, account_ids: Sequence[int]) -> set[int]:
    if not account_ids:
        return set()
    marks = ", ".join("?" for _ in account_ids)
    rows = await db.fetchall(f"SELECT account_id FROM list_accounts WHERE list_id = ? AND account_id IN ({marks})",
                             (list_id, *account_ids))
    return {r[0] for r in rows}


async def add_member(tx: Transaction, member_id: int, list_id: int, account_id: int, follow_id: int) -> None:
    await tx.execute("INSERT INTO list_accounts (id, list_id, account_id, follow_id) VALUES (?, ?, ?, ?)",
                     (member_id, list_id, account_id, follow_id))


async def remove_members(tx: Transaction, list_id: int, account_ids: Sequence[int]) -> None:
    if not account_ids:
        return
    marks = ", ".join("?" for _ in account_ids)
    await tx.execute(f"DELETE FROM list_accounts WHERE list_id = ? AND account_id IN ({marks})",
                     (list_id, *account_ids))


async def lists_with(db: Database, account_id: int) -> list[sqlite3.Row]:
    """The lists an account is a member of."""
    return await db.fetchall(
        "SELECT l.* FROM lists l JOIN list_accounts m ON m.list_id = l.id WHERE m.account_id = ?"
        " ORDER BY lower(l.title), l.id", (account_id,))
