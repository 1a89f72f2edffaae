"""The inbox: verify the HTTP signature first, then hand each activity to the core.

Answers: 202 accepted (or already seen, or ignored on purpose), 400 for a body that is not
an activity, 401 for a signature we can't verify, 403 when the signer is not the actor.
Nothing inbound produces a 500: unexpected errors are logged and answered 400.
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from smallfedi.core import domain_blocks, polls, remote
from smallfedi.core.errors import DomainError
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account
from smallfedi.federation import signatures
from smallfedi.federation.parse import ParseError, as_list, id_of, note_info, same_origin, types_of
from smallfedi.federation.service import FederationService
from smallfedi.store import queue as queue_store
from smallfedi.store.db import utcnow

log = logging.getLogger("smallfedi.inbox")

MAX_DEPTH = 32
MAX_INBOX_BYTES = 1024 * 1024  # Mastodon's limit too


class Rejected(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _answer(status: int, message: str | None = None) -> Response:
    if status == 202:
        return Response(status_code=202)
    return JSONResponse({"error": message}, status_code=status)


def json_depth_ok(value, limit: int = MAX_DEPTH) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


async def inbox(request: Request) -> Response:
    inst: Instance = request.app.state.instance
    service: FederationService = request.app.state.federation
    body = await request.body()
    try:
        activity = _parse_body(request, body)
        blocked = await _blocked_origin(inst, request, activity)
        if blocked:
            # Before the signature: nothing is fetched from a blocked domain, not even its key.
            log.info("inbox dropped an activity from the blocked domain %s", blocked)
            return _answer(202)
        try:
            signer = await verify_signed_request(request, service, body)
        except Rejected:
            if _is_self_delete(activity):
                return _answer(202)  # a deleted actor's key is gone too; nothing of theirs to verify
            raise
        actor_id = id_of(activity.get("actor"))
        if actor_id is None:
            raise Rejected(400, "activity has no actor")
        if actor_id != signer.uri:
            raise Rejected(403, "the signature's key does not belong to the activity's actor")
        activity_id = activity.get("id")
        if not isinstance(activity_id, str) or not same_origin(activity_id, actor_id):
            raise Rejected(400, "activity id missing or not on the actor's server")
        if await queue_store.seen(inst.db, activity_id):
            return _answer(202)
        if signer.blocked:
            return _answer(202)  # accepted and dropped, so a blocked server does not retry
        await dispatch(inst, service, signer, activity)  # its effects are committed when it returns
        queue_store.mark_seen_soon(inst.db, activity_id, utcnow())
        return _answer(202)
    except Rejected as exc:
        log.info("inbox rejected %s: %s", request.headers.get("signature", "")[:80] or "unsigned request",
                 exc.message)
        return _answer(exc.status, exc.message)
    except (ParseError, DomainError) as exc:
        log.info("inbox refused an activity: %s", exc.message)
        return _answer(422, exc.message)
    except Exception:  # noqa: BLE001 - never a 500 for a stranger's input
        log.exception("inbox failed on an activity")
        return _answer(400, "the activity could not be processed")


def _parse_body(request: Request, body: bytes) -> dict:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/activity+json", "application/ld+json", "application/json"):
        raise Rejected(415, "send application/activity+json")
    if len(body) > MAX_INBOX_BYTES:
        raise Rejected(413, "activity too large")
    try:
        activity = json.loads(body)
    except ValueError:
        raise Rejected(400, "the body is not JSON") from None
    except RecursionError:  # valid JSON the parser gave up on: say why
        raise Rejected(400, "the JSON is nested too deeply") from None
    if not isinstance(activity, dict):
        raise Rejected(400, "the body is not a JSON object")
    if not json_depth_ok(activity):
        raise Rejected(400, "the JSON is nested too deeply")
    if not types_of(activity):
        raise Rejected(400, "activity has no type")
    return activity


async def verify_signed_request(request: Request, service: FederationService, body: bytes) -> Account:
    """The account whose key signed this request (cavage or RFC 9421); Rejected(401) otherwise."""
    config = service.inst.config
    try:
        parsed = signatures.parse_request_signature(
            request.method, request.scope.get("raw_path", b"").decode("latin-1").split("?")[0] or request.url.path,
            request.url.query, request.headers, body, scheme=config.url.split(":")[0], authority=config.domain)
    except signatures.SignatureError as exc:
        raise Rejected(401, exc.message) from None
    try:
        account = await service.account_for_key(parsed.key_id)
    except DomainError as exc:
        raise Rejected(401, exc.message) from None
    for attempt in (1, 2):
        try:
            signatures.verify_parsed(parsed, signatures.load_public_key(account.public_key_pem or ""))
            return account
        except signatures.SignatureError as exc:
            if attempt == 2:
                raise Rejected(401, exc.message) from None
        # The key may have rotated: fetch it again once.
        try:
            account = await service.account_for_key(parsed.key_id, refresh=True)
        except DomainError as exc:
            raise Rejected(401, exc.message) from None
    raise Rejected(401, "signature does not verify")


_KEY_ID_RE = re.compile(r'keyid="([^"]+)"', re.IGNORECASE)


async def _blocked_origin(inst: Instance, request: Request, activity: dict) -> str | None:
    """The host of the activity's actor, or of its signature's key, when a domain block covers it."""
    hosts = [urlsplit(u).netloc for u in [id_of(activity.get("actor")),
             *_KEY_ID_RE.findall(request.headers.get("signature", "") + request.headers.get("signature-input", ""))]
             if isinstance(u, str)]
    blocked = await domain_blocks.domains(inst) if hosts else []
    return next((h for h in hosts if any(domain_blocks.covers(d, h) for d in blocked)), None)


def _is_self_delete(activity: dict) -> bool:
    return "Delete" in types_of(activity) and id_of(_object(activity)) == id_of(activity.get("actor"))


def _object(activity: dict):
    obj = activity.get("object")
    if isinstance(obj, list):
        obj = obj[0] if obj else None
    return obj


async def dispatch(inst: Instance, service: FederationService, actor: Account, activity: dict) -> None:
    kind = next(iter(types_of(activity)))
    obj = _object(activity)
    object_id = id_of(obj)
    if kind == "Follow":
        if object_id != inst.owner.uri:
            raise Rejected(422, "you can only follow this server's owner")
        await remote.receive_follow(inst, actor, activity["id"])
    elif kind in ("Accept", "Reject"):
        await (remote.receive_accept if kind == "Accept" else remote.receive_reject)(inst, actor)
    elif kind == "Undo":
        await _undo(inst, actor, obj)
    elif kind in ("Create", "Update") and isinstance(obj, dict) and types_of(obj) & {"Note", "Article", "Question", "Page"}:
        if kind == "Create" and await _vote(inst, actor, obj):
            return
        note = note_info(obj, actor.followers_url)
        if note.author_uri != actor.uri:
            raise Rejected(403, "a post can only be created or updated by its author")
        if kind == "Create":
            if note.in_reply_to_uri:
                await service.resolve_status(note.in_reply_to_uri, depth=1)
            await remote.receive_note(inst, note, actor)
        elif not await remote.receive_note_update(inst, note, actor):
            await remote.receive_note(inst, note, actor)
    elif kind == "Update" and isinstance(obj, dict) and object_id == actor.uri:
        await service.fetch_actor(actor.uri)  # refetch: the signed copy from its origin is the truth
    elif kind == "Delete":
        if object_id == actor.uri:
            await remote.receive_actor_delete(inst, actor)
        elif object_id:
            await remote.receive_delete(inst, actor, object_id)
    elif kind in ("Like", "EmojiReact"):
        emoji = activity.get("content") if isinstance(activity.get("content"), str) else None
        if object_id:
            await remote.receive_like(inst, actor, object_id, activity["id"], emoji[:50] if emoji else None)
    elif kind == "Announce":
        if object_id:
            original = await service.resolve_status(object_id)
            if original is not None and original.visibility in ("public", "unlisted"):
                published = _published(activity)
                await remote.receive_announce(inst, actor, original, activity["id"], published)
    elif kind == "Block":
        if object_id == inst.owner.uri:
            await remote.receive_block(inst, actor)
    elif kind == "Move":
        target_id = id_of(activity.get("target"))
        if object_id == actor.uri and target_id:
            target = await service.fetch_actor(target_id)
            await remote.receive_move(inst, actor, target)
    else:
        log.info("ignoring %s from %s", kind, actor.uri)


async def _vote(inst: Instance, actor: Account, obj: dict) -> bool:
    """A vote on one of the owner's polls (a Note named after an option, in reply to the poll)
    goes to the count, not among the posts. False when the Note is no such vote."""
    name, target = obj.get("name"), id_of(obj.get("inReplyTo"))
    if ("Note" not in types_of(obj) or not isinstance(name, str) or not target
            or not same_origin(target, inst.base_url)):
        return False
    if next((a for a in map(id_of, as_list(obj.get("attributedTo"))) if a), None) != actor.uri:
        raise Rejected(403, "a vote can only be cast by its author")
    return await polls.receive_vote(inst, actor, target, name, id_of(obj))


async def _undo(inst: Instance, actor: Account, obj) -> None:
    inner_types = types_of(obj) if isinstance(obj, dict) else set()
    inner_id = id_of(obj)
    inner_object = id_of(obj.get("object")) if isinstance(obj, dict) else None
    if "Follow" in inner_types:
        await remote.receive_undo_follow(inst, actor)
    elif inner_types & {"Like", "EmojiReact"}:
        await remote.receive_undo_like(inst, actor, inner_object, inner_id)
    elif "Announce" in inner_types:
        await remote.receive_undo_announce(inst, actor, inner_id)
    elif "Block" in inner_types:
        await remote.receive_undo_block(inst, actor)
    elif inner_id:
        # Only the id was sent: try each kind it could be.
        await remote.receive_undo_like(inst, actor, None, inner_id)
        await remote.receive_undo_announce(inst, actor, inner_id)


def _published(activity: dict) -> str:
    from smallfedi.federation.parse import parse_time

    return parse_time(activity.get("published")) or utcnow()
