"""The core's objects as Mastodon's JSON entities, exactly as the strictest apps parse them:
ids as digit strings, times with milliseconds, arrays always present, null only where
Mastodon sends null."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from smallfedi import __version__
from smallfedi.core import following, media, media_cache, reading
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, MediaAttachment, Notification, Poll
from smallfedi.core.timelines import StatusView
from smallfedi.store import statuses as statuses_store

MASTODON_VERSION = "4.3.0"
# Notification types apps know; ours map onto them.
NOTIFICATION_TYPES = {"reaction": "favourite"}


# JSON as the API writes it (api.http.JSON): compact, UTF-8 unescaped.
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
ACCOUNTS_KEPT = 2048  # encoded accounts kept per instance


@dataclass
class Context:
    """Per-request facts an entity needs: the instance and the owner's counts. One Context
    serves every request until the next commit (see `context`), so what it keeps is as fresh
    as the database."""
    inst: Instance
    owner_counts: tuple[int, int, int]  # followers, following, statuses
    owner_last_status_at: str | None = None
    # The JSON of accounts by id(Account): the owner's here (it carries the counts), the others
    # the instance's, kept across commits (theirs is a pure function of the Account).
    local_accounts: dict = field(default_factory=dict)
    remote_accounts: dict = field(default_factory=dict)
    # Anything a face derives from the database alone, by name (e.g. the filters in force).
    derived: dict = field(default_factory=dict)

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
    ctx = Context(inst, (followers, followings, statuses), last[:10] if last else None,
                  remote_accounts=cached[1].remote_accounts if cached is not None else {})
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


def account_json(ctx: Context, a: Account) -> str:
    """`dumps(account(ctx, a))`, kept by the Account object (timelines hand out the same object
    for an unchanged account row)."""
    kept = ctx.local_accounts if a.local else ctx.remote_accounts
    found = kept.get(id(a))
    if found is not None and found[0] is a:
        return found[1]
    text = dumps(account(ctx, a))
    if len(kept) >= ACCOUNTS_KEPT:
        del kept[next(iter(kept))]  # the oldest
    kept[id(a)] = (a, text)  # holding `a` keeps its id from being reused while the entry lives
    return text


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


# The Status entity written straight as JSON: building a page's worth of dicts and encoding
# every key of every post again was a good part of a timeline's time. The text is exactly
# `dumps(status(ctx, v))` (the tests hold the two together); nested parts a post seldom has go
# through the dicts.

_str = json.encoder.encode_basestring  # a str as `dumps` writes it


def _opt(value: str | None) -> str:
    return "null" if value is None else _str(value)


def _bool(value) -> str:
    return "true" if value is True else "false" if value is False else dumps(value)


def _ref(value: int | None) -> str:
    return f'"{value}"' if value else "null"


def _marks(v: StatusView) -> str:
    return (f'"favourited":{_bool(v.favourited)},"reblogged":{_bool(v.reblogged)},"muted":{_bool(v.muted)},'
            f'"bookmarked":{_bool(v.bookmarked)},"pinned":{_bool(v.pinned)}')


def _post_json(ctx: Context, v: StatusView) -> str:
    s = v.shown
    return (
        f'{{"id":"{s.id}","uri":{_str(s.uri)},"url":{_str(s.url or s.uri)},"created_at":{_str(s.created_at)},'
        f'"edited_at":{_opt(s.edited_at)},"account":{account_json(ctx, v.shown_author)},'
        f'"content":{_str(s.content)},"visibility":{_str(s.visibility)},"sensitive":{_bool(s.sensitive)},'
        f'"spoiler_text":{_str(s.spoiler_text)},'
        f'"media_attachments":{dumps([media_attachment(ctx.inst, m) for m in v.media]) if v.media else "[]"},'
        f'"application":null,'
        f'"mentions":{dumps([mention(ctx, a) for a in v.mentioned]) if v.mentioned else "[]"},'
        f'"tags":{dumps([tag_ref(ctx, t) for t in s.tags]) if s.tags else "[]"},"emojis":[],'
        f'"reblogs_count":{v.reblogs_count:d},"favourites_count":{v.favourites_count:d},'
        f'"replies_count":{v.replies_count:d},"quotes_count":0,"in_reply_to_id":{_ref(s.in_reply_to_id)},'
        f'"in_reply_to_account_id":{_ref(s.in_reply_to_account_id)},"reblog":null,'
        f'"poll":{dumps(poll(v.poll)) if v.poll is not None else "null"},"card":null,'
        f'"language":{_opt(s.language)},{_marks(v)},"filtered":[]}}')


def status_json(ctx: Context, v: StatusView) -> str:
    """`dumps(status(ctx, v))`."""
    post = _post_json(ctx, v)
    if v.reblog is None:
        return post
    b, s = v.status, v.shown
    return (
        f'{{"id":"{b.id}","uri":{_str(b.uri)},"url":{_str(s.url or s.uri)},"created_at":{_str(b.created_at)},'
        f'"edited_at":null,"account":{account_json(ctx, v.author)},"content":"","visibility":{_str(b.visibility)},'
        '"sensitive":false,"spoiler_text":"","media_attachments":[],"application":null,"mentions":[],"tags":[],'
        '"emojis":[],"reblogs_count":0,"favourites_count":0,"replies_count":0,"quotes_count":0,'
        f'"in_reply_to_id":null,"in_reply_to_account_id":null,"reblog":{post},"poll":null,"card":null,'
        f'"language":null,{_marks(v)},"filtered":[]}}')


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
