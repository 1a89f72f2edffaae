"""Live updates: the WebSocket at /api/v1/streaming (Elk, Phanpy, Ice Cubes) and the
server-sent-event streams under /api/v1/streaming/… (Mastodon.py).

Each connection listens on the core's event bus. An event is turned into the JSON apps expect
once per connection and only for the streams it subscribed to. The token may come as a
query parameter, an Authorization header or the WebSocket subprotocol; a subprotocol token is
echoed back, or browsers abort the handshake.
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from smallfedi.api import conversations, entities, filters
from smallfedi.api.http import bearer, error
from smallfedi.core import conversations as core_conversations
from smallfedi.core import lists
from smallfedi.core import notifications as core_notifications
from smallfedi.core import oauth, timelines
from smallfedi.core.errors import DomainError
from smallfedi.core.events import MAX_LISTENERS, Event
from smallfedi.core.reading import load_status

log = logging.getLogger("smallfedi.streaming")

STREAMS = {"user", "user:notification", "public", "public:local", "public:remote", "hashtag", "hashtag:local",
           "direct", "list"}
MAX_SUBSCRIPTIONS = 20
HEARTBEAT = 30.0


async def _status_targets(inst, status, subscriptions: set[tuple[str, str | None]]) -> list[list[str]]:
    """The subscribed streams a post belongs to, each as Mastodon names it ([name] or [name, tag])."""
    found = []
    for name, tag in subscriptions:
        if name == "user":
            if await timelines.in_home(inst, status):
                found.append(["user"])
        elif name.startswith("public") and status.visibility == "public" and status.reblog_of_id is None:
            if name == "public" or (name == "public:local") == status.local:
                found.append([name])
        elif name.startswith("hashtag") and tag and status.visibility == "public" and tag in status.tags:
            if name == "hashtag" or status.local:
                found.append([name, tag])
        elif name == "direct" and status.visibility == "direct":
            found.append(["direct"])
        elif name == "list" and tag and await lists.shows(inst, int(tag), status):
            found.append(["list", tag])
    return found


async def render(inst, event: Event, subscriptions: set[tuple[str, str | None]]) -> list[dict]:
    """The messages one event makes for one connection's subscriptions (often none)."""
    if not subscriptions:
        return []
    try:
        if event.kind == "notification":
            targets = [[n] for n, _ in subscriptions if n in ("user", "user:notification")]
            if not targets:
                return []
            found = await core_notifications.get(inst, event.id)
            ctx = await entities.context(inst)
            view = None
            if found.status is not None:
                views = await timelines.hydrate(inst, [found.status])
                view = views[0] if views else None
            payload = await filters.notification_payload(inst, entities.notification(ctx, found, view), view)
            if payload is None:
                return []  # a filter hides it
            return [{"stream": t, "event": "notification", "payload": payload} for t in targets]
        if event.kind == "delete":
            # Apps drop the id wherever they show it; Mastodon sends it to every stream.
            return [{"stream": [n] + ([t] if t else []), "event": "delete", "payload": str(event.id)}
                    for n, t in subscriptions if n != "user:notification"]
        status = await load_status(inst, event.id)
        targets = await _status_targets(inst, status, subscriptions)
        messages = []
        if event.kind == "status" and ["direct"] in targets:
            # A new direct post: the direct stream gets its conversation, as in Mastodon.
            targets.remove(["direct"])
            found = await core_conversations.of_status(inst, status)
            if found is not None:
                body = (await conversations.render(inst, [found]))[0]
                messages.append({"stream": ["direct"], "event": "conversation", "payload": json.dumps(body)})
        if not targets:
            return messages
        views = await timelines.hydrate(inst, [status])
        if not views:
            return messages
        name = "update" if event.kind == "status" else "status.update"
        return messages + [{"stream": t, "event": name, "payload": payload}
                           for t, payload in await filters.stream_payloads(inst, views[0], targets)]
    except DomainError:
        return []  # gone before we could read it


def _subscription(stream: str | None, tag: str | None) -> tuple[str, str | None] | None:
    if stream not in STREAMS:
        return None
    if stream.startswith("hashtag"):
        tag = (tag or "").lstrip("#").lower()
        return (stream, tag) if tag else None
    if stream == "list":  # `tag` carries the list's id
        tag = str(tag or "").strip()
        return (stream, tag) if tag.isdigit() and len(tag) < 20 else None
    return (stream, None)


async def _grant_from(inst, token: str | None):
    grant = await oauth.grant_for(inst, token)
    if grant is None or not grant.for_owner or not grant.allows("read:statuses"):
        return None
    return grant


async def websocket(ws: WebSocket) -> None:
    inst = ws.app.state.instance
    offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    header = ws.headers.get("authorization", "")
    token = ws.query_params.get("access_token") or (header[7:].strip() if header[:7].lower() == "bearer " else None)
    chosen = None
    if not token and offered:
        token = chosen = offered[0]
    if await _grant_from(inst, token) is None:
        await ws.close(code=4001, reason="Invalid access token")  # answers the handshake with 403
        return
    if inst.events.listeners >= MAX_LISTENERS:
        await ws.close(code=1013, reason="Too many open streams")  # answers the handshake with 403
        return
    await ws.accept(subprotocol=chosen)
    subscriptions: set[tuple[str, str | None]] = set()
    first = _subscription(ws.query_params.get("stream"), ws.query_params.get("tag") or ws.query_params.get("list"))
    if first:
        subscriptions.add(first)
    queue = inst.events.subscribe()

    async def read_client() -> None:
        while True:
            text = await ws.receive_text()
            if len(text) > 4096:
                continue
            try:
                message = json.loads(text)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            sub = _subscription(message.get("stream"), message.get("tag") or message.get("list"))
            if sub is None:
                await ws.send_text(json.dumps({"error": "Unknown stream type", "status": 400}))
            elif message.get("type") == "subscribe" and len(subscriptions) < MAX_SUBSCRIPTIONS:
                subscriptions.add(sub)
            elif message.get("type") == "unsubscribe":
                subscriptions.discard(sub)

    async def forward() -> None:
        while True:
            event = await queue.get()
            for message in await render(inst, event, subscriptions):
                await ws.send_text(json.dumps(message))

    try:
        async with asyncio.TaskGroup() as group:
            reader = group.create_task(read_client())
            writer = group.create_task(forward())
            await asyncio.wait([reader, writer], return_when=asyncio.FIRST_COMPLETED)
            reader.cancel()
            writer.cancel()
    except* (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        inst.events.unsubscribe(queue)


def sse(stream: str):
    """GET /api/v1/streaming/<stream>: the same events as text/event-stream."""
    async def endpoint(request: Request) -> Response:
        inst = request.app.state.instance
        token = bearer(request) or request.query_params.get("access_token")
        if await _grant_from(inst, token) is None:
            return error(401, "Error: Invalid access token")
        sub = _subscription(stream, request.query_params.get("tag") or request.query_params.get("list"))
        if sub is None:
            return error(400, "Unknown stream type")
        if inst.events.listeners >= MAX_LISTENERS:
            return error(429, "Too many open streams", headers={"Retry-After": "60"})

        async def events():
            queue = inst.events.subscribe()
            try:
                yield ":)\n\n"
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), HEARTBEAT)
                    except TimeoutError:
                        yield ":thump\n\n"
                        continue
                    for message in await render(inst, event, {sub}):
                        yield f"event: {message['event']}\ndata: {message['payload']}\n\n"
            finally:
                inst.events.unsubscribe(queue)

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    return endpoint
