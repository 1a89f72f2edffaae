"""Endpoints that import their module on first use, so building the route tables at start-up
costs only the tables: a route nobody calls never loads its code (or the libraries behind it)."""

from __future__ import annotations

import importlib
from typing import Any, Awaitable, Callable

Endpoint = Callable[[Any], Awaitable[Any]]


def lazy(target: str | Callable[[], Endpoint], name: str | None = None) -> Endpoint:
    """An async endpoint standing in for `target`: "package.module:function", or a function
    that returns the endpoint (for endpoints a factory makes). The first call resolves it and
    later calls go straight through. Works for HTTP (request) and WebSocket (websocket)
    endpoints alike. `name` is the route's name, by default the function's.
    """
    if isinstance(target, str):
        make = None
        module, _, attribute = target.partition(":")
        if not module or not attribute:
            raise ValueError(f"lazy endpoint {target!r}: expected 'module:function'")
        name = name or attribute
    else:
        make, module, attribute = target, "", ""
        if name is None:
            raise ValueError("a lazy endpoint made by a factory needs a name")
    resolved: Endpoint | None = None

    async def endpoint(connection: Any) -> Any:
        nonlocal resolved
        if resolved is None:
            resolved = make() if make else getattr(importlib.import_module(module), attribute)
        return await resolved(connection)

    endpoint.__name__ = endpoint.__qualname__ = name
    return endpoint
