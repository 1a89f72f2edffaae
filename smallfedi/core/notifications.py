"""The owner's notifications, filtered and paged as apps ask for them."""

from __future__ import annotations

from smallfedi.core.errors import NotFound
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, Notification, Page, Status
from smallfedi.core.reading import clamp_limit
from smallfedi.store import accounts as accounts_store
from smallfedi.store import interactions as interactions_store
from smallfedi.store import statuses as statuses_store

# What apps call each stored type; several stored types may answer to one app type.
APP_NAMES = {"reaction": "favourite"}


def _stored_types(app_types: set[str] | None) -> list[str] | None:
    if app_types is None:
        return None
    stored = set(app_types)
    for ours, theirs in APP_NAMES.items():
        if theirs in app_types:
            stored.add(ours)
    return sorted(stored)


async def _build(inst: Instance, rows) -> list[Notification]:
    accounts = {r["id"]: Account.from_row(r)
                for r in await accounts_store.get_many(inst.db, [r["account_id"] for r in rows])}
    statuses = {r["id"]: Status.from_row(r)
                for r in await statuses_store.get_many(inst.db, [r["status_id"] for r in rows if r["status_id"]])}
    return [Notification(id=r["id"], type=r["type"], account=accounts[r["account_id"]],
                         status=statuses.get(r["status_id"]), created_at=r["created_at"], emoji=r["emoji"])
            for r in rows if r["account_id"] in accounts]


async def page(inst: Instance, *, types: set[str] | None = None, exclude_types: set[str] = frozenset(),
               account_id: int | None = None, max_id: int | None = None, since_id: int | None = None,
               min_id: int | None = None, limit: int | None = None) -> Page:
    limit = clamp_limit(limit, 15)
    excluded = _stored_types(set(exclude_types)) or []
    rows = await interactions_store.query_notifications(
        inst.db, types=_stored_types(types), exclude_types=excluded, account_id=account_id,
        max_id=max_id, since_id=since_id, min_id=min_id, limit=limit)
    items = await _build(inst, rows)
    older = rows[-1]["id"] if rows and (len(rows) == limit or min_id is not None) else None
    newer = rows[0]["id"] if rows else None
    return Page(items=items, next_max_id=older, prev_min_id=newer)


async def get(inst: Instance, notification_id: int) -> Notification:
    row = await interactions_store.get_notification(inst.db, notification_id)
    found = await _build(inst, [row]) if row else []
    if not found:
        raise NotFound("Record not found")
    return found[0]


async def dismiss(inst: Instance, notification_id: int) -> None:
    async with inst.db.transaction() as tx:
        await interactions_store.delete_notification(tx, notification_id)


async def clear(inst: Instance) -> None:
    async with inst.db.transaction() as tx:
        await interactions_store.delete_all_notifications(tx)


async def count_after(inst: Instance, after_id: int, limit: int = 1000) -> int:
    return await interactions_store.count_notifications_after(inst.db, after_id, limit)
