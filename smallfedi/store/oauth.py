"""OAuth apps, authorisation codes and access tokens (hashes only)."""

from __future__ import annotations

import sqlite3

from smallfedi.store.db import Database, Transaction


async def insert_app(tx: Transaction, values: dict) -> None:
    cols = ", ".join(values)
    await tx.execute(f"INSERT INTO oauth_apps ({cols}) VALUES ({', '.join('?' for _ in values)})",
                     tuple(values.values()))


async def app_by_client_id(db: Database, client_id: str) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM oauth_apps WHERE client_id = ?", (client_id,))


async def app_by_id(db: Database, app_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM oauth_apps WHERE id = ?", (app_id,))


async def insert_code(tx: Transaction, code_hash: str, app_id: int, redirect_uri: str, scopes: str,
                      code_challenge: str | None, expires_at: float) -> None:
    await tx.execute(
        "INSERT INTO oauth_codes (code_hash, app_id, redirect_uri, scopes, code_challenge, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)", (code_hash, app_id, redirect_uri, scopes, code_challenge, expires_at))


async def take_code(tx: Transaction, code_hash: str) -> sqlite3.Row | None:
    """The code's row, deleted in the same step: a code works once."""
    async with tx.execute("DELETE FROM oauth_codes WHERE code_hash = ? RETURNING *", (code_hash,)) as cur:
        return await cur.fetchone()


async def delete_expired_codes(tx: Transaction, now: float) -> None:
    await tx.execute("DELETE FROM oauth_codes WHERE expires_at < ?", (now,))


async def insert_token(tx: Transaction, token_id: int, token_hash: str, app_id: int, scopes: str,
                       for_owner: bool, now: str) -> None:
    await tx.execute(
        "INSERT INTO oauth_tokens (id, token_hash, app_id, scopes, for_owner, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (token_id, token_hash, app_id, scopes, int(for_owner), now))


async def token_by_hash(db: Database, token_hash: str) -> sqlite3.Row | None:
    return await db.fetchone(
        "SELECT t.*, a.name AS app_name, a.website AS app_website FROM oauth_tokens t"
        " JOIN oauth_apps a ON a.id = t.app_id WHERE t.token_hash = ?", (token_hash,))


async def touch_token(tx: Transaction, token_id: int, now: str) -> None:
    await tx.execute("UPDATE oauth_tokens SET last_used_at = ? WHERE id = ?", (now, token_id))


async def delete_token(tx: Transaction, token_hash: str, app_id: int | None = None) -> int:
    if app_id is None:
        cur = await tx.execute("DELETE FROM oauth_tokens WHERE token_hash = ?", (token_hash,))
    else:
        cur = await tx.execute("DELETE FROM oauth_tokens WHERE token_hash = ? AND app_id = ?", (token_hash, app_id))
    return cur.rowcount


async def delete_app_tokens(tx: Transaction, app_id: int) -> int:
    cur = await tx.execute("DELETE FROM oauth_tokens WHERE app_id = ? AND for_owner = 1", (app_id,))
    return cur.rowcount


async def authorised_apps(db: Database) -> list[sqlite3.Row]:
    """Apps holding at least one token for the owner, with when they were last used."""
    return await db.fetchall(
        "SELECT a.id, a.name, a.website, group_concat(DISTINCT t.scopes) AS scopes, min(t.created_at) AS since,"
        " max(t.last_used_at) AS last_used_at, count(*) AS tokens"
        " FROM oauth_tokens t JOIN oauth_apps a ON a.id = t.app_id WHERE t.for_owner = 1"
        " GROUP BY a.id ORDER BY since DESC")
