"""OAuth 2 as the apps speak it: registration, the authorise page, the token exchange (with
PKCE and both kinds of client authentication), scopes, revocation, the owner's app list and
the server metadata. Each test plays the app (and the owner in a browser) over HTTP."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import sqlite3
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from smallfedi.core import following
from smallfedi.core import oauth as core_oauth
from tests.api.conftest import (
    REDIRECT, SCOPES, code_from, consent, hidden_fields, register, strict, token_for,
)
from tests.conftest import PASSWORD, Network, csrf_of, sign_in

pytestmark = pytest.mark.anyio

APP_REDIRECTS = [
    "oauth2redirect://com.keylesspalace.tusky/",
    "icecubesapp://",
    "org.joinmastodon.android-auth://callback",
    "mastodon://joinmastodon.org/oauth",
    "com.tapbots.Ivory.99999:/request_token/0a1b2c",
    "cx-c3-toot://authorised/0",
    "fedilab://backtofedilab",
    "https://elk.zone/api/example.org/oauth/https%3A%2F%2Felk.zone",
    "urn:ietf:wg:oauth:2.0:oob",
]
OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_RE = re.compile(r'id="authorization_code"[^>]*value="([^"]+)"')


def is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").split(";")[0].strip() == "application/json"


def assert_error(response: httpx.Response, status: int, error: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    assert is_json(response), response.headers.get("content-type")
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    if error is not None:
        assert body["error"] == error, body
    return body


def assert_no_redirect(response: httpx.Response) -> None:
    assert not 300 <= response.status_code < 400, (response.status_code, response.headers.get("location"))
    assert "location" not in response.headers


def authorize_url(app: dict, redirect: str = REDIRECT, scope: str = SCOPES, **extra: str) -> str:
    return "/oauth/authorize?" + urlencode({"response_type": "code", "client_id": app["client_id"],
                                            "redirect_uri": redirect, "scope": scope, **extra})


async def exchange(client: httpx.AsyncClient, app: dict, code: str, redirect: str = REDIRECT,
                   **extra: str) -> httpx.Response:
    return await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": redirect, **extra})


def pkce_pair() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(hashlib.sha256(b"verifier seed").digest() * 2).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


# Registration

APP_FIELDS = {"client_name": "Tusky", "redirect_uris": "oauth2redirect://com.keylesspalace.tusky/",
              "scopes": "read write follow push", "website": "https://tusky.app"}


async def register_as(client: httpx.AsyncClient, encoding: str, fields: dict) -> httpx.Response:
    if encoding == "form":
        return await client.post("/api/v1/apps", data=fields)
    if encoding == "json":
        return await client.post("/api/v1/apps", json=fields)
    if encoding == "multipart":
        return await client.post("/api/v1/apps", files={k: (None, v) for k, v in fields.items()})
    assert encoding == "query"
    return await client.post("/api/v1/apps?" + urlencode(fields))


@pytest.mark.parametrize("encoding", ["form", "json", "multipart", "query"])
async def test_registration_in_every_body_encoding(client, encoding):
    r = await register_as(client, encoding, APP_FIELDS)
    assert r.status_code == 200, r.text
    assert is_json(r)
    body = r.json()
    assert re.fullmatch(r"[1-9][0-9]*", body["id"])
    assert body["name"] == "Tusky"
    assert body["website"] == "https://tusky.app"
    assert body["scopes"] == ["read", "write", "follow", "push"]
    assert body["redirect_uri"] == "oauth2redirect://com.keylesspalace.tusky/"
    assert body["redirect_uris"] == ["oauth2redirect://com.keylesspalace.tusky/"]
    assert isinstance(body["client_id"], str) and len(body["client_id"]) >= 32
    assert isinstance(body["client_secret"], str) and len(body["client_secret"]) >= 32
    assert body["client_id"] != body["client_secret"]
    assert body["client_secret_expires_at"] == 0
    assert isinstance(body["vapid_key"], str)
    v2 = (await client.get("/api/v2/instance")).json()
    assert body["vapid_key"] == v2["configuration"]["vapid"]["public_key"]


async def test_registration_defaults_and_unknown_parameters(client):
    r = await client.post("/api/v1/apps", data={"client_name": "Mastodon.py", "redirect_uris": OOB,
                                                 "oauth_info": "{}", "lang": "None"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scopes"] == ["read"]
    assert body["website"] is None
    assert body["redirect_uri"] == OOB


@pytest.mark.parametrize("encoding", ["json_array", "newline", "form_brackets", "json_scopes_array"])
async def test_several_redirect_uris(client, encoding):
    uris = ["icecubesapp://", "http://127.0.0.1:1/callback"]
    if encoding == "json_array":
        r = await client.post("/api/v1/apps", json={"client_name": "x", "redirect_uris": uris})
    elif encoding == "newline":
        r = await client.post("/api/v1/apps", data={"client_name": "x", "redirect_uris": "\n".join(uris)})
    elif encoding == "form_brackets":
        r = await client.post("/api/v1/apps", data={"client_name": "x", "redirect_uris[]": uris})
    else:
        r = await client.post("/api/v1/apps", json={"client_name": "x", "redirect_uris": "\n".join(uris),
                                                     "scopes": ["read", "write"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["redirect_uris"] == uris
    assert body["redirect_uri"] == "\n".join(uris)
    # Both work on the authorise page.
    for uri in uris:
        page = await client.get(authorize_url(body, uri, "read"))
        assert page.status_code == 200, (uri, page.text)


@pytest.mark.parametrize("redirect", APP_REDIRECTS)
async def test_every_real_app_redirect_uri_goes_the_whole_way(client, redirect):
    """Register, authorise and exchange the code with each app's own redirect URI."""
    app = await register(client, redirect=redirect)
    assert app["redirect_uri"] == redirect
    assert app["redirect_uris"] == [redirect]
    response = await consent(client, app, redirect=redirect, extra={"state": "s t&a=te"})
    if redirect == OOB:
        assert response.status_code == 200, response.text
        assert "location" not in response.headers
        m = CODE_RE.search(response.text)
        assert m, response.text
        code = m.group(1)
    else:
        # A plain HTTP redirect, even to a custom scheme: the phone hands it to the app.
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        assert location.startswith(redirect + "?"), location
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == ["s t&a=te"]
        code = query["code"][0]
    assert len(code) >= 22  # 128 bits or more
    token = await exchange(client, app, code, redirect)
    assert token.status_code == 200, token.text
    me = await client.get("/api/v1/accounts/verify_credentials",
                          headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "alice"


@pytest.mark.parametrize("missing", ["client_name", "redirect_uris"])
@pytest.mark.parametrize("encoding", ["form", "json"])
async def test_missing_name_or_redirect_is_422(client, missing, encoding):
    fields = {k: v for k, v in APP_FIELDS.items() if k != missing}
    body = assert_error(await register_as(client, encoding, fields), 422)
    assert body["error"].startswith("Validation failed"), body
    for blank in ("", "  ", []):
        if blank == [] and encoding == "form":
            continue
        assert_error(await register_as(client, encoding, {**APP_FIELDS, missing: blank}), 422)


async def test_unknown_scope_is_invalid_scope(client):
    body = assert_error(await client.post("/api/v1/apps", data={**APP_FIELDS, "scopes": "read frobnicate"}), 400,
                        "invalid_scope")
    assert "frobnicate" in body.get("error_description", "")
    # Fedilab's admin scopes are accepted.
    ok = await client.post("/api/v1/apps", data={**APP_FIELDS, "scopes": "read write follow push admin:read"})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("redirect", [
    "javascript:alert(1)", "JavaScript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)", "http://127.0.0.1:1/callback#fragment", "not-a-uri", "/relative/path",
    "http://127.0.0.1:1/call back", "x" * 3000 + ":/",
])
async def test_dangerous_or_malformed_redirects_are_refused(client, redirect):
    r = await client.post("/api/v1/apps", data={"client_name": "evil", "redirect_uris": redirect})
    assert_error(r, 422)
    r = await client.post("/api/v1/apps", json={"client_name": "evil", "redirect_uris": ["icecubesapp://", redirect]})
    assert_error(r, 422)


# The authorise page

async def test_unknown_client_or_unregistered_redirect_shows_an_error_and_never_redirects(client):
    app = await register(client)
    await sign_in(client)
    bad = [
        authorize_url({"client_id": "nope"}),
        authorize_url(app, "http://evil.example/callback"),
        authorize_url(app, REDIRECT + "/more"),
        authorize_url(app, REDIRECT.upper()),
        "/oauth/authorize?" + urlencode({"response_type": "code", "client_id": app["client_id"]}),
    ]
    for url in bad:
        page = await client.get(url)
        assert_no_redirect(page)
        assert 400 <= page.status_code < 500, (url, page.status_code)
        assert page.headers["content-type"].startswith("text/html")
        assert "authorization_code" not in page.text and 'value="approve"' not in page.text
    # Submitting the form with a forged redirect does not redirect either.
    good = await client.get(authorize_url(app))
    form = hidden_fields(good.text) | {"redirect_uri": "http://evil.example/callback", "decision": "approve"}
    response = await client.post("/oauth/authorize", data=form)
    assert_no_redirect(response)
    assert 400 <= response.status_code < 500
    for decision in ("deny", "approve"):
        form = hidden_fields(good.text) | {"client_id": "nope", "decision": decision}
        response = await client.post("/oauth/authorize", data=form)
        assert_no_redirect(response)
    assert await client.app.state.instance.db.fetchval("SELECT count(*) FROM oauth_codes") == 0


async def test_password_field_only_when_not_signed_in(client):
    app = await register(client)
    page = await client.get(authorize_url(app))
    assert page.status_code == 200
    assert 'type="password"' in page.text
    assert "test app" in page.text
    for scope in SCOPES.split():
        assert f"<code>{scope}</code>" in page.text
    await sign_in(client)
    page = await client.get(authorize_url(app))
    assert page.status_code == 200
    assert 'type="password"' not in page.text
    # Signed in on the web: approving needs no password.
    form = hidden_fields(page.text) | {"decision": "approve"}
    assert "code" in code_from(await client.post("/oauth/authorize", data=form))


async def test_approving_signs_the_browser_in(client):
    app = await register(client)
    assert "code" in code_from(await consent(client, app))
    page = await client.get(authorize_url(app))
    assert 'type="password"' not in page.text


async def test_wrong_password_gives_no_code(client):
    app = await register(client)
    response = await consent(client, app, password="wrong password!")
    assert response.status_code == 401, response.status_code
    assert_no_redirect(response)
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.count("Wrong password") == 1
    assert 'type="password"' in response.text  # try again on the same page
    assert "authorization_code" not in response.text
    assert await client.app.state.instance.db.fetchval("SELECT count(*) FROM oauth_codes") == 0
    # Without any password.
    page = await client.get(authorize_url(app))
    response = await client.post("/oauth/authorize", data=hidden_fields(page.text) | {"decision": "approve"})
    assert response.status_code == 401
    assert_no_redirect(response)
    # The page, the hidden fields and a fresh try still work.
    assert "code" in code_from(await consent(client, app))


@pytest.mark.parametrize("signed_in", [False, True])
async def test_deny_redirects_with_access_denied_and_state(client, signed_in):
    app = await register(client)
    if signed_in:
        await sign_in(client)
    response = await consent(client, app, decision="deny", extra={"state": "xyz 123"})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["xyz 123"]
    assert "code" not in query
    assert await client.app.state.instance.db.fetchval("SELECT count(*) FROM oauth_codes") == 0


async def test_deny_needs_no_password(client):
    """The Deny button skips the password field: refusing must work without typing it."""
    app = await register(client)
    page = await client.get(authorize_url(app, state="abc"))
    form = hidden_fields(page.text) | {"decision": "deny"}
    response = await client.post("/oauth/authorize", data=form)
    assert response.status_code == 303, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["abc"]
    # ...and signs nobody in.
    assert 'type="password"' in (await client.get(authorize_url(app))).text


async def test_approve_redirects_with_code_and_state(client):
    app = await register(client)
    response = await consent(client, app, extra={"state": "round trip"})
    q = code_from(response)
    assert q["state"] == "round trip"
    assert set(q) == {"code", "state"}
    assert response.headers["location"].startswith(REDIRECT + "?")
    # No state: no state parameter.
    q = code_from(await consent(client, app))
    assert set(q) == {"code"}


async def test_redirect_with_a_query_is_joined_with_ampersand(client):
    redirect = "http://127.0.0.1:1/callback?app=1&x=y"
    app = await register(client, redirect=redirect)
    response = await consent(client, app, redirect=redirect, extra={"state": "s"})
    location = response.headers["location"]
    assert location.startswith(redirect + "&"), location
    assert location.count("?") == 1
    q = parse_qs(urlsplit(location).query)
    assert q["app"] == ["1"] and q["x"] == ["y"] and q["state"] == ["s"] and q["code"]
    denied = await consent(client, app, redirect=redirect, decision="deny")
    assert denied.headers["location"].startswith(redirect + "&error=access_denied")


async def test_oob_shows_the_code_to_copy(client):
    app = await register(client, redirect=OOB)
    response = await consent(client, app, redirect=OOB)
    assert response.status_code == 200
    m = CODE_RE.search(response.text)
    assert m
    assert (await exchange(client, app, html.unescape(m.group(1)), OOB)).status_code == 200
    denied = await consent(client, app, redirect=OOB, decision="deny")
    assert "authorization_code" not in denied.text
    assert OOB not in denied.headers.get("location", "")


async def test_the_form_needs_its_csrf_token(client):
    app = await register(client)
    page = await client.get(authorize_url(app))
    form = hidden_fields(page.text) | {"decision": "approve", "password": PASSWORD}
    for tampered in ({k: v for k, v in form.items() if k != "csrf_token"}, form | {"csrf_token": "0" * 64}):
        response = await client.post("/oauth/authorize", data=tampered)
        assert response.status_code == 403, response.status_code
        assert_no_redirect(response)
    # A token from another browser (another CSRF cookie) is refused too.
    async with strict(httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))) as other:
        response = await other.post("/oauth/authorize", data=form)
        assert response.status_code == 403
        assert_no_redirect(response)
    assert await client.app.state.instance.db.fetchval("SELECT count(*) FROM oauth_codes") == 0


