"""Hashtags the owner follows: public posts carrying one join the home timeline."""

from __future__ import annotations

import re

from smallfedi.core.errors import NotFound
from smallfedi.core.instance import Instance
from smallfedi.core.models import Page
from smallfedi.store import followed_tags as store
from smallfedi.store.db import utcnow

# The names the post parser makes hashtags of (text.HASHTAG_RE without the '#'); all digits is a number.
_NAME = re.compile(r"[^\W_]\w{0,99}|_\w{0,99}")


def normalise(raw: str) -> str:
    """A tag name as stored (lower-cased, without '#'), or NotFound as Mastodon answers."""
    name = (raw or "").strip().lstrip("#").lower()
    if not _NAME.fullmatch(name) or name.isdigit():
        raise NotFound("Record not found")
    return name


async def is_followed(inst: Instance, name: str) -> bool:
    try:
        return await store.is_followed(inst.db, normalise(name))
    except NotFound:
        return False  # a name no one can follow (another server's odd tag)


async def follow(inst: Instance, raw: str) -> str:
    name = normalise(raw)
    async with inst.db.transaction() as tx:
        await store.follow(tx, inst.ids.next(), name, utcnow())
    return name


async def unfollow(inst: Instance, raw: str) -> str:
    name = normalise(raw)
    async with inst.db.transaction() as tx:
        await store.unfollow(tx, name)
    return name


async def followed(inst: Instance, *, max_id: int | None = None, since_id: int | None = None,
                   min_id: int | None = None, limit: int = 100) -> Page:
    """(cursor, name) pairs, the most recently followed first."""
    rows = await store.page(inst.db, max_id=max_id, since_id=since_id, min_id=min_id, limit=limit)
    items = [(r["id"], r["name"]) for r in rows]
    return Page(items=items, next_max_id=items[-1][0] if items and len(items) == limit else None,
                prev_min_id=items[0][0] if items else None)
