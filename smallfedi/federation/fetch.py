"""Outgoing HTTP: the one shared client, its SSRF guard, and signed JSON fetches.

The guard is a transport, so every request the client sends passes it, including each hop of
a redirect. With our own network transport (the default) the guard resolves a host name at
connect time and connects to exactly the addresses it checked, so DNS rebinding (a public
answer for the check, a private one for the connection) can't slip through. An injected
transport (tests, in-process federation) is opaque: the guard resolves and checks before
handing the request over, which is all it can do there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from smallfedi.federation.signatures import sign_headers

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

AP_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JSON_TYPES = frozenset({"application/activity+json", "application/ld+json", "application/json",
                        "application/jrd+json"})
MAX_BYTES = 1024 * 1024        # Mastodon's limit on fetched JSON
MAX_DEPTH = 32                 # real ActivityPub documents nest a handful of levels
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}

Resolver = Callable[[str], Awaitable[list[str]]]


class BlockedAddress(httpx.RequestError):
    """The guard refused the request: a non-public address, or a scheme or port we don't speak."""


class FetchError(Exception):
    """A remote document could not be fetched or is unusable. The message is safe to show."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Gone(FetchError):
    """410: the remote object was deleted; callers may keep a tombstone."""


# ------------------------------------------------------------------------------- the guard

async def resolve_host(host: str) -> list[str]:
    """The addresses a host name resolves to (the system resolver, /etc/hosts included)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: str) -> bool:
    """Whether an IP address is on the public internet. Addresses wrapping an IPv4 address
    (mapped, NAT64) are judged by it; 6to4 and Teredo must not wrap a private one either."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(str(ip.ipv4_mapped))
        if ip in _NAT64:  # DNS64 networks reach every IPv4 host through these
            return is_public_address(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
        wrapped = [ip.sixtofour, *(ip.teredo or ())]
        if any(v4 is not None and not is_public_address(str(v4)) for v4 in wrapped):
            return False
    # is_global alone misses multicast and IPv6 site-local on Python 3.11, so spell them out.
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                                 or ip.is_reserved or ip.is_unspecified or getattr(ip, "is_site_local", False))


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


async def checked_addresses(host: str, timeout: float | None, *, allow_private: bool,
                            resolve: Resolver = resolve_host) -> list[str]:
    """The addresses for `host`, all of them public unless private ones are allowed."""
    try:
        found = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            found = await asyncio.wait_for(resolve(host), timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:  # socket.gaierror
            raise httpx.ConnectError(f"could not resolve {host}: {exc}") from None
        if not found:
            raise httpx.ConnectError(f"could not resolve {host}")
    if not allow_private:
        # Any private answer refuses the host: the connection might pick that one.
        for address in found:
            if not is_public_address(address):
                raise BlockedAddress(f"refused {host}: {address} is not a public address")
    return found


class GuardedTransport(httpx.AsyncBaseTransport):
    """Refuses requests to non-public addresses (unless allow_private), to schemes other than
    http/https and to impossible ports, then hands the request to `inner`."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None, *, allow_private: bool = False,
                 resolve: Resolver = resolve_host) -> None:
        self.allow_private = allow_private
        self.resolve = resolve
        # Our own transport checks at connect time (see _PinnedBackend); a foreign one, before.
        self._check_before = inner is not None
        self.inner = inner if inner is not None else self._pinned_transport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in _DEFAULT_PORTS:
            raise BlockedAddress(f"refused {url.scheme or 'a'} URL: only http and https are fetched")
        if not url.host:
            raise BlockedAddress("refused a URL without a host")
        port = _DEFAULT_PORTS[url.scheme] if url.port is None else url.port
        if not 1 <= port <= 65535:
            raise BlockedAddress(f"refused port {port}")
        # With private addresses allowed there is nothing to check, and a test's routing transport
        # may use names no resolver knows. raw_host: the ASCII (IDNA) name a connection would use.
        if self._check_before and not self.allow_private:
            await self.addresses(url.raw_host.decode("ascii"), request.extensions.get("timeout", {}).get("connect"))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def addresses(self, host: str, timeout: float | None) -> list[str]:
        return await checked_addresses(host, timeout, allow_private=self.allow_private, resolve=self.resolve)

    def _pinned_transport(self) -> httpx.AsyncHTTPTransport:
        # TCP_NODELAY: httpx writes headers and body separately; without it Nagle's algorithm
        # holds the body back until the peer's delayed ACK, some 40 ms per request.
        transport = httpx.AsyncHTTPTransport(retries=0, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        # httpx can't take a network backend, so swap the one in its pool. If a new httpx moves
        # these private attributes, fail loudly here rather than silently lose the guard.
        pool = getattr(transport, "_pool", None)
        if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
            raise RuntimeError("this httpx version can't pin addresses; update smallfedi/federation/fetch.py")
        pool._network_backend = _PinnedBackend(pool._network_backend, self.addresses)
        return transport


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host where the connection is made, then connects to exactly
    those addresses. TLS still gets the host name (httpcore passes it as SNI and checks the
    certificate against it), and the pool is still keyed by host name."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend,
                 addresses: Callable[[str, float | None], Awaitable[list[str]]]) -> None:
        self._inner = inner
        self._addresses = addresses

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await self._addresses(host, timeout):
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the next address, as a browser would
        raise failure or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("refused a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def make_client(*, allow_private: bool, user_agent: str, transport: httpx.AsyncBaseTransport | None = None,
                resolve: Resolver = resolve_host) -> httpx.AsyncClient:
    """The instance's one outgoing client. Redirects are left to fetch_json, which sends each
    hop again through the guard and signs it anew."""
    return httpx.AsyncClient(
        transport=GuardedTransport(transport, allow_private=allow_private, resolve=resolve),
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(10.0, connect=5.0),
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        follow_redirects=False,
        trust_env=False,  # a proxy from the environment would connect past the guard
    )


