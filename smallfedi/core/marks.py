"""The owner's private marks: bookmarks, pinned posts, muted threads and accounts, notes on
accounts, and where the owner stopped reading. None of it federates except pins, which
other servers read from the featured collection."""

from __future__ import annotations

from smallfedi.core.errors import Invalid, NotFound
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, Page, Status
from smallfedi.core.reading import clamp_limit, load_status
from smallfedi.store import accounts as accounts_store
from smallfedi.store import marks as marks_store
from smallfedi.store.db import utcnow

MAX_PINS = 5
MAX_NOTE = 2000


async def _shown(inst: Instance, status_id: int) -> Status:
    status = await load_status(inst, status_id)
    if status.reblog_of_id is not None:
        status = await load_status(inst, status.reblog_of_id)
    return status


async def bookmark(inst: Instance, status_id: int, on: bool = True) -> Status:
    status = await _shown(inst, status_id)
    async with inst.db.transaction() as tx:
        if on:
            await marks_store.add(tx, "bookmarks", inst.ids.next(), status.id, utcnow())
        else:
            await marks_store.remove(tx, "bookmarks", status.id)
    return status


async def pin(inst: Instance, status_id: int, on: bool = True) -> Status:
    status = await load_status(inst, status_id)
    if on:
        if status.account_id != inst.owner.id or status.reblog_of_id is not None:
            raise Invalid("Only your own posts can be pinned.")
        if status.visibility not in ("public", "unlisted"):
            raise Invalid("Only public and unlisted posts can be pinned.")
        if len(await pinned_ids(inst)) >= MAX_PINS and status.id not in await pinned_ids(inst):
            raise Invalid(f"You can pin at most {MAX_PINS} posts.")
    async with inst.db.transaction() as tx:
        if on:
            await marks_store.add(tx, "pins", inst.ids.next(), status.id, utcnow())
        else:
            await marks_store.remove(tx, "pins", status.id)
    return status


async def pinned_ids(inst: Instance) -> list[int]:
    rows = await marks_store.page(inst.db, "pins", max_id=None, min_id=None, limit=MAX_PINS)
    return [r["id"] for r in rows]


async def mute_thread(inst: Instance, status_id: int, on: bool = True) -> Status:
    status = await _shown(inst, status_id)
    async with inst.db.transaction() as tx:
        await marks_store.set_status_muted(tx, status.id, on)
    return status


async def marked_page(inst: Instance, kind: str, *, max_id: int | None = None, min_id: int | None = None,
                      limit: int | None = None) -> Page:
    """Bookmarked posts, newest bookmark first; the cursors are bookmark ids."""
    limit = clamp_limit(limit)
    rows = await marks_store.page(inst.db, kind, max_id=max_id, min_id=min_id, limit=limit)
    items = [(r["mark_id"], Status.from_row(r)) for r in rows]
    older = items[-1][0] if items and (len(items) == limit or min_id is not None) else None
    newer = items[0][0] if items else None
    return Page(items=items, next_max_id=older, prev_min_id=newer)


async def _remote_account(inst: Instance, account_id: int):
    row = await accounts_store.get(inst.db, account_id)
    if row is None:
        raise NotFound("Record not found")
    return row


async def mute_account(inst: Instance, account_id: int, notifications: bool = True) -> None:
    row = await _remote_account(inst, account_id)
    if row["local"]:
        raise Invalid("You can't mute yourself.")
    async with inst.db.transaction() as tx:
        await marks_store.mute_account(tx, inst.ids.next(), account_id, notifications, utcnow())


async def unmute_account(inst: Instance, account_id: int) -> None:
    await _remote_account(inst, account_id)
    async with inst.db.transaction() as tx:
        await marks_store.unmute_account(tx, account_id)


async def set_note(inst: Instance, account_id: int, note: str) -> None:
    await _remote_account(inst, account_id)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise Invalid(f"A note can have at most {MAX_NOTE} characters.")
    async with inst.db.transaction() as tx:
        await marks_store.set_note(tx, account_id, note)


async def markers(inst: Instance) -> dict[str, dict]:
    return {r["timeline"]: {"last_read_id": r["last_read_id"], "version": r["version"],
                            "updated_at": r["updated_at"]} for r in await marks_store.markers(inst.db)}


async def set_markers(inst: Instance, positions: dict[str, int]) -> dict[str, dict]:
    async with inst.db.transaction() as tx:
        for timeline, last_read in positions.items():
            if timeline not in ("home", "notifications"):
                raise Invalid("timeline must be home or notifications")
            await marks_store.set_marker(tx, timeline, last_read, utcnow())
    return await markers(inst)


async def muted_accounts(inst: Instance, max_id: int | None = None, limit: int = 40) -> list[tuple[int, Account]]:
    rows = await marks_store.list_muted_accounts(inst.db, max_id=max_id, limit=limit)
    return [(r["mute_id"], Account.from_row(r)) for r in rows]