async def test_no_form_action_in_the_pages_security_policy(client):
    app = await register(client, redirect="icecubesapp://")
    for signed_in in (False, True):
        if signed_in:
            await sign_in(client)
        page = await client.get(authorize_url(app, "icecubesapp://"))
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "form-action" not in csp
        assert "frame-ancestors 'none'" in csp  # the consent page must not be framed (clickjacking)
    response = await consent(client, app, redirect="icecubesapp://")
    assert "form-action" not in response.headers.get("content-security-policy", "")
    assert response.headers["location"].startswith("icecubesapp://?code=")


@pytest.mark.parametrize("value, shown", [("true", True), ("True", True), ("1", True),
                                          ("false", False), ("False", False)])
async def test_force_login(client, value, shown):
    app = await register(client)
    await sign_in(client)
    page = await client.get(authorize_url(app, force_login=value, lang="None"))
    assert page.status_code == 200
    assert ('type="password"' in page.text) is shown
    if shown:
        form = hidden_fields(page.text) | {"decision": "approve", "password": PASSWORD}
        assert "code" in code_from(await client.post("/oauth/authorize", data=form))


async def test_wider_scope_than_registered_is_refused(client):
    app = await register(client, scopes="read")
    await sign_in(client)
    for scope in ("read write", "write", "follow", "push", "admin:read", "frobnicate"):
        page = await client.get(authorize_url(app, scope=scope))
        assert 400 <= page.status_code < 500, scope
        assert_no_redirect(page)
        assert 'value="approve"' not in page.text
    # Tampering with the hidden field does not help.
    page = await client.get(authorize_url(app, scope="read"))
    form = hidden_fields(page.text) | {"decision": "approve", "scope": "read write"}
    response = await client.post("/oauth/authorize", data=form)
    assert_no_redirect(response)
    # A granular subset of what was registered is fine, and the token says so.
    q = code_from(await consent(client, app, scopes="read:statuses"))
    token = (await exchange(client, app, q["code"])).json()
    assert token["scope"] == "read:statuses"