class HttpSignatureAuth(httpx.Auth):
    """Signs every request an httpx client sends (redirects are not re-signed: don't follow them)."""

    requires_request_body = True  # the Digest needs the whole body

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey) -> None:
        self.key_id = key_id
        self.private_key = private_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(sign_headers(request.method, str(request.url), request.headers,
                                            request.content, self.key_id, self.private_key))
        yield request


# ----------------------------------------------------------------------------------- fetching

async def fetch_json(client: httpx.AsyncClient, url: str, *, auth: httpx.Auth | None, accept: str = AP_ACCEPT,
                     max_bytes: int = MAX_BYTES, max_redirects: int = 3,
                     total_timeout: float = 30.0) -> tuple[str, dict]:
    """GET a JSON object, signed with `auth` on every hop. Returns (final URL, document).
    `total_timeout` bounds the whole fetch: the read timeout alone lets a server trickle bytes."""
    try:
        async with asyncio.timeout(total_timeout):
            return await _follow(client, url, auth, accept, max_bytes, max_redirects)
    except TimeoutError:
        raise FetchError("the server took too long") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise FetchError(str(exc) or type(exc).__name__) from None


async def _follow(client: httpx.AsyncClient, url: str, auth: httpx.Auth | None, accept: str,
                  max_bytes: int, max_redirects: int) -> tuple[str, dict]:
    for _ in range(max_redirects + 1):
        request = client.build_request("GET", url, headers={"Accept": accept})
        response = await client.send(request, auth=auth, stream=True)
        try:
            target = _redirect_target(response)
            if target is None:
                return str(response.url), await _read_document(response, max_bytes)
        finally:
            await response.aclose()
        url = target
    raise FetchError(f"more than {max_redirects} redirects")


