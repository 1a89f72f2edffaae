"""Live updates against a real server process: the WebSocket with the token as subprotocol
(echoed back, as browsers require), as a query parameter and as a header; the server-sent
event stream; and a bad token refused."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.api.conftest import strict, token_for
from tests.conftest import Server

pytestmark = pytest.mark.anyio


@pytest.fixture
def live(tmp_path):
    srv = Server(tmp_path / "instance").init().start()
    yield srv
    srv.stop()


async def _token(url: str) -> str:
    async with strict(httpx.AsyncClient(base_url=url, timeout=10)) as client:
        return await token_for(client)


async def _post(url: str, token: str, text: str, **extra) -> dict:
    async with strict(httpx.AsyncClient(base_url=url, timeout=10, headers={"Authorization": f"Bearer {token}"})) as c:
        r = await c.post("/api/v1/statuses", json={"status": text, **extra})
        assert r.status_code == 200, r.text
        return r.json()


async def _next(ws, event: str, timeout: float = 5.0) -> dict:
    async def wait():
        while True:
            message = json.loads(await ws.recv())
            if message.get("event") == event:
                return message
    return await asyncio.wait_for(wait(), timeout)


async def test_websocket_with_the_token_as_subprotocol(live):
    token = await _token(live.url)
    ws_url = live.url.replace("http://", "ws://") + "/api/v1/streaming"
    async with websockets.connect(ws_url, subprotocols=[token], open_timeout=5) as ws:
        assert ws.subprotocol == token  # echoed, or Chrome drops the connection
        await ws.send(json.dumps({"type": "subscribe", "stream": "user"}))
        await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "pi"}))
        await ws.send(json.dumps({"type": "subscribe", "stream": "nonsense"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["status"] == 400
        await asyncio.sleep(0.1)
        posted = await _post(live.url, token, "live from the #pi")
        streams = set()
        for _ in range(2):
            message = await _next(ws, "update")
            payload = json.loads(message["payload"])  # a JSON string, as Mastodon sends it
            assert payload["id"] == posted["id"]
            assert payload["account"]["acct"] == "alice"
            streams.add(tuple(message["stream"]))
        assert streams == {("user",), ("hashtag", "pi")}
        owner = httpx.AsyncClient(base_url=live.url, headers={"Authorization": f"Bearer {token}"})
        async with strict(owner) as c:
            assert (await c.put(f"/api/v1/statuses/{posted['id']}", json={"status": "edited #pi"})).status_code == 200
            edited = await _next(ws, "status.update")
            assert "edited" in json.loads(edited["payload"])["content"]
            assert (await c.delete(f"/api/v1/statuses/{posted['id']}")).status_code == 200
        deleted = await _next(ws, "delete")
        assert deleted["payload"] == posted["id"]


@pytest.mark.parametrize("how", ["query", "header"])
async def test_websocket_token_by_query_or_header(live, how):
    token = await _token(live.url)
    ws_url = live.url.replace("http://", "ws://") + "/api/v1/streaming?stream=public:local"
    kwargs = {}
    if how == "query":
        ws_url += f"&access_token={token}"
    else:
        kwargs["additional_headers"] = {"Authorization": f"Bearer {token}"}
    async with websockets.connect(ws_url, open_timeout=5, **kwargs) as ws:
        await asyncio.sleep(0.1)
        await _post(live.url, token, "hello, local timeline")
        await _post(live.url, token, "followers only", visibility="private")
        message = await _next(ws, "update")
        assert message["stream"] == ["public:local"]
        assert "local timeline" in json.loads(message["payload"])["content"]
        with pytest.raises(TimeoutError):
            await _next(ws, "update", timeout=0.5)  # the followers-only post is not public


async def test_a_bad_token_is_refused(live):
    ws_url = live.url.replace("http://", "ws://") + "/api/v1/streaming"
    with pytest.raises(websockets.exceptions.InvalidStatus) as caught:
        async with websockets.connect(ws_url, subprotocols=["not-a-token"], open_timeout=5):
            pass
    assert caught.value.response.status_code in (401, 403)
    async with strict(httpx.AsyncClient(base_url=live.url)) as c:
        r = await c.get("/api/v1/streaming/user", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/json")
        assert (await c.get("/api/v1/streaming/health")).text == "OK"


async def test_server_sent_events(live):
    token = await _token(live.url)
    async with strict(httpx.AsyncClient(base_url=live.url, timeout=10)) as c:
        async with c.stream("GET", "/api/v1/streaming/user", headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = r.aiter_lines()
            assert await asyncio.wait_for(lines.__anext__(), 5) == ":)"
            posted = await _post(live.url, token, "over server-sent events")

            async def until_data():
                event = None
                async for line in lines:
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "update":
                        return json.loads(line[6:])
            payload = await asyncio.wait_for(until_data(), 5)
            assert payload["id"] == posted["id"]


async def test_an_oversized_message_closes_the_socket(live):
    """Subscribe messages are tiny; a 1 MiB frame is refused before it is buffered."""
    token = await _token(live.url)
    ws_url = live.url.replace("http://", "ws://") + "/api/v1/streaming"
    async with websockets.connect(ws_url, subprotocols=[token], open_timeout=5, max_size=None) as ws:
        await ws.send("x" * (1024 * 1024))
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
    async with httpx.AsyncClient(base_url=live.url) as c:
        assert (await c.get("/api/v1/streaming/health")).text == "OK"  # the server carries on


async def test_too_many_streams_are_refused(tmp_path, monkeypatch):
    """Each stream holds a queue; past the cap a new one gets a clear 429, not more memory."""
    from smallfedi.api import streaming
    from tests.api.conftest import strict
    from tests.conftest import running_instance

    monkeypatch.setattr(streaming, "MAX_LISTENERS", 1)
    async with running_instance(tmp_path) as client:
        strict(client)
        token = await token_for(client)
        inst = client.app.state.instance
        held = inst.events.subscribe()
        try:
            r = await client.get("/api/v1/streaming/user", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 429 and r.json()["error"] == "Too many open streams"
        finally:
            inst.events.unsubscribe(held)