async def test_no_scope_means_read(client):
    app = await register(client)
    page = await client.get("/oauth/authorize?" + urlencode(
        {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT}))
    form = hidden_fields(page.text) | {"decision": "approve", "password": PASSWORD}
    q = code_from(await client.post("/oauth/authorize", data=form))
    assert (await exchange(client, app, q["code"])).json()["scope"] == "read"


async def test_only_the_code_flow_and_s256(client):
    app = await register(client)
    for extra in ({"response_type": "token"}, {"code_challenge": "x" * 43, "code_challenge_method": "plain"}):
        page = await client.get(authorize_url(app, **extra))
        assert page.status_code == 400
        assert_no_redirect(page)


async def test_page_values_are_escaped(client):
    app = await register(client, name='<b>"Evil"</b>')
    state = '"><script>alert(1)</script>'
    page = await client.get(authorize_url(app, state=state))
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
    assert "<b>" not in page.text
    assert hidden_fields(page.text)["state"] == state
    q = code_from(await consent(client, app, extra={"state": state}))
    assert q["state"] == state


async def test_trailing_slash_on_the_authorise_page(client):
    app = await register(client)
    page = await client.get(authorize_url(app).replace("/oauth/authorize?", "/oauth/authorize/?"))
    assert page.status_code == 200
    assert 'name="client_id"' in page.text