async def fetch_bytes(client: httpx.AsyncClient, url: str, *, max_bytes: int, max_redirects: int = 3,
                      total_timeout: float = 30.0) -> tuple[bytes, str]:
    """GET a file (a remote image for the cache), unsigned, through the same guard and caps as
    documents. Returns (body, content type)."""
    try:
        async with asyncio.timeout(total_timeout):
            for _ in range(max_redirects + 1):
                response = await client.send(client.build_request("GET", url, headers={"Accept": "image/*"}),
                                              stream=True)
                try:
                    target = _redirect_target(response)
                    if target is None:
                        if not 200 <= response.status_code < 300:
                            raise FetchError(f"the server answered {response.status_code}", response.status_code)
                        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                        return await _read_limited(response, max_bytes), kind
                finally:
                    await response.aclose()
                url = target
            raise FetchError(f"more than {max_redirects} redirects")
    except TimeoutError:
        raise FetchError("the server took too long") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise FetchError(str(exc) or type(exc).__name__) from None


def _redirect_target(response: httpx.Response) -> str | None:
    if response.status_code not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("location")
    if not location:
        raise FetchError(f"redirect ({response.status_code}) without a Location", response.status_code)
    target = response.url.join(location)
    if target.scheme not in _DEFAULT_PORTS:
        raise FetchError(f"refused a redirect to a {target.scheme} URL")
    return str(target)


async def _read_document(response: httpx.Response, max_bytes: int) -> dict:
    status = response.status_code
    if status == 410:
        raise Gone("the object is gone (410)", status)
    if not 200 <= status < 300:
        raise FetchError(f"the server answered {status} {response.reason_phrase}".rstrip(), status)
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in JSON_TYPES:
        raise FetchError(f"not JSON but {media_type or 'no content type'}")
    return _parse(await _read_limited(response, max_bytes))


async def _read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    """The body, read chunk by chunk and abandoned once past max_bytes (after decompression,
    so a small gzip bomb is cut off too)."""
    too_large = FetchError(f"response larger than {_size(max_bytes)}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks, total = [], 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _size(n: int) -> str:
    return f"{n // 1048576} MiB" if n % 1048576 == 0 else f"{n} bytes"


def _parse(body: bytes) -> dict:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: the parser itself gave up on nesting
        raise FetchError("the response is not valid JSON") from None
    if not isinstance(document, dict):
        raise FetchError("the response is not a JSON object")
    if _too_deep(document, MAX_DEPTH):
        raise FetchError(f"the JSON nests deeper than {MAX_DEPTH} levels")
    return document


def _too_deep(value: Any, limit: int) -> bool:
    """Iterative, so a hostile document can't exhaust the stack of whatever walks it later."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


# ------------------------------------------------------------------------------------ origins

def _origin(url: str) -> tuple[str, bytes, int] | None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return None
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.raw_host:
        return None
    port = _DEFAULT_PORTS[parsed.scheme] if parsed.port is None else parsed.port
    return parsed.scheme, parsed.raw_host.lower(), port


def check_origin(document_id: str, fetched_url: str) -> bool:
    """Whether a document's id has the origin (scheme, host, port) of the URL it came from:
    a server may only speak for its own objects."""
    origin = _origin(document_id)
    return origin is not None and origin == _origin(fetched_url)


async def fetch_object(client: httpx.AsyncClient, url: str, *, auth: httpx.Auth | None) -> dict:
    """An ActivityPub object whose id its own origin vouches for."""
    final_url, document = await fetch_json(client, url, auth=auth)
    object_id = document.get("id")
    if not isinstance(object_id, str) or not object_id:
        raise FetchError("the document has no id")
    if check_origin(object_id, final_url):
        return document
    # Served by another origin (a relay, a mirror, a liar): ask the id's own origin instead.
    _, document = await fetch_json(client, object_id, auth=auth)
    if document.get("id") != object_id:
        raise FetchError(f"{object_id} does not serve the object it names")
    return document
