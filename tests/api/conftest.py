"""Fixtures for the client API: an app registered, the owner's consent given, a token.

Every answer to an API path that the test clients here receive is checked against the strict
apps' schema (tests/api/schema_check.py); what a strict app would refuse fails the test when
its fixtures are torn down. Clients a test makes itself are checked too once passed to `strict`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.api.schema_check import Strict
from tests.conftest import PASSWORD, running_instance

REDIRECT = "http://127.0.0.1:1/callback"
SCOPES = "read write follow push"
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def hidden_fields(html: str) -> dict:
    import html as htmllib

    return {name: htmllib.unescape(value) for name, value in HIDDEN_RE.findall(html)}


async def register(client: httpx.AsyncClient, redirect: str = REDIRECT, scopes: str = SCOPES,
                   name: str = "test app") -> dict:
    r = await client.post("/api/v1/apps", data={"client_name": name, "redirect_uris": redirect, "scopes": scopes})
    assert r.status_code == 200, r.text
    return r.json()


async def consent(client: httpx.AsyncClient, app: dict, redirect: str = REDIRECT, scopes: str = SCOPES,
                  decision: str = "approve", extra: dict | None = None, password: str = PASSWORD) -> httpx.Response:
    """Play the owner in the browser: open the authorise page, type the password, press a button."""
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": redirect, "scope": scopes,
             **(extra or {})}
    page = await client.get("/oauth/authorize?" + urlencode(query))
    assert page.status_code == 200, page.text
    form = hidden_fields(page.text)
    if 'name="password"' in page.text:
        form["password"] = password
    form["decision"] = decision
    return await client.post("/oauth/authorize", data=form)


def code_from(response: httpx.Response) -> dict:
    assert response.status_code == 303, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


async def token_for(client: httpx.AsyncClient, scopes: str = SCOPES) -> str:
    app = await register(client, scopes=scopes)
    code = code_from(await consent(client, app, scopes=scopes))["code"]
    r = await client.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": REDIRECT})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


_current: Strict | None = None  # the running test's checker


def strict(client):
    """Check every API answer `client` (an httpx client, sync or async) receives against the
    strict apps' schema, for the rest of the running test; returns the client."""
    assert _current is not None, "strict() is for clients made during a test"
    return _current.install(client)


@pytest.fixture(autouse=True)
def strict_answers():
    """One checker per test; at teardown, whatever it found fails the test."""
    global _current
    _current = checker = Strict()
    try:
        yield checker
    finally:
        _current = None
    checker.report()


@pytest.fixture
async def client(tmp_path, strict_answers):
    """The plain client of tests/conftest.py, its API answers checked."""
    async with running_instance(tmp_path) as c:
        yield strict_answers.install(c)
    strict_answers.report()


@pytest.fixture
async def api(tmp_path, strict_answers):
    """An httpx client on a fresh instance, carrying the owner's bearer token."""
    async with running_instance(tmp_path) as client:
        strict_answers.install(client)
        token = await token_for(client)
        client.cookies.clear()
        client.headers["Authorization"] = f"Bearer {token}"
        client.token = token
        yield client
    strict_answers.report()
