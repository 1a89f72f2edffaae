"""Uploads for posts, v1 and v2 alike: processing is synchronous here, so both answer 200 with
the finished attachment (its `url` set); and one upload read or described."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.api import entities
from smallfedi.api.http import JSON, current_grant, endpoint, error
from smallfedi.api.params import Params
from smallfedi.api.statuses import path_id
from smallfedi.core import media
from smallfedi.core.errors import Invalid

WRITE = "write:media"
FILES = 1  # the upload itself; previews are made here, so no `thumbnail` is taken


def _render(request: Request, m) -> JSON:
    return JSON(entities.media_attachment(request.app.state.instance, m))


async def _upload(request: Request, params: Params) -> Response:
    file = params.files.get("file")
    if file is None:
        raise Invalid("No file was sent: upload it as the multipart form field `file`.")
    up = media.Upload(file.file, params.str("description", "") or "", params.str("focus"))
    return _render(request, await media.upload(request.app.state.instance, up))


@endpoint(WRITE, files=FILES)
async def create_v1(request: Request, params: Params) -> Response:
    return await _upload(request, params)


@endpoint(WRITE, files=FILES)
async def create_v2(request: Request, params: Params) -> Response:
    # Mastodon answers 202 only while `url` is still null; here it never is.
    return await _upload(request, params)


@endpoint()
async def show(request: Request, params: Params) -> Response:
    # Mastodon asks write:media here; a read token is let in as well.
    grant = await current_grant(request)
    if not (grant.allows(WRITE) or grant.allows("read")):
        return error(403, "This action is outside the authorized scopes")
    return _render(request, await media.get(request.app.state.instance, path_id(request)))


@endpoint(WRITE)
async def update(request: Request, params: Params) -> Response:
    """Alt text and focal point; what is not sent stays."""
    m = await media.describe(request.app.state.instance, path_id(request), description=params.str("description"),
                             focus=params.str("focus"))
    return _render(request, m)
