"""Hashtags: one tag (with whether the owner follows it), follow and unfollow, the followed ones."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.api.http import JSON, endpoint, link_header
from smallfedi.api.params import Params
from smallfedi.core import tags


def tag_json(inst, name: str, following: bool) -> dict:
    # `history` would be daily use counts; an empty list is what apps accept for "not counted".
    return {"name": name, "url": inst.tag_url(name), "history": [], "following": following}


def _name(request: Request) -> str:
    return tags.normalise(request.path_params["name"])


@endpoint("read:statuses", public=True)
async def show(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    name = _name(request)
    following = request.state.is_owner and await tags.is_followed(inst, name)
    return JSON(tag_json(inst, name, following))


@endpoint("write:follows")
async def follow(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    return JSON(tag_json(inst, await tags.follow(inst, _name(request)), True))


@endpoint("write:follows")
async def unfollow(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    return JSON(tag_json(inst, await tags.unfollow(inst, _name(request)), False))


@endpoint("read:follows")
async def followed(request: Request, params: Params) -> Response:
    """limit: 100 by default, at most 200 (as Mastodon)."""
    inst = request.app.state.instance
    limit = max(1, min(200, params.int("limit", 100) or 100))
    page = await tags.followed(inst, max_id=params.id("max_id"), since_id=params.id("since_id"),
                               min_id=params.id("min_id"), limit=limit)
    return JSON([tag_json(inst, name, True) for _, name in page.items], headers=link_header(request, page))
