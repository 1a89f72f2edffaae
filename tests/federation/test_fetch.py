"""The outgoing client: SSRF guard, signed GETs, redirects, size/shape limits, origin checks."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from smallfedi.federation import signatures
from smallfedi.federation.fetch import (AP_ACCEPT, BlockedAddress, FetchError, Gone, HttpSignatureAuth,
                                        check_origin, fetch_json, fetch_object, is_public_address,
                                        make_client, resolve_host)

pytestmark = pytest.mark.anyio

AP = {"content-type": "application/activity+json"}
FAKE_DNS = {"public.example": ["93.184.216.34"], "other.example": ["203.0.114.7"],
            "evil.example": ["10.0.0.5"], "mixed.example": ["93.184.216.34", "127.0.0.1"],
            "xn--bcher-kva.example": ["10.0.0.7"]}


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def fake_resolve(host: str) -> list[str]:
    """FAKE_DNS for *.example (no real DNS here); the system resolver for the rest (localhost, 127.1)."""
    if host in FAKE_DNS:
        return FAKE_DNS[host]
    if host.endswith(".example"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return await resolve_host(host)


class Mock:
    """A mock network routing by host: `routes[(host, path)]` is a response or a callable."""

    def __init__(self, routes: dict | None = None) -> None:
        self.routes = routes or {}
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        route = self.routes.get((request.url.host, request.url.path))
        if route is None:
            return httpx.Response(200, headers=AP, json={"id": str(request.url)})
        return route(request) if callable(route) else route

    def client(self, allow_private: bool = False, resolve=fake_resolve) -> httpx.AsyncClient:
        return make_client(allow_private=allow_private, user_agent="smallfedi/test (+http://me.example)",
                           transport=httpx.MockTransport(self), resolve=resolve)


def redirect(location: str, status: int = 302) -> httpx.Response:
    return httpx.Response(status, headers={"location": location})


PRIVATE = ["127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "[::1]", "[fe80::1]",
           "[fc00::1]", "0.0.0.0", "100.64.0.1", "[::ffff:127.0.0.1]", "224.0.0.1", "[fec0::1]",
           "[2002:7f00:1::1]", "[64:ff9b::a00:1]", "localhost", "127.1", "evil.example", "mixed.example",
           "bücher.example"]  # looked up by its IDNA name


# ----------------------------------------------------------------------------------- the guard

@pytest.mark.parametrize("host", PRIVATE)
async def test_private_addresses_are_refused(host):
    mock = Mock()
    async with mock.client() as client:
        with pytest.raises(BlockedAddress, match="not a public address"):
            await client.get(f"http://{host}/actor")
        with pytest.raises(FetchError, match="not a public address"):
            await fetch_json(client, f"https://{host}/actor", auth=None)
    assert mock.seen == []


@pytest.mark.parametrize("host", PRIVATE)
async def test_private_addresses_are_allowed_when_configured(host):
    mock = Mock()
    async with mock.client(allow_private=True) as client:
        response = await client.get(f"http://{host}/actor")
    assert response.status_code == 200 and len(mock.seen) == 1


async def test_allowing_private_addresses_skips_lookups_for_a_routing_transport():
    async with Mock().client(allow_private=True) as client:  # no resolver knows this name
        assert (await client.get("http://alice.test:9101/actor")).status_code == 200


async def test_public_names_and_addresses_pass():
    mock = Mock()
    async with mock.client() as client:
        assert (await client.get("https://public.example/a")).status_code == 200
        assert (await client.get("http://93.184.216.34:8080/a")).status_code == 200
        assert (await client.get("http://[2606:4700::1]/a")).status_code == 200
    assert mock.seen[0].headers["user-agent"] == "smallfedi/test (+http://me.example)"


@pytest.mark.parametrize("url, message", [("ftp://public.example/x", "only http and https"),
                                          ("http://public.example:0/x", "refused port 0"),
                                          ("http://public.example:70000/x", "refused port 70000")])
async def test_other_schemes_and_ports_are_refused(url, message):
    mock = Mock()
    async with mock.client(allow_private=True) as client:
        with pytest.raises(BlockedAddress, match=message):
            await client.get(url)
    assert mock.seen == []


async def test_unresolvable_host_is_a_fetch_error():
    async with Mock().client() as client:
        with pytest.raises(FetchError, match="could not resolve nowhere.example"):
            await fetch_json(client, "https://nowhere.example/x", auth=None)


@pytest.mark.parametrize("address, public", [
    ("93.184.216.34", True), ("::ffff:93.184.216.34", True), ("64:ff9b::5db8:d822", True),
    ("2002:5db8:d822::1", True), ("198.18.0.1", False), ("ff02::1", False), ("2001:db8::1", False),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False), ("255.255.255.255", False), ("::", False)])
def test_is_public_address(address, public):
    assert is_public_address(address) is public


# A real socket on loopback proves what the default (pinning) transport connects to.
async def _serve_once(seen: list[bytes]) -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        body = b'{"id": "x"}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()
    return await asyncio.start_server(answer, "127.0.0.1", 0)


async def test_default_transport_connects_to_the_checked_address():
    seen: list[bytes] = []
    server = await _serve_once(seen)
    port = server.sockets[0].getsockname()[1]

    async def resolve(host: str) -> list[str]:  # a name no real DNS knows, pinned to loopback
        return ["127.0.0.1"] if host == "pinned.example" else []

    async with server, make_client(allow_private=True, user_agent="t", resolve=resolve) as client:
        final, doc = await fetch_json(client, f"http://pinned.example:{port}/x", auth=None)
    assert doc == {"id": "x"} and final == f"http://pinned.example:{port}/x"
    assert f"host: pinned.example:{port}".encode() in seen[0].lower()


async def test_default_transport_checks_the_address_it_connects_to():
    seen: list[bytes] = []
    server = await _serve_once(seen)
    port = server.sockets[0].getsockname()[1]
    lookups = []

    async def resolve(host: str) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    async with server, make_client(allow_private=False, user_agent="t", resolve=resolve) as client:
        with pytest.raises(BlockedAddress, match="127.0.0.1 is not a public address"):
            await client.get(f"http://rebind.example:{port}/x")
    # One lookup, made where the connection is made: there is no second answer to rebind to.
    assert lookups == ["rebind.example"] and seen == []


# ------------------------------------------------------------------------------------ fetching

async def test_signed_get_is_verifiable():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    auth = HttpSignatureAuth("https://me.example/actor#main-key", key)
    mock = Mock({("public.example", "/start"): redirect("https://other.example:8443/final?page=1")})
    async with mock.client() as client:
        final, doc = await fetch_json(client, "https://public.example/start", auth=auth)
    assert final == "https://other.example:8443/final?page=1"
    assert doc == {"id": final}
    for request in mock.seen:  # each hop signed for its own URL
        assert request.headers["accept"] == AP_ACCEPT
        parsed = signatures.verify_request("GET", request.url.path, request.url.query.decode(),
                                           request.headers, b"", key.public_key())
        assert 'headers="(request-target) host date accept"' in request.headers["signature"]
        assert parsed.key_id == "https://me.example/actor#main-key"
    assert mock.seen[1].headers["host"] == "other.example:8443"


async def test_redirect_to_a_private_address_is_refused():
    mock = Mock({("public.example", "/a"): redirect("http://evil.example/steal"),
                 ("public.example", "/b"): redirect("http://169.254.169.254/latest/meta-data")})
    async with mock.client() as client:
        for path in ("/a", "/b"):
            with pytest.raises(FetchError, match="not a public address"):
                await fetch_json(client, f"https://public.example{path}", auth=None)
    assert [r.url.host for r in mock.seen] == ["public.example", "public.example"]


async def test_redirects_stop_after_three():
    mock = Mock({("public.example", "/1"): redirect("/2", 301), ("public.example", "/2"): redirect("/1", 308)})
    async with mock.client() as client:
        with pytest.raises(FetchError, match="more than 3 redirects"):
            await fetch_json(client, "https://public.example/1", auth=None)
    assert len(mock.seen) == 4


async def test_redirect_to_another_scheme_is_refused():
    mock = Mock({("public.example", "/a"): redirect("file:///etc/passwd")})
    async with mock.client() as client:
        with pytest.raises(FetchError, match="file URL"):
            await fetch_json(client, "https://public.example/a", auth=None)


async def test_large_body_is_cut_off_while_streaming():
    pulled = []

    async def endless():
        for _ in range(1000):  # 64 MiB if read whole
            pulled.append(1)
            yield b" " * 65536

    mock = Mock({("public.example", "/big"): lambda r: httpx.Response(200, headers=AP, content=endless())})
    async with mock.client() as client:
        with pytest.raises(FetchError, match="response larger than 1 MiB"):
            await fetch_json(client, "https://public.example/big", auth=None)
    assert len(pulled) <= 17


async def test_declared_large_body_is_refused_unread():
    big = httpx.Response(200, headers={**AP, "content-length": str(2 * 1048576)}, content=b"{}")
    async with Mock({("public.example", "/big"): big}).client() as client:
        with pytest.raises(FetchError, match="larger than 1 MiB"):
            await fetch_json(client, "https://public.example/big", auth=None)


def nested(depth: int) -> dict:
    """An object nested `depth` levels deep."""
    document: dict = {"id": "https://public.example/deep"}
    for _ in range(depth - 1):
        document = {"next": document}
    return document


@pytest.mark.parametrize("body, message", [
    (json.dumps(nested(33)), "deeper than 32"),
    ('{"a": ' + "[" * 32 + "]" * 32 + "}", "deeper than 32"),  # lists are levels too
    ("[" * 100000 + "]" * 100000, "not valid JSON"),  # too deep for the parser itself
    ("{nope", "not valid JSON"),
    ('["an", "array"]', "not a JSON object"),
])
async def test_bad_json_is_refused(body, message):
    mock = Mock({("public.example", "/x"): httpx.Response(200, headers=AP, content=body.encode())})
    async with mock.client() as client:
        with pytest.raises(FetchError, match=message):
            await fetch_json(client, "https://public.example/x", auth=None)


async def test_json_depth_limit_is_inclusive():
    mock = Mock({("public.example", "/x"): httpx.Response(200, headers=AP, json=nested(32))})
    async with mock.client() as client:
        assert (await fetch_json(client, "https://public.example/x", auth=None))[1] == nested(32)


@pytest.mark.parametrize("content_type", ["text/html", "application/jsonx", ""])
async def test_non_json_content_type_is_refused(content_type):
    response = httpx.Response(200, headers={"content-type": content_type}, content=b'{"id": "x"}')
    async with Mock({("public.example", "/x"): response}).client() as client:
        with pytest.raises(FetchError, match="not JSON"):
            await fetch_json(client, "https://public.example/x", auth=None)


@pytest.mark.parametrize("content_type", ["application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
                                          "application/jrd+json", "Application/JSON; charset=utf-8"])
async def test_json_content_types_are_accepted(content_type):
    response = httpx.Response(200, headers={"content-type": content_type}, content=b'{"id": "x"}')
    async with Mock({("public.example", "/x"): response}).client() as client:
        assert (await fetch_json(client, "https://public.example/x", auth=None))[1] == {"id": "x"}


async def test_gone_and_other_statuses():
    mock = Mock({("public.example", "/gone"): httpx.Response(410),
                 ("public.example", "/missing"): httpx.Response(404, headers=AP, json={})})
    async with mock.client() as client:
        with pytest.raises(Gone) as gone:
            await fetch_json(client, "https://public.example/gone", auth=None)
        with pytest.raises(FetchError, match="404 Not Found") as missing:
            await fetch_json(client, "https://public.example/missing", auth=None)
    assert gone.value.status == 410 and missing.value.status == 404
    assert not isinstance(missing.value, Gone)


# ------------------------------------------------------------------------------------- origins

@pytest.mark.parametrize("document_id, fetched, same", [
    ("https://a.example/1", "https://a.example/2?x", True),
    ("https://A.example:443/1", "https://a.example/2", True),
    ("https://a.example/1", "http://a.example/1", False),
    ("https://a.example/1", "https://a.example:8443/1", False),
    ("https://a.example:0/1", "https://a.example/1", False),
    ("https://a.example/1", "https://b.example/1", False),
    ("https://a.example.evil.example/1", "https://a.example/1", False),
    ("urn:uuid:1", "https://a.example/1", False),
    ("not a url", "https://a.example/1", False),
])
def test_check_origin(document_id, fetched, same):
    assert check_origin(document_id, fetched) is same


async def test_object_with_foreign_id_is_refetched_from_its_own_id():
    real = {"id": "https://other.example/note/1", "content": "the original"}
    mock = Mock({("public.example", "/copy"): httpx.Response(200, headers=AP, json={**real, "content": "forged"}),
                 ("other.example", "/note/1"): httpx.Response(200, headers=AP, json=real)})
    async with mock.client() as client:
        assert await fetch_object(client, "https://public.example/copy", auth=None) == real
    assert [str(r.url) for r in mock.seen] == ["https://public.example/copy", "https://other.example/note/1"]


async def test_object_whose_own_origin_disowns_it_is_refused():
    claimed = {"id": "https://other.example/note/1"}
    mock = Mock({("public.example", "/copy"): httpx.Response(200, headers=AP, json=claimed),
                 ("other.example", "/note/1"): httpx.Response(200, headers=AP,
                                                              json={"id": "https://other.example/note/2"})})
    async with mock.client() as client:
        with pytest.raises(FetchError, match="does not serve the object it names"):
            await fetch_object(client, "https://public.example/copy", auth=None)
    assert len(mock.seen) == 2


async def test_object_followed_through_redirect_keeps_final_origin():
    mock = Mock({("public.example", "/@alice"): redirect("https://public.example/users/alice")})
    async with mock.client() as client:
        assert await fetch_object(client, "https://public.example/@alice", auth=None) == \
            {"id": "https://public.example/users/alice"}
    assert len(mock.seen) == 2


async def test_object_without_id_is_refused():
    mock = Mock({("public.example", "/x"): httpx.Response(200, headers=AP, json={"type": "Note"})})
    async with mock.client() as client:
        with pytest.raises(FetchError, match="no id"):
            await fetch_object(client, "https://public.example/x", auth=None)