# The token endpoint

TOKEN_KEYS = {"access_token", "token_type", "scope", "created_at"}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.mark.parametrize("how", ["form", "json", "multipart", "query", "basic", "basic_json"])
async def test_code_for_token_every_way(client, how):
    app = await register(client)
    code = code_from(await consent(client, app))["code"]
    fields = {"grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
              "client_secret": app["client_secret"], "redirect_uri": REDIRECT, "scope": SCOPES}
    if how == "form":
        r = await client.post("/oauth/token", data=fields)
    elif how == "json":
        r = await client.post("/oauth/token", json=fields)
    elif how == "multipart":
        r = await client.post("/oauth/token", files={k: (None, v) for k, v in fields.items()})
    elif how == "query":
        r = await client.post("/oauth/token?" + urlencode(fields))
    else:
        bare = {k: v for k, v in fields.items() if k not in ("client_id", "client_secret")}
        headers = {"Authorization": basic(app["client_id"], app["client_secret"])}
        if how == "basic":
            r = await client.post("/oauth/token", data=bare, headers=headers)
        else:
            r = await client.post("/oauth/token", json=bare, headers=headers)
    assert r.status_code == 200, r.text
    assert is_json(r)
    body = r.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "Bearer"
    assert body["scope"] == SCOPES
    assert type(body["created_at"]) is int and abs(body["created_at"] - time.time()) < 60
    assert len(body["access_token"]) >= 32
    assert "no-store" in r.headers.get("cache-control", "")
    me = await client.get("/api/v1/accounts/verify_credentials",
                          headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200


async def test_a_code_works_once(client):
    app = await register(client)
    code = code_from(await consent(client, app))["code"]
    assert (await exchange(client, app, code)).status_code == 200
    assert_error(await exchange(client, app, code), 400, "invalid_grant")
    assert_error(await exchange(client, app, "made-up-code"), 400, "invalid_grant")
    body = assert_error(await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "client_id": app["client_id"], "client_secret": app["client_secret"],
        "redirect_uri": REDIRECT}), 400)
    assert body["error"] in ("invalid_request", "invalid_grant")


