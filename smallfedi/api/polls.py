"""Polls: read one (its id is its post's) and vote. Creating one is part of posting."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.api import entities
from smallfedi.api.http import JSON, endpoint
from smallfedi.api.params import Params
from smallfedi.api.statuses import path_id, visible
from smallfedi.core import polls
from smallfedi.core.errors import Invalid, NotFound


@endpoint("read:statuses", public=True)
async def show(request: Request, params: Params) -> Response:
    status = await visible(request, path_id(request))
    poll = await polls.get(request.app.state.instance, status.id)
    if poll is None:
        raise NotFound("Record not found")
    return JSON(entities.poll(poll))


@endpoint("write:statuses")
async def vote(request: Request, params: Params) -> Response:
    """`choices[]`: the indexes of the options chosen (several only on a multiple-choice poll)."""
    status = await visible(request, path_id(request))
    choices = []
    for raw in params.list("choices"):
        text = str(raw).strip()
        if isinstance(raw, (bool, dict, list)) or not text.isdigit() or len(text) > 4:
            raise Invalid("choices must be the indexes of the options chosen")
        choices.append(int(text))
    return JSON(entities.poll(await polls.vote(request.app.state.instance, status.id, choices)))
