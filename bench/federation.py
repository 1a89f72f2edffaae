"""Federation throughput of one `smallfedi serve` process, on loopback.

1. Delivery fan-out: one post to 1,000 followers spread over 200 hosts (200 listening ports of
   a sink process that verifies every signature). Followers have personal inboxes only, so
   the post makes 1,000 signed deliveries. Reports deliveries/s until the sink has all.
2. Inbox: signed Create(Note) POSTs from 1,000 distinct remote actors whose keys are already
   known, 16 at a time. Reports accepted POSTs/s and latency percentiles.

Usage: .venv/bin/python bench/federation.py [--followers 1000] [--hosts 200] [--posts 2000]
This is a benchmark, not a test: figures vary with the machine; run it a few times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


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


def start_instance(folder: Path) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = folder / "smallfedi.toml"
    (folder / "pw").write_text("benchmark password\n")
    subprocess.run([sys.executable, "-m", "smallfedi", "init", "--config", str(config), "--url", url,
                    "--username", "bench", "--password-file", str(folder / "pw")], check=True, capture_output=True)
    config.write_text(config.read_text().replace("allow_private_addresses = false", "allow_private_addresses = true"))
    return config, url, folder / "data" / "smallfedi.db"


def serve(config: Path, url: str) -> subprocess.Popen:
    log = open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "ab")
    proc = subprocess.Popen([sys.executable, "-m", "smallfedi", "serve", "--config", str(config)],
                            stdout=log, stderr=log)
    wait_http(f"{url}/@bench")
    return proc


def sign_in(url: str) -> httpx.Client:
    import re

    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"csrf_token": token, "password": "benchmark password"})
    return client


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


def bench_delivery(followers: int, hosts: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config, url, db_path = start_instance(folder)
        control, *ports = free_ports(hosts + 1)
        owner_pem = sqlite3.connect(db_path).execute("SELECT public_key_pem FROM accounts WHERE local = 1").fetchone()[0]
        (folder / "key.pem").write_text(owner_pem)
        sink = subprocess.Popen([sys.executable, str(Path(__file__).parent / "sink.py"), "--key", str(folder / "key.pem"),
                                 "--control", str(control), "--ports", ",".join(map(str, ports))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{control}/count")
        add_followers(db_path, ports, followers)
        proc = serve(config, url)
        try:
            client = sign_in(url)
            import re
            home = client.get("/")
            token = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
            start = time.perf_counter()
            client.post("/compose", data={"csrf_token": token, "text": "to everyone", "visibility": "public"})
            while True:
                counts = httpx.get(f"http://127.0.0.1:{control}/count").json()
                if counts["verified"] + counts["failed"] >= followers:
                    break
                if time.perf_counter() - start > 300:
                    break
                time.sleep(0.02)
            elapsed = time.perf_counter() - start
            rss = _rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait()
            sink.terminate()
            sink.wait()
        return {"deliveries": counts["verified"], "bad_signatures": counts["failed"], "seconds": elapsed,
                "per_second": counts["verified"] / elapsed, "rss_mib_after": rss}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _post_all(url: str, bodies: list[tuple[str, bytes]], key, concurrency: int) -> list[float]:
    from smallfedi.federation.signatures import sign_headers

    latencies: list[float] = []
    queue = list(bodies)
    inbox = f"{url}/inbox"

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            key_id, body = queue.pop()
            headers = {"content-type": "application/activity+json"}
            headers.update(sign_headers("POST", inbox, headers, body, key_id, key))
            t0 = time.perf_counter()
            response = await client.post(inbox, content=body, headers=headers)
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 202:
                raise RuntimeError(f"inbox answered {response.status_code}: {response.text}")

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies


def bench_inbox(actors: int, posts: int, concurrency: int = 16) -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with tempfile.TemporaryDirectory() as tmp:
        config, url, db_path = start_instance(Path(tmp))
        db = sqlite3.connect(db_path)
        owner_id = db.execute("SELECT id FROM accounts WHERE local = 1").fetchone()[0]
        now = "2026-01-01T00:00:00.000Z"
        for i in range(actors):
            uri = f"http://remote{i % 50}.example/users/r{i}"
            db.execute("INSERT INTO accounts (id, local, username, domain, uri, inbox_url, public_key_pem, key_id,"
                       " fetched_at, created_at, updated_at) VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (10**15 + i, f"r{i}", f"remote{i % 50}.example", uri, f"{uri}/inbox", pem, f"{uri}#main-key",
                        "2999-01-01T00:00:00.000Z", now, now))
            db.execute("INSERT INTO follows (id, follower_id, target_id, uri, accepted, created_at)"
                       " VALUES (?, ?, ?, ?, 1, ?)", (10**15 + i, owner_id, 10**15 + i, f"{uri}#f", now))
        db.commit()
        db.close()
        bodies = []
        for n in range(posts):
            i = n % actors
            actor = f"http://remote{i % 50}.example/users/r{i}"
            note = {"id": f"{actor}/notes/{n}", "type": "Note", "attributedTo": actor, "content": f"<p>post {n}</p>",
                    "published": "2026-01-01T00:00:00Z", "to": ["https://www.w3.org/ns/activitystreams#Public"]}
            activity = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}/notes/{n}/activity",
                        "type": "Create", "actor": actor, "object": note}
            bodies.append((f"{actor}#main-key", json.dumps(activity).encode()))
        proc = serve(config, url)
        try:
            start = time.perf_counter()
            latencies = asyncio.run(_post_all(url, bodies, key, concurrency))
            elapsed = time.perf_counter() - start
            rss = _rss_mib(proc.pid)
            stored = sqlite3.connect(db_path).execute("SELECT count(*) FROM statuses WHERE local = 0").fetchone()[0]
        finally:
            proc.terminate()
            proc.wait()
    latencies.sort()
    return {"posts": posts, "stored": stored, "seconds": elapsed, "per_second": posts / elapsed,
            "p50_ms": statistics.median(latencies) * 1000, "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
            "rss_mib_after": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--actors", type=int, default=1000)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    d = bench_delivery(args.followers, args.hosts)
    print(f"delivery: {d['deliveries']} signed deliveries to {args.hosts} hosts in {d['seconds']:.2f} s = "
          f"{d['per_second']:.0f}/s (bad signatures: {d['bad_signatures']}; RSS after {d['rss_mib_after']:.1f} MiB)")
    i = bench_inbox(args.actors, args.posts)
    print(f"inbox: {i['posts']} signed Create POSTs from {args.actors} actors in {i['seconds']:.2f} s = "
          f"{i['per_second']:.0f}/s, p50 {i['p50_ms']:.1f} ms, p99 {i['p99_ms']:.1f} ms, stored {i['stored']} "
          f"(RSS after {i['rss_mib_after']:.1f} MiB)")


if __name__ == "__main__":
    main()
