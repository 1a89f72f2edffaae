"""Domains the owner blocked, and the SQL that tells which accounts a block covers (the same
rule as core.domain_blocks.covers: the domain, its subdomains, and with no port every port)."""

from __future__ import annotations

import sqlite3

from smallfedi.store.db import Database, Transaction, newest_first, page_bounds


def _covers(host: str, domain: str) -> str:
    """SQL: a block of `domain` covers the account domain `host` (host[:port]). rtrim drops a
    port's digits, leaving "host:"."""
    bare = f"rtrim({host}, '0123456789')"
    return (f"({host} = {domain} OR substr({host}, -length({domain}) - 1) = '.' || {domain}"
            f" OR {bare} = {domain} || ':' OR substr({bare}, -length({domain}) - 2) = '.' || {domain} || ':')")


def on_blocked_domain(account_id: str) -> str:
    """SQL: the account `account_id` names is on a blocked domain. Correlated, so a query pays
    one primary-key look-up (and a pass over the few blocks) per row it actually reaches."""
    return (f"EXISTS (SELECT 1 FROM accounts da JOIN domain_blocks db ON {_covers('da.domain', 'db.domain')}"
            f" WHERE da.id = {account_id})")


def hidden(account_id: str) -> str:
    """SQL: the account is hidden from every list: blocked by the owner, or on a blocked domain."""
    return (f"(EXISTS (SELECT 1 FROM accounts ha WHERE ha.id = {account_id} AND ha.blocked = 1)"
            f" OR {on_blocked_domain(account_id)})")


async def domains(db: Database) -> list[str]:
    return [r[0] for r in await db.fetchall("SELECT domain FROM domain_blocks ORDER BY id")]


async def domains_in(tx: Transaction) -> list[str]:
    """Inside a write transaction (the delivery queue checks its targets against them)."""
    async with tx.execute("SELECT domain FROM domain_blocks ORDER BY id") as cur:
        return [r[0] for r in await cur.fetchall()]


async def page(db: Database, *, max_id: int | None, since_id: int | None, min_id: int | None,
               limit: int) -> list[sqlite3.Row]:
    """Blocks, the newest first; `id` is the paging cursor."""
    where, params, order = page_bounds("id", max_id, since_id, min_id)
    rows = await db.fetchall(
        f"SELECT id, domain FROM domain_blocks WHERE {' AND '.join(['1', *where])} ORDER BY id {order} LIMIT ?",
        (*params, limit))
    return newest_first(rows, order)


async def add(tx: Transaction, block_id: int, domain: str, now: str) -> None:
    await tx.execute("INSERT OR IGNORE INTO domain_blocks (id, domain, created_at) VALUES (?, ?, ?)",
                     (block_id, domain, now))


async def remove(tx: Transaction, domain: str) -> bool:
    cur = await tx.execute("DELETE FROM domain_blocks WHERE domain = ?", (domain,))
    return cur.rowcount > 0


async def blocked_account_ids(db: Database, account_ids) -> set[int]:
    """Which of these accounts are on a blocked domain."""
    ids = list(account_ids)
    if not ids:
        return set()
    marks = ", ".join("?" for _ in ids)
    rows = await db.fetchall(f"SELECT a.id FROM accounts a WHERE a.id IN ({marks}) AND {on_blocked_domain('a.id')}",
                             ids)
    return {r[0] for r in rows}


async def follows_on_domain(tx: Transaction, owner_id: int, domain: str) -> list[sqlite3.Row]:
    """The owner's follows both ways, pending ones too, with accounts `domain` covers: the
    follow's columns plus `other_id`, the account on that domain."""
    async with tx.execute(
        "SELECT f.*, a.id AS other_id FROM follows f JOIN accounts a"
        " ON a.id = CASE WHEN f.follower_id = :owner THEN f.target_id ELSE f.follower_id END"
        f" WHERE (f.follower_id = :owner OR f.target_id = :owner) AND a.local = 0 AND {_covers('a.domain', ':domain')}",
        {"owner": owner_id, "domain": domain}) as cur:
        return await cur.fetchall()
