"""Latency of `GET /api/v1/timelines/home?limit=40` as the database grows.

Builds a throwaway instance per size, fills it straight through SQLite (the owner follows
100 accounts; half of all posts come from them or the owner, half from 400 accounts the owner
does not follow, as boosts and replies bring in), adds an API token, starts one `smallfedi
serve` process and times sequential requests from one client: the newest page, and a page
deep in the past (max_id at the middle of the database).

Usage: .venv/bin/python bench/timeline.py [--sizes 10000 1000000] [--requests 200]
This is a benchmark, not a test: figures vary with the machine; run it a few times.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, wait_http  # noqa: E402  (same folder)

FOLLOWED, STRANGERS = 100, 400
TOKEN = "bench-token-" + "x" * 32


def build(folder: Path, size: int) -> tuple[Path, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = folder / "smallfedi.toml"
    (folder / "pw").write_text("benchmark password\n")
    subprocess.run([sys.executable, "-m", "smallfedi", "init", "--config", str(config), "--url", url,
                    "--username", "bench", "--password-file", str(folder / "pw")], check=True, capture_output=True)
    db = sqlite3.connect(folder / "data" / "smallfedi.db")
    owner_id = db.execute("SELECT id FROM accounts WHERE local = 1").fetchone()[0]
    now = "2026-01-01T00:00:00.000Z"
    accounts = []
    for n in range(FOLLOWED + STRANGERS):
        account_id = owner_id + 1000 + n
        host = f"h{n % 50}.example"
        accounts.append(account_id)
        db.execute("INSERT INTO accounts (id, username, domain, uri, inbox_url, created_at, updated_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (account_id, f"u{n}", host, f"https://{host}/users/u{n}", f"https://{host}/inbox", now, now))
        if n < FOLLOWED:
            db.execute("INSERT INTO follows (id, follower_id, target_id, uri, accepted, created_at)"
                       " VALUES (?, ?, ?, ?, 1, ?)", (account_id, owner_id, account_id, f"{url}/f/{n}", now))
    rng = random.Random(1)
    base = int(time.time() * 1000) - size  # one post a millisecond, ending now
    body = "<p>" + "words and more words " * 12 + "</p>"

    def rows():
        for i in range(size):
            status_id = (base + i) << 16
            if rng.random() < 0.5:
                author = owner_id if rng.random() < 0.1 else accounts[rng.randrange(FOLLOWED)]
            else:
                author = accounts[FOLLOWED + rng.randrange(STRANGERS)]
            local = int(author == owner_id)
            uri = f"{url}/users/bench/statuses/{status_id}" if local else f"https://r.example/s/{status_id}"
            yield (status_id, uri, author, local, body, "public", now)

    db.executemany("INSERT INTO statuses (id, uri, account_id, local, content, visibility, created_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)", rows())
    app_id = 1
    db.execute("INSERT INTO oauth_apps (id, client_id, client_secret_hash, name, redirect_uris, scopes, created_at)"
               " VALUES (?, 'bench', 'x', 'bench', 'urn:ietf:wg:oauth:2.0:oob', 'read write', ?)", (app_id, now))
    db.execute("INSERT INTO oauth_tokens (id, token_hash, app_id, scopes, for_owner, created_at)"
               " VALUES (1, ?, ?, 'read write', 1, ?)", (hashlib.sha256(TOKEN.encode()).hexdigest(), app_id, now))
    db.commit()
    middle = db.execute("SELECT id FROM statuses ORDER BY id LIMIT 1 OFFSET ?", (size // 2,)).fetchone()[0]
    db.close()
    return config, url, middle


def measure(client: httpx.Client, path: str, count: int) -> dict:
    for _ in range(10):
        client.get(path).raise_for_status()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200 and len(response.json()) == 40, response.text[:200]
    times.sort()
    return {"median": statistics.median(times), "p90": times[int(len(times) * 0.9)],
            "p99": times[min(len(times) - 1, int(len(times) * 0.99))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: Python {sys.version.split()[0]}; {args.requests} sequential requests per figure")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            config, url, middle = build(Path(tmp), size)
            built = time.perf_counter() - started
            db_bytes = (Path(tmp) / "data" / "smallfedi.db").stat().st_size
            server = subprocess.Popen([sys.executable, "-m", "smallfedi", "serve", "--config", str(config)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_http(f"{url}/api/v1/instance")
                with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
                    newest = measure(c, "/api/v1/timelines/home?limit=40", args.requests)
                    deep = measure(c, f"/api/v1/timelines/home?limit=40&max_id={middle}", args.requests)
            finally:
                server.terminate()
                server.wait(timeout=30)
            print(f"{size:>9,} statuses ({db_bytes / 2**20:,.0f} MiB, built in {built:.0f} s): "
                  f"newest page median {newest['median']:.1f} ms (p90 {newest['p90']:.1f}, p99 {newest['p99']:.1f}); "
                  f"deep page median {deep['median']:.1f} ms (p90 {deep['p90']:.1f}, p99 {deep['p99']:.1f})")


if __name__ == "__main__":
    main()
