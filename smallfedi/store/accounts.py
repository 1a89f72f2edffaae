"""Queries on accounts and the owner's secrets."""

from __future__ import annotations

import sqlite3

from smallfedi.store.db import Database, Transaction

OWNER_SQL = "SELECT * FROM accounts WHERE local = 1"


async def insert_owner(tx: Transaction, *, account_id: int, username: str, uri: str, url: str,
                       inbox_url: str, shared_inbox_url: str, key_id: str, public_key_pem: str,
                       private_key_pem: str, password_hash: str, secret_key: str, now: str) -> None:
    await tx.execute(
        "INSERT INTO accounts (id, local, username, domain, uri, url, display_name, inbox_url,"
        " shared_inbox_url, key_id, public_key_pem, created_at, updated_at)"
        " VALUES (?, 1, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (account_id, username, uri, url, "", inbox_url, shared_inbox_url, key_id, public_key_pem, now, now),
    )
    await tx.execute(
        "INSERT INTO owner (id, account_id, password_hash, private_key_pem, secret_key, password_changed_at)"
        " VALUES (1, ?, ?, ?, ?, ?)",
        (account_id, password_hash, private_key_pem, secret_key, now),
    )


async def set_collection_urls(tx: Transaction, actor: str) -> None:
    await tx.execute(
        "UPDATE accounts SET outbox_url = ?, followers_url = ?, following_url = ?, featured_url = ? WHERE uri = ?",
        (f"{actor}/outbox", f"{actor}/followers", f"{actor}/following", f"{actor}/collections/featured", actor))


async def owner_exists(db: Database) -> bool:
    return await db.fetchval("SELECT count(*) FROM owner") == 1


async def get_owner_account(db: Database) -> sqlite3.Row | None:
    return await db.fetchone(OWNER_SQL)


async def get_owner_account_in(tx: Transaction) -> sqlite3.Row | None:
    async with tx.execute(OWNER_SQL) as cur:
        return await cur.fetchone()


async def get_owner_secrets(db: Database) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM owner WHERE id = 1")


async def set_password_hash(tx: Transaction, password_hash: str, now: str) -> None:
    await tx.execute("UPDATE owner SET password_hash = ?, password_changed_at = ? WHERE id = 1",
                     (password_hash, now))


async def update_profile(tx: Transaction, account_id: int, *, display_name: str, note: str,
                         note_source: str, fields_json: str, locked: bool, now: str) -> None:
    await tx.execute(
        "UPDATE accounts SET display_name = ?, note = ?, note_source = ?, fields_json = ?, locked = ?,"
        " updated_at = ? WHERE id = ?",
        (display_name, note, note_source, fields_json, int(locked), now, account_id),
    )


# Remote actors

REMOTE_COLUMNS = (
    "username", "domain", "uri", "url", "display_name", "note", "fields_json", "locked", "bot", "discoverable",
    "avatar_url", "header_url", "inbox_url", "shared_inbox_url", "outbox_url", "followers_url",
    "following_url", "featured_url", "public_key_pem", "key_id", "actor_type", "also_known_as_json",
    "moved_to_uri", "created_at", "fetched_at",
)


async def upsert_remote(tx: Transaction, new_id: int, values: dict, now: str) -> int:
    """Insert or refresh a remote actor by its uri; returns its id."""
    columns = [c for c in REMOTE_COLUMNS if c in values]
    assignments = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "created_at")
    # Column names come from the fixed tuple above, never from input.
    async with tx.execute(
        f"INSERT INTO accounts (id, local, {', '.join(columns)}, updated_at)"
        f" VALUES (?, 0, {', '.join('?' for _ in columns)}, ?)"
        f" ON CONFLICT (uri) DO UPDATE SET {assignments}, updated_at = excluded.updated_at"
        " RETURNING id",
        (new_id, *(values[c] for c in columns), now),
    ) as cur:
        row = await cur.fetchone()
    return row[0]


async def get(db: Database, account_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM accounts WHERE id = ?", (account_id,))


async def get_by_uri(db: Database, uri: str) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM accounts WHERE uri = ?", (uri,))


async def get_by_key_id(db: Database, key_id: str) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM accounts WHERE key_id = ?", (key_id,))


async def get_by_handle(db: Database, username: str, domain: str) -> sqlite3.Row | None:
    return await db.fetchone(
        "SELECT * FROM accounts WHERE lower(username) = lower(?) AND domain = ? ORDER BY updated_at DESC LIMIT 1",
        (username, domain.lower()))


async def set_blocked(tx: Transaction, account_id: int, blocked: bool) -> None:
    await tx.execute("UPDATE accounts SET blocked = ? WHERE id = ? AND local = 0", (int(blocked), account_id))


async def set_blocks_owner(tx: Transaction, account_id: int, blocks: bool) -> None:
    await tx.execute("UPDATE accounts SET blocks_owner = ? WHERE id = ?", (int(blocks), account_id))


async def delete_remote(tx: Transaction, account_id: int) -> None:
    """Forget a remote actor and, by cascade, their posts, follows, likes and notifications."""
    await tx.execute("DELETE FROM accounts WHERE id = ? AND local = 0", (account_id,))


async def get_many(db: Database, account_ids) -> list[sqlite3.Row]:
    ids = list(set(account_ids))
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    return await db.fetchall(f"SELECT * FROM accounts WHERE id IN ({marks})", ids)


async def search(db: Database, q: str, *, limit: int, offset: int = 0,
                 following_of: int | None = None) -> list[sqlite3.Row]:
    """Accounts whose handle or display name starts with `q` (mention autocompletion)."""
    user, _, host = q.partition("@")
    like = user.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    where = "(username LIKE ? ESCAPE '\\' OR display_name LIKE ? ESCAPE '\\') AND blocked = 0"
    params: list = [like, like]
    if host:
        where += " AND (domain LIKE ? OR (domain IS NULL AND local = 1))"
        params.append(host.lower() + "%")
    if following_of is not None:
        where += " AND id IN (SELECT target_id FROM follows WHERE follower_id = ? AND accepted = 1)"
        params.append(following_of)
    return await db.fetchall(f"SELECT * FROM accounts WHERE {where} ORDER BY local DESC, username LIMIT ? OFFSET ?",
                             (*params, limit, offset))


async def list_blocked(db: Database, *, max_id: int | None, limit: int) -> list[sqlite3.Row]:
    return await db.fetchall("SELECT * FROM accounts WHERE blocked = 1 AND (? IS NULL OR id < ?)"
                             " ORDER BY id DESC LIMIT ?", (max_id, max_id, limit))


async def count_remote_domains(db: Database) -> int:
    """How many other servers we know accounts of."""
    return await db.fetchval("SELECT count(DISTINCT domain) FROM accounts WHERE local = 0") or 0


async def update_images(tx: Transaction, account_id: int, *, avatar_url: str | None,
                        header_url: str | None, now: str) -> None:
    """The owner's avatar and header addresses (NULL: the default image)."""
    await tx.execute("UPDATE accounts SET avatar_url = ?, header_url = ?, updated_at = ? WHERE id = ?",
                     (avatar_url, header_url, now, account_id))
