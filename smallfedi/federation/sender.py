"""The deliveries' HTTP: signed POSTs over kept-alive connections, spoken with h11.

A post to a thousand followers is a thousand small POSTs, and httpx spent about 0.7 ms of CPU
on each here (its connection pool checks every idle connection on every request, and the
request goes through several layers of abstraction) against ~0.1 ms for the same exchange with
h11, the HTTP/1.1 state machine httpx itself is built on. So deliveries go straight through
h11 over asyncio streams; everything else (fetches, redirects, Web Push) keeps the httpx
client. The SSRF guard is the same one: a host is resolved and checked first, and the
connection goes to exactly the checked addresses; TLS still verifies the host name.

One idle connection is kept per host (the worker sends a host's deliveries one after another
on it), at most MAX_IDLE in all, each for IDLE_SECONDS.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import h11

MAX_IDLE = 32
IDLE_SECONDS = 30.0
TIMEOUT = 15.0               # the whole exchange: connect, send, answer
MAX_RESPONSE_BYTES = 64 * 1024  # an inbox answers with next to nothing; more is read and dropped
_PORTS = {"http": 80, "https": 443}

Addresses = Callable[[str, float | None], Awaitable[list[str]]]


class SendError(Exception):
    """The POST did not get an answer: connection, TLS, protocol or timeout."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_RESPONSE_BYTES)
        self.idle_since = 0.0

    async def post(self, target: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, dict[str, str]]:
        conn = self.h11
        self.writer.write(conn.send(h11.Request(method="POST", target=target, headers=headers))
                          + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
        await self.writer.drain()
        status, answer, size = 0, {}, 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await self.reader.read(65536))  # b"" at EOF: h11 then says so
            elif isinstance(event, h11.Response):
                status = event.status_code
                answer = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in event.headers}
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_RESPONSE_BYTES:
                    raise SendError("the answer is too large")
            elif isinstance(event, h11.EndOfMessage):
                return status, answer
            elif isinstance(event, h11.ConnectionClosed):
                raise SendError("the connection closed before the answer")
            # h11.InformationalResponse (100 Continue and the like): read on

    @property
    def reusable(self) -> bool:
        return self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE

    def close(self) -> None:
        self.writer.close()


class Sender:
    def __init__(self, addresses: Addresses, user_agent: str) -> None:
        self.addresses = addresses  # resolves a host and refuses non-public addresses
        self.user_agent = user_agent
        self._idle: OrderedDict[tuple[str, str, int], _Connection] = OrderedDict()
        self._tls: ssl.SSLContext | None = None

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        """POST `body` with `headers` (Host among them, as signed); (status, answer's headers)."""
        parts = urlsplit(url)
        if parts.scheme not in _PORTS or not parts.hostname:
            raise SendError(f"refused {url!r}: only http and https URLs")
        try:
            port = parts.port or _PORTS[parts.scheme]
        except ValueError:
            raise SendError(f"refused {url!r}: bad port") from None
        key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        fields = [(name, value) for name, value in headers.items()]
        fields += [("User-Agent", self.user_agent), ("Content-Length", str(len(body)))]
        reused = self._take(key)
        try:
            return await self._exchange(key, reused, target, fields, body)
        except SendError:
            if reused is None:
                raise
        # A kept connection the other side had closed meanwhile: once more, on a new one
        # (safe to repeat: inboxes drop an activity they already have).
        return await self._exchange(key, None, target, fields, body)

    async def _exchange(self, key, connection: _Connection | None, target: str, fields: list, body: bytes):
        try:
            async with asyncio.timeout(TIMEOUT):
                if connection is None:
                    connection = await self._connect(*key)
                status, answer = await connection.post(target, fields, body)
        except (OSError, TimeoutError, h11.ProtocolError, ssl.SSLError, SendError) as exc:
            if connection is not None:
                connection.close()
            if isinstance(exc, SendError):
                raise
            raise SendError(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            if connection is not None:
                connection.close()
            raise
        if connection.reusable:
            connection.h11.start_next_cycle()
            self._keep(key, connection)
        else:
            connection.close()
        return status, answer

    async def _connect(self, scheme: str, host: str, port: int) -> _Connection:
        failure: Exception | None = None
        for address in await self.addresses(host, TIMEOUT):
            try:
                if scheme == "https":
                    reader, writer = await asyncio.open_connection(address, port, ssl=self._tls_context(),
                                                                   server_hostname=host)
                else:
                    reader, writer = await asyncio.open_connection(address, port)
                return _Connection(reader, writer)
            except OSError as exc:
                failure = exc  # the next address, as a browser would
        raise failure or SendError(f"no address for {host}")

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def _take(self, key) -> _Connection | None:
        connection = self._idle.pop(key, None)
        if connection is not None and time.monotonic() - connection.idle_since > IDLE_SECONDS:
            connection.close()
            return None
        return connection

    def _keep(self, key, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        old = self._idle.pop(key, None)
        if old is not None:
            old.close()
        self._idle[key] = connection
        while len(self._idle) > MAX_IDLE:
            _, oldest = self._idle.popitem(last=False)
            oldest.close()

    def close(self) -> None:
        for connection in self._idle.values():
            connection.close()
        self._idle.clear()
