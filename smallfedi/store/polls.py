"""Polls and poll votes.

A poll's row carries its options with their counts as JSON; the owner's polls are recounted
from `poll_votes` after each vote, remote ones are overwritten by their server's figures.
Rows read for display come with `mine` (the owner's own poll) and `own_votes` (a JSON array of
the owner's choices), so a page of posts costs one query.
"""

from __future__ import annotations

import sqlite3
from typing import Sequence

from smallfedi.store.db import Database, Transaction

_SELECT = (
    "SELECT p.*, s.account_id = ? AS mine,"
    " (SELECT json_group_array(v.choice) FROM poll_votes v"
    "  WHERE v.status_id = p.status_id AND v.account_id = ?) AS own_votes"
    " FROM polls p JOIN statuses s ON s.id = p.status_id"
)


async def insert(tx: Transaction, status_id: int, *, options_json: str, multiple: bool,
                 hide_totals: bool, expires_at: str | None, voters_count: int | None, now: str) -> None:
    await tx.execute(
        "INSERT INTO polls (status_id, multiple, hide_totals, expires_at, options_json, voters_count, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (status_id, int(multiple), int(hide_totals), expires_at, options_json, voters_count, now))


async def upsert_remote(tx: Transaction, status_id: int, *, options_json: str, multiple: bool,
                        expires_at: str | None, closed_at: str | None, voters_count: int | None,
                        now: str) -> None:
    """A remote poll as its server describes it now (its Create, or an Update after votes)."""
    await tx.execute(
        "INSERT INTO polls (status_id, multiple, expires_at, closed_at, options_json, voters_count, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (status_id) DO UPDATE SET multiple = excluded.multiple, expires_at = excluded.expires_at,"
        " closed_at = excluded.closed_at, options_json = excluded.options_json,"
        " voters_count = excluded.voters_count, updated_at = excluded.updated_at",
        (status_id, int(multiple), expires_at, closed_at, options_json, voters_count, now))


async def get(db: Database, status_id: int, owner_id: int) -> sqlite3.Row | None:
    return await db.fetchone(f"{_SELECT} WHERE p.status_id = ?", (owner_id, owner_id, status_id))


async def get_in(tx: Transaction, status_id: int, owner_id: int) -> sqlite3.Row | None:
    """Read inside a write transaction (sees its own uncommitted changes)."""
    async with tx.execute(f"{_SELECT} WHERE p.status_id = ?", (owner_id, owner_id, status_id)) as cur:
        return await cur.fetchone()


async def for_statuses(db: Database, status_ids: Sequence[int], owner_id: int) -> list[sqlite3.Row]:
    if not status_ids:
        return []
    marks = ", ".join("?" for _ in status_ids)
    return await db.fetchall(f"{_SELECT} WHERE p.status_id IN ({marks})", (owner_id, owner_id, *status_ids))


async def set_counts(tx: Transaction, status_id: int, options_json: str, voters_count: int | None,
                     now: str) -> None:
    await tx.execute("UPDATE polls SET options_json = ?, voters_count = ?, updated_at = ? WHERE status_id = ?",
                     (options_json, voters_count, now, status_id))


async def add_vote(tx: Transaction, vote_id: int, status_id: int, account_id: int, choice: int,
                   uri: str | None, now: str) -> bool:
    """False when this account already chose this option."""
    cur = await tx.execute(
        "INSERT OR IGNORE INTO poll_votes (id, status_id, account_id, choice, uri, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", (vote_id, status_id, account_id, choice, uri, now))
    return cur.rowcount > 0


async def has_voted(tx: Transaction, status_id: int, account_id: int) -> bool:
    async with tx.execute("SELECT 1 FROM poll_votes WHERE status_id = ? AND account_id = ? LIMIT 1",
                          (status_id, account_id)) as cur:
        return await cur.fetchone() is not None


async def tally(tx: Transaction, status_id: int) -> tuple[dict[int, int], int]:
    """({choice: votes}, distinct voters) from the votes themselves."""
    async with tx.execute("SELECT choice, count(*) FROM poll_votes WHERE status_id = ? GROUP BY choice",
                          (status_id,)) as cur:
        counts = {r[0]: r[1] for r in await cur.fetchall()}
    async with tx.execute("SELECT count(DISTINCT account_id) FROM poll_votes WHERE status_id = ?",
                          (status_id,)) as cur:
        voters = (await cur.fetchone())[0]
    return counts, voters


async def clear_votes(tx: Transaction, status_id: int) -> None:
    await tx.execute("DELETE FROM poll_votes WHERE status_id = ?", (status_id,))


async def voter_inboxes_in(tx: Transaction, status_id: int) -> list[str]:
    """Where the remote voters on a poll are reached (their shared inbox when they have one)."""
    async with tx.execute(
        "SELECT DISTINCT coalesce(a.shared_inbox_url, a.inbox_url) FROM poll_votes v"
        " JOIN accounts a ON a.id = v.account_id"
        " WHERE v.status_id = ? AND a.local = 0 AND a.blocks_owner = 0", (status_id,)) as cur:
        return [r[0] for r in await cur.fetchall() if r[0]]