async def test_wrong_redirect_uri_is_invalid_grant(client):
    app = await register(client, redirect=f"{REDIRECT}\nicecubesapp://")
    code = code_from(await consent(client, app))["code"]
    assert_error(await exchange(client, app, code, "icecubesapp://"), 400, "invalid_grant")
    assert_error(await exchange(client, app, code, "http://evil.example/"), 400, "invalid_grant")


async def test_client_authentication(client):
    app = await register(client)
    other = await register(client, name="other app")
    code = code_from(await consent(client, app))["code"]
    assert_error(await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": "wrong", "redirect_uri": REDIRECT}), 401, "invalid_client")
    assert_error(await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "redirect_uri": REDIRECT}), 401, "invalid_client")
    assert_error(await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": "nobody",
        "client_secret": app["client_secret"], "redirect_uri": REDIRECT}), 401, "invalid_client")
    assert_error(await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers={"Authorization": basic(app["client_id"], "wrong")}), 401, "invalid_client")
    assert_error(await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers={"Authorization": "Basic !!!not base64"}), 401, "invalid_client")
    # Another app's secret is no good, nor is another app redeeming this app's code.
    assert_error(await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": other["client_secret"], "redirect_uri": REDIRECT}), 401, "invalid_client")
    assert_error(await exchange(client, other, code), 400, "invalid_grant")
    # The rightful app still can.
    assert (await exchange(client, app, code)).status_code == 200


async def test_an_expired_code(client, monkeypatch):
    app = await register(client)
    code = code_from(await consent(client, app))["code"]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + core_oauth.CODE_LIFETIME + 5)
    assert_error(await exchange(client, app, code), 400, "invalid_grant")
    monkeypatch.undo()
    # Just inside its lifetime it works.
    code = code_from(await consent(client, app))["code"]
    monkeypatch.setattr(time, "time", lambda: real() + core_oauth.CODE_LIFETIME - 30)
    assert (await exchange(client, app, code)).status_code == 200


