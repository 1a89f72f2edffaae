"""Posts: create (with Idempotency-Key), read, edit, delete, context, and the owner's actions
on them. Each is the same core operation the web page uses."""

from __future__ import annotations

import time
from dataclasses import replace

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.api import entities
from smallfedi.api.http import JSON, endpoint, error, link_header, limit_of
from smallfedi.api.params import Params
from smallfedi.core import interactions, marks, media, polls, posting, reading, timelines
from smallfedi.core.errors import Gone, Invalid, NotFound
from smallfedi.core.models import Page
from smallfedi.store import marks as marks_store

IDEMPOTENCY_SECONDS = 3600
MAX_IDEMPOTENCY_KEY = 200


def path_id(request: Request, name: str = "id") -> int:
    raw = request.path_params[name]
    if not raw.isdigit() or len(raw) > 19:
        raise NotFound("Record not found")
    return int(raw)


def linked_to_newer(page: Page) -> Page:
    """Mastodon links every page of posts to the newer ones (rel="prev", min_id = its newest), the
    first page too: apps (and Mastodon.py's fetch_previous) poll that link for what came since."""
    if page.items and page.prev_min_id is None:
        return replace(page, prev_min_id=page.items[0].status.id)
    return page


async def views(request: Request, statuses) -> list[dict]:
    inst = request.app.state.instance
    ctx = await entities.context(inst)
    return [entities.status(ctx, v) for v in await timelines.hydrate(inst, list(statuses))]


async def one(request: Request, status) -> dict:
    found = await views(request, [status])
    if not found:
        raise NotFound("Record not found")
    return found[0]


async def visible(request: Request, status_id: int):
    """The post if this caller may see it (the owner sees all we have)."""
    inst = request.app.state.instance
    try:
        return await reading.visible_status(inst, status_id, request.state.is_owner)
    except (NotFound, Gone):  # apps expect 404 for a deleted post too
        raise NotFound("Record not found") from None


def _draft(params: Params, in_reply_to_id: int | None) -> posting.Draft:
    return posting.Draft(
        text=params.str("status", "") or "",
        spoiler_text=params.str("spoiler_text", "") or "",
        visibility=params.str("visibility", "public") or "public",
        language=params.str("language"),
        sensitive=params.bool("sensitive"),
        in_reply_to_id=in_reply_to_id,
        media_ids=_media_ids(params),
    )


def _media_ids(params: Params) -> tuple[int, ...] | None:
    """`media_ids[]` in order; None when not sent, or sent as null (an edit then keeps them)."""
    if params.raw("media_ids") is None:
        return None
    ids = []
    for raw in params.list("media_ids"):
        text = str(raw).strip() if not isinstance(raw, (dict, list, bool)) else "-"
        if not text:
            continue  # a blank media_ids[]= is nothing
        if not text.isdigit() or len(text) > 19:
            raise Invalid(f"media_ids: {str(raw)[:40]!r} is not an attachment id")
        ids.append(int(text))
    return tuple(ids)


def _media_attributes(params: Params) -> list[dict]:
    """`media_attributes[][id|description|focus]`: one dict per attachment."""
    items = params.list("media_attributes")
    if not all(isinstance(item, dict) for item in items):
        raise Invalid("media_attributes must be a list of {id, description, focus}")
    return items


async def _describe_media(inst, params: Params) -> None:
    for attrs in _media_attributes(params):
        media_id = str(attrs.get("id", "")).strip()
        if not media_id.isdigit() or len(media_id) > 19:
            raise Invalid("media_attributes: each needs the id of an attachment")
        description, focus = attrs.get("description"), attrs.get("focus")
        await media.describe(inst, int(media_id), description=None if description is None else str(description),
                             focus=None if focus is None else str(focus), posted_ok=True)


def _unsupported(params: Params) -> None:
    if params.raw("scheduled_at"):
        # Tusky re-sends forever if it gets a Status back for a scheduled post.
        raise Invalid("Scheduled posts are not supported on this server.")


def _poll(params: Params) -> polls.PollDraft | None:
    """`poll[options][]`, `poll[expires_in]`, `poll[multiple]`, `poll[hide_totals]` (or a JSON
    `poll` object); none, or `poll: null`, is no poll."""
    raw = params.dict("poll")
    if not raw:
        return None
    p = Params(raw)
    options = p.list("options")
    if any(isinstance(o, (dict, list)) for o in options):
        raise Invalid("poll[options] must be a list of texts")
    return polls.PollDraft(options=tuple(str(o) for o in options), expires_in=p.int("expires_in"),
                           multiple=p.bool("multiple"), hide_totals=p.bool("hide_totals"))


