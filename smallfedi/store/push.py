"""Web Push: the VAPID key, the apps' subscriptions and the queue of pushes to send."""

from __future__ import annotations

import sqlite3
from typing import Iterable

from smallfedi.store.db import Database, Transaction

# The VAPID key

async def get_vapid_key(db: Database) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM vapid_key WHERE id = 1")


async def insert_vapid_key(tx: Transaction, private_key_pem: str, public_key: str, now: str) -> None:
    """Once: a key already there is kept (pushes signed with it stay valid)."""
    await tx.execute("INSERT OR IGNORE INTO vapid_key (id, private_key_pem, public_key, created_at)"
                     " VALUES (1, ?, ?, ?)", (private_key_pem, public_key, now))


# Subscriptions, one per access token

async def subscription_for_token(db: Database, token_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM push_subscriptions WHERE token_id = ?", (token_id,))


async def replace_subscription(tx: Transaction, values: dict) -> int:
    """A new subscription for the token, in place of any it had (as Mastodon does); its id."""
    await tx.execute("DELETE FROM push_subscriptions WHERE token_id = ?", (values["token_id"],))
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    async with tx.execute(f"INSERT INTO push_subscriptions ({columns}) VALUES ({marks}) RETURNING id",
                          tuple(values.values())) as cur:
        return (await cur.fetchone())[0]


async def update_subscription(tx: Transaction, token_id: int, alerts_json: str, policy: str,
                              now: str) -> int:
    cur = await tx.execute("UPDATE push_subscriptions SET alerts_json = ?, policy = ?, updated_at = ?"
                           " WHERE token_id = ?", (alerts_json, policy, now, token_id))
    return cur.rowcount


async def delete_subscription_for_token(tx: Transaction, token_id: int) -> int:
    cur = await tx.execute("DELETE FROM push_subscriptions WHERE token_id = ?", (token_id,))
    return cur.rowcount


async def delete_subscription(tx: Transaction, subscription_id: int) -> int:
    """The subscription and (by cascade) every push still queued for it."""
    cur = await tx.execute("DELETE FROM push_subscriptions WHERE id = ?", (subscription_id,))
    return cur.rowcount


async def subscriptions_in(tx: Transaction) -> list[sqlite3.Row]:
    async with tx.execute("SELECT id, alerts_json, policy FROM push_subscriptions ORDER BY id") as cur:
        return list(await cur.fetchall())


async def relation_in(tx: Transaction, owner_id: int, account_id: int) -> sqlite3.Row:
    """Whether the owner follows the account, whether it follows the owner, and whether the owner
    keeps it out of their notifications (blocked, or muted with its notifications)."""
    async with tx.execute(
        "SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = :owner AND target_id = :account"
        "               AND accepted = 1) AS owner_follows,"
        " EXISTS (SELECT 1 FROM follows WHERE follower_id = :account AND target_id = :owner"
        "         AND accepted = 1) AS follows_owner,"
        " (EXISTS (SELECT 1 FROM accounts WHERE id = :account AND blocked = 1)"
        "  OR EXISTS (SELECT 1 FROM account_mutes WHERE account_id = :account AND notifications = 1)) AS silenced",
        {"owner": owner_id, "account": account_id},
    ) as cur:
        return await cur.fetchone()


# The queue

async def enqueue(tx: Transaction, subscription_ids: Iterable[int], notification_id: int,
                  now: float) -> int:
    rows = [(sub_id, notification_id, now, now) for sub_id in subscription_ids]
    await tx.executemany(
        "INSERT OR IGNORE INTO push_queue (subscription_id, notification_id, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?)", rows)
    return len(rows)


async def due(db: Database, now: float, limit: int) -> list[sqlite3.Row]:
    """Pushes whose time has come, with what sending them needs of their subscription."""
    return await db.fetchall(
        "SELECT q.id, q.subscription_id, q.notification_id, q.attempts, q.created_at, s.endpoint, s.p256dh,"
        " s.auth, s.standard, s.access_token"
        " FROM push_queue q JOIN push_subscriptions s ON s.id = q.subscription_id"
        " WHERE q.next_attempt_at <= ? ORDER BY q.next_attempt_at LIMIT ?", (now, limit))


async def next_due_at(db: Database) -> float | None:
    return await db.fetchval("SELECT min(next_attempt_at) FROM push_queue")


async def done(tx: Transaction, push_id: int) -> None:
    await tx.execute("DELETE FROM push_queue WHERE id = ?", (push_id,))


async def retry_later(tx: Transaction, push_id: int, when: float, error: str) -> None:
    await tx.execute("UPDATE push_queue SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
                     " WHERE id = ?", (when, error[:500], push_id))


async def pending_count(db: Database) -> int:
    return await db.fetchval("SELECT count(*) FROM push_queue")


async def notification_for_push(db: Database, notification_id: int) -> sqlite3.Row | None:
    """A notification with what its push shows: who, and the post it is about."""
    return await db.fetchone(
        "SELECT n.id, n.type, n.emoji, a.username, a.display_name, a.avatar_url, a.note,"
        " s.content AS status_content, s.spoiler_text AS status_spoiler"
        " FROM notifications n JOIN accounts a ON a.id = n.account_id"
        " LEFT JOIN statuses s ON s.id = n.status_id WHERE n.id = ?", (notification_id,))