async def test_pkce(client):
    app = await register(client)
    verifier, challenge = pkce_pair()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}

    async def code() -> str:
        return code_from(await consent(client, app, extra=pkce))["code"]

    ok = await exchange(client, app, await code(), code_verifier=verifier)
    assert ok.status_code == 200, ok.text
    assert_error(await exchange(client, app, await code(), code_verifier=verifier[:-1] + "A"), 400, "invalid_grant")
    assert_error(await exchange(client, app, await code(), code_verifier="short"), 400, "invalid_grant")
    assert_error(await exchange(client, app, await code(), code_verifier=challenge), 400, "invalid_grant")
    assert_error(await exchange(client, app, await code()), 400, "invalid_grant")
    # Without a challenge, a verifier is not needed (and an extra one is ignored).
    plain = code_from(await consent(client, app))["code"]
    assert (await exchange(client, app, plain, code_verifier=verifier)).status_code == 200


async def test_client_credentials(client):
    app = await register(client)
    r = await client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                 "client_secret": app["client_secret"], "scope": "read"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == TOKEN_KEYS and body["scope"] == "read" and type(body["created_at"]) is int
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    verify = await client.get("/api/v1/apps/verify_credentials", headers=headers)
    assert verify.status_code == 200, verify.text
    assert verify.json()["name"] == "test app"
    assert "client_secret" not in verify.json()
    assert_error(await client.get("/api/v1/accounts/verify_credentials", headers=headers), 422)
    assert_error(await client.get("/api/v1/timelines/home", headers=headers), 422)
    # Public data stays public.
    assert (await client.get("/api/v1/instance", headers=headers)).status_code == 200
    # No scope means read; the secret is checked; the scope stays within the registration.
    r = await client.post("/oauth/token", json={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                 "client_secret": app["client_secret"]})
    assert r.status_code == 200 and r.json()["scope"] == "read"
    assert_error(await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": "nope"}),
        401, "invalid_client")
    narrow = await register(client, scopes="read", name="narrow")
    assert_error(await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": narrow["client_id"],
        "client_secret": narrow["client_secret"], "scope": "read write"}), 400, "invalid_scope")
    assert_error(await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "scope": "frobnicate"}), 400, "invalid_scope")


async def test_app_verify_credentials_with_an_owner_token(client):
    token = await token_for(client)
    r = await client.get("/api/v1/apps/verify_credentials", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "test app" and body["scopes"] == SCOPES.split() and "vapid_key" in body
    assert_error(await client.get("/api/v1/apps/verify_credentials"), 401)
    assert_error(await client.get("/api/v1/apps/verify_credentials", headers={"Authorization": "Bearer nope"}), 401)


@pytest.mark.parametrize("grant_type", ["password", "refresh_token", "implicit", ""])
async def test_unsupported_grant_types(client, grant_type):
    app = await register(client)
    fields = {"client_id": app["client_id"], "client_secret": app["client_secret"], "username": "alice",
              "password": PASSWORD, "refresh_token": "x"}
    if grant_type:
        fields["grant_type"] = grant_type
    body = assert_error(await client.post("/oauth/token", data=fields), 400)
    assert body["error"] in ("unsupported_grant_type", "invalid_request")
    if grant_type:
        assert body["error"] == "unsupported_grant_type"


async def test_secrets_codes_and_tokens_are_stored_hashed(client):
    app = await register(client)
    code = code_from(await consent(client, app))["code"]
    pending = code_from(await consent(client, app))["code"]  # still unused, so still stored
    token = (await exchange(client, app, code)).json()["access_token"]
    cc = (await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"],
        "client_secret": app["client_secret"]})).json()["access_token"]
    db_path = client.app.state.instance.config.db_path
    raw = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.name.startswith(db_path.name))
    for secret in (app["client_secret"], pending, token, cc):
        assert secret.encode() not in raw
    with sqlite3.connect(db_path) as db:
        stored = [str(v) for table in ("oauth_apps", "oauth_codes", "oauth_tokens")
                  for row in db.execute(f"SELECT * FROM {table}") for v in row]
        hashes = {row[0] for row in db.execute("SELECT token_hash FROM oauth_tokens")}
        codes = {row[0] for row in db.execute("SELECT code_hash FROM oauth_codes")}
    for secret in (app["client_secret"], pending, token, cc):
        assert not any(secret in v for v in stored)
    assert hashlib.sha256(token.encode()).hexdigest() in hashes
    assert hashlib.sha256(pending.encode()).hexdigest() in codes


