"""Timelines, threads and notifications, with everything a face needs to show each post."""

from __future__ import annotations

from dataclasses import dataclass, replace

from smallfedi.core import polls as polls_core
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, MediaAttachment, Notification, Page, Poll, Status
from smallfedi.core.reading import can_see, clamp_limit, load_status
from smallfedi.store import accounts as accounts_store
from smallfedi.store import domain_blocks as domain_blocks_store
from smallfedi.store import interactions as interactions_store
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
    """Authors, boosted posts, the owner's likes and boosts, counts, hashtags, mentions,
    attachments and polls: one query per page."""
    if not statuses:
        return []
    rows = await statuses_store.hydrated(
        inst.db, inst.owner.id, [s.reblog_of_id for s in statuses if s.reblog_of_id],
        {s.account_id for s in statuses}, {s.reblog_of_id or s.id for s in statuses})
    return _views(statuses, rows)


# An Account is a pure function of its row, and a page's authors are mostly those of the page
# before: kept by the row's values (a changed row is a new key), the oldest leaving first.
_ACCOUNTS: dict[tuple, Account] = {}
_ACCOUNTS_KEPT = 2048
_STATUS_END = 1 + len(statuses_store.STATUS_COLUMNS)
_ACCOUNT_END = 1 + len(statuses_store.ACCOUNT_COLUMNS)
_MEDIA_END = 1 + len(statuses_store.MEDIA_COLUMNS)
_POLL_END = 1 + len(statuses_store.POLL_COLUMNS)
_SHOWN_END = 1 + len(statuses_store.SHOWN_COLUMNS)
_NOTHING_SHOWN = (0,) * (len(statuses_store.SHOWN_COLUMNS) - 1)  # no counts, no marks


def _status(r, tags=()) -> Status:
    """Status.from_row of a row of STATUS_COLUMNS, by position: half its time, which a page
    spent a tenth of its time in (tests hold the two together)."""
    return Status(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[8], r[9], r[10], r[11], r[12], bool(r[13]),
                  r[14], r[15], r[16], (), tuple(tags), r[7])


def _account(values: tuple) -> Account:
    found = _ACCOUNTS.get(values)
    if found is None:
        if len(_ACCOUNTS) >= _ACCOUNTS_KEPT:
            del _ACCOUNTS[next(iter(_ACCOUNTS))]
        found = _ACCOUNTS[values] = Account.from_row(dict(zip(statuses_store.ACCOUNT_COLUMNS, values)))
    return found


def _views(statuses: list[Status], rows) -> list[StatusView]:
    """The views of `statuses` from the rows of statuses_store.hydrated."""
    st = statuses_store
    boosted, accounts, shown, tags, mentions, media, polls = {}, {}, {}, {}, {}, {}, {}
    for r in rows:
        kind = r[0]
        if kind == st.ACCOUNT:
            accounts[r[1]] = _account(r[1:_ACCOUNT_END])
        elif kind == st.SHOWN:
            shown[r[1]] = r[2:_SHOWN_END]  # counts and marks
        elif kind == st.BOOSTED:
            boosted[r[1]] = r
        elif kind == st.TAG:
            tags.setdefault(r[1], []).append(r[2])
        elif kind == st.MENTION:
            account = accounts[r[3]] = _account(r[3:_ACCOUNT_END + 2])
            mentions.setdefault(r[1], []).append((r[2], account))
        elif kind == st.MEDIA:
            media.setdefault(r[3], []).append(r)  # by status_id
        elif kind == st.POLL:
            polls[r[1]] = r
    views = []
    for s in statuses:
        original = None
        if s.reblog_of_id:
            found = boosted.get(s.reblog_of_id)
            if found is None:
                continue  # the boosted post is gone
            original = _status(found[1:_STATUS_END], sorted(tags.get(found[1], ())))
        else:
            own_tags = tuple(sorted(tags.get(s.id, ())))
            if s.tags != own_tags:
                s = replace(s, tags=own_tags)
        post = original or s
        replies, reblogs, favs, faved, boosted_by_owner, bookmarked, pinned, muted = \
            shown.get(post.id, _NOTHING_SHOWN)
        poll = polls.get(post.id)
        # Each part in the order it had as a query of its own: mentions by handle,
        # attachments by position.
        views.append(StatusView(
            status=s, author=accounts[s.account_id], reblog=original,
            reblog_author=accounts[original.account_id] if original else None,
            favourited=bool(faved), reblogged=bool(boosted_by_owner),
            replies_count=replies, reblogs_count=reblogs, favourites_count=favs,
            bookmarked=bool(bookmarked), pinned=bool(pinned), muted=bool(muted),
            mentioned=tuple(a for _, a in sorted(mentions[post.id], key=lambda m: m[0]))
            if post.id in mentions else (),
            poll=polls_core._from_row(dict(zip(st.POLL_COLUMNS, poll[1:_POLL_END]))) if poll else None,
            media=tuple(MediaAttachment.from_row(dict(zip(st.MEDIA_COLUMNS, m[1:_MEDIA_END])))
                        for m in sorted(media[post.id], key=lambda m: (m[4], m[1]))) if post.id in media else ()))
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
    return _page(await hydrate(inst, [_status(r) for r in rows]), limit, max_id, min_id)


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
    return _page(await hydrate(inst, [_status(r) for r in rows]), limit, max_id, min_id)


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
