"""Queries on accounts and the owner's secrets."""

from __future__ import annotations

import sqlite3

import aiosqlite

from smallfedi.store.db import Database

OWNER_SQL = "SELECT * FROM accounts WHERE local = 1"


async def insert_owner(tx: aiosqlite.Connection, *, account_id: int, username: str, uri: str, url: str,
                       inbox_url: str, shared_inbox_url: str, key_id: str, public_key_pem: str,
                       private_key_pem: str, password_hash: str, secret_key: str, now: str) -> None:
    await tx.execute(
        "INSERT INTO accounts (id, local, username, domain, uri, url, display_name, inbox_url,"
        " shared_inbox_url, key_id, public_key_pem, created_at, updated_at)"
        " VALUES (?, 1, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (account_id, username, uri, url, username, inbox_url, shared_inbox_url, key_id, public_key_pem, now, now),
    )
    await tx.execute(
        "INSERT INTO owner (id, account_id, password_hash, private_key_pem, secret_key, password_changed_at)"
        " VALUES (1, ?, ?, ?, ?, ?)",
        (account_id, password_hash, private_key_pem, secret_key, now),
    )


async def owner_exists(db: Database) -> bool:
    return await db.fetchval("SELECT count(*) FROM owner") == 1


async def get_owner_account(db: Database) -> sqlite3.Row | None:
    return await db.fetchone(OWNER_SQL)


async def get_owner_secrets(db: Database) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM owner WHERE id = 1")


async def set_password_hash(tx: aiosqlite.Connection, password_hash: str, now: str) -> None:
    await tx.execute("UPDATE owner SET password_hash = ?, password_changed_at = ? WHERE id = 1",
                     (password_hash, now))


async def update_profile(tx: aiosqlite.Connection, account_id: int, *, display_name: str, note: str,
                         note_source: str, fields_json: str, locked: bool, now: str) -> None:
    await tx.execute(
        "UPDATE accounts SET display_name = ?, note = ?, note_source = ?, fields_json = ?, locked = ?,"
        " updated_at = ? WHERE id = ?",
        (display_name, note, note_source, fields_json, int(locked), now, account_id),
    )
