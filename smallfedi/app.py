"""Builds one instance's ASGI application: the faces over one core, and what wraps them all.

Start-up builds only what the first request needs: the route tables name their endpoints
(smallfedi.lazy), and the federation runtime makes its HTTP client, signing key and workers
when they are first used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smallfedi.config import Config
from smallfedi.core.instance import Instance

log = logging.getLogger("smallfedi")

SECURITY_HEADERS = [
    # No form-action limit: the OAuth consent form redirects to apps' custom schemes.
    (b"content-security-policy",
     b"default-src 'none'; img-src 'self' https: data:; media-src 'self' https:; style-src 'self'; "
     b"frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class BodyTooLarge(Exception):
    pass


# Paths that take file uploads: their bodies may reach the media limits, every other path's
# stays at limits.max_body_bytes.
UPLOAD_PATHS = frozenset({"/api/v1/media", "/api/v2/media", "/api/v1/accounts/update_credentials",
                          "/compose", "/settings/profile"})


class LimitsAndHeaders:
    """Caps request bodies (by Content-Length and as they stream) and adds security headers."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max(max_upload or max_body, max_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.max_upload if scope["path"].rstrip("/") in UPLOAD_PATHS else self.max_body
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            await _too_large(scope, receive, send)
            return
        seen = 0
        started = False
        over = False

        async def limited_receive() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    over = True
                    raise BodyTooLarge()
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if over:
                # A body parser caught BodyTooLarge and answered something else (a 400 about an
                # unreadable form): the answer is 413 all the same.
                if not started:
                    started = True
                    await _too_large(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if not started:
                await _too_large(scope, receive, send)


# Paths whose every answer is JSON, errors included (masto.js refuses anything else).
JSON_PREFIXES = ("/api/", "/oauth/token", "/oauth/revoke", "/.well-known/oauth-authorization-server")


def is_json_path(path: str) -> bool:
    return path.startswith(JSON_PREFIXES)


def json_error(status: int, message: str, headers: dict | None = None) -> Response:
    from smallfedi.api.http import error

    return error(status, message, headers=headers)


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    message = "The request body is too large."
    if is_json_path(scope["path"]):
        response = json_error(413, message, {"connection": "close"})
    else:
        response = PlainTextResponse(message, status_code=413, headers={"connection": "close"})
    await response(scope, receive, send)


AP_TYPES = ("application/activity+json", "application/ld+json")


def wants_activitypub(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return any(t in accept for t in AP_TYPES)


def negotiate(ap_endpoint, html_endpoint):
    """One URL, two faces: ActivityPub clients get JSON-LD, browsers get the page."""
    async def endpoint(request: Request) -> Response:
        if wants_activitypub(request):
            response = await ap_endpoint(request)
        else:
            response = await html_endpoint(request)
        response.headers["Vary"] = "Accept"
        return response
    return endpoint


def build_routes() -> list:
    from smallfedi.api import routes as api_routes
    from smallfedi.federation import discovery
    from smallfedi.federation import table as ap_routes
    from smallfedi.web import routes as web_routes

    html = web_routes.routes()
    ap_for_path = ap_routes.negotiated()
    for route in html:
        if isinstance(route, Route) and route.path in ap_for_path and "GET" in (route.methods or ()):
            route.endpoint = negotiate(ap_for_path[route.path], route.endpoint)
            route.app = request_response(route.endpoint)
    # The client API's table starts with the streaming and Web Push routes.
    return [*discovery.routes(), *ap_routes.routes(), *api_routes.routes(), *html]


def _allowed_methods(request: Request) -> str:
    """Every method some route answers at this path (one path may have a route per method)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(request.url.path):
            methods |= route.methods
    return ", ".join(sorted(methods))


def create_app(config: Config, transport=None, deliver: bool = True) -> Starlette:
    """One instance: its database, object graph and the faces over one core.

    `transport` replaces the network for outgoing requests (tests route several instances
    through one); `deliver=False` leaves the queue unsent (tests of what is queued).
    """
    from smallfedi.api.routes import ApiEdge
    from smallfedi.core import housekeeping
    from smallfedi.federation.runtime import FederationRuntime

    instance = Instance(config)
    federation = FederationRuntime(instance, transport)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await instance.open()
        app.state.federation = await federation.start(deliver=deliver)
        tidying = asyncio.create_task(housekeeping.run(instance))
        log.info("serving %s as @%s@%s", config.url, instance.owner.username, config.domain)
        try:
            yield
        finally:
            tidying.cancel()
            await federation.stop()
            await instance.close()

    async def http_error(request: Request, exc: HTTPException) -> Response:
        if is_json_path(request.url.path):
            headers = dict(exc.headers or {})
            if exc.status_code == 405:
                headers["Allow"] = _allowed_methods(request)
            return json_error(exc.status_code, "Record not found" if exc.status_code == 404 else str(exc.detail),
                              headers)
        from smallfedi.web.render import error_page

        return error_page(request, exc.status_code, exc.detail if exc.status_code != 404 else
                          "There is nothing at this address.")

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "Something went wrong on our side; it has been logged."
        if is_json_path(request.url.path):
            return json_error(500, message)
        return PlainTextResponse(message, status_code=500)

    app = Starlette(
        routes=build_routes(),
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, 500: server_error},
    )
    app.state.instance = instance
    app.add_middleware(ApiEdge)
    from smallfedi.public_cache import DocumentCache, PublicCache

    # Inside LimitsAndHeaders, so answers from the cache get the security headers too.
    app.state.public_cache = DocumentCache(instance)
    app.add_middleware(PublicCache, cache=app.state.public_cache)
    app.add_middleware(LimitsAndHeaders, max_body=config.limits.max_body_bytes, max_upload=config.max_upload_bytes)
    return app
