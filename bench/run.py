"""`make bench`: every performance scenario of one `smallfedi serve` process, beside the floor
of its own stack measured in the same run, written to docs/benchmarks.md.

The floor is a hello-world Starlette app under the same uvicorn (bench/floor.py). Loads come
from wrk on loopback, 16 connections. Scenarios are interleaved round by round, so a noisy
moment hurts every figure a little rather than one figure a lot; each figure is the median of
the rounds, and the spread (max - min over the median) says how noisy it was.

Scenarios: start-up time and idle memory; WebFinger, the actor, the profile page and an
outbox page; the home timeline API at 10,000 and at 1,000,000 statuses; signed inbox POSTs
from 1,000 actors whose keys are known; a post delivered to 1,000 followers on 200 hosts while
the web face is probed; bytes per stored status; memory after all of it and over a soak.

Usage: .venv/bin/python bench/run.py [--rounds 5] [--duration 5] [--soak-minutes 3]
                                     [--large 1000000] [--out docs/benchmarks.md]
A benchmark, not a test: it asserts nothing, it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from common import add_followers, free_port, free_ports, wait_http  # noqa: E402
from timeline import TOKEN, build  # noqa: E402

CONNECTIONS = 16
# Servers start as an installed program does: with its bytecode compiled once and reused
# (pip compiles it at install; some environments forbid writing it, which slows every start).
SERVER_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
PLAIN = "without uvloop and httptools: "
NOW = "2026-01-01T00:00:00.000Z"


# --- Processes and measurements ------------------------------------------------------------

def rss_mib(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def serve(config: Path, url: str, probe: str = "/.well-known/nodeinfo", plain: bool = False) -> subprocess.Popen:
    """`smallfedi serve` on `config`; `plain`: with asyncio and h11 instead of uvloop and httptools."""
    log = open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "ab")
    command = [str(HERE / "plainloop.py")] if plain else ["-m", "smallfedi"]
    proc = subprocess.Popen([sys.executable, *command, "serve", "--config", str(config)], stdout=log, stderr=log,
                            env=SERVER_ENV)
    wait_http(url + probe, timeout=60)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class WrkResult:
    rps: float
    requests: int
    p50_ms: float
    p99_ms: float
    bad: int  # non-2xx/3xx answers and socket errors


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(url: str, headers: tuple[str, ...] = (), duration: int = 5, script: Path | None = None,
        script_args: tuple[str, ...] = ()) -> WrkResult:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for header in headers:
        cmd += ["-H", header]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(url)
    if script_args:
        cmd += ["--", *script_args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors:
        bad += sum(int(n) for n in errors.groups())
    return WrkResult(rps, requests, p50, p99, bad)


@dataclass
class Figure:
    """One scenario's values over the rounds."""
    values: list[float] = field(default_factory=list)
    p99s: list[float] = field(default_factory=list)
    bad: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> float:
        return (max(self.values) - min(self.values)) / self.median if self.median else 0.0

    @property
    def p99(self) -> float:
        return statistics.median(self.p99s) if self.p99s else 0.0


# --- The instances -------------------------------------------------------------------------

def read_scenarios(url: str, large_url: str | None) -> dict[str, tuple[str, tuple[str, ...]]]:
    host = url.split("//", 1)[1]
    ap = ("Accept: application/activity+json",)
    token = (f"Authorization: Bearer {TOKEN}",)
    scenarios = {
        "webfinger": (f"{url}/.well-known/webfinger?resource=acct:bench@{host}", ()),
        "actor": (f"{url}/users/bench", ap),
        "profile page": (f"{url}/@bench", ()),
        "outbox page": (f"{url}/users/bench/outbox?page=true", ap),
        "home timeline, 10k statuses": (f"{url}/api/v1/timelines/home?limit=20", token),
    }
    if large_url:
        scenarios["home timeline, 1M statuses"] = (f"{large_url}/api/v1/timelines/home?limit=20", token)
        scenarios["outbox page, 1M statuses"] = (f"{large_url}/users/bench/outbox?page=true", ap)
    return scenarios


