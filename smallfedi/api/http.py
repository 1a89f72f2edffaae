"""Responses, errors, authentication and paging shared by every API endpoint."""

from __future__ import annotations

import json
import logging
from functools import wraps
from urllib.parse import quote, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from smallfedi.api.params import Params, read_params
from smallfedi.core import oauth
from smallfedi.core.errors import DomainError, TooManyRequests
from smallfedi.core.models import Page

log = logging.getLogger("smallfedi.api")


class JSON(Response):
    """application/json on every answer (masto.js refuses anything else), compact, UTF-8."""
    media_type = "application/json"

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error(status: int, message: str, description: str | None = None, headers: dict | None = None) -> JSON:
    body = {"error": message}
    if description:
        body["error_description"] = description
    return JSON(body, status_code=status, headers=headers)


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


async def current_grant(request: Request) -> oauth.Grant | None:
    if not hasattr(request.state, "grant"):
        request.state.grant = await oauth.grant_for(request.app.state.instance, bearer(request))
    return request.state.grant


def endpoint(scope: str | None = None, *, owner: bool = True, public: bool = False, files: int = 0):
    """An API endpoint: `fn(request, params)`.

    `scope`: the scope a token needs (e.g. "read:statuses"). `public=True`: anyone may call,
    the owner's token (if sent and valid) adds the owner's view. `owner=False`: an app-only
    token (client_credentials) is enough. `files`: how many uploaded files the form may carry;
    the body is read only after the token is checked, so nobody else gets one spooled to disk.
    """
    def decorate(fn):
        @wraps(fn)
        async def wrapper(request: Request) -> Response:
            try:
                grant = await current_grant(request)
                if grant is None and bearer(request) is not None:
                    return error(401, "The access token is invalid")
                if not public:
                    if grant is None:
                        return error(401, "The access token is invalid")
                    if owner and not grant.for_owner:
                        return error(422, "This method requires an authenticated user")
                    if scope and not grant.allows(scope):
                        return error(403, "This action is outside the authorized scopes")
                request.state.is_owner = bool(grant and grant.for_owner)
                params = await read_params(request, max_files=files)
                return await fn(request, params)
            except oauth.OAuthError as exc:
                return error(exc.status, exc.code, exc.message)
            except TooManyRequests as exc:
                return error(429, exc.message, headers={"Retry-After": str(exc.retry_after)})
            except DomainError as exc:
                return error(exc.status, exc.message)
            except HTTPException as exc:
                return error(exc.status_code, exc.detail or "Bad request")
            finally:
                await request.close()  # an uploaded file may be spooled to disk
        return wrapper
    return decorate


def link_header(request: Request, page: Page, limit: int | None = None) -> dict:
    """Link: next (older, max_id) and prev (newer, min_id), keeping the other query parameters
    (limit above all: clients follow the URL as given). No header on an empty page."""
    if not page.items:
        return {}
    # The path percent-encoded: a header is Latin-1, and a hashtag may be any script.
    base = f"{request.app.state.instance.base_url}{quote(request.url.path)}"
    kept = [(k, v) for k, v in request.query_params.multi_items()
            if k not in ("max_id", "min_id", "since_id")]
    links = []
    if page.next_max_id is not None:
        links.append(f'<{base}?{urlencode(kept + [("max_id", str(page.next_max_id))])}>; rel="next"')
    if page.prev_min_id is not None:
        links.append(f'<{base}?{urlencode(kept + [("min_id", str(page.prev_min_id))])}>; rel="prev"')
    return {"Link": ", ".join(links)} if links else {}


def limit_of(params: Params, default: int = 20, maximum: int = 40) -> int:
    value = params.int("limit", default) or default
    return max(1, min(maximum, value))