async def test_scopes_are_enforced(client):
    read = {"Authorization": f"Bearer {await token_for(client, 'read')}"}
    assert (await client.get("/api/v1/timelines/home", headers=read)).status_code == 200
    assert_error(await client.post("/api/v1/statuses", data={"status": "hi"}, headers=read), 403)
    assert_error(await client.patch("/api/v1/accounts/update_credentials", data={"note": "x"}, headers=read), 403)

    write = {"Authorization": f"Bearer {await token_for(client, 'write')}"}
    posted = await client.post("/api/v1/statuses", data={"status": "hi"}, headers=write)
    assert posted.status_code == 200, posted.text
    assert_error(await client.get("/api/v1/timelines/home", headers=write), 403)

    granular = {"Authorization": f"Bearer {await token_for(client, 'read:statuses write:favourites')}"}
    assert (await client.get("/api/v1/timelines/home", headers=granular)).status_code == 200
    assert_error(await client.get("/api/v1/notifications", headers=granular), 403)
    status_id = posted.json()["id"]
    assert (await client.post(f"/api/v1/statuses/{status_id}/favourite", headers=granular)).status_code == 200
    assert_error(await client.post(f"/api/v1/statuses/{status_id}/bookmark", headers=granular), 403)
    assert_error(await client.post("/api/v1/statuses", data={"status": "hi"}, headers=granular), 403)

    profile = {"Authorization": f"Bearer {await token_for(client, 'profile')}"}
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=profile)).status_code == 200
    assert_error(await client.get("/api/v1/timelines/home", headers=profile), 403)


async def test_follow_scope_covers_follow_block_and_mute(tmp_path):
    async with Network(tmp_path) as net:
        alice = strict(await net.add("alice", 9311, "alice"))
        strict(await net.add("bob", 9312, "bob"))
        bob = await following.follow(alice.app.state.instance, "@bob@127.0.0.1:9312")
        await net.settle()
        read = {"Authorization": f"Bearer {await token_for(alice, 'read')}"}
        follow = {"Authorization": f"Bearer {await token_for(alice, 'read follow')}"}
        for action in ("block", "unblock", "mute", "unmute", "unfollow", "follow"):
            url = f"/api/v1/accounts/{bob.id}/{action}"
            assert_error(await alice.post(url, headers=read), 403)
            r = await alice.post(url, headers=follow)
            assert r.status_code == 200, (action, r.text)
            assert r.json()["id"] == str(bob.id)
        assert (await alice.get(f"/api/v1/accounts/relationships?id[]={bob.id}", headers=follow)).status_code == 200
        # "follow" is not "write": posting is still refused.
        assert_error(await alice.post("/api/v1/statuses", data={"status": "x"}, headers=follow), 403)
        await net.settle()


# Revocation and the owner's list of apps

async def test_revoke(client):
    app = await register(client)
    code = code_from(await consent(client, app))["code"]
    token = (await exchange(client, app, code)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=headers)).status_code == 200

    # Another app may not revoke it.
    other = await register(client, name="other")
    body = assert_error(await client.post("/oauth/revoke", data={
        "client_id": other["client_id"], "client_secret": other["client_secret"], "token": token}), 403)
    assert body["error"] == "unauthorized_client"
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=headers)).status_code == 200
    # Nor may anyone without the secret.
    assert_error(await client.post("/oauth/revoke", data={"client_id": app["client_id"], "token": token}),
                 401, "invalid_client")

    fields = {"client_id": app["client_id"], "client_secret": app["client_secret"], "token": token}
    for _ in range(2):  # idempotent
        r = await client.post("/oauth/revoke", json=fields)
        assert r.status_code == 200 and r.json() == {} and is_json(r)
    assert_error(await client.get("/api/v1/accounts/verify_credentials", headers=headers), 401)
    r = await client.post("/oauth/revoke", data={**fields, "token": "never-issued"})
    assert r.status_code == 200 and r.json() == {}
    # HTTP Basic works here too.
    token2 = (await exchange(client, app, code_from(await consent(client, app))["code"])).json()["access_token"]
    r = await client.post("/oauth/revoke", data={"token": token2},
                          headers={"Authorization": basic(app["client_id"], app["client_secret"])})
    assert r.status_code == 200
    assert_error(await client.get("/api/v1/accounts/verify_credentials",
                                  headers={"Authorization": f"Bearer {token2}"}), 401)


