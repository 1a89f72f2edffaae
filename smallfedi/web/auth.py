"""Cookies of the HTML face: the owner's session and the CSRF token.

The CSRF token is an HMAC of a random per-browser cookie under the instance's secret: a page
on another site can neither read the cookie nor compute the token, and SameSite=Lax keeps
the session cookie off cross-site POSTs as a second wall.
"""

from __future__ import annotations

import hmac
import secrets as pysecrets
from functools import wraps
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from smallfedi.core import auth as core_auth
from smallfedi.core.errors import Forbidden
from smallfedi.core.secrets import hmac_token

SESSION_COOKIE = "sf_session"
CSRF_COOKIE = "sf_csrf"
CSRF_FIELD = "csrf_token"


def _secure(request: Request) -> bool:
    return request.app.state.instance.config.https


def _browser_id(request: Request) -> str:
    value = request.cookies.get(CSRF_COOKIE, "")
    if not value or len(value) > 100:
        # Remember the value for this request, so the page and the Set-Cookie agree.
        value = getattr(request.state, "new_csrf_cookie", None) or pysecrets.token_urlsafe(24)
        request.state.new_csrf_cookie = value
    return value


def csrf_token(request: Request) -> str:
    return hmac_token(request.app.state.instance.secret_key, "csrf:" + _browser_id(request))


def ensure_csrf_cookie(request: Request, response: Response) -> None:
    value = getattr(request.state, "new_csrf_cookie", None)
    if value:
        response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="lax", secure=_secure(request), path="/")


async def check_csrf(request: Request, form) -> None:
    sent = form.get(CSRF_FIELD, "")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request)):
        raise Forbidden("This form has expired or came from another site. Go back, reload the page and try again.")


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=int(core_auth.SESSION_LIFETIME.total_seconds()),
                        httponly=True, samesite="lax", secure=_secure(request), path="/")


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))


async def load_viewer(request: Request) -> bool:
    """Is the viewer the signed-in owner? Remembered on request.state for the templates."""
    inst = request.app.state.instance
    request.state.is_owner = await core_auth.session_is_valid(inst, request.cookies.get(SESSION_COOKIE))
    return request.state.is_owner


def owner_only(endpoint):
    """Owner pages: a visitor is sent to the sign-in page and comes back afterwards."""
    @wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        if not await load_viewer(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
        return await endpoint(request)
    return wrapper
