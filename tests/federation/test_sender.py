"""The deliveries' lean HTTP client, against a real server on loopback."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from smallfedi.federation.fetch import BlockedAddress, checked_addresses
from smallfedi.federation.sender import SendError, Sender

pytestmark = pytest.mark.anyio


class Inbox:
    """A raw HTTP/1.1 server: counts connections and requests, answers as told."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[bytes] = []
        self.answer = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
        self.close_after_each = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                self.requests.append(head + await reader.readexactly(length))
                writer.write(self.answer)
                await writer.drain()
                if self.close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@pytest.fixture
async def inbox():
    server_side = Inbox()
    server = await asyncio.start_server(server_side.handle, "127.0.0.1", 0)
    server_side.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/users/bob/inbox"
    async with server:
        yield server_side


def sender(allow_private: bool = True) -> Sender:
    async def addresses(host, timeout):
        return await checked_addresses(host, timeout, allow_private=allow_private)
    return Sender(addresses, user_agent="smallfedi/test")


async def test_posts_reuse_one_connection_and_send_what_was_signed(inbox):
    s = sender()
    for n in range(3):
        status, _ = await s.post(inbox.url, {"Host": "127.0.0.1", "Signature": f"sig{n}"}, b'{"n": %d}' % n)
        assert status == 202
    s.close()
    assert inbox.connections == 1 and len(inbox.requests) == 3
    first = inbox.requests[0]
    assert first.startswith(b"POST /users/bob/inbox HTTP/1.1\r\n")
    assert b"Signature: sig0\r\n" in first and b"User-Agent: smallfedi/test\r\n" in first
    assert first.endswith(b'\r\n\r\n{"n": 0}')


async def test_a_connection_the_server_closed_is_replaced(inbox):
    s = sender()
    inbox.close_after_each = True  # and says nothing about it: the kept connection goes stale
    for _ in range(3):
        assert (await s.post(inbox.url, {"Host": "127.0.0.1"}, b"{}"))[0] == 202
    s.close()
    assert inbox.connections == 3 and len(inbox.requests) == 3


async def test_answers_statuses_headers_and_chunks(inbox):
    s = sender()
    inbox.answer = (b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"5\r\nslow \r\n5\r\ndown!\r\n0\r\n\r\n")
    status, headers = await s.post(inbox.url, {"Host": "127.0.0.1"}, b"{}")
    assert status == 429 and headers["retry-after"] == "120"
    inbox.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000
    with pytest.raises(SendError, match="too large"):
        await s.post(inbox.url, {"Host": "127.0.0.1"}, b"{}")
    s.close()


async def test_private_addresses_are_refused_unless_allowed(inbox):
    with pytest.raises(BlockedAddress):
        await sender(allow_private=False).post(inbox.url, {"Host": "127.0.0.1"}, b"{}")
    assert inbox.requests == []
    with pytest.raises(SendError, match="only http and https"):
        await sender().post("file:///etc/passwd", {}, b"")


async def test_nobody_listening_is_a_send_error():
    with pytest.raises((SendError, httpx.HTTPError)):
        await sender().post("http://127.0.0.1:9/inbox", {"Host": "127.0.0.1:9"}, b"{}")