async def test_settings_apps_lists_and_signs_out(client):
    await sign_in(client)
    tusky = await register(client, name="Tusky")
    ivory = await register(client, name="Ivory")
    tusky_tokens = [(await exchange(client, tusky, code_from(await consent(client, tusky))["code"])).json()
                    ["access_token"] for _ in range(2)]
    ivory_token = (await exchange(client, ivory, code_from(await consent(client, ivory))["code"])).json()[
        "access_token"]
    unused = await register(client, name="Never Authorised")
    assert unused
    for token in tusky_tokens:
        assert (await client.get("/api/v1/timelines/home",
                                 headers={"Authorization": f"Bearer {token}"})).status_code == 200

    page = await client.get("/settings/apps")
    assert page.status_code == 200
    assert "Tusky" in page.text and "Ivory" in page.text
    assert "Never Authorised" not in page.text
    assert "last used" in page.text  # Tusky's tokens were just used
    action = f"/settings/apps/{tusky['id']}/revoke"
    assert f'action="{action}"' in page.text

    # The button needs the CSRF token.
    assert (await client.post(action, data={})).status_code == 403
    response = await client.post(action, data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    for token in tusky_tokens:
        assert_error(await client.get("/api/v1/timelines/home", headers={"Authorization": f"Bearer {token}"}), 401)
    assert (await client.get("/api/v1/timelines/home",
                             headers={"Authorization": f"Bearer {ivory_token}"})).status_code == 200
    page = await client.get("/settings/apps?done=revoked")
    assert "Tusky" not in page.text and "Ivory" in page.text
    # The app itself stays registered: it can sign in again.
    assert "code" in code_from(await consent(client, tusky))


async def test_settings_apps_is_for_the_owner_only(client):
    token = await token_for(client)
    app_id = (await client.get("/api/v1/apps/verify_credentials",
                               headers={"Authorization": f"Bearer {token}"})).json()["id"]
    client.cookies.clear()
    page = await client.get("/settings/apps")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    # A visitor's POST (even with a CSRF token of its own) signs nothing out.
    login = await client.get("/login")
    await client.post(f"/settings/apps/{app_id}/revoke", data={"csrf_token": csrf_of(login.text)})
    assert (await client.get("/api/v1/accounts/verify_credentials",
                             headers={"Authorization": f"Bearer {token}"})).status_code == 200


# Server metadata

async def test_authorization_server_metadata(client):
    r = await client.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200 and is_json(r)
    meta = r.json()
    base = "http://127.0.0.1:8080"
    assert meta["issuer"] == f"{base}/"
    assert meta["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert meta["token_endpoint"] == f"{base}/oauth/token"
    assert meta["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert meta["app_registration_endpoint"] == f"{base}/api/v1/apps"
    assert meta["service_documentation"].startswith("https://")
    assert meta["response_types_supported"] == ["code"]
    assert "query" in meta["response_modes_supported"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["grant_types_supported"]) == {"authorization_code", "client_credentials"}
    assert set(meta["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "client_secret_post"}
    scopes = set(meta["scopes_supported"])
    assert {"read", "write", "follow", "push", "profile", "read:statuses", "write:statuses",
            "write:media", "read:notifications"} <= scopes
    assert scopes <= core_oauth.SCOPES
    # Every advertised scope is accepted at registration.
    assert (await client.post("/api/v1/apps", data={"client_name": "all", "redirect_uris": OOB,
                                                     "scopes": " ".join(sorted(scopes))})).status_code == 200
    # No endpoint has a query or a fragment (Mastodon.py refuses those), and each one answers.
    for key in ("authorization_endpoint", "token_endpoint", "revocation_endpoint", "app_registration_endpoint"):
        assert "?" not in meta[key] and "#" not in meta[key]
    assert (await client.post(urlsplit(meta["token_endpoint"]).path, data={})).status_code == 401
    assert (await client.post(urlsplit(meta["revocation_endpoint"]).path, data={})).status_code == 401
    assert (await client.post(urlsplit(meta["app_registration_endpoint"]).path, data={})).status_code == 422
    app = await register(client)
    query = urlsplit(authorize_url(app)).query
    page = await client.get(f"{urlsplit(meta['authorization_endpoint']).path}?{query}")
    assert page.status_code == 200
