"""Lists: create, rename, delete, members. (Their timelines are in timelines.py, an account's
lists in accounts.py.)"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.api import entities
from smallfedi.api.http import JSON, endpoint, link_header
from smallfedi.api.params import Params
from smallfedi.api.statuses import path_id
from smallfedi.core import lists
from smallfedi.core.errors import Invalid


def list_json(found: lists.UserList) -> dict:
    return {"id": str(found.id), "title": found.title, "replies_policy": found.replies_policy,
            "exclusive": found.exclusive}


@endpoint("read:lists")
async def index(request: Request, params: Params) -> Response:
    return JSON([list_json(x) for x in await lists.all_lists(request.app.state.instance)])


@endpoint("read:lists")
async def show(request: Request, params: Params) -> Response:
    return JSON(list_json(await lists.get(request.app.state.instance, path_id(request))))


def _exclusive(params: Params) -> bool | None:
    return params.bool("exclusive") if params.raw("exclusive") is not None else None


@endpoint("write:lists")
async def create(request: Request, params: Params) -> Response:
    found = await lists.create(request.app.state.instance, params.str("title"), params.str("replies_policy"),
                               bool(_exclusive(params)))
    return JSON(list_json(found))


@endpoint("write:lists")
async def update(request: Request, params: Params) -> Response:
    found = await lists.update(request.app.state.instance, path_id(request), title=params.str("title"),
                               replies_policy=params.str("replies_policy"), exclusive=_exclusive(params))
    return JSON(list_json(found))


@endpoint("write:lists")
async def delete(request: Request, params: Params) -> Response:
    await lists.delete(request.app.state.instance, path_id(request))
    return JSON({})


@endpoint("read:lists")
async def members(request: Request, params: Params) -> Response:
    """limit: 40 by default, at most 80; 0 for every member at once (as Mastodon)."""
    inst = request.app.state.instance
    limit = params.int("limit", 40)
    limit = None if limit == 0 else max(1, min(80, limit or 40))
    page = await lists.members(inst, path_id(request), max_id=params.id("max_id"), since_id=params.id("since_id"),
                               min_id=params.id("min_id"), limit=limit)
    ctx = await entities.context(inst)
    return JSON([entities.account(ctx, a) for _, a in page.items], headers=link_header(request, page))


def _account_ids(params: Params) -> list[int]:
    ids = [str(i).strip() for i in params.list("account_ids")]
    if not ids:
        raise Invalid("account_ids is missing")
    return [int(i) for i in ids if i.isdigit() and len(i) < 20]


@endpoint("write:lists")
async def add_members(request: Request, params: Params) -> Response:
    await lists.add_accounts(request.app.state.instance, path_id(request), _account_ids(params))
    return JSON({})


@endpoint("write:lists")
async def remove_members(request: Request, params: Params) -> Response:
    await lists.remove_accounts(request.app.state.instance, path_id(request), _account_ids(params))
    return JSON({})
