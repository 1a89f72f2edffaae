"""Timelines, threads and notifications, with everything a face needs to show each post."""

from __future__ import annotations

from dataclasses import dataclass, replace

from smallfedi.core import media as media_core
from smallfedi.core import polls as polls_core
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, MediaAttachment, Notification, Page, Poll, Status
from smallfedi.core.reading import can_see, clamp_limit, load_status
from smallfedi.store import accounts as accounts_store
from smallfedi.store import domain_blocks as domain_blocks_store
from smallfedi.store import interactions as interactions_store
from smallfedi.store import marks as marks_store
from smallfedi.store import statuses as statuses_store

MAX_ANCESTORS = 40
MAX_DESCENDANTS = 200


@dataclass(frozen=True)
class StatusView:
    """A post as shown: its author, and for a boost the boosted post and its author."""
    status: Status
    author: Account
    reblog: Status | None = None
    reblog_author: Account | None = None
    favourited: bool = False
    reblogged: bool = False
    replies_count: int = 0
    reblogs_count: int = 0
    favourites_count: int = 0
    bookmarked: bool = False
    pinned: bool = False
    muted: bool = False
    mentioned: tuple[Account, ...] = ()  # of the shown post
    poll: Poll | None = None  # of the shown post
    media: tuple[MediaAttachment, ...] = ()  # of the shown post, in order

    @property
    def shown(self) -> Status:
        """The post whose text is displayed (the boosted one for a boost)."""
        return self.reblog or self.status

    @property
    def shown_author(self) -> Account:
        return self.reblog_author or self.author


async def hydrate(inst: Instance, statuses: list[Status]) -> list[StatusView]:
    """Authors, boosted posts, the owner's likes and boosts, and counts: a few queries per page."""
    boosted_ids = [s.reblog_of_id for s in statuses if s.reblog_of_id]
    boosted = {r["id"]: Status.from_row(r) for r in await statuses_store.get_many(inst.db, boosted_ids)}
    account_ids = {s.account_id for s in statuses} | {b.account_id for b in boosted.values()}
    accounts = {r["id"]: Account.from_row(r) for r in await accounts_store.get_many(inst.db, account_ids)}
    shown_ids = [s.reblog_of_id or s.id for s in statuses]
    faved = await interactions_store.favourited(inst.db, inst.owner.id, shown_ids)
    boosted_by_owner = await interactions_store.reblogged(inst.db, inst.owner.id, shown_ids)
    counts = await interactions_store.counts(inst.db, shown_ids)
    bookmarked = await marks_store.marked(inst.db, "bookmarks", shown_ids)
    pinned = await marks_store.marked(inst.db, "pins", shown_ids)
    muted = await marks_store.muted_statuses(inst.db, shown_ids)
    tags = await statuses_store.tags_for(inst.db, shown_ids)
    polls = await polls_core.for_statuses(inst, shown_ids)
    media = await media_core.for_statuses(inst, shown_ids)
    mentioned: dict[int, list[Account]] = {}
    for row in await statuses_store.mentioned_accounts(inst.db, shown_ids):
        mentioned.setdefault(row["mention_status_id"], []).append(Account.from_row(row))
    views = []
    for s in statuses:
        original = boosted.get(s.reblog_of_id) if s.reblog_of_id else None
        if s.reblog_of_id and original is None:
            continue  # the boosted post is gone
        if original is not None:
            original = replace(original, tags=tuple(tags.get(original.id, ())))
        else:
            s = replace(s, tags=tuple(tags.get(s.id, ())))
        shown = original or s
        replies, reblogs, favs = counts.get(shown.id, (0, 0, 0))
        views.append(StatusView(
            status=s, author=accounts[s.account_id], reblog=original,
            reblog_author=accounts[original.account_id] if original else None,
            favourited=shown.id in faved, reblogged=shown.id in boosted_by_owner,
            replies_count=replies, reblogs_count=reblogs, favourites_count=favs,
            bookmarked=shown.id in bookmarked, pinned=shown.id in pinned, muted=shown.id in muted,
            mentioned=tuple(mentioned.get(shown.id, ())), poll=polls.get(shown.id),
            media=media.get(shown.id, ())))
    return views


def _page(views: list[StatusView], limit: int, max_id, min_id) -> Page:
    older = views[-1].status.id if views and (len(views) == limit or min_id is not None) else None
    newer = views[0].status.id if views and (max_id is not None or min_id is not None) else None
    return Page(items=views, next_max_id=older, prev_min_id=newer)


