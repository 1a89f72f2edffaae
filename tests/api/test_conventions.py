"""The client API's conventions, which no single endpoint owns: trailing slashes, CORS, JSON on
every answer, paging with Link headers, id and date formats, liberal parameter parsing, and
the errors apps get for malformed requests."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from smallfedi.core import following, interactions, posting
from smallfedi.core.posting import Draft
from tests.api.conftest import strict, token_for
from tests.conftest import Network, running_instance

pytestmark = pytest.mark.anyio

BASE = "http://127.0.0.1:8080"
ID_RE = re.compile(r"^[1-9][0-9]*$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LINK_RE = re.compile(r'<([^>]+)>;\s*rel="([a-z]+)"')


def is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").split(";")[0].strip() == "application/json"


def assert_json_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    assert is_json(response), (response.request.url, response.headers.get("content-type"), response.text)
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    return body


def links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in LINK_RE.findall(response.headers.get("link", ""))}


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


async def post(api: httpx.AsyncClient, text: str, **fields) -> dict:
    r = await api.post("/api/v1/statuses", data={"status": text, **fields})
    assert r.status_code == 200, r.text
    return r.json()


# Trailing slashes

async def test_trailing_slash_answers_like_without(api):
    for path in ("/api/v1/instance", "/api/v2/instance", "/api/v1/accounts/verify_credentials",
                 "/api/v1/timelines/home", "/api/v1/custom_emojis", "/.well-known/oauth-authorization-server"):
        plain = await api.get(path)
        slashed = await api.get(path + "/")
        assert plain.status_code == 200, path
        assert slashed.status_code == 200, (path, slashed.status_code, slashed.headers.get("location"))
        assert is_json(slashed)
        assert slashed.json() == plain.json(), path
    # POSTs too, which a redirect would break.
    for path in ("/oauth/token", "/oauth/revoke"):
        plain = await api.post(path, data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"})
        slashed = await api.post(path + "/", data={"grant_type": "client_credentials", "client_id": "x",
                                                   "client_secret": "y"})
        assert plain.status_code == slashed.status_code == 401
        assert slashed.json()["error"] == plain.json()["error"] == "invalid_client"
    r = await api.post("/api/v1/statuses/", data={"status": "slash"})
    assert r.status_code == 200, r.text
    r = await api.post("/api/v1/apps/", json={"client_name": "x", "redirect_uris": "icecubesapp://"})
    assert r.status_code == 200, r.text
    r = await api.get("/api/v1/timelines/tag/foo/")
    assert r.status_code == 200 and r.json() == []
    # HEAD as GET, without the body.
    for path in ("/api/v1/instance", "/api/v1/instance/"):
        r = await api.head(path)
        assert r.status_code == 200 and is_json(r) and r.content == b""


# CORS

PREFLIGHT = {"Origin": "https://elk.zone", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}


def header_words(response: httpx.Response, name: str) -> set[str]:
    return {w.strip().lower() for w in response.headers.get(name, "").split(",") if w.strip()}


@pytest.mark.parametrize("path", ["/api/v1/timelines/home", "/api/v1/statuses", "/api/v1/apps", "/oauth/token",
                                  "/oauth/revoke", "/api/v2/instance", "/api/v1/instance/",
                                  "/.well-known/oauth-authorization-server", "/api/v1/statuses/123/favourite"])
async def test_cors_preflight(client, path):
    r = await client.options(path, headers=PREFLIGHT)
    assert r.status_code == 204, (path, r.status_code)
    assert r.headers["access-control-allow-origin"] == "*"
    assert {"authorization", "content-type", "idempotency-key"} <= header_words(r, "access-control-allow-headers")
    assert "post" in header_words(r, "access-control-allow-methods")
    assert "link" in header_words(r, "access-control-expose-headers")
    assert r.content == b""


async def test_cors_headers_on_answers_and_errors(api):
    await post(api, "one")
    for r in (await api.get("/api/v1/timelines/home?limit=1", headers={"Origin": "https://elk.zone"}),
              await api.get("/api/v1/nowhere", headers={"Origin": "https://elk.zone"}),
              await api.get("/api/v1/timelines/home", headers={"Authorization": "Bearer wrong"})):
        assert r.headers["access-control-allow-origin"] == "*"
        assert "link" in header_words(r, "access-control-expose-headers")
    # The HTML pages are not for other origins.
    page = await api.get("/@alice", headers={"Origin": "https://elk.zone"})
    assert "access-control-allow-origin" not in page.headers


# JSON everywhere

async def test_every_api_answer_is_json(api):
    status = await post(api, "hello")
    anon = {"Authorization": ""}
    read_only = {"Authorization": f"Bearer {await token_for(api, 'read')}"}
    cases = [
        (await api.get("/api/v1/timelines/home", headers=anon), 401),
        (await api.get("/api/v1/timelines/home", headers={"Authorization": "Bearer not-a-token"}), 401),
        (await api.post("/api/v1/statuses", data={"status": "x"}, headers=read_only), 403),
        (await api.get("/api/v1/nowhere"), 404),
        (await api.get("/api/v3/instance"), 404),
        (await api.post("/api/v1/statuses/1/frobnicate"), 404),
        (await api.get("/api/v1/statuses/999999"), 404),
        (await api.delete("/api/v1/instance"), 405),
        (await api.post("/api/v1/timelines/home"), 405),
        (await api.put("/api/v1/apps", json={}), 405),
        (await api.get("/oauth/token"), 405),
        (await api.post("/api/v1/statuses", data={"status": ""}), 422),
        (await api.get("/api/v1/timelines/home?max_id=abc"), 400),
    ]
    for response, status_code in cases:
        assert_json_error(response, status_code)
    wrong_method = await api.delete("/api/v1/instance")
    assert "GET" in wrong_method.headers.get("allow", "")
    # {} successes are JSON too.
    for response in (await api.post("/api/v1/notifications/clear"),
                     await api.post(f"/api/v1/statuses/{status['id']}/favourite")):
        assert response.status_code == 200 and is_json(response)
    assert (await api.post("/api/v1/notifications/clear")).json() == {}


async def test_a_crash_is_a_json_500_on_the_api(api, monkeypatch):
    from smallfedi.core import oauth as core_oauth

    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(core_oauth, "grant_for", broken)
    transport = httpx.ASGITransport(app=api.app, client=("127.0.0.1", 12345), raise_app_exceptions=False)
    async with strict(httpx.AsyncClient(transport=transport, base_url=BASE)) as crashing:
        r = await crashing.get("/api/v1/timelines/home", headers={"Authorization": "Bearer x"})
        body = assert_json_error(r, 500)
        assert "boom" not in json.dumps(body)  # nothing internal leaks
        page = await crashing.get("/@alice")
        assert page.status_code == 200


# Paging

async def test_paging_through_the_home_timeline(api):
    posted = [(await post(api, f"post number {i}"))["id"] for i in range(45)]
    newest_first = posted[::-1]

    seen: list[str] = []
    url = "/api/v1/timelines/home?limit=20"
    pages = 0
    while url:
        r = await api.get(url)
        page = ids(r)
        pages += 1
        assert pages < 10
        if not page:
            assert "link" not in r.headers
            break
        assert len(page) <= 20
        seen += page
        found = links(r)
        url = found.get("next")
        if url:
            assert url.startswith(f"{BASE}/api/v1/timelines/home?")
            assert "limit=20" in url
            assert f"max_id={page[-1]}" in url
    assert seen == newest_first  # each post once, in order
    assert pages == 3

    # An empty page says nothing more.
    r = await api.get(f"/api/v1/timelines/home?limit=20&max_id={posted[0]}")
    assert ids(r) == [] and "link" not in r.headers

    # min_id: the 20 just newer than the cursor, still newest first.
    r = await api.get(f"/api/v1/timelines/home?limit=20&min_id={posted[10]}")
    assert ids(r) == posted[11:31][::-1]
    prev = links(r)["prev"]
    assert f"min_id={posted[30]}" in prev and "limit=20" in prev
    # ...and following prev reaches the top.
    r = await api.get(prev)
    assert ids(r) == posted[31:45][::-1]

    # max_id is exclusive.
    r = await api.get(f"/api/v1/timelines/home?max_id={posted[30]}&limit=5")
    assert ids(r) == posted[25:30][::-1]

    # since_id: the newest ones, down to (not including) the cursor.
    r = await api.get(f"/api/v1/timelines/home?since_id={posted[40]}")
    assert ids(r) == posted[41:][::-1]
    r = await api.get(f"/api/v1/timelines/home?since_id={posted[10]}")
    assert ids(r) == newest_first[:20]
    r = await api.get(f"/api/v1/timelines/home?since_id={posted[10]}&max_id={posted[15]}")
    assert ids(r) == posted[11:15][::-1]

    # Too large a limit is clamped, not refused; the default is 20.
    r = await api.get("/api/v1/timelines/home?limit=1000")
    assert 20 < len(ids(r)) <= 45
    assert ids(r) == newest_first[:len(ids(r))]
    assert len(ids(await api.get("/api/v1/timelines/home"))) == 20
    assert len(ids(await api.get("/api/v1/timelines/home?limit=0"))) >= 1
    assert len(ids(await api.get("/api/v1/timelines/home?limit=3"))) == 3

    # A hashtag in any script: the Link header stays ASCII and leads on.
    for i in range(3):
        await post(api, f"tagged {i} #日本語 #café")
    for tag in ("日本語", "café"):
        r = await api.get(f"/api/v1/timelines/tag/{tag}?limit=2")
        assert len(ids(r)) == 2
        r.headers["link"].encode("ascii")
        assert len(ids(await api.get(links(r)["next"]))) == 1

    # The public timeline and the account's statuses page the same way.
    owner_id = (await api.get("/api/v1/accounts/verify_credentials")).json()["id"]
    for base in ("/api/v1/timelines/public?local=true&limit=20", f"/api/v1/accounts/{owner_id}/statuses?limit=20"):
        seen, url = [], base
        while url:
            r = await api.get(url)
            seen += ids(r)
            url = links(r).get("next")
            if url:
                assert "limit=20" in url
        assert seen[-45:] == newest_first, base


# Formats

def walk(value, path=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, f"{path}[]")
    else:
        yield path, value


def check_formats(body) -> int:
    """Every id is a string of digits without a leading zero; every datetime has milliseconds."""
    checked = 0
    for path, value in walk(body):
        key = path.rsplit(".", 1)[-1].removesuffix("[]")
        if path.endswith(".role.id"):
            continue  # Mastodon's "no role" is "-99"
        if key == "id" or key.endswith("_id") or key.endswith("_ids"):
            if key in ("most_recent_notification_id", "client_id") or value is None:
                continue
            assert isinstance(value, str) and ID_RE.match(value), (path, value)
            checked += 1
        elif key == "last_status_at":
            assert value is None or DATE_RE.match(value), (path, value)
        elif key.endswith("_at") and isinstance(value, str):
            assert DATETIME_RE.match(value), (path, value)
            checked += 1
    return checked


async def test_ids_and_dates(api):
    first = await post(api, "first")
    reply = await post(api, "a reply", in_reply_to_id=first["id"])
    assert reply["in_reply_to_id"] == first["id"]
    boost = await api.post(f"/api/v1/statuses/{first['id']}/reblog")
    assert boost.status_code == 200
    assert boost.json()["id"] != first["id"] and boost.json()["reblog"]["id"] == first["id"]
    edited = await api.put(f"/api/v1/statuses/{first['id']}", data={"status": "first, edited"})
    assert edited.status_code == 200 and edited.json()["edited_at"]
    await api.post(f"/api/v1/statuses/{first['id']}/bookmark")
    await api.post("/api/v1/markers", data={"home[last_read_id]": first["id"]})
    me = (await api.get("/api/v1/accounts/verify_credentials")).json()
    checked = 0
    for path in ("/api/v1/timelines/home", f"/api/v1/statuses/{first['id']}", f"/api/v1/statuses/{reply['id']}",
                 f"/api/v1/statuses/{first['id']}/context", f"/api/v1/statuses/{first['id']}/history",
                 "/api/v1/accounts/verify_credentials", f"/api/v1/accounts/{me['id']}",
                 f"/api/v1/accounts/{me['id']}/statuses", "/api/v1/instance", "/api/v2/instance",
                 "/api/v1/bookmarks", "/api/v1/markers?timeline[]=home", "/api/v1/apps/verify_credentials",
                 f"/api/v1/statuses/{first['id']}/reblogged_by", "/api/v2/notifications"):
        r = await api.get(path)
        assert r.status_code == 200, (path, r.text)
        checked += check_formats(r.json())
    checked += check_formats((await api.post("/api/v1/apps", data={"client_name": "x",
                                                                     "redirect_uris": "icecubesapp://"})).json())
    assert checked > 50
    assert DATE_RE.match(me["last_status_at"])


def test_the_format_check_can_fail():
    with pytest.raises(AssertionError):
        check_formats({"id": "0123"})
    with pytest.raises(AssertionError):
        check_formats({"status": {"in_reply_to_id": 5}})
    with pytest.raises(AssertionError):
        check_formats({"created_at": "2024-01-01T00:00:00Z"})
    with pytest.raises(AssertionError):
        check_formats([{"edited_at": "2024-01-01T00:00:00.123456Z"}])


# Liberal parameters

@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), ("True", True), ("on", True), ("TRUE", True),
    ("0", False), ("false", False), ("False", False), ("off", False), ("", False),
])
async def test_booleans_spelt_every_way(api, value, expected):
    form = await api.post("/api/v1/statuses", data={"status": "b", "sensitive": value, "spoiler_text": ""})
    assert form.status_code == 200, form.text
    assert form.json()["sensitive"] is expected
    query = await api.post(f"/api/v1/statuses?sensitive={value}", json={"status": "b"})
    assert query.json()["sensitive"] is expected
    # only_media=true leaves out every post here (none has media).
    listed = await api.get(f"/api/v1/timelines/public?only_media={value}")
    assert listed.status_code == 200
    assert (listed.json() == []) is expected


async def test_json_booleans(api):
    assert (await api.post("/api/v1/statuses", json={"status": "j", "sensitive": True})).json()["sensitive"] is True
    assert (await api.post("/api/v1/statuses", json={"status": "j", "sensitive": False})).json()["sensitive"] is False
    assert (await api.post("/api/v1/statuses", json={"status": "j", "sensitive": "true"})).json()["sensitive"] is True
    assert (await api.post("/api/v1/statuses", json={"status": "j", "sensitive": 1})).json()["sensitive"] is True
    r = await api.post("/api/v1/statuses", json={"status": "j", "sensitive": "maybe"})
    assert_json_error(r, 400)


async def test_rails_brackets_for_lists(api):
    a, b, c = (await post(api, "a"))["id"], (await post(api, "b"))["id"], (await post(api, "c"))["id"]
    r = await api.get(f"/api/v1/statuses?id[]={a}&id[]={c}")
    assert sorted(ids(r)) == sorted([a, c])
    r = await api.get(f"/api/v1/statuses?id={b}")
    assert ids(r) == [b]
    me = (await api.get("/api/v1/accounts/verify_credentials")).json()["id"]
    r = await api.get(f"/api/v1/accounts?id[]={me}&id[]=999")
    assert ids(r) == [me]
    r = await api.get(f"/api/v1/accounts/relationships?id[]={me}")
    assert r.status_code == 200 and ids(r) == [me]
    # Nested form keys and JSON objects mean the same.
    r = await api.post("/api/v1/markers", data={"home[last_read_id]": a})
    assert r.json()["home"]["last_read_id"] == a
    r = await api.post("/api/v1/markers", json={"home": {"last_read_id": b}})
    assert r.json()["home"]["last_read_id"] == b
    r = await api.get("/api/v1/markers?timeline[]=home")
    assert set(r.json()) == {"home"}


async def test_rails_brackets_for_notification_types(tmp_path):
    async with Network(tmp_path) as net:
        alice = strict(await net.add("alice", 9321, "alice"))
        bob = strict(await net.add("bob", 9322, "bob"))
        await following.follow(bob.app.state.instance, "@alice@127.0.0.1:9321")
        await net.settle()
        status = await posting.publish(alice.app.state.instance, Draft(text="like me"))
        await net.settle()
        copy = await bob.app.state.instance.federation.resolve_status(status.uri)
        await interactions.favourite(bob.app.state.instance, copy.id)
        await net.settle()
        alice.headers["Authorization"] = f"Bearer {await token_for(alice)}"

        async def types(query: str) -> list[str]:
            for path in ("/api/v1/notifications", "/api/v2/notifications"):
                r = await alice.get(f"{path}?{query}")
                assert r.status_code == 200, r.text
                body = r.json()
                found = [n["type"] for n in (body if isinstance(body, list) else body["notification_groups"])]
                if path.endswith("v1/notifications"):
                    first = found
                else:
                    assert found == first, query
            return first

        assert sorted(await types("")) == ["favourite", "follow"]
        assert await types("types[]=follow") == ["follow"]
        assert await types("types[]=favourite") == ["favourite"]
        assert sorted(await types("types[]=follow&types[]=favourite")) == ["favourite", "follow"]
        assert await types("exclude_types[]=follow") == ["favourite"]
        assert await types("exclude_types[]=follow&exclude_types[]=favourite") == []
        assert await types("exclude_types[]=mention&exclude_types[]=reblog&foo=bar") != []
        await net.settle()


async def test_unknown_parameters_are_ignored(api):
    r = await api.post("/api/v1/statuses", data={"status": "extra", "lang": "None", "oauth_info": "{}",
                                                  "frobnicate[deep][]": "x"})
    assert r.status_code == 200, r.text
    r = await api.post("/api/v1/statuses", json={"status": "extra", "unknown": {"a": [1, 2]}, "quote_id": None})
    assert r.status_code == 200, r.text
    r = await api.get("/api/v1/timelines/home?foo=bar&pinned=maybe&lang=None")
    assert r.status_code == 200 and len(r.json()) == 2
    r = await api.get("/api/v1/instance?x=1")
    assert r.status_code == 200


# Malformed requests

@pytest.mark.parametrize("body", [b"{not json", b'{"status": "x",}', b"[1, 2]", b'"text"', b"\xff\xfe",
                                  b"[" * 5000 + b"]" * 5000, b'{"a":' * 50 + b"1" + b"}" * 50])
async def test_malformed_json_is_a_400(api, body):
    headers = {"Content-Type": "application/json"}
    for path in ("/api/v1/statuses", "/api/v1/apps", "/oauth/token", "/oauth/revoke"):
        r = await api.post(path, content=body, headers=headers)
        assert_json_error(r, 400)
    assert (await api.get("/api/v1/timelines/home")).json() == []


async def test_bad_ids_in_the_path_are_404(api):
    status = await post(api, "exists")
    for path in ("/api/v1/statuses/abc", "/api/v1/statuses/-1", "/api/v1/statuses/1.5",
                 "/api/v1/statuses/99999999999999999999999", "/api/v1/statuses/0",
                 "/api/v1/statuses/%20", "/api/v1/accounts/abc", "/api/v1/accounts/0",
                 "/api/v1/accounts/abc/statuses", "/api/v1/notifications/abc",
                 f"/api/v1/statuses/{status['id']}x", f"/api/v1/statuses/{status['id']}/context/x"):
        assert_json_error(await api.get(path), 404)
    for path in ("/api/v1/statuses/abc/favourite", "/api/v1/accounts/abc/follow",
                 "/api/v1/statuses/99999999999999999999999/reblog"):
        assert_json_error(await api.post(path), 404)
    assert_json_error(await api.delete("/api/v1/statuses/abc"), 404)


async def test_scheduled_posts_are_refused(api):
    r = await api.post("/api/v1/statuses", data={"status": "later", "scheduled_at": "2099-01-01T00:00:00.000Z"})
    assert_json_error(r, 422)
    r = await api.post("/api/v1/statuses", json={"status": "later", "scheduled_at": "2099-01-01T00:00:00.000Z"})
    assert_json_error(r, 422)
    assert (await api.get("/api/v1/timelines/home")).json() == []


async def test_idempotency_key(api):
    headers = {"Idempotency-Key": "abc-123"}
    one = await api.post("/api/v1/statuses", data={"status": "once"}, headers=headers)
    two = await api.post("/api/v1/statuses", data={"status": "once"}, headers=headers)
    assert one.status_code == two.status_code == 200
    assert one.json()["id"] == two.json()["id"]
    assert len((await api.get("/api/v1/timelines/home")).json()) == 1


async def test_a_body_over_the_limit_is_413(tmp_path):
    async with running_instance(tmp_path, extra="\n[limits]\nmax_body_bytes = 16384\n") as client:
        strict(client)
        token = await token_for(client)
        client.headers["Authorization"] = f"Bearer {token}"
        # Just under the limit is fine (unknown padding is ignored).
        small = json.dumps({"status": "fits", "padding": "x" * 15000}).encode()
        r = await client.post("/api/v1/statuses", content=small, headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        big = json.dumps({"status": "too big", "padding": "x" * 17000}).encode()
        for path in ("/api/v1/statuses", "/api/v1/apps", "/oauth/token"):
            r = await client.post(path, content=big, headers={"Content-Type": "application/json"})
            assert_json_error(r, 413)

        # Without a Content-Length (chunked), the cap holds as the body streams in.
        async def chunks():
            for _ in range(40):
                yield b"x" * 1000

        r = await client.post("/api/v1/statuses", content=chunks(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert_json_error(r, 413)
        r = await client.post("/api/v1/statuses", data={"status": "y" * 20000})
        assert_json_error(r, 413)
        assert len((await client.get("/api/v1/timelines/home")).json()) == 1
