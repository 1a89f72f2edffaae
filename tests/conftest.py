"""Shared fixtures: throwaway instances driven in-process, and real servers on loopback."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from smallfedi.app import create_app
from smallfedi.config import load_config, render_config
from smallfedi.core.setup import initialise

PASSWORD = "correct horse battery"
USERNAME = "alice"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def need(condition: bool, reason: str) -> None:
    """Skip when a tool (a browser, Node) is missing; with SMALLFEDI_REQUIRE_ALL=1 (CI) fail instead,
    so CI proves everything."""
    if condition:
        return
    if os.environ.get("SMALLFEDI_REQUIRE_ALL") == "1":
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(folder: Path, url: str, extra: str = "") -> Path:
    path = folder / "smallfedi.toml"
    path.write_text(render_config(url, "data", port=int(url.rsplit(":", 1)[1]) if url.count(":") == 2 else 8080)
                    + extra, encoding="utf-8")
    return path


@asynccontextmanager
async def running_instance(folder: Path, url: str = "http://127.0.0.1:8080", extra: str = ""):
    """An initialised instance's app with its lifespan running, and an httpx client on it."""
    config = load_config(write_config(folder, url, extra))
    await initialise(config, USERNAME, PASSWORD)
    app = create_app(config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 12345))
        async with httpx.AsyncClient(transport=transport, base_url=url) as client:
            client.app = app
            yield client


@pytest.fixture
async def client(tmp_path):
    async with running_instance(tmp_path) as c:
        yield c


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "page has no CSRF token"
    return m.group(1)


async def sign_in(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/login")
    return await client.post("/login", data={"csrf_token": csrf_of(page.text), "password": password, "next": "/"})


async def post_form(client: httpx.AsyncClient, page_url: str, action: str, data: dict) -> httpx.Response:
    """Load the page holding the form (for its CSRF token), then submit the form."""
    page = await client.get(page_url)
    return await client.post(action, data={"csrf_token": csrf_of(page.text), **data})


@pytest.fixture
async def owner_client(client):
    response = await sign_in(client)
    assert response.status_code == 303, response.text
    return client


class Server:
    """A real `smallfedi serve` process on a free loopback port."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = folder / "smallfedi.toml"
        self.process: subprocess.Popen | None = None
        self.password = PASSWORD

    def init(self) -> "Server":
        self.folder.mkdir(parents=True, exist_ok=True)
        pw = self.folder / "password.txt"
        pw.write_text(self.password + "\n")
        run_cli("init", "--config", str(self.config), "--url", self.url, "--username", USERNAME,
                "--password-file", str(pw), check=True)
        return self

    def start(self, timeout: float = 15) -> "Server":
        self.log = open(self.folder / "serve.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "smallfedi", "serve", "--config", str(self.config)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {(self.folder / 'serve.log').read_text()}")
            try:
                if httpx.get(f"{self.url}/@{USERNAME}", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not answer in time")

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close() if hasattr(self, "log") else None
        return self.process.returncode if self.process else None


def run_cli(*args: str, check: bool = False, input: str | None = None, cwd: Path | None = None):
    result = subprocess.run([sys.executable, "-m", "smallfedi", *args], capture_output=True, text=True,
                            input=input, cwd=cwd, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"smallfedi {' '.join(args)} failed: {result.stderr}")
    return result


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "instance").init().start()
    yield srv
    srv.stop()


class HostRouter(httpx.AsyncBaseTransport):
    """Outgoing requests of in-process instances, routed to the app that owns the host:port."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.requests: list[httpx.Request] = []
        self.down: set[str] = set()  # hosts that answer 503, to test retries

    def add(self, netloc: str, app) -> None:
        self.apps[netloc] = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        netloc = request.url.netloc.decode()
        if netloc in self.down:
            return httpx.Response(503, text="down for the test")
        target = self.apps.get(netloc)
        if target is None:
            raise httpx.ConnectError(f"no test host {netloc}", request=request)
        return await target.handle_async_request(request)


class Network:
    """Several smallfedi instances in one process, federating through a HostRouter."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.router = HostRouter()
        self.clients: dict[str, httpx.AsyncClient] = {}
        self._stack = None

    async def __aenter__(self) -> "Network":
        from contextlib import AsyncExitStack

        self._stack = AsyncExitStack()
        await self._stack.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        await self._stack.__aexit__(*exc)

    async def add(self, name: str, port: int, username: str = USERNAME, deliver: bool = True,
                  federation: str = "") -> httpx.AsyncClient:
        """Start instance `name` (created on first use; reopened from its folder afterwards)."""
        url = f"http://127.0.0.1:{port}"
        folder = self.folder / name
        path = folder / "smallfedi.toml"
        if not path.exists():
            folder.mkdir(parents=True)
            path.write_text(render_config(url, "data", port=port).replace(
                "allow_private_addresses = false", "allow_private_addresses = true\n" + federation), encoding="utf-8")
            await initialise(load_config(path), username, PASSWORD)
        config = load_config(path)
        app = create_app(config, transport=self.router, deliver=deliver)
        await self._stack.enter_async_context(app.router.lifespan_context(app))
        self.router.add(config.domain, app)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 12345)),
                                   base_url=url)
        await self._stack.enter_async_context(client)
        client.app = app
        client.handle = f"{username}@{config.domain}"
        client.delivering = deliver
        self.clients[name] = client
        return client

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every instance's delivery queue is empty (each send is awaited in-process)."""
        deadline = time.monotonic() + timeout
        while True:
            pending = 0
            for client in self.clients.values():
                if not client.delivering:
                    continue  # its queue is meant to stay full
                inst = client.app.state.instance
                pending += await inst.db.fetchval("SELECT count(*) FROM deliveries WHERE next_attempt_at <= ?",
                                                  (time.time() + 1,))
            if pending == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{pending} deliveries still pending")
            await asyncio.sleep(0.01)
