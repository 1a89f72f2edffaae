"""The core's objects as Mastodon's JSON entities, exactly as the strictest apps parse them:
ids as digit strings, times with milliseconds, arrays always present, null only where
Mastodon sends null."""

from __future__ import annotations

from dataclasses import dataclass

from smallfedi import __version__
from smallfedi.core import following, media, media_cache, reading
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, MediaAttachment, Notification, Poll
from smallfedi.core.timelines import StatusView
from smallfedi.store import statuses as statuses_store

MASTODON_VERSION = "4.3.0"
# Notification types apps know; ours map onto them.
NOTIFICATION_TYPES = {"reaction": "favourite"}


@dataclass
class Context:
    """Per-request facts an entity needs: the instance and the owner's counts."""
    inst: Instance
    owner_counts: tuple[int, int, int]  # followers, following, statuses
    owner_last_status_at: str | None = None

    @property
    def base(self) -> str:
        return self.inst.base_url


async def context(inst: Instance) -> Context:
    """The owner's counts, computed once per database change rather than once per request."""
    cached = getattr(inst, "_api_context", None)
    if cached is not None and cached[0] == inst.db.commits:
        return cached[1]
    commits = inst.db.commits
    followers, followings = await following.counts(inst)
    statuses = await reading.post_count(inst, True)
    last = await statuses_store.last_created_at(inst.db, inst.owner.id)
    ctx = Context(inst, (followers, followings, statuses), last[:10] if last else None)
    inst._api_context = (commits, ctx)
    return ctx


def day_start(stored: str) -> str:
    """Mastodon gives an account's creation as midnight of its day."""
    return f"{stored[:10]}T00:00:00.000Z"


def account(ctx: Context, a: Account) -> dict:
    base = ctx.base
    # Remote images through our cache: apps then fetch from here, not from every server.
    avatar = (a.avatar_url if a.local else media_cache.url_for(ctx.inst, a.avatar_url)) \
        or f"{base}/static/avatar.png"
    header = (a.header_url if a.local else media_cache.url_for(ctx.inst, a.header_url)) \
        or f"{base}/static/header.png"
    if a.local:
        followers, followings, statuses = ctx.owner_counts
        last_status_at = ctx.owner_last_status_at
    else:
        followers = followings = statuses = 0
        last_status_at = None
    return {
        "id": str(a.id),
        "username": a.username,
        "acct": a.username if a.local else f"{a.username}@{a.domain}",
        "display_name": a.display_name or "",
        "locked": a.locked,
        "bot": a.bot,
        "discoverable": a.discoverable,
        "indexable": a.discoverable,
        "group": False,
        "hide_collections": bool(a.local and ctx.inst.config.federation.hide_network),
        "noindex": not a.discoverable,
        "created_at": day_start(a.created_at),
        "note": a.note or "",
        "url": a.url or a.uri,
        "uri": a.uri,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": followers,
        "following_count": followings,
        "statuses_count": statuses,
        "last_status_at": last_status_at,
        "emojis": [],
        "fields": [{"name": f.name, "value": f.value, "verified_at": None} for f in a.fields],
        "roles": [],
    }


def credential_account(ctx: Context, a: Account, follow_requests: int = 0) -> dict:
    out = account(ctx, a)
    out["source"] = {
        "privacy": "public",
        "sensitive": False,
        "language": None,  # no default language chosen; the key itself Ice Cubes needs
        "note": a.note_source,
        "fields": [{"name": f.name, "value": f.value_source, "verified_at": None} for f in a.fields],
        "follow_requests_count": follow_requests,
        "hide_collections": out["hide_collections"],
        "discoverable": a.discoverable,
        "indexable": a.discoverable,
    }
    out["role"] = {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False}
    return out


def mention(ctx: Context, a: Account) -> dict:
    return {"id": str(a.id), "username": a.username,
            "acct": a.username if a.local else f"{a.username}@{a.domain}", "url": a.url or a.uri}


def tag_ref(ctx: Context, name: str) -> dict:
    return {"name": name, "url": ctx.inst.tag_url(name)}