@endpoint("write:statuses")
async def create(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    _unsupported(params)
    key = (request.headers.get("idempotency-key") or "").strip()[:MAX_IDEMPOTENCY_KEY]
    if key:
        earlier = await marks_store.idempotent_status(inst.db, key, time.time() - IDEMPOTENCY_SECONDS)
        if earlier is not None:
            try:
                return JSON(await one(request, await reading.load_status(inst, earlier)))
            except NotFound:
                pass  # deleted since: post again
    reply_to = params.id("in_reply_to_id")
    if reply_to is not None:
        await visible(request, reply_to)
    status = await posting.publish(inst, replace(_draft(params, reply_to), poll=_poll(params)))
    if key:
        async with inst.db.transaction() as tx:
            now = time.time()
            await marks_store.remember_idempotency(tx, key, status.id, now, now - IDEMPOTENCY_SECONDS)
    return JSON(await one(request, status))


@endpoint("read:statuses", public=True)
async def show(request: Request, params: Params) -> Response:
    return JSON(await one(request, await visible(request, path_id(request))))


@endpoint("read:statuses", public=True)
async def show_many(request: Request, params: Params) -> Response:
    found = []
    for raw in params.list("id")[:40]:
        if str(raw).isdigit():
            try:
                found.append(await visible(request, int(raw)))
            except NotFound:
                pass
    return JSON(await views(request, found))


@endpoint("write:statuses")
async def edit(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    _unsupported(params)
    status_id = path_id(request)
    current = await reading.load_status(inst, status_id)
    draft = _draft(params, None)
    if "language" not in params:
        draft = replace(draft, language=current.language)
    await _describe_media(inst, params)
    return JSON(await one(request, await posting.edit(inst, status_id, draft)))


@endpoint("write:statuses")
async def delete(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    status_id = path_id(request)
    status = await reading.load_status(inst, status_id)
    body = await one(request, status)
    await posting.delete(inst, status_id)
    # For "delete and redraft": the text as written.
    body["text"] = status.source or ""
    return JSON(body)


@endpoint("read:statuses", public=True)
async def source(request: Request, params: Params) -> Response:
    status = await visible(request, path_id(request))
    if not request.state.is_owner or not status.local:
        raise NotFound("Record not found")
    return JSON({"id": str(status.id), "text": status.source or "", "spoiler_text": status.spoiler_text})


@endpoint("read:statuses", public=True)
async def history(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    status = await visible(request, path_id(request))
    ctx = await entities.context(inst)
    view = (await timelines.hydrate(inst, [status]))[0]
    edits = await reading.history(inst, status.id, request.state.is_owner)
    # Earlier versions' attachments are not kept: each version shows the current ones.
    attachments = [entities.media_attachment(inst, m) for m in view.media]
    return JSON([{"content": e.content, "spoiler_text": e.spoiler_text, "sensitive": e.sensitive,
                  "created_at": e.created_at, "account": entities.account(ctx, view.author),
                  "media_attachments": attachments, "emojis": []} for e in edits])


@endpoint("read:statuses", public=True)
async def context(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    status = await visible(request, path_id(request))
    ancestors, _, descendants = await timelines.thread(inst, status.id, request.state.is_owner)
    from smallfedi.api import filters  # filters uses this module's helpers

    return JSON({"ancestors": await filters.render(request, ancestors, "thread"),
                 "descendants": await filters.render(request, descendants, "thread")})


def _action(scope: str, operation):
    @endpoint(scope)
    async def handler(request: Request, params: Params) -> Response:
        inst = request.app.state.instance
        status_id = path_id(request)
        await visible(request, status_id)
        result = await operation(inst, status_id)
        return JSON(await one(request, result))
    return handler


async def _reblog(inst, status_id):
    return await interactions.reblog(inst, status_id)


async def _unreblog(inst, status_id):
    return await interactions.unreblog(inst, status_id)


favourite = _action("write:favourites", interactions.favourite)
unfavourite = _action("write:favourites", interactions.unfavourite)
reblog = _action("write:statuses", _reblog)
unreblog = _action("write:statuses", _unreblog)
bookmark = _action("write:bookmarks", lambda inst, sid: marks.bookmark(inst, sid, True))
unbookmark = _action("write:bookmarks", lambda inst, sid: marks.bookmark(inst, sid, False))
pin = _action("write:accounts", lambda inst, sid: marks.pin(inst, sid, True))
unpin = _action("write:accounts", lambda inst, sid: marks.pin(inst, sid, False))
mute = _action("write:mutes", lambda inst, sid: marks.mute_thread(inst, sid, True))
unmute = _action("write:mutes", lambda inst, sid: marks.mute_thread(inst, sid, False))


async def _accounts_page(request: Request, pairs, limit: int) -> Response:
    """A list of accounts paged by the row id of what links them (a like, a boost)."""
    inst = request.app.state.instance
    ctx = await entities.context(inst)
    page = Page(items=pairs, next_max_id=pairs[-1][0] if len(pairs) == limit else None,
                prev_min_id=pairs[0][0] if pairs else None)
    return JSON([entities.account(ctx, a) for _, a in pairs], headers=link_header(request, page))


@endpoint("read:accounts", public=True)
async def favourited_by(request: Request, params: Params) -> Response:
    status = await visible(request, path_id(request))
    limit = limit_of(params, 40, 80)
    pairs = await interactions.favourited_by(request.app.state.instance, status.id, params.id("max_id"), limit)
    return await _accounts_page(request, pairs, limit)


@endpoint("read:accounts", public=True)
async def reblogged_by(request: Request, params: Params) -> Response:
    status = await visible(request, path_id(request))
    limit = limit_of(params, 40, 80)
    pairs = await interactions.reblogged_by(request.app.state.instance, status.id, params.id("max_id"), limit)
    return await _accounts_page(request, pairs, limit)


async def _marked(request: Request, params: Params, kind: str) -> Response:
    inst = request.app.state.instance
    page = await marks.marked_page(inst, kind, max_id=params.id("max_id"), min_id=params.id("min_id"),
                                   limit=limit_of(params))
    rendered = await views(request, [s for _, s in page.items])
    return JSON(rendered, headers=link_header(request, page))


@endpoint("read:bookmarks")
async def bookmarks(request: Request, params: Params) -> Response:
    return await _marked(request, params, "bookmarks")


@endpoint("read:favourites")
async def favourites(request: Request, params: Params) -> Response:
    return await _marked(request, params, "favourites")


@endpoint("write:statuses")
async def not_supported(request: Request, params: Params) -> Response:
    return error(422, "This is not supported on this server.")