def check_answers(scenarios: dict) -> None:
    """Each scenario answers 200 with the expected kind of body before it is loaded."""
    for name, (url, headers) in scenarios.items():
        response = httpx.get(url, headers=dict(h.split(": ", 1) for h in headers), timeout=30)
        if response.status_code != 200 or not response.content:
            raise SystemExit(f"{name}: {url} answered {response.status_code}: {response.text[:200]}")


def add_inbox_actors(db_path: Path, actors: int, pems: list[str]) -> list[str]:
    """Remote actors the owner follows, keys already fetched; returns their ids."""
    db = sqlite3.connect(db_path)
    owner_id = db.execute("SELECT id FROM accounts WHERE local = 1").fetchone()[0]
    uris = []
    for i in range(actors):
        host = f"remote{i % 50}.example"
        uri = f"https://{host}/users/r{i}"
        uris.append(uri)
        db.execute("INSERT INTO accounts (id, local, username, domain, uri, inbox_url, public_key_pem, key_id,"
                   " fetched_at, created_at, updated_at) VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (10**15 + i, f"r{i}", host, uri, f"{uri}/inbox", pems[i % len(pems)], f"{uri}#main-key",
                    "2999-01-01T00:00:00.000Z", NOW, NOW))
        db.execute("INSERT INTO follows (id, follower_id, target_id, uri, accepted, created_at)"
                   " VALUES (?, ?, ?, ?, 1, ?)", (10**15 + i, owner_id, 10**15 + i, f"{uri}#f", NOW))
    db.execute("INSERT OR IGNORE INTO oauth_apps (id, client_id, client_secret_hash, name, redirect_uris, scopes,"
               " created_at) VALUES (1, 'bench', 'x', 'bench', 'urn:ietf:wg:oauth:2.0:oob', 'read write', ?)", (NOW,))
    import hashlib
    db.execute("INSERT OR IGNORE INTO oauth_tokens (id, token_hash, app_id, scopes, for_owner, created_at)"
               " VALUES (1, ?, 1, 'read write', 1, ?)", (hashlib.sha256(TOKEN.encode()).hexdigest(), NOW))
    db.commit()
    db.close()
    return uris


