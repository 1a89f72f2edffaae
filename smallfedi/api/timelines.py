"""Timelines: home, lists, public (local/remote), hashtag; and notifications (v1, and v2 with
each notification its own group). The owner's filters apply to each."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.api import entities, filters
from smallfedi.api.http import JSON, endpoint, link_header, limit_of
from smallfedi.api.params import Params
from smallfedi.api.statuses import linked_to_newer, path_id
from smallfedi.core import filters as core_filters
from smallfedi.core import lists
from smallfedi.core import notifications as core_notifications
from smallfedi.core import timelines
from smallfedi.core.errors import NotFound
from smallfedi.store.db import utcnow


class _Encoded(JSON):
    """A body already written as JSON."""

    def render(self, content: bytes) -> bytes:
        return content


async def _matcher(ctx: entities.Context, context: str) -> core_filters.Matcher:
    """The filters in force in `context`, kept in the Context (so until the next commit) and
    until the first of them expires: an expired filter only leaves, and one comes back or
    arrives only by a commit."""
    kept = ctx.derived.get(("filters", context))
    if kept is not None and (kept[1] is None or utcnow() < kept[1]):
        return kept[0]
    matcher = await core_filters.matcher(ctx.inst, context)
    ends = [f.expires_at for f in matcher.filters if f.expires_at is not None]
    ctx.derived[("filters", context)] = (matcher, min(ends) if ends else None)
    return matcher


async def _render_page(request: Request, page, context: str) -> Response:
    """A page of posts, filtered in `context` as api.filters.render filters (for the owner;
    anyone else sees posts as they are). The Link header is the whole page's: a post a filter
    hides must not end the paging."""
    page = linked_to_newer(page)
    ctx = await entities.context(request.app.state.instance)
    matcher = await _matcher(ctx, context) if request.state.is_owner else None
    parts = []
    for v in page.items:
        found = matcher.match(v) if matcher else None
        if not found:
            parts.append(entities.status_json(ctx, v))
        elif not core_filters.hides(found):
            parts.append(entities.dumps(filters.with_results(entities.status(ctx, v), found)))
    return _Encoded(f"[{','.join(parts)}]".encode(), headers=link_header(request, page))


def _bounds(params: Params) -> dict:
    return {"max_id": params.id("max_id"), "since_id": params.id("since_id"), "min_id": params.id("min_id"),
            "limit": limit_of(params)}


@endpoint("read:statuses")
async def home(request: Request, params: Params) -> Response:
    page = await timelines.home(request.app.state.instance, **_bounds(params))
    return await _render_page(request, page, "home")


@endpoint("read:lists")
async def list_timeline(request: Request, params: Params) -> Response:
    page = await lists.timeline(request.app.state.instance, path_id(request), **_bounds(params))
    return await _render_page(request, page, "home")  # Mastodon filters lists as home


@endpoint("read:statuses", public=True)
async def public(request: Request, params: Params) -> Response:
    local = True if params.bool("local") else (False if params.bool("remote") else None)
    page = await timelines.statuses(request.app.state.instance, request.state.is_owner, local=local,
                                    only_media=params.bool("only_media"), **_bounds(params))
    return await _render_page(request, page, "public")


@endpoint("read:statuses", public=True)
async def tag(request: Request, params: Params) -> Response:
    name = request.path_params["tag"].lstrip("#").lower()
    local = True if params.bool("local") else (False if params.bool("remote") else None)
    page = await timelines.statuses(request.app.state.instance, request.state.is_owner, local=local, tag=name,
                                    only_media=params.bool("only_media"), **_bounds(params))
    return await _render_page(request, page, "public")


def _types(params: Params) -> tuple[set[str] | None, set[str]]:
    wanted = {str(t) for t in params.list("types")} or None
    excluded = {str(t) for t in params.list("exclude_types")}
    return wanted, excluded


async def _notification_page(request: Request, params: Params):
    inst = request.app.state.instance
    wanted, excluded = _types(params)
    account_id = params.id("account_id")
    return await core_notifications.page(inst, types=wanted, exclude_types=excluded, account_id=account_id,
                                         **_bounds(params))


async def _render_notifications(request: Request, page) -> list[dict]:
    """Notifications; those about a post a "hide" filter matches in `notifications` leave."""
    inst = request.app.state.instance
    ctx = await entities.context(inst)
    statuses = [n.status for n in page.items if n.status is not None]
    by_id = {v.status.id: v for v in await timelines.hydrate(inst, statuses)}
    matcher = await _matcher(ctx, "notifications")
    out = []
    for n in page.items:
        view = by_id.get(n.status.id) if n.status else None
        if n.status is not None and view is None:
            continue
        found = matcher.match(view) if view is not None and matcher else []
        if core_filters.hides(found):
            continue
        body = entities.notification(ctx, n, view)
        if found:
            filters.with_results(body["status"], found)
        out.append(body)
    return out


@endpoint("read:notifications")
async def notifications(request: Request, params: Params) -> Response:
    page = await _notification_page(request, params)
    return JSON(await _render_notifications(request, page), headers=link_header(request, page))


@endpoint("read:notifications")
async def notification(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    found = await core_notifications.get(inst, path_id(request))
    rendered = await _render_notifications(request, type("P", (), {"items": [found]})())
    if not rendered:
        raise NotFound("Record not found")
    return JSON(rendered[0])


@endpoint("write:notifications")
async def dismiss(request: Request, params: Params) -> Response:
    await core_notifications.dismiss(request.app.state.instance, path_id(request))
    return JSON({})


@endpoint("write:notifications")
async def clear(request: Request, params: Params) -> Response:
    await core_notifications.clear(request.app.state.instance)
    return JSON({})


@endpoint("read:notifications")
async def unread_count(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    from smallfedi.core import marks

    marker = (await marks.markers(inst)).get("notifications")
    count = await core_notifications.count_after(inst, marker["last_read_id"] if marker else 0, limit=1000)
    return JSON({"count": count})


@endpoint("read:notifications")
async def grouped(request: Request, params: Params) -> Response:
    """v2: every notification is its own group, which Mastodon allows and apps accept."""
    page = await _notification_page(request, params)
    rendered = await _render_notifications(request, page)
    accounts, statuses, groups = {}, {}, []
    for n in rendered:
        accounts[n["account"]["id"]] = n["account"]
        if n["status"] is not None:
            statuses[n["status"]["id"]] = n["status"]
        groups.append({
            "group_key": n["group_key"],
            "notifications_count": 1,
            "type": n["type"],
            "most_recent_notification_id": int(n["id"]),  # a number here, as Mastodon sends it
            "page_min_id": n["id"],
            "page_max_id": n["id"],
            "latest_page_notification_at": n["created_at"],
            "sample_account_ids": [n["account"]["id"]],
            "status_id": n["status"]["id"] if n["status"] else None,
        })
    return JSON({"accounts": list(accounts.values()), "statuses": list(statuses.values()),
                 "notification_groups": groups}, headers=link_header(request, page))


def _marker_json(found: dict) -> dict:
    return {name: {"last_read_id": str(m["last_read_id"]), "version": m["version"], "updated_at": m["updated_at"]}
            for name, m in found.items()}


@endpoint("read:statuses")
async def markers(request: Request, params: Params) -> Response:
    from smallfedi.core import marks

    wanted = {str(t) for t in params.list("timeline")} or {"home", "notifications"}
    found = await marks.markers(request.app.state.instance)
    return JSON(_marker_json({k: v for k, v in found.items() if k in wanted}))


@endpoint("write:statuses")
async def set_markers(request: Request, params: Params) -> Response:
    from smallfedi.core import marks
    from smallfedi.core.errors import BadRequest

    positions = {}
    for name in ("home", "notifications"):
        raw = params.dict(name).get("last_read_id")
        if raw is not None:
            if not str(raw).isdigit():
                raise BadRequest("last_read_id must be an id")
            positions[name] = int(raw)
    found = await marks.set_markers(request.app.state.instance, positions)
    return JSON(_marker_json({k: v for k, v in found.items() if k in positions}))
