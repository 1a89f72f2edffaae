"""A lean start: the app is built and answers its first request without loading the endpoints'
modules or the heavy libraries (they load where they are used), and `serve` gets uvicorn
without its command line."""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
import textwrap

import pytest

from smallfedi.config import load_config
from smallfedi.core.setup import initialise
from smallfedi.lazy import lazy
from tests.conftest import USERNAME, write_config

pytestmark = pytest.mark.anyio

HEAVY = ("httpx", "httpcore", "cryptography", "http_ece", "jinja2", "markdown", "nh3", "PIL", "click")
ENDPOINT_MODULES = ("smallfedi.api.statuses", "smallfedi.api.streaming", "smallfedi.api.push", "smallfedi.web.public",
                    "smallfedi.web.owner", "smallfedi.federation.routes", "smallfedi.federation.inbox",
                    "smallfedi.federation.fetch", "smallfedi.federation.delivery", "smallfedi.web.render")


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_the_first_request_loads_neither_endpoints_nor_heavy_libraries(tmp_path):
    config_path = write_config(tmp_path, "http://127.0.0.1:8080")
    await initialise(load_config(config_path), USERNAME, "a long enough password")
    out = run_python(f"""
        import asyncio, json, sys
        from smallfedi.app import create_app
        from smallfedi.config import load_config
        from smallfedi.serve import _uvicorn

        _uvicorn()
        app = create_app(load_config({str(config_path)!r}))

        async def main():
            sent = []
            scope = {{"type": "http", "method": "GET", "path": "/.well-known/webfinger", "raw_path": b"",
                      "query_string": b"resource=acct:{USERNAME}@127.0.0.1:8080", "headers": [],
                      "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080), "scheme": "http",
                      "root_path": "", "http_version": "1.1", "asgi": {{"version": "3.0"}}}}

            async def receive():
                return {{"type": "http.request", "body": b"", "more_body": False}}

            async def send(message):
                sent.append(message)

            async with app.router.lifespan_context(app):
                await app(scope, receive, send)
            return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:]))["subject"]

        print(json.dumps([asyncio.run(main()), sorted(sys.modules)]))
    """)
    (status, subject), modules = json.loads(out)
    assert (status, subject) == (200, f"acct:{USERNAME}@127.0.0.1:8080")
    loaded = {name.split(".")[0] for name in modules} | set(modules)
    assert [name for name in HEAVY + ENDPOINT_MODULES if name in loaded] == []


async def test_serve_gets_uvicorn_without_its_command_line():
    out = run_python("""
        import sys
        from smallfedi.serve import _uvicorn

        uvicorn = _uvicorn()
        print(uvicorn.Config.__module__, uvicorn.Server.__module__, "click" in sys.modules)
        print(bool(uvicorn.__version__), callable(uvicorn.run), "click" in sys.modules)
    """)
    assert out.split("\n")[:2] == ["uvicorn.config uvicorn.server False", "True True True"]


async def test_a_lazy_endpoint_resolves_once_and_keeps_its_name():
    made = []

    async def handler(request):
        return ("answered", request)

    def make():
        made.append(1)
        return handler

    endpoint = lazy(make, name="handler")
    assert endpoint.__name__ == "handler"
    assert await endpoint("a") == ("answered", "a")
    assert await endpoint("b") == ("answered", "b")
    assert made == [1]
    by_name = lazy("smallfedi.federation.discovery:webfinger")
    assert by_name.__name__ == "webfinger"
    with pytest.raises(ValueError):
        lazy("smallfedi.federation.discovery")
    with pytest.raises(ValueError):
        lazy(make)


def test_every_named_endpoint_exists():
    """A misspelt "module:function" would otherwise only show on that route's first request."""
    from smallfedi.api import routes as api_routes
    from smallfedi.federation import table
    from smallfedi.web import routes as web_routes

    endpoints = [route.endpoint for route in [*table.routes(), *api_routes.routes(), *web_routes.routes()]
                 if hasattr(route, "endpoint")] + list(table.negotiated().values())
    resolved = 0
    for endpoint in endpoints:
        endpoint = getattr(endpoint, "__wrapped__", endpoint)  # the HTML face's error pages
        found = inspect.getclosurevars(endpoint).nonlocals
        if found.get("make"):
            real = found["make"]()
        else:
            real = getattr(importlib.import_module(found["module"]), found["attribute"])
        assert inspect.iscoroutinefunction(real), endpoint.__name__
        resolved += 1
    assert resolved > 190
