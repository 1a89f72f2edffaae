"""The federation face's documents: the actor, posts, activities, collections and the inbox.

Paths the HTML face also serves (/users/NAME, /@NAME, posts) are negotiated in app.py by the
Accept header; these endpoints answer only ActivityPub clients. Their routes are in table.py.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from smallfedi.core import domain_blocks, following, marks, media, polls, reading
from smallfedi.core.errors import DomainError, Gone, NotFound
from smallfedi.federation import documents as docs
from smallfedi.federation.inbox import Rejected, verify_signed_request
from smallfedi.store import queue as queue_store
from smallfedi.store import statuses as statuses_store

AP_MEDIA_TYPE = "application/activity+json"


class ActivityJSONResponse(JSONResponse):
    media_type = AP_MEDIA_TYPE

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _errors(endpoint):
    """Domain errors as JSON; with authorized fetch on, only signed GETs get through."""
    async def wrapper(request: Request) -> Response:
        try:
            if request.app.state.instance.config.federation.require_signed_fetch:
                request.state.signer = await _signer(request)
            return await endpoint(request)
        except DomainError as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
    wrapper.__name__ = endpoint.__name__
    return wrapper


async def _signer(request: Request):
    """The verified signer of this GET, or None when unsigned. A bad signature is refused."""
    if "signature" not in request.headers and "signature-input" not in request.headers:
        if request.url.path.rstrip("/") in _open_paths(request):
            return None
        raise SignatureRequired("this server requires signed fetches (authorized fetch)")
    try:
        signer = await verify_signed_request(request, request.app.state.federation, b"")
    except Rejected as exc:
        raise SignatureRequired(exc.message) from None
    if await domain_blocks.is_blocked(request.app.state.instance, signer.domain):
        raise SignatureRequired("this server does not answer your domain")
    return signer


def _open_paths(request: Request) -> set[str]:
    """The owner's actor stays readable unsigned, so others can fetch the key they verify us with."""
    inst = request.app.state.instance
    return {inst.actor_uri().split(inst.base_url, 1)[1], f"/@{inst.owner.username}"}


class SignatureRequired(DomainError):
    status = 401


def _check_user(request: Request) -> None:
    if request.path_params["username"].lower() != request.app.state.instance.owner.username.lower():
        raise NotFound("no such actor")


def _page_param(request: Request) -> int | None:
    raw = request.query_params.get("max_id") or ""
    return int(raw) if raw.isdigit() and len(raw) < 20 else None


async def actor(request: Request) -> Response:
    _check_user(request)
    inst = request.app.state.instance
    followers, following_count = await following.counts(inst)
    return ActivityJSONResponse(docs.person(inst, followers, following_count))


async def note(request: Request) -> Response:
    _check_user(request)
    inst = request.app.state.instance
    raw = request.path_params["status_id"]
    if not raw.isdigit() or len(raw) > 19:
        raise NotFound("no such post")
    try:
        status = await reading.visible_status(inst, int(raw), False)
    except Gone:
        return ActivityJSONResponse({"@context": docs.CONTEXT, "id": inst.status_uri(int(raw)),
                                     "type": "Tombstone"}, status_code=410)
    if status.reblog_of_id is not None:
        raise NotFound("no such post")
    mentioned = await _mentioned(inst, status.id)
    poll = await polls.get(inst, status.id)
    return ActivityJSONResponse(docs.with_context(docs.status_to_note(inst, status, mentioned, poll=poll,
                                                                      media=await _media(inst, status.id))))


async def _media(inst, status_id: int):
    return (await media.for_statuses(inst, [status_id])).get(status_id, ())


async def _mentioned(inst, status_id: int):
    from smallfedi.core.models import Account
    from smallfedi.store import accounts as accounts_store

    ids = await statuses_store.mentioned_account_ids(inst.db, status_id)
    return [Account.from_row(r) for r in await accounts_store.get_many(inst.db, ids)]


async def note_activity(request: Request) -> Response:
    """The Create of a post, at the id we sent it with."""
    _check_user(request)
    inst = request.app.state.instance
    raw = request.path_params["status_id"]
    if not raw.isdigit() or len(raw) > 19:
        raise NotFound("no such activity")
    status = await reading.visible_status(inst, int(raw), False)
    if status.reblog_of_id is not None:
        return ActivityJSONResponse(await _announce(inst, status))
    return ActivityJSONResponse(docs.create(inst, status, await _mentioned(inst, status.id),
                                            await polls.get(inst, status.id), await _media(inst, status.id)))