def _sign_batch(job: tuple) -> bytes:
    """Raw signed HTTP requests (length-prefixed, for replay.lua): Create(Note) from each actor."""
    url, actors, key_pems, start, count, tag = job
    from cryptography.hazmat.primitives import serialization

    from smallfedi.federation.signatures import sign_headers

    from datetime import datetime, timedelta, timezone

    keys = [serialization.load_pem_private_key(p.encode(), None) for p in key_pems]
    # Each post its own moment, as real ones have (ids are drawn from the publication time).
    base = datetime.now(timezone.utc) - timedelta(days=1)
    host = url.split("//", 1)[1]
    out = bytearray()
    for n in range(start, start + count):
        i = n % len(actors)
        actor = actors[i]
        note = {"id": f"{actor}/statuses/{tag}{n}", "type": "Note", "attributedTo": actor,
                "content": f"<p>Post number {n} from a busy hashtag, with a little text to make it look real.</p>",
                "published": (base + timedelta(milliseconds=7 * n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "cc": [f"{actor}/followers"]}
        body = json.dumps({"@context": "https://www.w3.org/ns/activitystreams", "id": f"{note['id']}/activity",
                           "type": "Create", "actor": actor, "object": note}).encode()
        headers = {"Content-Type": "application/activity+json"}
        headers.update(sign_headers("POST", f"{url}/inbox", headers, body, f"{actor}#main-key",
                                    keys[i % len(keys)]))
        head = f"POST /inbox HTTP/1.1\r\nHost: {host}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items() if k != "Host") + f"Content-Length: {len(body)}\r\n\r\n"
        raw = head.encode() + body
        out += f"{len(raw)}\n".encode() + raw
    return bytes(out)


def signed_requests(url: str, actors: list[str], key_pems: list[str], count: int, tag: str, path: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor

    workers = max(1, os.cpu_count() or 1)
    share = -(-count // workers)
    jobs = [(url, actors, key_pems, w * share, min(share, count - w * share), tag) for w in range(workers)
            if w * share < count]
    with ProcessPoolExecutor(workers) as pool:
        path.write_bytes(b"".join(pool.map(_sign_batch, jobs)))


def used_bytes(db_path: Path) -> int:
    """Bytes the database's pages hold (WAL included, free pages not)."""
    db = sqlite3.connect(db_path)
    try:
        pages = db.execute("PRAGMA page_count").fetchone()[0] - db.execute("PRAGMA freelist_count").fetchone()[0]
        return pages * db.execute("PRAGMA page_size").fetchone()[0]
    finally:
        db.close()


def count_remote(db_path: Path) -> int:
    db = sqlite3.connect(db_path)
    try:
        return db.execute("SELECT count(*) FROM statuses WHERE local = 0").fetchone()[0]
    finally:
        db.close()


def new_instance(folder: Path, private_ok: bool = False) -> tuple[Path, str, Path]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "smallfedi.toml"
    (folder / "pw").write_text("benchmark password\n")
    subprocess.run([sys.executable, "-m", "smallfedi", "init", "--config", str(config), "--url", url,
                    "--username", "bench", "--password-file", str(folder / "pw")], check=True, capture_output=True)
    if private_ok:
        config.write_text(config.read_text().replace("allow_private_addresses = false",
                                                     "allow_private_addresses = true"))
    return config, url, folder / "data" / "smallfedi.db"


# --- Scenarios -----------------------------------------------------------------------------

def startup_runs(folder: Path, runs: int) -> dict:
    """Start to first answer (WebFinger) and idle memory, `smallfedi serve` and the floor."""
    starts, rss, floor_rss = [], [], []
    for n in range(-1, runs):  # the first start (n = -1) compiles the bytecode and is not counted
        config, url, _ = new_instance(folder / f"start{n}")
        host = url.split("//", 1)[1]
        began = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "smallfedi", "serve", "--config", str(config)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=SERVER_ENV)
        try:
            while True:
                try:
                    if httpx.get(f"{url}/.well-known/webfinger?resource=acct:bench@{host}", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.005)
                if time.perf_counter() - began > 60:
                    raise SystemExit("the server did not start")
            if n < 0:
                continue
            starts.append((time.perf_counter() - began) * 1000)
            time.sleep(1.0)
            rss.append(rss_mib(proc.pid))
        finally:
            stop(proc)
        port = free_port()
        floor = subprocess.Popen([sys.executable, str(HERE / "floor.py"), str(port)])
        try:
            wait_http(f"http://127.0.0.1:{port}/")
            time.sleep(1.0)
            floor_rss.append(rss_mib(floor.pid))
        finally:
            stop(floor)
    return {"start_ms": Figure(starts), "idle_rss": Figure(rss), "floor_rss": Figure(floor_rss)}


def delivery_run(folder: Path, followers: int, hosts: int, rounds: int) -> list[dict]:
    """Posts to `followers` on `hosts` sink ports, one post per round after a first that warms
    the server up (what a fresh process loads on its first delivery is not the steady state),
    while a browser-like probe reads the owner's home page (signed in, so never from a cache)
    every 20 ms. One dict per measured round."""
    config, url, db_path = new_instance(folder, private_ok=True)
    control, *ports = free_ports(hosts + 1)
    pem = sqlite3.connect(db_path).execute("SELECT public_key_pem FROM accounts WHERE local = 1").fetchone()[0]
    (folder / "key.pem").write_text(pem)
    sink = subprocess.Popen([sys.executable, str(HERE / "sink.py"), "--key", str(folder / "key.pem"),
                             "--control", str(control), "--ports", ",".join(map(str, ports))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = None
    try:
        wait_http(f"http://127.0.0.1:{control}/count")
        add_followers(db_path, ports, followers)
        proc = serve(config, url)
        client = httpx.Client(base_url=url, timeout=30)
        page = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        client.post("/login", data={"csrf_token": csrf, "password": "benchmark password"})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)
        results = []
        for r in range(rounds + 1):
            latencies: list[float] = []
            running = threading.Event()
            running.set()

            def probe() -> None:
                with httpx.Client(base_url=url, cookies=client.cookies, timeout=30) as c:
                    while running.is_set():
                        t0 = time.perf_counter()
                        c.get("/").raise_for_status()
                        latencies.append((time.perf_counter() - t0) * 1000)
                        time.sleep(0.02)

            prober = threading.Thread(target=probe)
            prober.start()
            time.sleep(0.3)
            wanted = followers * (r + 1)
            started = time.perf_counter()
            client.post("/compose", data={"csrf_token": csrf, "text": f"to everyone, {r}", "visibility": "public"})
            while True:
                counts = httpx.get(f"http://127.0.0.1:{control}/count").json()
                if counts["verified"] + counts["failed"] >= wanted or time.perf_counter() - started > 300:
                    break
                time.sleep(0.01)
            elapsed = time.perf_counter() - started
            running.clear()
            prober.join()
            latencies.sort()
            if r == 0:
                continue  # the warm-up
            results.append({"per_second": followers / elapsed, "seconds": elapsed,
                            "undelivered": wanted - counts["verified"], "bad_signatures": counts["failed"],
                            "peak_rss": rss_mib(proc.pid, "VmHWM"),
                            "probe_p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
                            "probe_count": len(latencies)})
        return results
    finally:
        if proc is not None:
            stop(proc)
        stop(sink)


def local_post_bytes(url: str, db_path: Path, posts: int = 300) -> float:
    before = used_bytes(db_path)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
        for n in range(posts):
            c.post("/api/v1/statuses", data={"status": f"A post of a few words, number {n}, #bench @nobody"}
                   ).raise_for_status()
    return (used_bytes(db_path) - before) / posts


SOAK_LUA = """
-- wrk script: a mix of what strangers and the owner's app ask for.
local paths = {
  {"/.well-known/webfinger?resource=acct:bench@HOST", nil},
  {"/users/bench", "application/activity+json"},
  {"/@bench", nil},
  {"/users/bench/outbox?page=true", "application/activity+json"},
  {"/api/v1/timelines/home?limit=20", nil},
}
local n = 0
function request()
  n = n + 1
  local p = paths[(n % #paths) + 1]
  local headers = {["Authorization"] = "Bearer TOKEN"}
  if p[2] then headers["Accept"] = p[2] end
  return wrk.format("GET", p[1], headers)
end
"""


def soak(url: str, pid: int, minutes: float, folder: Path) -> list[tuple[float, float]]:
    """Mixed reads for `minutes` while a post is made every 2 s; RSS sampled every chunk."""
    script = folder / "soak.lua"
    script.write_text(SOAK_LUA.replace("HOST", url.split("//", 1)[1]).replace("TOKEN", TOKEN))
    samples = [(0.0, rss_mib(pid))]
    stop_posting = threading.Event()

    def poster() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
            n = 0
            while not stop_posting.wait(2.0):
                n += 1
                c.post("/api/v1/statuses", data={"status": f"soak post {n}"})

    thread = threading.Thread(target=poster)
    thread.start()
    began = time.perf_counter()
    chunk = 30 if minutes >= 2 else 10
    try:
        while time.perf_counter() - began < minutes * 60:
            wrk(url + "/", duration=chunk, script=script)
            samples.append(((time.perf_counter() - began) / 60, rss_mib(pid)))
    finally:
        stop_posting.set()
        thread.join()
    return samples


def soak_only(minutes: float, out: Path) -> None:
    """The soak alone, long: does memory stay flat under hours-like use?"""
    with tempfile.TemporaryDirectory(prefix="smallfedi-soak-") as tmp:
        folder = Path(tmp)
        config, url, _ = build(folder, 10_000)
        proc = serve(config, url)
        try:
            began = time.perf_counter()
            samples = soak(url, proc.pid, minutes, folder)
            took = (time.perf_counter() - began) / 60
        finally:
            stop(proc)
    rows = "\n".join(f"| {m:.1f} | {r:.1f} |" for m, r in samples)
    growth = samples[-1][1] - samples[1][1]
    out.write_text(f"""# Memory over a long soak

Written by `.venv/bin/python bench/run.py --soak-only --soak-minutes {minutes:g}` on
{time.strftime('%Y-%m-%d')} ({took:.0f} minutes). **Machine:** {machine()}.

One `smallfedi serve` process with 10,000 generated statuses, loaded at full speed by wrk
({CONNECTIONS} connections) with a mix of WebFinger, the actor, the profile page, an outbox
page and the home timeline API, while the owner's app posts every 2 seconds (each post
invalidates the cached public documents, so they are rendered again). RSS is sampled every
30 seconds.

Growth from the end of the first chunk to the end: **{growth:+.1f} MiB** (target: none).

| Minutes | RSS MiB |
|---:|---:|
{rows}
""")
    print(f"soak: {minutes:g} minutes, RSS {samples[1][1]:.1f} → {samples[-1][1]:.1f} MiB; written to {out}")


# --- The report ----------------------------------------------------------------------------

def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"Python": platform.python_version(), "SQLite": sqlite3.sqlite_version}
    for name in ("smallfedi", "starlette", "uvicorn", "uvloop", "httptools", "httpx", "cryptography",
                 "jinja2"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    found["wrk"] = (wrk_version.stdout + wrk_version.stderr).split()[1] if wrk_version.stdout + wrk_version.stderr else "?"
    return found


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def rounds(figure: Figure) -> str:
    """Each round's value, in the order they ran."""
    return " · ".join(f"{v:,.0f}" for v in figure.values)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def write_report(out: Path, args, results: dict, took: float) -> None:
    floor = results["reads"]["floor"]
    rows = []

    def throughput(name: str, fraction: int) -> None:
        f = results["reads"][name]
        ratio = f.median / floor.median
        rows.append(f"| {name} | {f.median:,.0f} req/s | {f.spread:.0%} | {rounds(f)} | 1/{floor.median / f.median:.1f} "
                    f"| ≥ 1/{fraction} | {f.p99:.1f} ms | {verdict(ratio >= 1 / fraction and not f.bad)}"
                    + (f" ({f.bad} bad answers)" if f.bad else "") + " |")

    rows.append(f"| floor: hello-world Starlette | {floor.median:,.0f} req/s | {floor.spread:.0%} | {rounds(floor)} "
                f"| 1 | | {floor.p99:.1f} ms | |")
    for name, fraction in (("webfinger", 3), ("actor", 3), ("profile page", 6), ("outbox page", 15),
                           ("outbox page, 1M statuses", 15), ("home timeline, 10k statuses", 20),
                           ("home timeline, 1M statuses", 20)):
        if name in results["reads"]:
            throughput(name, fraction)
    inbox = results["inbox"]
    rows.append(f"| signed inbox POSTs (Create, 1,000 actors) | {inbox.median:,.0f} /s | {inbox.spread:.0%} "
                f"| {rounds(inbox)} | 1/{floor.median / inbox.median:.1f} | ≥ 1/15, p99 < 50 ms | {inbox.p99:.1f} ms "
                f"| {verdict(inbox.median >= floor.median / 15 and inbox.p99 < 50 and not inbox.bad)} |")
    d = results["delivery"]
    rows.append(f"| delivery: 1 post → 1,000 followers on 200 hosts | {d['rate'].median:,.0f} /s "
                f"| {d['rate'].spread:.0%} | {rounds(d['rate'])} | | ≥ 1,000/s, web p99 < 50 ms | web {d['probe'].median:.1f} ms "
                f"| {verdict(d['rate'].median >= 1000 and d['probe'].median < 50)} |")

    plain_rows = []
    for name in ("floor", "profile page", "home timeline, 10k statuses"):
        fast, slow = results["reads"][name], results["reads"][PLAIN + name]
        plain_rows.append(f"| {name} | {fast.median:,.0f} req/s | {slow.median:,.0f} req/s "
                          f"| {fast.median / slow.median:.2f}× | {fast.p99:.1f} / {slow.p99:.1f} ms |")
    s = results["startup"]
    mem = results["memory"]
    soak_rows = "\n".join(f"| {m:.1f} | {r:.1f} |" for m, r in results["soak"])
    soak_growth = results["soak"][-1][1] - results["soak"][1][1] if len(results["soak"]) > 2 else 0.0
    text = f"""# Benchmarks

Written by `make bench` (`.venv/bin/python bench/run.py{''.join(' ' + a for a in sys.argv[1:])}`) on {time.strftime('%Y-%m-%d')};
the whole run took {took / 60:.1f} minutes. Rerun it to compare: figures move with the machine,
ratios to the floor much less.

**Machine:** {machine()}.
**Versions:** {', '.join(f'{k} {v}' for k, v in results['versions'].items())}.

**Method.** One `smallfedi serve` process per instance, with its default configuration
(SQLite in WAL mode, `synchronous=FULL`, uvicorn's event loop and HTTP parser picked
automatically: uvloop and httptools when installed; bytecode compiled, as after an install).
The load comes from wrk on loopback,
one thread, {CONNECTIONS} connections, {args.duration} s per figure. The floor is a hello-world
Starlette app under the same uvicorn (`bench/floor.py`), loaded the same way in every round.
Scenarios run interleaved, {args.rounds} rounds; each figure is the median of the rounds and
*spread* is (max − min) / median across them: how noisy the figure was. *p99* is wrk's 99th
percentile latency (median of the rounds). The read scenarios run against an instance of
10,000 generated statuses (the owner follows 100 accounts; half the posts are theirs or the
owner's) and, where named, one of {args.large:,} statuses; anonymous reads are what other
servers and visitors send, the home timeline carries an app's token.

## Throughput

| Scenario | Median | Spread | Rounds | vs floor | Target | p99 | Verdict |
|---|---:|---:|---|---:|---|---:|---|
{chr(10).join(rows)}

Inbox: each POST is a Create(Note) signed (draft-cavage rsa-sha256) by one of 1,000 remote
actors the owner follows, whose keys are already stored; every request is distinct and
prepared beforehand (`bench/replay.lua`), so wrk only sends. The figure counts posts
verified, stored and answered 202 ({inbox.bad} bad answers); afterwards the newest post
was {"" if results["inbox_visible"] else "**not** "}the first of the owner's home timeline.
Delivery: posts from the web face to 1,000 followers with personal inboxes on 200 sink
ports that verify every signature ({d['bad']} bad signatures or undelivered), one per round
after a first that warms the server up; meanwhile the owner's home page is fetched every 20 ms
(the median of the rounds' p99 shown). Peak RSS during delivery {d['peak'].median:.1f} MiB.

## uvloop and httptools

uvicorn picks uvloop (event loop) and httptools (HTTP parser) when they are installed, and
falls back to asyncio and h11 (pure Python) where a platform has no wheels for them. The
same scenarios with each, in the same rounds:

| Scenario | uvloop + httptools | asyncio + h11 | Gain | p99 (each) |
|---|---:|---:|---:|---:|
{chr(10).join(plain_rows)}

## Start-up and memory

| Figure | Median | Spread | Target | Verdict |
|---|---:|---:|---|---|
| start to first answer (WebFinger) | {s['start_ms'].median:.0f} ms | {s['start_ms'].spread:.0%} | ≤ 300 ms | {verdict(s['start_ms'].median <= 300)} |
| idle RSS after start-up | {s['idle_rss'].median:.1f} MiB | {s['idle_rss'].spread:.0%} | ≤ 36 MiB | {verdict(s['idle_rss'].median <= 36)} |
| floor's idle RSS (hello-world) | {s['floor_rss'].median:.1f} MiB | {s['floor_rss'].spread:.0%} | | |
| RSS after every load above (largest of the instances) | {mem['after_load']:.1f} MiB | | ≤ 64 MiB | {verdict(mem['after_load'] <= 64)} |
| peak RSS of any instance (VmHWM) | {mem['peak']:.1f} MiB | | | |
| RSS growth over the soak (after its first chunk) | {soak_growth:+.1f} MiB | | none | {verdict(soak_growth <= 2)} |

Soak: {args.soak_minutes} minutes of mixed reads (WebFinger, actor, profile page, outbox, home
timeline) at full speed from wrk while the owner's app posts every 2 s; RSS sampled each chunk
(the 30-minute soak of the targets: [soak.md](soak.md), from `--soak-only --soak-minutes 30`):

| Minutes | RSS MiB |
|---:|---:|
{soak_rows}

## Database growth

| Figure | Value |
|---|---:|
| bytes per remote status (stored by the inbox scenario, with its activity id) | {results['bytes_remote']:,.0f} |
| bytes per local status (posted through the API, with its Create activity) | {results['bytes_local']:,.0f} |
| database with {args.large:,} generated statuses | {results['large_mib']:,.0f} MiB |

A paged read at {args.large:,} statuses against the same read at 10,000 (medians above):
home timeline {results['reads']['home timeline, 1M statuses'].median / results['reads']['home timeline, 10k statuses'].median:.0%},
outbox page {results['reads']['outbox page, 1M statuses'].median / results['reads']['outbox page'].median:.0%}
of the smaller database's throughput.
"""
    out.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--soak-minutes", type=float, default=3)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--soak-only", action="store_true",
                        help="only the soak (e.g. --soak-minutes 30), its table written to docs/soak.md")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is missing (Debian/Ubuntu: apt-get install wrk)")
    if args.soak_only:
        soak_only(args.soak_minutes, ROOT / "docs" / "soak.md")
        return
    began = time.perf_counter()
    results: dict = {"versions": versions()}

    with tempfile.TemporaryDirectory(prefix="smallfedi-bench-") as tmp:
        folder = Path(tmp)
        say = lambda text: print(f"[{time.perf_counter() - began:6.0f} s] {text}", flush=True)  # noqa: E731
        say("start-up and idle memory")
        results["startup"] = startup_runs(folder, 5)

        say("building instances: 10,000 and %s statuses" % f"{args.large:,}")
        for name in ("small", "large", "plain"):
            (folder / name).mkdir()
        small_config, small_url, _ = build(folder / "small", 10_000)
        plain_config, plain_url, _ = build(folder / "plain", 10_000)
        large_config, large_url, _ = build(folder / "large", args.large)
        results["large_mib"] = (folder / "large" / "data" / "smallfedi.db").stat().st_size / 2**20
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(20)]
        private_pems = [k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode() for k in keys]
        public_pems = [k.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
                       for k in keys]
        inbox_config, inbox_url, inbox_db = new_instance(folder / "inbox")
        actors = add_inbox_actors(inbox_db, 1000, public_pems)

        floor_port, plain_floor_port = free_port(), free_port()
        floors = [subprocess.Popen([sys.executable, str(HERE / "floor.py"), str(floor_port)]),
                  subprocess.Popen([sys.executable, str(HERE / "floor.py"), str(plain_floor_port), "--loop", "asyncio",
                                    "--http", "h11"])]
        servers = [serve(small_config, small_url), serve(large_config, large_url), serve(inbox_config, inbox_url),
                   serve(plain_config, plain_url, plain=True)]
        try:
            wait_http(f"http://127.0.0.1:{floor_port}/")
            wait_http(f"http://127.0.0.1:{plain_floor_port}/")
            plain = read_scenarios(plain_url, None)
            scenarios = {"floor": (f"http://127.0.0.1:{floor_port}/", ()),
                         **read_scenarios(small_url, large_url),
                         PLAIN + "floor": (f"http://127.0.0.1:{plain_floor_port}/", ()),
                         PLAIN + "profile page": plain["profile page"],
                         PLAIN + "home timeline, 10k statuses": plain["home timeline, 10k statuses"]}
            check_answers(scenarios)
            for url, headers in scenarios.values():  # warm: caches, the page cache, the JIT-less paths
                wrk(url, headers, duration=1)
            reads = {name: Figure() for name in scenarios}
            inbox = Figure()
            growth: list[float] = []
            # Enough distinct requests for the inbox to reach twice its target each round.
            per_round = 4000
            for r in range(args.rounds):
                for name, (url, headers) in scenarios.items():
                    say(f"round {r + 1}/{args.rounds}: {name}")
                    result = wrk(url, headers, duration=args.duration)
                    reads[name].values.append(result.rps)
                    reads[name].p99s.append(result.p99_ms)
                    reads[name].bad += result.bad
                floor_now = statistics.median(reads["floor"].values)
                per_round = max(per_round, int(floor_now / 15 * args.duration * 2))
                say(f"round {r + 1}/{args.rounds}: signing {per_round:,} inbox requests")
                replay = folder / f"inbox{r}.raw"
                signed_requests(inbox_url, actors, private_pems, per_round, f"r{r}n", replay)
                say(f"round {r + 1}/{args.rounds}: inbox")
                stored_before = count_remote(inbox_db)
                bytes_before = used_bytes(inbox_db)
                result = wrk(inbox_url + "/inbox", duration=args.duration, script=HERE / "replay.lua",
                             script_args=(str(replay),))
                stored = count_remote(inbox_db) - stored_before
                if result.requests > per_round:
                    say(f"  the inbox took all {per_round:,} prepared requests: its figure is a lower bound")
                inbox.values.append(stored / args.duration)
                growth.append((used_bytes(inbox_db) - bytes_before) / max(1, stored))
                inbox.p99s.append(result.p99_ms)
                inbox.bad += result.bad
                replay.unlink()
            results["reads"] = reads
            results["inbox"] = inbox
            with httpx.Client(base_url=inbox_url, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
                newest = c.get("/api/v1/timelines/home?limit=1").json()
                last_uri = sqlite3.connect(inbox_db).execute(
                    "SELECT uri FROM statuses WHERE local = 0 ORDER BY id DESC LIMIT 1").fetchone()[0]
                results["inbox_visible"] = bool(newest) and newest[0]["uri"] == last_uri
            results["bytes_remote"] = statistics.median(growth)

            say("bytes per local status")
            results["bytes_local"] = local_post_bytes(small_url, folder / "small" / "data" / "smallfedi.db")
            say(f"soak: {args.soak_minutes} minutes")
            results["soak"] = soak(small_url, servers[0].pid, args.soak_minutes, folder)

            delivery = {"rate": Figure(), "probe": Figure(), "peak": Figure(), "bad": 0}
            say(f"delivery: a warm-up post and {args.rounds} measured ones")
            for d in delivery_run(folder / "delivery", 1000, 200, args.rounds):
                delivery["rate"].values.append(d["per_second"])
                delivery["probe"].values.append(d["probe_p99"])
                delivery["peak"].values.append(d["peak_rss"])
                delivery["bad"] += d["bad_signatures"] + d["undelivered"]
            results["delivery"] = delivery
            results["memory"] = {"after_load": max(rss_mib(p.pid) for p in servers),
                                 "peak": max([rss_mib(p.pid, "VmHWM") for p in servers]
                                             + delivery["peak"].values)}
        finally:
            for proc in servers + floors:
                stop(proc)
        write_report(args.out, args, results, time.perf_counter() - began)
    say(f"done: {args.out}")


if __name__ == "__main__":
    main()
