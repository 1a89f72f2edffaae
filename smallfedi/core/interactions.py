"""The owner likes and boosts posts, and takes it back."""

from __future__ import annotations

from smallfedi.core.errors import Invalid
from smallfedi.core.events import emit
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, Status
from smallfedi.core.reading import load_status
from smallfedi.store import accounts as accounts_store
from smallfedi.store import interactions as interactions_store
from smallfedi.store import statuses as statuses_store
from smallfedi.store.db import utcnow


async def _target(inst: Instance, status_id: int) -> tuple[Status, Account]:
    status = await load_status(inst, status_id)
    if status.reblog_of_id is not None:  # acting on a boost acts on what it boosts
        status = await load_status(inst, status.reblog_of_id)
    author = Account.from_row(await accounts_store.get(inst.db, status.account_id))
    return status, author


async def favourite(inst: Instance, status_id: int) -> Status:
    status, author = await _target(inst, status_id)
    like_uri = inst.federation.new_activity_uri()
    async with inst.db.transaction() as tx:
        if await interactions_store.add_favourite(tx, inst.ids.next(), inst.owner.id, status.id, like_uri, utcnow()):
            if not author.local:
                await inst.federation.publish_like(tx, like_uri, status, author)
    return status


async def unfavourite(inst: Instance, status_id: int) -> Status:
    status, author = await _target(inst, status_id)
    async with inst.db.transaction() as tx:
        removed = await interactions_store.remove_favourite(tx, inst.owner.id, status.id)
        if removed is not None and not author.local:
            await inst.federation.publish_undo_like(tx, removed["uri"], status, author)
    return status


async def reblog(inst: Instance, status_id: int) -> Status:
    status, author = await _target(inst, status_id)
    if status.visibility not in ("public", "unlisted"):
        raise Invalid("Only public and unlisted posts can be boosted.")
    existing = await interactions_store.find_reblog(inst.db, inst.owner.id, status.id)
    if existing is not None:
        return Status.from_row(existing)
    boost_id = inst.ids.next()
    boost_uri = f"{inst.status_uri(boost_id)}/activity"
    async with inst.db.transaction() as tx:
        await statuses_store.insert(tx, {
            "id": boost_id, "uri": boost_uri, "url": status.url, "account_id": inst.owner.id, "local": 1,
            "reblog_of_id": status.id, "visibility": "public", "created_at": utcnow(),
        })
        boost = Status.from_row(await statuses_store.get_in(tx, boost_id))
        await inst.federation.publish_announce(tx, boost, status, author)
        emit(inst, "status", boost_id)
    return boost


async def unreblog(inst: Instance, status_id: int) -> Status:
    status, author = await _target(inst, status_id)
    existing = await interactions_store.find_reblog(inst.db, inst.owner.id, status.id)
    if existing is None:
        return status
    boost = Status.from_row(existing)
    async with inst.db.transaction() as tx:
        await statuses_store.delete(tx, boost.id, boost.uri, utcnow())
        emit(inst, "delete", boost.id)
        await inst.federation.publish_undo_announce(tx, boost, status, author)
    return status


async def favourited_by(inst: Instance, status_id: int, max_id: int | None, limit: int) -> list[tuple[int, Account]]:
    rows = await interactions_store.favouriters(inst.db, status_id, max_id, limit)
    return [(r["cursor"], Account.from_row(r)) for r in rows]


async def reblogged_by(inst: Instance, status_id: int, max_id: int | None, limit: int) -> list[tuple[int, Account]]:
    rows = await interactions_store.rebloggers(inst.db, status_id, max_id, limit)
    return [(r["cursor"], Account.from_row(r)) for r in rows]