async def _announce(inst, boost) -> dict:
    """The Announce of one of the owner's boosts."""
    from smallfedi.core.models import Account
    from smallfedi.store import accounts as accounts_store

    original = await reading.load_status(inst, boost.reblog_of_id)
    author = Account.from_row(await accounts_store.get(inst.db, original.account_id))
    return docs.announce(inst, boost, original, author)


async def stored_activity(request: Request) -> Response:
    """Follows, likes and other activities the owner sent, by their id."""
    inst = request.app.state.instance
    row = await queue_store.get_activity_by_uri(inst.db, f"{inst.base_url}/activities/{request.path_params['key']}")
    if row is None or row["type"] not in ("Follow", "Like", "Accept", "Reject", "Undo"):
        raise NotFound("no such activity")
    return ActivityJSONResponse(json.loads(row["json"]))


async def outbox(request: Request) -> Response:
    _check_user(request)
    inst = request.app.state.instance
    uri = f"{inst.actor_uri()}/outbox"
    if "page" not in request.query_params:
        total = await reading.post_count(inst, False)
        return ActivityJSONResponse(docs.ordered_collection(uri, total, f"{uri}?page=true"))
    page = await reading.profile_page(inst, False, max_id=_page_param(request))
    attached = await media.for_statuses(inst, [s.id for s in page.items])
    items = []
    for status in page.items:
        # Boosts are Announces, as at their ids, so the page holds what totalItems counts.
        if status.reblog_of_id is None:
            doc = docs.create(inst, status, await _mentioned(inst, status.id), await polls.get(inst, status.id),
                              attached.get(status.id, ()))
        else:
            doc = await _announce(inst, status)
        items.append({k: v for k, v in doc.items() if k != "@context"})
    next_uri = f"{uri}?page=true&max_id={page.next_max_id}" if page.next_max_id else None
    return ActivityJSONResponse(docs.collection_page(request.url._url, uri, items, next_uri, None))


async def _account_collection(request: Request, kind: str) -> Response:
    _check_user(request)
    inst = request.app.state.instance
    uri = f"{inst.actor_uri()}/{kind}"
    followers, following_count = await following.counts(inst)
    total = followers if kind == "followers" else following_count
    if "page" not in request.query_params:
        first = None if inst.config.federation.hide_network else f"{uri}?page=1"
        return ActivityJSONResponse(docs.ordered_collection(uri, total, first))
    lister = following.list_followers if kind == "followers" else following.list_following
    if inst.config.federation.hide_network:
        return ActivityJSONResponse(docs.ordered_collection(uri, total, None))
    rows = await lister(inst, max_id=_page_param(request), limit=docs.COLLECTION_PAGE_SIZE)
    next_uri = (f"{uri}?page=1&max_id={rows[-1][0]}" if len(rows) == docs.COLLECTION_PAGE_SIZE else None)
    return ActivityJSONResponse(docs.collection_page(request.url._url, uri, [a.uri for _, a in rows], next_uri, None))


async def followers(request: Request) -> Response:
    return await _account_collection(request, "followers")


async def following_collection(request: Request) -> Response:
    return await _account_collection(request, "following")


async def featured(request: Request) -> Response:
    _check_user(request)
    inst = request.app.state.instance
    uri = f"{inst.actor_uri()}/collections/featured"
    # The owner's pinned posts (at most five), as Mastodon shows them on a remote profile.
    page = await marks.marked_page(inst, "pins", limit=marks.MAX_PINS)
    attached = await media.for_statuses(inst, [s.id for _, s in page.items])
    items = []
    for _, status in page.items:
        if status.visibility in ("public", "unlisted"):
            items.append(docs.status_to_note(inst, status, await _mentioned(inst, status.id),
                                             poll=await polls.get(inst, status.id),
                                             media=attached.get(status.id, ())))
    return ActivityJSONResponse({"@context": docs.CONTEXT, "id": uri, "type": "OrderedCollection",
                                 "totalItems": len(items), "orderedItems": items})
