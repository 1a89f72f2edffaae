"""The stack's floor: a hello-world Starlette app answering a tiny JSON body, served by
uvicorn with the settings `smallfedi serve` uses. Every throughput figure is read against it.

Usage (started by bench/run.py): floor.py PORT [--loop auto|asyncio|uvloop] [--http auto|h11|httptools]
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


app = Starlette(routes=[Route("/", hello)])

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--http", default="auto")
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop=args.loop, http=args.http, log_level="warning",
                access_log=False, server_header=False, proxy_headers=True)
