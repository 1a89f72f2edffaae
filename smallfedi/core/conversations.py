"""Direct conversations, derived from the direct posts stored (the owner's, and those others
addressed to the owner), grouped by who takes part: the author and everyone mentioned, but the
owner. A conversation is unread while its latest post is someone else's and newer than what the
owner marked read; removing one hides it until a newer post arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

from smallfedi.core.errors import NotFound
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, Page, Status
from smallfedi.core.reading import clamp_limit
from smallfedi.store import accounts as accounts_store
from smallfedi.store import conversations as store
from smallfedi.store import statuses as statuses_store

# How many of the latest direct posts are grouped; older ones drop out of the list.
MAX_SCANNED = 5000


@dataclass(frozen=True)
class Conversation:
    id: int
    unread: bool
    accounts: tuple[Account, ...]  # the others; the owner alone for a note to self
    last_status: Status


def _participants(inst: Instance, status: Status, mentioned: list[int]) -> str:
    ids = set(mentioned)
    ids.add(status.account_id)
    ids.discard(inst.owner.id)
    return " ".join(str(i) for i in sorted(ids))


async def _latest(inst: Instance) -> list[tuple[str, Status]]:
    """(participants, latest post) for every conversation, the most recent first."""
    rows = await statuses_store.list_direct(inst.db, MAX_SCANNED)
    mentioned = await _mentions(inst, [r["id"] for r in rows])
    latest: dict[str, Status] = {}
    for row in rows:
        status = Status.from_row(row)
        key = _participants(inst, status, mentioned.get(status.id, []))
        latest.setdefault(key, status)
    return list(latest.items())


async def _mentions(inst: Instance, ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for start in range(0, len(ids), 500):
        found.update(await statuses_store.mentioned_ids(inst.db, ids[start:start + 500]))
    return found


async def _states(inst: Instance, keys: list[str]) -> dict:
    """Each conversation's row, made for those listed for the first time."""
    states = await store.by_participants(inst.db, keys)
    missing = [k for k in keys if k not in states]
    if missing:
        async with inst.db.transaction() as tx:
            for key in missing:
                await store.ensure(tx, inst.ids.next(), key)
        states = await store.by_participants(inst.db, keys)
    return states


async def _build(inst: Instance, pairs: list[tuple[str, Status]], states: dict) -> list[Conversation]:
    account_ids = {int(i) for key, _ in pairs for i in key.split()}
    accounts = {r["id"]: Account.from_row(r) for r in await accounts_store.get_many(inst.db, account_ids)}
    out = []
    for key, last in pairs:
        state = states[key]
        people = tuple(accounts[int(i)] for i in key.split() if int(i) in accounts) or (inst.owner,)
        unread = last.account_id != inst.owner.id and last.id > state["read_up_to"]
        out.append(Conversation(state["id"], unread, people, last))
    return out


async def _visible(inst: Instance) -> tuple[list[tuple[str, Status]], dict]:
    pairs = await _latest(inst)
    states = await _states(inst, [k for k, _ in pairs])
    return [(k, s) for k, s in pairs if s.id > states[k]["removed_up_to"]], states


async def page(inst: Instance, *, max_id: int | None = None, since_id: int | None = None,
               min_id: int | None = None, limit: int | None = None) -> Page:
    """Conversations, the most recent first, paged by their latest post's id (as Mastodon)."""
    limit = clamp_limit(limit)
    pairs, states = await _visible(inst)
    if max_id is not None:
        pairs = [p for p in pairs if p[1].id < max_id]
    if since_id is not None:
        pairs = [p for p in pairs if p[1].id > since_id]
    if min_id is not None:
        pairs = [p for p in pairs if p[1].id > min_id]
        chosen = pairs[-limit:] if max_id is None else pairs[:limit]
    else:
        chosen = pairs[:limit]
    items = await _build(inst, chosen, states)
    older = chosen[-1][1].id if chosen and (len(chosen) == limit or min_id is not None) else None
    newer = chosen[0][1].id if chosen else None
    return Page(items=items, next_max_id=older, prev_min_id=newer)


async def get(inst: Instance, conversation_id: int) -> Conversation:
    row = await store.get(inst.db, conversation_id)
    if row is None:
        raise NotFound("Record not found")
    for key, last in await _latest(inst):
        if key == row["participants"]:
            return (await _build(inst, [(key, last)], {key: row}))[0]
    raise NotFound("Record not found")  # its posts are gone


async def mark_read(inst: Instance, conversation_id: int) -> Conversation:
    found = await get(inst, conversation_id)
    async with inst.db.transaction() as tx:
        await store.mark_read(tx, conversation_id, found.last_status.id)
    return await get(inst, conversation_id)


async def remove(inst: Instance, conversation_id: int) -> None:
    found = await get(inst, conversation_id)
    async with inst.db.transaction() as tx:
        await store.remove(tx, conversation_id, found.last_status.id)


async def of_status(inst: Instance, status: Status) -> Conversation | None:
    """The conversation a direct post belongs to (for the `direct` stream)."""
    if status.visibility != "direct":
        return None
    key = _participants(inst, status, (await statuses_store.mentioned_ids(inst.db, [status.id])).get(status.id, []))
    for other_key, last in await _latest(inst):
        if other_key == key:
            states = await _states(inst, [key])
            return (await _build(inst, [(key, last)], states))[0]
    return None