async def home(inst: Instance, *, max_id: int | None = None, min_id: int | None = None,
               since_id: int | None = None, limit: int | None = None) -> Page:
    limit = clamp_limit(limit)
    rows = await statuses_store.list_home(inst.db, inst.owner.id, max_id=max_id, min_id=min_id,
                                          since_id=since_id, limit=limit)
    return _page(await hydrate(inst, [Status.from_row(r) for r in rows]), limit, max_id, min_id)


async def statuses(inst: Instance, viewer_is_owner: bool, *, account_id: int | None = None,
                   local: bool | None = None, tag: str | None = None, exclude_replies: bool = False,
                   exclude_reblogs: bool = False, only_media: bool = False, max_id: int | None = None,
                   since_id: int | None = None, min_id: int | None = None, limit: int | None = None) -> Page:
    """Public, tag and account timelines: one query, the filters apps send.

    An account's page shows its public and unlisted posts (and, to the owner, everything
    stored); the public and tag timelines only public posts.
    """
    limit = clamp_limit(limit)
    if account_id is None:
        visibilities: tuple[str, ...] = ("public",)
    elif viewer_is_owner:
        visibilities = ("public", "unlisted", "private", "direct")
    else:
        visibilities = ("public", "unlisted")
    rows = await statuses_store.query(
        inst.db, visibilities=visibilities, account_id=account_id, local=local, tag=tag,
        exclude_replies=exclude_replies, exclude_reblogs=exclude_reblogs or account_id is None,
        only_media=only_media, max_id=max_id, since_id=since_id, min_id=min_id, limit=limit)
    return _page(await hydrate(inst, [Status.from_row(r) for r in rows]), limit, max_id, min_id)


async def account_statuses(inst: Instance, account_id: int, *, max_id: int | None = None,
                           limit: int | None = None) -> Page:
    """A remote account's public and unlisted posts we know of."""
    limit = clamp_limit(limit)
    rows = await statuses_store.list_by_account(inst.db, account_id, ("public", "unlisted"), max_id=max_id,
                                                limit=limit)
    return _page(await hydrate(inst, [Status.from_row(r) for r in rows]), limit, max_id, None)


async def thread(inst: Instance, status_id: int, viewer_is_owner: bool) -> tuple[list[StatusView], StatusView,
                                                                                  list[StatusView]]:
    """(ancestors oldest first, the post, descendants in reply order), each bounded."""
    status = await load_status(inst, status_id)
    ancestors: list[Status] = []
    parent_id = status.in_reply_to_id
    while parent_id and len(ancestors) < MAX_ANCESTORS:
        row = await statuses_store.get(inst.db, parent_id)
        if row is None:
            break
        ancestors.append(Status.from_row(row))
        parent_id = row["in_reply_to_id"]
    descendants: list[Status] = []
    frontier = [status.id]
    while frontier and len(descendants) < MAX_DESCENDANTS:
        rows = await statuses_store.replies_to(inst.db, frontier, MAX_DESCENDANTS - len(descendants))
        batch = [Status.from_row(r) for r in rows]
        descendants.extend(batch)
        frontier = [s.id for s in batch]
    hidden = await domain_blocks_store.blocked_account_ids(inst.db, {s.account_id for s in ancestors + descendants})
    visible = [s for s in ancestors[::-1] if can_see(s, viewer_is_owner) and s.account_id not in hidden]
    after = [s for s in descendants if can_see(s, viewer_is_owner) and s.account_id not in hidden]
    views = await hydrate(inst, [*visible, status, *after])
    by_id = {v.status.id: v for v in views}
    return ([by_id[s.id] for s in visible if s.id in by_id], by_id[status.id],
            [by_id[s.id] for s in after if s.id in by_id])


async def notifications(inst: Instance, *, max_id: int | None = None, limit: int | None = None) -> Page:
    limit = clamp_limit(limit)
    rows = await interactions_store.list_notifications(inst.db, max_id=max_id, limit=limit)
    accounts = {r["id"]: Account.from_row(r)
                for r in await accounts_store.get_many(inst.db, [r["account_id"] for r in rows])}
    statuses = {r["id"]: Status.from_row(r)
                for r in await statuses_store.get_many(inst.db, [r["status_id"] for r in rows if r["status_id"]])}
    items = [Notification(id=r["id"], type=r["type"], account=accounts[r["account_id"]],
                          status=statuses.get(r["status_id"]), created_at=r["created_at"], emoji=r["emoji"])
             for r in rows if r["account_id"] in accounts]
    return Page(items=items, next_max_id=items[-1].id if len(rows) == limit and items else None)


async def in_home(inst: Instance, status: Status) -> bool:
    """Would this post show on the owner's home timeline (the owner's, a followed account's, or a
    public post with a followed hashtag)?"""
    return await statuses_store.in_home(inst.db, inst.owner.id, status.id)
