"""Reading posts with the visibility rules applied.

Visitors see public and unlisted posts at their own address, and only public ones in lists
and feeds; followers-only and direct posts are the owner's alone until federation knows who
follows. The owner sees everything.
"""

from __future__ import annotations

from smallfedi.core.errors import Gone, NotFound
from smallfedi.core.instance import Instance
from smallfedi.core.models import Page, Status, StatusEdit
from smallfedi.store import statuses as statuses_store

MAX_PAGE = 40


async def load_status(inst: Instance, status_id: int) -> Status:
    row = await statuses_store.get(inst.db, status_id)
    if row is None:
        raise NotFound("This post does not exist.")
    return Status.from_row(row, await statuses_store.mentions_of(inst.db, status_id),
                           await statuses_store.tags_of(inst.db, status_id))


def can_see(status: Status, viewer_is_owner: bool) -> bool:
    return viewer_is_owner or status.visibility in ("public", "unlisted")


async def visible_status(inst: Instance, status_id: int, viewer_is_owner: bool) -> Status:
    """The post if this viewer may see it; NotFound otherwise (never reveal that it exists),
    Gone when it was deleted."""
    try:
        status = await load_status(inst, status_id)
    except NotFound:
        if await statuses_store.is_tombstoned(inst.db, inst.status_uri(status_id)):
            raise Gone("This post was deleted.") from None
        raise
    if not can_see(status, viewer_is_owner):
        raise NotFound("This post does not exist.")
    return status


def listed_visibilities(viewer_is_owner: bool) -> tuple[str, ...]:
    return ("public", "unlisted", "private", "direct") if viewer_is_owner else ("public",)


def clamp_limit(limit: int | None, default: int = 20) -> int:
    if limit is None:
        return default
    return max(1, min(MAX_PAGE, limit))


async def profile_page(inst: Instance, viewer_is_owner: bool, *, max_id: int | None = None,
                       min_id: int | None = None, limit: int | None = None) -> Page:
    limit = clamp_limit(limit)
    rows = await statuses_store.list_by_account(inst.db, inst.owner.id, listed_visibilities(viewer_is_owner),
                                                max_id=max_id, min_id=min_id, limit=limit)
    items = [Status.from_row(r) for r in rows]
    # A full page may have more beyond it; a short one going back in time is the end.
    older = items[-1].id if items and (len(items) == limit or min_id is not None) else None
    newer = items[0].id if items and (max_id is not None or min_id is not None) else None
    return Page(items=items, next_max_id=older, prev_min_id=newer)


async def post_count(inst: Instance, viewer_is_owner: bool) -> int:
    return await statuses_store.count_by_account(inst.db, inst.owner.id, listed_visibilities(viewer_is_owner))


async def history(inst: Instance, status_id: int, viewer_is_owner: bool) -> list[StatusEdit]:
    """Every version of a post, oldest first; a post never edited has just itself."""
    status = await visible_status(inst, status_id, viewer_is_owner)
    rows = await statuses_store.list_edits(inst.db, status_id)
    if not rows:
        return [StatusEdit(status.content, status.source, status.spoiler_text, status.sensitive,
                           status.language, status.created_at)]
    return [StatusEdit(r["content"], r["source"], r["spoiler_text"], bool(r["sensitive"]), r["language"],
                       r["created_at"]) for r in rows]


async def tag_page(inst: Instance, name: str, viewer_is_owner: bool, *, max_id: int | None = None,
                   limit: int | None = None) -> Page:
    """The owner's posts with a hashtag (remote ones join when federation brings them)."""
    limit = clamp_limit(limit)
    rows = await statuses_store.list_by_tag(inst.db, name, inst.owner.id, listed_visibilities(viewer_is_owner),
                                            max_id=max_id, limit=limit)
    items = [Status.from_row(r) for r in rows]
    return Page(items=items, next_max_id=items[-1].id if len(items) == limit else None)
