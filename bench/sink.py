"""A delivery sink for benchmarks: listens on many loopback ports (one per pretend host),
verifies every POST's HTTP signature with the sender's public key, and counts.

Usage (started by bench/run.py): sink.py --key KEY.pem --control PORT --ports P1,P2,...
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from smallfedi.federation.signatures import SignatureError, load_public_key, verify_request  # noqa: E402

COUNTS = {"verified": 0, "failed": 0}


def build(key) -> Starlette:
    async def inbox(request: Request) -> Response:
        body = await request.body()
        try:
            verify_request("POST", request.url.path, request.url.query, request.headers, body, key,
                           scheme="http", authority=request.headers.get("host"))
            COUNTS["verified"] += 1
            return Response(status_code=202)
        except SignatureError:
            COUNTS["failed"] += 1
            return Response(status_code=401)

    async def count(request: Request) -> Response:
        return JSONResponse(COUNTS)

    return Starlette(routes=[Route("/users/{name}/inbox", inbox, methods=["POST"]), Route("/count", count)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", required=True)
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--ports", required=True)
    args = parser.parse_args()
    key = load_public_key(Path(args.key).read_text())
    sockets = []
    for port in [args.control, *map(int, args.ports.split(","))]:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sockets.append(sock)
    server = uvicorn.Server(uvicorn.Config(build(key), log_level="warning", access_log=False))
    asyncio.run(server.serve(sockets=sockets))


if __name__ == "__main__":
    main()
