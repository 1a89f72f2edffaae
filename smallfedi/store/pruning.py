"""SQL for the disk budget: what the database holds, and which remote posts may go."""

from __future__ import annotations

from typing import Sequence

from smallfedi.store.db import Database, Transaction

# A remote post the owner never touched: not liked, boosted, bookmarked, pinned, replied to or
# voted on by the owner, not mentioning the owner, not behind a notification, and not boosted
# by anyone recently (the boost would vanish with it). ?1 the owner, ?2 the cutoff time, ?3 the
# id to continue after.
_PRUNABLE = """
FROM statuses s
WHERE s.local = 0 AND s.created_at < ?2 AND s.id > ?3
  AND NOT EXISTS (SELECT 1 FROM favourites f WHERE f.account_id = ?1 AND f.status_id = s.id)
  AND NOT EXISTS (SELECT 1 FROM statuses r WHERE r.reblog_of_id = s.id
                  AND (r.account_id = ?1 OR r.created_at >= ?2))
  AND NOT EXISTS (SELECT 1 FROM statuses r WHERE r.in_reply_to_id = s.id AND r.account_id = ?1)
  AND NOT EXISTS (SELECT 1 FROM bookmarks b WHERE b.status_id = s.id)
  AND NOT EXISTS (SELECT 1 FROM pins p WHERE p.status_id = s.id)
  AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.status_id = s.id)
  AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id AND m.account_id = ?1)
  AND NOT EXISTS (SELECT 1 FROM poll_votes v WHERE v.status_id = s.id AND v.account_id = ?1)
"""


async def prunable_ids(db: Database, owner_id: int, cutoff: str, after: int, limit: int) -> list[int]:
    rows = await db.fetchall(f"SELECT s.id {_PRUNABLE} ORDER BY s.id LIMIT ?4",
                             (owner_id, cutoff, after, limit), slow=True)
    return [r[0] for r in rows]


async def count_prunable(db: Database, owner_id: int, cutoff: str) -> int:
    return await db.fetchval(f"SELECT count(*) {_PRUNABLE}", (owner_id, cutoff, 0), slow=True)


async def delete_statuses(tx: Transaction, status_ids: Sequence[int]) -> None:
    """Remote posts forgotten (no tombstone: they still exist on their own server)."""
    marks = ", ".join("?" for _ in status_ids)
    await tx.execute(f"DELETE FROM statuses WHERE id IN ({marks})", tuple(status_ids))


async def status_counts(db: Database) -> tuple[int, int]:
    """(the owner's posts, remote posts) stored."""
    rows = {r[0]: r[1] for r in await db.fetchall("SELECT local, count(*) FROM statuses GROUP BY local",
                                                               slow=True)}
    return rows.get(1, 0), rows.get(0, 0)


async def free_bytes(db: Database) -> int:
    """Space inside the database file that deleted rows left, reused before the file grows."""
    pages = await db.fetchval("PRAGMA freelist_count")
    size = await db.fetchval("PRAGMA page_size")
    return pages * size
