"""The OAuth authorise page: an app sends the owner here to sign in and say yes or no.

Same password and session as the rest of the web face. The answer is a plain 303 to the
app's redirect URI (custom schemes included: the phone's browser hands it to the app); the
out-of-band URI shows the code to copy instead. Nothing is redirected before the client and
its redirect URI are known to match.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from smallfedi.core import auth as core_auth
from smallfedi.core import oauth
from smallfedi.core.errors import DomainError
from smallfedi.web.auth import load_viewer, owner_only, set_session_cookie
from smallfedi.web.owner import read_form, see_other, text_field
from smallfedi.web.render import error_page, render

FIELDS = ("client_id", "redirect_uri", "scope", "state", "response_type", "code_challenge",
          "code_challenge_method")


def _redirect(redirect_uri: str, **params: str | None) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    joiner = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{joiner}{query}", status_code=303)


async def _checked(request: Request, values: dict):
    return await oauth.check_authorization_request(
        request.app.state.instance, values.get("client_id"), values.get("redirect_uri"), values.get("scope"),
        values.get("response_type"), values.get("code_challenge_method") or None)


async def authorize_page(request: Request) -> Response:
    values = {k: request.query_params.get(k) for k in FIELDS}
    try:
        app, scopes = await _checked(request, values)
    except DomainError as exc:
        return error_page(request, 400, f"This app's sign-in request can't be used: {exc.message}")
    signed_in = await load_viewer(request)
    if request.query_params.get("force_login", "").lower() in ("true", "1"):
        signed_in = False
    values["scope"] = " ".join(scopes)
    return render(request, "authorize.html", {"app": app, "scopes": scopes, "values": values,
                                              "signed_in": signed_in})


async def authorize(request: Request) -> Response:
    form = await read_form(request)
    inst = request.app.state.instance
    values = {k: text_field(form, k) or None for k in FIELDS}
    try:
        app, scopes = await _checked(request, values)
    except DomainError as exc:
        return error_page(request, 400, f"This app's sign-in request can't be used: {exc.message}")
    redirect_uri = values["redirect_uri"] or ""
    if text_field(form, "decision") != "approve":
        # Saying no needs no password (the Deny button skips that field): it only tells the
        # app so, at an address it registered, and signs nobody in.
        if redirect_uri == oauth.OOB:
            return see_other("/")
        return _redirect(redirect_uri, error="access_denied",
                         error_description="The owner refused to let this app in.", state=values["state"])
    new_session = None
    if not await load_viewer(request) or text_field(form, "password"):
        client = request.client.host if request.client else "unknown"
        try:
            new_session = await core_auth.login(inst, text_field(form, "password"), client,
                                                 request.headers.get("user-agent", ""))
        except DomainError as exc:
            values["scope"] = " ".join(scopes)
            headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
            return render(request, "authorize.html", {"app": app, "scopes": scopes, "values": values,
                                                      "signed_in": False, "error": exc.message},
                          status_code=exc.status, headers=headers)
    code = await oauth.issue_code(inst, app, redirect_uri, scopes, values["code_challenge"])
    if redirect_uri == oauth.OOB:
        response = render(request, "authorize_code.html", {"app": app, "code": code})
    else:
        response = _redirect(redirect_uri, code=code, state=values["state"])
    if new_session:
        set_session_cookie(request, response, new_session)
    return response


@owner_only
async def apps_page(request: Request) -> Response:
    apps = await oauth.authorised_apps(request.app.state.instance)
    return render(request, "settings_apps.html", {"apps": apps, "done": request.query_params.get("done")})


@owner_only
async def revoke_app(request: Request) -> Response:
    await read_form(request)
    raw = request.path_params["app_id"]
    if raw.isdigit():
        await oauth.revoke_app(request.app.state.instance, int(raw))
    return see_other("/settings/apps?done=revoked")
