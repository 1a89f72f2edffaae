"""Direct conversations: the list (paged by their latest post), mark one read, remove one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.api import entities
from smallfedi.api.http import JSON, endpoint, link_header, limit_of
from smallfedi.api.params import Params
from smallfedi.api.statuses import path_id
from smallfedi.core import conversations, timelines


async def render(inst, found: list[conversations.Conversation]) -> list[dict]:
    ctx = await entities.context(inst)
    views = {v.status.id: v for v in await timelines.hydrate(inst, [c.last_status for c in found])}
    return [{"id": str(c.id), "unread": c.unread, "accounts": [entities.account(ctx, a) for a in c.accounts],
             "last_status": entities.status(ctx, views[c.last_status.id]) if c.last_status.id in views else None}
            for c in found]


@endpoint("read:statuses")
async def index(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    page = await conversations.page(inst, max_id=params.id("max_id"), since_id=params.id("since_id"),
                                    min_id=params.id("min_id"), limit=limit_of(params))
    return JSON(await render(inst, page.items), headers=link_header(request, page))


@endpoint("write:conversations")
async def read(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    found = await conversations.mark_read(inst, path_id(request))
    return JSON((await render(inst, [found]))[0])


@endpoint("write:conversations")
async def delete(request: Request, params: Params) -> Response:
    await conversations.remove(request.app.state.instance, path_id(request))
    return JSON({})
