"""Shared fixtures: throwaway instances driven in-process, and real servers on loopback."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
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
