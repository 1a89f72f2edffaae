"""What the benchmarks share: free loopback ports, waiting for a server, generated followers."""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """Distinct free ports (each held open until all are chosen, so none repeats)."""
    held = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        held.append(s)
    ports = [s.getsockname()[1] for s in held]
    for s in held:
        s.close()
    return ports


def wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def add_followers(db_path: Path, ports: list[int], count: int) -> None:
    db = sqlite3.connect(db_path)
    owner_id = db.execute("SELECT id FROM accounts WHERE local = 1").fetchone()[0]
    now = "2026-01-01T00:00:00.000Z"
    base = 10**15
    for i in range(count):
        port = ports[i % len(ports)]
        uri = f"http://127.0.0.1:{port}/users/f{i}"
        db.execute("INSERT INTO accounts (id, local, username, domain, uri, inbox_url, created_at, updated_at)"
                   " VALUES (?, 0, ?, ?, ?, ?, ?, ?)", (base + i, f"f{i}", f"127.0.0.1:{port}", uri, f"{uri}/inbox",
                                                       now, now))
        db.execute("INSERT INTO follows (id, follower_id, target_id, uri, accepted, created_at)"
                   " VALUES (?, ?, ?, ?, 1, ?)", (base + i, base + i, owner_id, f"{uri}#follow", now))
    db.commit()
    db.close()
