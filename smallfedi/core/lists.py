"""The owner's lists: named sets of followed accounts, each with its own timeline. An exclusive
list's members leave the home timeline; `replies_policy` says which replies a list shows."""

from __future__ import annotations

from dataclasses import dataclass

from smallfedi.core import timelines
from smallfedi.core.errors import Invalid, NotFound
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, Page, Status
from smallfedi.core.reading import clamp_limit
from smallfedi.store import accounts as accounts_store
from smallfedi.store import follows as follows_store
from smallfedi.store import lists as lists_store
from smallfedi.store import statuses as statuses_store
from smallfedi.store.db import utcnow

REPLIES_POLICIES = ("followed", "list", "none")
MAX_TITLE = 256
MAX_LISTS = 100
MAX_MEMBERS = 1000


@dataclass(frozen=True)
class UserList:
    id: int
    title: str
    replies_policy: str
    exclusive: bool

    @classmethod
    def from_row(cls, row) -> "UserList":
        return cls(row["id"], row["title"], row["replies_policy"], bool(row["exclusive"]))


def _title(raw: str | None) -> str:
    title = (raw or "").strip()
    if not title:
        raise Invalid("Validation failed: Title can't be blank")
    if len(title) > MAX_TITLE:
        raise Invalid(f"Validation failed: Title is too long (maximum is {MAX_TITLE} characters)")
    return title


def _policy(raw: str | None) -> str:
    if raw not in REPLIES_POLICIES:
        raise Invalid(f"Validation failed: Replies policy must be one of {', '.join(REPLIES_POLICIES)}")
    return raw


async def all_lists(inst: Instance) -> list[UserList]:
    return [UserList.from_row(r) for r in await lists_store.all_lists(inst.db)]


async def get(inst: Instance, list_id: int) -> UserList:
    row = await lists_store.get(inst.db, list_id)
    if row is None:
        raise NotFound("Record not found")
    return UserList.from_row(row)


async def create(inst: Instance, title: str | None, replies_policy: str | None = None,
                 exclusive: bool = False) -> UserList:
    title, policy = _title(title), _policy(replies_policy or "list")
    if await lists_store.count(inst.db) >= MAX_LISTS:
        raise Invalid(f"You can have at most {MAX_LISTS} lists.")
    list_id = inst.ids.next()
    async with inst.db.transaction() as tx:
        await lists_store.insert(tx, list_id, title, policy, exclusive, utcnow())
    return await get(inst, list_id)


async def update(inst: Instance, list_id: int, *, title: str | None = None, replies_policy: str | None = None,
                 exclusive: bool | None = None) -> UserList:
    current = await get(inst, list_id)
    new_title = _title(title) if title is not None else current.title
    policy = _policy(replies_policy) if replies_policy is not None else current.replies_policy
    async with inst.db.transaction() as tx:
        await lists_store.update(tx, list_id, new_title, policy,
                                 current.exclusive if exclusive is None else exclusive)
    return await get(inst, list_id)


async def delete(inst: Instance, list_id: int) -> None:
    await get(inst, list_id)
    async with inst.db.transaction() as tx:
        await lists_store.delete(tx, list_id)


async def members(inst: Instance, list_id: int, *, max_id: int | None = None, since_id: int | None = None,
                  min_id: int | None = None, limit: int | None = 40) -> Page:
    """(cursor, Account) pairs, the latest added first; limit=None: every member."""
    await get(inst, list_id)
    rows = await lists_store.members(inst.db, list_id, max_id=max_id, since_id=since_id, min_id=min_id,
                                     limit=limit)
    items = [(r["cursor"], Account.from_row(r)) for r in rows]
    older = items[-1][0] if items and limit is not None and (len(items) == limit or min_id is not None) else None
    return Page(items=items, next_max_id=older, prev_min_id=items[0][0] if items and limit is not None else None)


async def add_accounts(inst: Instance, list_id: int, account_ids: list[int]) -> None:
    """As in Mastodon: only accounts the owner follows (or asked to follow); one already in the
    list is refused."""
    await get(inst, list_id)
    follows = {}
    for account_id in dict.fromkeys(account_ids):
        follow = await follows_store.get(inst.db, inst.owner.id, account_id)
        if follow is None:
            raise NotFound("Record not found")
        follows[account_id] = follow["id"]
    if await lists_store.member_ids(inst.db, list_id, list(follows)):
        raise Invalid("Validation failed: Account has already been taken")
    if await lists_store.count_members(inst.db, list_id) + len(follows) > MAX_MEMBERS:
        raise Invalid(f"A list can have at most {MAX_MEMBERS} members.")
    async with inst.db.transaction() as tx:
        for account_id, follow_id in follows.items():
            await lists_store.add_member(tx, inst.ids.next(), list_id, account_id, follow_id)


async def remove_accounts(inst: Instance, list_id: int, account_ids: list[int]) -> None:
    await get(inst, list_id)
    async with inst.db.transaction() as tx:
        await lists_store.remove_members(tx, list_id, list(dict.fromkeys(account_ids)))


async def lists_with(inst: Instance, account_id: int) -> list[UserList]:
    if await accounts_store.get(inst.db, account_id) is None:
        raise NotFound("Record not found")
    return [UserList.from_row(r) for r in await lists_store.lists_with(inst.db, account_id)]


async def timeline(inst: Instance, list_id: int, *, max_id: int | None = None, min_id: int | None = None,
                   since_id: int | None = None, limit: int | None = None) -> Page:
    """The list's timeline, paged like home."""
    found = await get(inst, list_id)
    limit = clamp_limit(limit)
    rows = await statuses_store.list_timeline(inst.db, inst.owner.id, found.id, found.replies_policy,
                                              max_id=max_id, min_id=min_id, since_id=since_id, limit=limit)
    views = await timelines.hydrate(inst, [Status.from_row(r) for r in rows])
    older = rows[-1]["id"] if rows and (len(rows) == limit or min_id is not None) else None
    newer = rows[0]["id"] if rows and (max_id is not None or min_id is not None) else None
    return Page(items=views, next_max_id=older, prev_min_id=newer)


async def shows(inst: Instance, list_id: int, status: Status) -> bool:
    """Whether a post belongs on a list's timeline (for the `list` stream)."""
    row = await lists_store.get(inst.db, list_id)
    if row is None:
        return False
    return await statuses_store.in_list(inst.db, inst.owner.id, list_id, row["replies_policy"], status.id)
