"""OAuth 2 endpoints apps call directly: registration, token, revoke, server metadata.
(The authorise page is HTML and lives with the web face.)"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.api.entities import application
from smallfedi.api.http import JSON, endpoint, error
from smallfedi.api.params import Params, read_params
from smallfedi.core import oauth
from smallfedi.core.errors import DomainError


def _vapid_key(request: Request) -> str:
    """The instance's Web Push key, as in v2 instance's configuration.vapid (Elk reads it here)."""
    return getattr(request.app.state.instance, "vapid_public_key", "") or ""


@endpoint(public=True)
async def create_app(request: Request, params: Params) -> Response:
    inst = request.app.state.instance
    raw_uris = params.raw("redirect_uris")
    if raw_uris is None:
        raw_uris = params.raw("redirect_uri", "")
    app, secret = await oauth.register_app(inst, params.str("client_name", "") or "", raw_uris,
                                           params.raw("scopes"), params.str("website"))
    return JSON({
        "id": str(app.id), **application(app.name, app.website, app.scopes, app.redirect_uris),
        "client_id": app.client_id, "client_secret": secret, "client_secret_expires_at": 0,
        "vapid_key": _vapid_key(request),
    })


@endpoint(owner=False)
async def verify_app(request: Request, params: Params) -> Response:
    grant = request.state.grant
    inst = request.app.state.instance
    row = await oauth.find_app_by_id(inst, grant.app_id)
    return JSON({"id": str(row.id), **application(row.name, row.website, grant.scopes, row.redirect_uris),
                 "vapid_key": _vapid_key(request)})


def _client_credentials(request: Request, params: Params) -> tuple[str | None, str | None]:
    """client_secret_basic (HTTP Basic) or client_secret_post (in the body)."""
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        cid, _, secret = decoded.partition(":")
        return unquote(cid), unquote(secret)
    return params.str("client_id"), params.str("client_secret")


def _oauth_error(exc: DomainError) -> Response:
    if isinstance(exc, oauth.OAuthError):
        return error(exc.status, exc.code, exc.message)
    return error(exc.status, "invalid_request", exc.message)


async def token(request: Request) -> Response:
    inst = request.app.state.instance
    try:
        params = await read_params(request)
        client_id, client_secret = _client_credentials(request, params)
        app = await oauth.authenticate_client(inst, client_id, client_secret)
        grant_type = params.str("grant_type", "") or ""
        if grant_type == "authorization_code":
            issued = await oauth.exchange_code(inst, app, params.str("code"), params.str("redirect_uri"),
                                               params.str("code_verifier"))
        elif grant_type == "client_credentials":
            issued = await oauth.app_token(inst, app, params.str("scope"))
        else:
            raise oauth.OAuthError("unsupported_grant_type",
                                   "Only authorization_code and client_credentials are supported.")
    except DomainError as exc:
        return _oauth_error(exc)
    return JSON({"access_token": issued.access_token, "token_type": "Bearer", "scope": " ".join(issued.scopes),
                 "created_at": issued.created_at}, headers={"Cache-Control": "no-store"})


async def revoke(request: Request) -> Response:
    inst = request.app.state.instance
    try:
        params = await read_params(request)
        client_id, client_secret = _client_credentials(request, params)
        app = await oauth.authenticate_client(inst, client_id, client_secret)
        await oauth.revoke(inst, app, params.str("token"))
    except DomainError as exc:
        return _oauth_error(exc)
    return JSON({})


async def server_metadata(request: Request) -> Response:
    """RFC 8414; Phanpy switches to PKCE and Mastodon.py finds the endpoints here."""
    base = request.app.state.instance.base_url
    return JSON({
        "issuer": f"{base}/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "scopes_supported": sorted(oauth.SCOPES - {"admin:read", "admin:write"}),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    })
