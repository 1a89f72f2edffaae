"""Filters: v2 (filters with keywords and posts), v1 (one filter per keyword), and applying
them to the posts an answer carries: each post gets `filtered` (the filters it matched in this
context), and posts matching a "hide" filter leave the answer."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.api import entities
from smallfedi.api.http import JSON, endpoint
from smallfedi.api.params import Params
from smallfedi.api.statuses import path_id
from smallfedi.core import filters
from smallfedi.core.timelines import StatusView

# Applying ---------------------------------------------------------------------------------


def keyword_json(k: filters.Keyword) -> dict:
    return {"id": str(k.id), "keyword": k.keyword, "whole_word": k.whole_word}


def filter_status_json(s: filters.FilteredStatus) -> dict:
    return {"id": str(s.id), "status_id": str(s.status_id)}


def filter_json(f: filters.Filter) -> dict:
    return {
        "id": str(f.id),
        "title": f.title,
        "context": list(f.context),
        "expires_at": f.expires_at,
        "filter_action": f.action,
        "keywords": [keyword_json(k) for k in f.keywords],
        "statuses": [filter_status_json(s) for s in f.statuses],
    }


def result_json(m: filters.Match) -> dict:
    return {"filter": filter_json(m.filter),
            "keyword_matches": list(m.keyword_matches) if m.keyword_matches else None,
            "status_matches": [str(i) for i in m.status_matches] if m.status_matches else None}


def with_results(body: dict, matches: list[filters.Match]) -> dict:
    """A Status with its FilterResults (on a boost, on the boosted post too)."""
    if matches:
        results = [result_json(m) for m in matches]
        body["filtered"] = results
        if isinstance(body.get("reblog"), dict):
            body["reblog"]["filtered"] = results
    return body


async def render(request: Request, views: list[StatusView], context: str) -> list[dict]:
    """Posts as Statuses for the owner, filtered in `context`; for anyone else, as they are."""
    inst = request.app.state.instance
    ctx = await entities.context(inst)
    matcher = await filters.matcher(inst, context) if request.state.is_owner else None
    out = []
    for v in views:
        found = matcher.match(v) if matcher else []
        if filters.hides(found):
            continue
        out.append(with_results(entities.status(ctx, v), found))
    return out


# v2 ---------------------------------------------------------------------------------------


def _keyword_changes(params: Params) -> list[filters.KeywordChange]:
    """keywords_attributes: form fields (`keywords_attributes[][keyword]=…`, grouped as Rails
    groups them: a key already in the last item starts a new one), an indexed dict, or JSON."""
    items = [i for i in params.list("keywords_attributes") if isinstance(i, dict)]
    if items and all(len(i) == 1 for i in items):
        grouped: list[dict] = []
        for item in items:
            if grouped and not set(item) & set(grouped[-1]):
                grouped[-1].update(item)
            else:
                grouped.append(dict(item))
        items = grouped
    changes = []
    for item in items:
        p = Params(item)
        changes.append(filters.KeywordChange(
            id=p.id("id"), keyword=p.str("keyword"),
            whole_word=p.bool("whole_word") if p.raw("whole_word") is not None else None,
            destroy=p.bool("_destroy")))
    return changes


def _context_param(params: Params):
    return [str(c) for c in params.list("context")] if "context" in params else None


@endpoint("read:filters")
async def index(request: Request, params: Params) -> Response:
    return JSON([filter_json(f) for f in await filters.all_filters(request.app.state.instance)])


@endpoint("read:filters")
async def show(request: Request, params: Params) -> Response:
    return JSON(filter_json(await filters.get(request.app.state.instance, path_id(request))))


@endpoint("write:filters")
async def create(request: Request, params: Params) -> Response:
    found = await filters.create(request.app.state.instance, title=params.str("title"),
                                 context=_context_param(params) or [],
                                 action=params.str("filter_action") or "warn",
                                 expires_in=params.str("expires_in"), keywords=_keyword_changes(params))
    return JSON(filter_json(found))


@endpoint("write:filters")
async def update(request: Request, params: Params) -> Response:
    found = await filters.update(
        request.app.state.instance, path_id(request), title=params.str("title"),
        context=_context_param(params), action=params.str("filter_action"),
        expires_in=params.str("expires_in") if "expires_in" in params else filters.UNSET,
        keywords=_keyword_changes(params))
    return JSON(filter_json(found))


@endpoint("write:filters")
async def delete(request: Request, params: Params) -> Response:
    await filters.delete(request.app.state.instance, path_id(request))
    return JSON({})


def _whole_word(params: Params) -> bool | None:
    return params.bool("whole_word") if params.raw("whole_word") is not None else None


@endpoint("read:filters")
async def keywords(request: Request, params: Params) -> Response:
    found = await filters.get(request.app.state.instance, path_id(request))
    return JSON([keyword_json(k) for k in found.keywords])


@endpoint("write:filters")
async def add_keyword(request: Request, params: Params) -> Response:
    k = await filters.add_keyword(request.app.state.instance, path_id(request), params.str("keyword"),
                                  _whole_word(params))
    return JSON(keyword_json(k))


@endpoint("read:filters")
async def show_keyword(request: Request, params: Params) -> Response:
    return JSON(keyword_json(await filters.get_keyword(request.app.state.instance, path_id(request))))


@endpoint("write:filters")
async def update_keyword(request: Request, params: Params) -> Response:
    k = await filters.update_keyword(request.app.state.instance, path_id(request), params.str("keyword"),
                                     _whole_word(params))
    return JSON(keyword_json(k))


@endpoint("write:filters")
async def delete_keyword(request: Request, params: Params) -> Response:
    await filters.delete_keyword(request.app.state.instance, path_id(request))
    return JSON({})


@endpoint("read:filters")
async def statuses(request: Request, params: Params) -> Response:
    found = await filters.get(request.app.state.instance, path_id(request))
    return JSON([filter_status_json(s) for s in found.statuses])


@endpoint("write:filters")
async def add_status(request: Request, params: Params) -> Response:
    s = await filters.add_status(request.app.state.instance, path_id(request), params.id("status_id"))
    return JSON(filter_status_json(s))


@endpoint("read:filters")
async def show_status(request: Request, params: Params) -> Response:
    return JSON(filter_status_json(await filters.get_status(request.app.state.instance, path_id(request))))


@endpoint("write:filters")
async def delete_status(request: Request, params: Params) -> Response:
    await filters.delete_status(request.app.state.instance, path_id(request))
    return JSON({})


# v1 ---------------------------------------------------------------------------------------


def v1_json(v: filters.V1Filter) -> dict:
    return {
        "id": str(v.keyword.id),
        "phrase": v.keyword.keyword,
        "context": list(v.filter.context),
        "whole_word": v.keyword.whole_word,
        "expires_at": v.filter.expires_at,
        "irreversible": v.filter.action == "hide",
    }


@endpoint("read:filters")
async def v1_index(request: Request, params: Params) -> Response:
    return JSON([v1_json(v) for v in await filters.v1_all(request.app.state.instance)])


@endpoint("read:filters")
async def v1_show(request: Request, params: Params) -> Response:
    return JSON(v1_json(await filters.v1_get(request.app.state.instance, path_id(request))))


@endpoint("write:filters")
async def v1_create(request: Request, params: Params) -> Response:
    found = await filters.v1_create(
        request.app.state.instance, phrase=params.str("phrase"), context=_context_param(params) or [],
        irreversible=params.bool("irreversible"), whole_word=params.bool("whole_word", True),
        expires_in=params.str("expires_in"))
    return JSON(v1_json(found))


@endpoint("write:filters")
async def v1_update(request: Request, params: Params) -> Response:
    found = await filters.v1_update(
        request.app.state.instance, path_id(request), phrase=params.str("phrase"),
        context=_context_param(params),
        irreversible=params.bool("irreversible") if params.raw("irreversible") is not None else None,
        whole_word=_whole_word(params),
        expires_in=params.str("expires_in") if "expires_in" in params else filters.UNSET)
    return JSON(v1_json(found))


@endpoint("write:filters")
async def v1_delete(request: Request, params: Params) -> Response:
    await filters.v1_delete(request.app.state.instance, path_id(request))
    return JSON({})


# Streaming -----------------------------------------------------------------------------------


def _stream_context(stream: list[str]) -> str | None:
    name = stream[0]
    if name in ("user", "list"):
        return "home"
    if name.startswith(("public", "hashtag")):
        return "public"
    return None


async def stream_payloads(inst, view: StatusView, streams: list[list[str]]) -> list[tuple[list[str], str]]:
    """(stream, Status JSON) for each stream a live post goes to, filtered in the stream's
    context (home for user and lists, public for public and hashtags); hidden ones are left out."""
    ctx = await entities.context(inst)
    by_context: dict[str | None, str | None] = {}
    out = []
    for stream in streams:
        context = _stream_context(stream)
        if context not in by_context:
            found = (await filters.matcher(inst, context)).match(view) if context else []
            by_context[context] = None if filters.hides(found) else json.dumps(
                with_results(entities.status(ctx, view), found))
        if by_context[context] is not None:
            out.append((stream, by_context[context]))
    return out


async def notification_payload(inst, body: dict, view: StatusView | None) -> str | None:
    """A live notification's JSON, filtered in `notifications`; None when a filter hides it."""
    if view is not None:
        found = (await filters.matcher(inst, "notifications")).match(view)
        if filters.hides(found):
            return None
        if found:
            with_results(body["status"], found)
    return json.dumps(body)