def _status_body(ctx: Context, v: StatusView) -> dict:
    s, author = v.shown, v.shown_author
    return {
        "id": str(s.id),
        "uri": s.uri,
        "url": s.url or s.uri,
        "created_at": s.created_at,
        "edited_at": s.edited_at,
        "account": account(ctx, author),
        "content": s.content,
        "visibility": s.visibility,
        "sensitive": s.sensitive,
        "spoiler_text": s.spoiler_text,
        "media_attachments": [media_attachment(ctx.inst, m) for m in v.media],
        "application": None,
        "mentions": [mention(ctx, a) for a in v.mentioned],
        "tags": [tag_ref(ctx, t) for t in s.tags],
        "emojis": [],
        "reblogs_count": v.reblogs_count,
        "favourites_count": v.favourites_count,
        "replies_count": v.replies_count,
        "quotes_count": 0,
        "in_reply_to_id": str(s.in_reply_to_id) if s.in_reply_to_id else None,
        "in_reply_to_account_id": str(s.in_reply_to_account_id) if s.in_reply_to_account_id else None,
        "reblog": None,
        "poll": poll(v.poll) if v.poll is not None else None,
        "card": None,
        "language": s.language,
        "favourited": v.favourited,
        "reblogged": v.reblogged,
        "muted": v.muted,
        "bookmarked": v.bookmarked,
        "pinned": v.pinned,
        "filtered": [],
    }


def media_attachment(inst: Instance, m: MediaAttachment) -> dict:
    """Mastodon's MediaAttachment: ours served from here, a remote one linked to its origin
    (its preview through the cache)."""
    return {
        "id": str(m.id),
        "type": m.type,
        "url": media.url(inst, m),
        "preview_url": media.preview_url(inst, m),
        "remote_url": None if m.local else m.remote_url,
        "preview_remote_url": None if m.local else m.preview_remote_url,
        "text_url": None,
        "meta": media.meta(m),
        "description": m.description or None,  # as Mastodon: null, not "", without alt text
        "blurhash": m.blurhash,
    }


def poll(p: Poll) -> dict:
    """The Poll entity; its id is its post's. With `hide_totals`, options' counts stay null
    until the end (as Mastodon does)."""
    shown = not p.hide_totals or p.expired
    voters = p.voters_count if p.voters_count is not None else (None if p.multiple else p.votes_count)
    return {
        "id": str(p.status_id),
        "expires_at": p.expires_at,
        "expired": p.expired,
        "multiple": p.multiple,
        "votes_count": p.votes_count,
        "voters_count": voters,
        "options": [{"title": o.title, "votes_count": o.votes_count if shown else None} for o in p.options],
        "emojis": [],
        "voted": p.voted,
        "own_votes": list(p.own_votes),
    }


def status(ctx: Context, v: StatusView) -> dict:
    body = _status_body(ctx, v)
    if v.reblog is None:
        return body
    # A boost: its own id and author, empty content, the boosted post inside.
    b = v.status
    return {**body, "id": str(b.id), "uri": b.uri, "url": body["url"], "created_at": b.created_at,
            "edited_at": None, "account": account(ctx, v.author), "content": "", "visibility": b.visibility,
            "sensitive": False, "spoiler_text": "", "media_attachments": [], "mentions": [], "tags": [],
            "reblogs_count": 0,
            "favourites_count": 0, "replies_count": 0, "in_reply_to_id": None, "in_reply_to_account_id": None,
            "language": None, "poll": None, "reblog": body}


def notification(ctx: Context, n: Notification, view: StatusView | None) -> dict:
    return {
        "id": str(n.id),
        "type": NOTIFICATION_TYPES.get(n.type, n.type),
        "created_at": n.created_at,
        "group_key": f"ungrouped-{n.id}",
        "account": account(ctx, n.account),
        "status": status(ctx, view) if view is not None else None,
    }


def relationship(rel: dict) -> dict:
    return {
        "id": str(rel["id"]),
        "following": rel["following"],
        "showing_reblogs": rel["following"],
        "notifying": False,
        "languages": None,
        "followed_by": rel["followed_by"],
        "blocking": rel["blocking"],
        "blocked_by": rel["blocked_by"],
        "muting": rel["muting"],
        "muting_notifications": rel["muting_notifications"],
        "requested": rel["requested"],
        "requested_by": rel["requested_by"],
        "domain_blocking": rel["domain_blocking"],
        "endorsed": False,
        "note": rel["note"],
    }


def application(name: str, website: str | None, scopes=None, redirect_uris=None) -> dict:
    out = {"name": name, "website": website}
    if scopes is not None:
        out["scopes"] = list(scopes)
    if redirect_uris is not None:
        out["redirect_uris"] = list(redirect_uris)
        out["redirect_uri"] = "\n".join(redirect_uris)
    return out


def software_version() -> str:
    return f"{MASTODON_VERSION} (compatible; smallfedi {__version__})"
