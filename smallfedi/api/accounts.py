"""Accounts: the owner's own (verify/update credentials), anyone's profile, posts and
follows, relationships and the owner's actions on accounts; search."""

from __future__ import annotations

from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.api import entities, filters
from smallfedi.api.http import JSON, endpoint, link_header, limit_of
from smallfedi.api.lists import list_json
from smallfedi.api.tags import tag_json
from smallfedi.api.params import Params
from smallfedi.api.statuses import linked_to_newer, path_id, views
from smallfedi.core import domain_blocks, following, lists, marks, media, profile, tags, timelines
from smallfedi.core import search as core_search
from smallfedi.core.errors import NotFound
from smallfedi.core.models import Account, Page
from smallfedi.store import accounts as accounts_store


async def _account(request: Request, account_id: int) -> Account:
    row = await accounts_store.get(request.app.state.instance.db, account_id)
    if row is None:
        raise NotFound("Record not found")
    return Account.from_row(row)


async def _render(request: Request, accounts: list[Account]) -> list[dict]:
    ctx = await entities.context(request.app.state.instance)
    return [entities.account(ctx, a) for a in accounts]


@endpoint("read:accounts")
async def verify_credentials(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    ctx = await entities.context(inst)
    requests = len(await following.list_followers(inst, accepted=False, limit=100))
    return JSON(entities.credential_account(ctx, inst.owner, requests))


def _fields(params: Params, current: Account) -> list[tuple[str, str]]:
    raw = params.raw("fields_attributes")
    if raw is None:
        return [(f.name, f.value_source) for f in current.fields]
    items = params.list("fields_attributes")
    out = []
    for item in items:
        if isinstance(item, dict):
            out.append((str(item.get("name") or ""), str(item.get("value") or "")))
    return out


PROFILE_KEYS = ("display_name", "note", "fields_attributes", "locked")


@endpoint("write:accounts", files=2)  # avatar and header
async def update_credentials(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    # Images first: a refused one changes nothing else.
    images = {}
    for purpose in ("avatar", "header"):
        upload = params.files.get(purpose)
        if upload is not None:
            images[f"{purpose}_url"] = await media.profile_image(inst, upload.file, purpose)
    owner = inst.owner
    if not images or any(key in params for key in PROFILE_KEYS):
        update = profile.ProfileUpdate(
            display_name=params.str("display_name", owner.display_name) or "",
            bio=params.str("note", owner.note_source) or "",
            fields=_fields(params, owner),
            locked=params.bool("locked", owner.locked),
        )
        await profile.update_profile(inst, replace(update, **images))  # one Update to followers
    elif images:
        await profile.set_images(inst, **images)
    return await _credential_account(inst)


async def _credential_account(inst) -> Response:
    ctx = await entities.context(inst)
    return JSON(entities.credential_account(ctx, inst.owner))


def _remove_image(purpose: str):
    """DELETE /api/v1/profile/avatar|header (Mastodon 4.2): back to the default image."""
    @endpoint("write:accounts")
    async def handler(request: Request, params: Params) -> Response:
        inst = request.app.state.instance
        if getattr(inst.owner, f"{purpose}_url"):
            await profile.set_images(inst, **{f"{purpose}_url": ""})
        return await _credential_account(inst)
    return handler


remove_avatar = _remove_image("avatar")
remove_header = _remove_image("header")


@endpoint("read:accounts", public=True)
async def show(request: Request, params: Params) -> Response:
    account = await _account(request, path_id(request))
    return JSON((await _render(request, [account]))[0])


@endpoint("read:accounts", public=True)
async def show_many(request: Request, params: Params) -> Response:
    ids = [int(i) for i in params.list("id")[:40] if str(i).isdigit()]
    rows = await accounts_store.get_many(request.app.state.instance.db, ids)
    return JSON(await _render(request, [Account.from_row(r) for r in rows]))


@endpoint("read:accounts", public=True)
async def lookup(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    acct = (params.str("acct", "") or "").strip().lstrip("@")
    user, _, host = acct.partition("@")
    if not host or host.lower() == inst.config.domain:
        if user.lower() == inst.owner.username.lower():
            return JSON((await _render(request, [inst.owner]))[0])
        raise NotFound("Record not found")
    row = await accounts_store.get_by_handle(inst.db, user, host)
    if row is None:
        raise NotFound("Record not found")
    return JSON((await _render(request, [Account.from_row(row)]))[0])


@endpoint("read:statuses", public=True)
async def statuses(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    account = await _account(request, path_id(request))
    if params.bool("pinned"):
        if not account.local:
            return JSON([])
        page = await marks.marked_page(inst, "pins", limit=limit_of(params))
        pinned = await timelines.hydrate(inst, [s for _, s in page.items])
        return JSON(await filters.render(request, pinned, "account"))
    tagged = params.str("tagged")
    page = await timelines.statuses(
        inst, request.state.is_owner, account_id=account.id, tag=tagged.lstrip("#").lower() if tagged else None,
        exclude_replies=params.bool("exclude_replies"), exclude_reblogs=params.bool("exclude_reblogs"),
        only_media=params.bool("only_media"), max_id=params.id("max_id"), since_id=params.id("since_id"),
        min_id=params.id("min_id"), limit=limit_of(params))
    page = linked_to_newer(page)
    return JSON(await filters.render(request, page.items, "account"), headers=link_header(request, page))


async def _people(request: Request, pairs: list[tuple[int, Account]], limit: int) -> Response:
    page = Page(items=pairs, next_max_id=pairs[-1][0] if len(pairs) == limit else None,
                prev_min_id=pairs[0][0] if pairs else None)
    return JSON(await _render(request, [a for _, a in pairs]), headers=link_header(request, page))


async def _network(request: Request, params: Params, which: str) -> Response:
    inst = request.app.state.instance
    account = await _account(request, path_id(request))
    limit = limit_of(params, 40, 80)
    hidden = inst.config.federation.hide_network and not request.state.is_owner
    if not account.local or hidden:
        return JSON([])  # we only know the owner's own follows
    max_id = params.id("max_id")
    if which == "followers":
        pairs = await following.list_followers(inst, max_id=max_id, limit=limit)
    else:
        pairs = await following.list_following(inst, max_id=max_id, limit=limit)
    return await _people(request, pairs, limit)


@endpoint("read:accounts", public=True)
async def followers(request: Request, params: Params) -> Response:
    return await _network(request, params, "followers")


@endpoint("read:accounts", public=True)
async def following_list(request: Request, params: Params) -> Response:
    return await _network(request, params, "following")


@endpoint("read:follows")
async def relationships(request: Request, params: Params) -> Response:
    ids = [int(i) for i in params.list("id") if str(i).isdigit()]
    rels = await following.relationships(request.app.state.instance, ids)
    return JSON([entities.relationship(r) for r in rels])


async def _relationship(request: Request, account_id: int) -> Response:
    rels = await following.relationships(request.app.state.instance, [account_id])
    if not rels:
        raise NotFound("Record not found")
    return JSON(entities.relationship(rels[0]))


def _action(scope: str, operation):
    """POST /api/v1/accounts/:id/<action>: the core operation, then the relationship after it."""
    @endpoint(scope)
    async def handler(request: Request, params: Params) -> Response:
        account_id = path_id(request)
        await operation(request.app.state.instance, account_id, params)
        return await _relationship(request, account_id)
    return handler


async def _follow(inst, account_id: int, params: Params) -> None:
    row = await accounts_store.get(inst.db, account_id)
    if row is None:
        raise NotFound("Record not found")
    await following.follow_account(inst, Account.from_row(row))


follow = _action("write:follows", _follow)
unfollow = _action("write:follows", lambda inst, aid, p: following.unfollow(inst, aid))
remove_from_followers = _action("write:follows", lambda inst, aid, p: following.reject(inst, aid))
block = _action("write:blocks", lambda inst, aid, p: following.block(inst, aid))
unblock = _action("write:blocks", lambda inst, aid, p: following.unblock(inst, aid))
mute = _action("write:mutes", lambda inst, aid, p: marks.mute_account(inst, aid, p.bool("notifications", True)))
unmute = _action("write:mutes", lambda inst, aid, p: marks.unmute_account(inst, aid))
note = _action("write:accounts", lambda inst, aid, p: marks.set_note(inst, aid, p.str("comment", "") or ""))
# Follow requests answer with the relationship too.
authorize_follow = _action("write:follows", lambda inst, aid, p: following.approve(inst, aid))
reject_follow = _action("write:follows", lambda inst, aid, p: following.reject(inst, aid))


@endpoint("read:follows")
async def follow_requests(request: Request, params: Params) -> Response:
    limit = limit_of(params, 40, 80)
    pairs = await following.list_followers(request.app.state.instance, accepted=False, max_id=params.id("max_id"),
                                           limit=limit)
    return await _people(request, pairs, limit)


@endpoint("read:blocks")
async def blocks(request: Request, params: Params) -> Response:
    limit = limit_of(params, 40, 80)
    pairs = await following.blocked(request.app.state.instance, max_id=params.id("max_id"), limit=limit)
    return await _people(request, pairs, limit)


@endpoint("read:mutes")
async def mutes(request: Request, params: Params) -> Response:
    limit = limit_of(params, 40, 80)
    pairs = await marks.muted_accounts(request.app.state.instance, max_id=params.id("max_id"), limit=limit)
    return await _people(request, pairs, limit)


@endpoint("read:lists")
async def account_lists(request: Request, params: Params) -> Response:
    """The owner's lists this account is a member of."""
    found = await lists.lists_with(request.app.state.instance, path_id(request))
    return JSON([list_json(x) for x in found])


@endpoint("read:blocks")
async def domain_blocks_list(request: Request, params: Params) -> Response:
    """The blocked domains as strings, newest first; limit 100 by default, at most 200."""
    limit = max(1, min(200, params.int("limit", 100) or 100))
    page = await domain_blocks.page(request.app.state.instance, max_id=params.id("max_id"),
                                    since_id=params.id("since_id"), min_id=params.id("min_id"), limit=limit)
    return JSON([d for _, d in page.items], headers=link_header(request, page))


@endpoint("write:blocks")
async def block_domain(request: Request, params: Params) -> Response:
    await domain_blocks.block(request.app.state.instance, params.str("domain"))
    return JSON({})


@endpoint("write:blocks")
async def unblock_domain(request: Request, params: Params) -> Response:
    await domain_blocks.unblock(request.app.state.instance, params.str("domain"))
    return JSON({})


@endpoint("read:accounts")
async def search_accounts(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    limit = limit_of(params, 40, 80)
    found = await core_search.search(inst, params.str("q", "") or "", kinds={"accounts"},
                                     resolve=params.bool("resolve"), limit=limit,
                                     offset=max(0, params.int("offset", 0) or 0),
                                     following_only=params.bool("following"))
    return JSON(await _render(request, found.accounts[:limit]))


@endpoint("read:search")
async def search_v2(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    kind = params.str("type")
    kinds = {kind} if kind in ("accounts", "statuses", "hashtags") else {"accounts", "statuses", "hashtags"}
    limit = limit_of(params, 20, 40)
    found = await core_search.search(inst, params.str("q", "") or "", kinds=kinds, resolve=params.bool("resolve"),
                                     limit=limit, offset=max(0, params.int("offset", 0) or 0),
                                     following_only=params.bool("following"))
    return JSON({
        "accounts": await _render(request, found.accounts[:limit]),
        "statuses": await views(request, found.statuses[:limit]),
        "hashtags": [tag_json(inst, t, await tags.is_followed(inst, t)) for t in found.hashtags[:limit]],
    })
