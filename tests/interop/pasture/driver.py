"""One run of fediverse-pasture against a real smallfedi server, inside a loopback-only namespace.

tests/interop/test_pasture.py starts this with our interpreter under `unshare -n`, so the first
thing it does is bring up `lo`, the namespace's only interface: nothing pasture or bovine try
(downloading a JSON-LD context, say) can leave the machine. Then, all on 127.0.0.1:

  1. `smallfedi init` + `smallfedi serve` on :8080, owner alice, with private addresses allowed
     (the peer is on 127.0.0.1);
  2. pasture's verify_actor app on :2909 (verify_actor_app.py, in pasture's own virtualenv),
     after seeding bovine's JSON-LD cache (seed_jsonld_cache.py);
  3. verify_actor's check of http://127.0.0.1:8080/users/alice with its six test actors;
  4. every fediverse-pasture-inputs example POSTed, signed, to alice's inbox (send_inputs.py),
     from pasture's application actor, which the verify_actor app also serves (/actor);
  5. both servers stopped, then a JSON report on stdout: the verify_actor table, the status of
     every POST, the remote posts our database holds afterwards, what our server logged that
     looks like a crash, and any JSON-LD context bovine tried to download. Logs stay in WORK/smallfedi/serve.log and WORK/pasture/pasture.log.

usage: python driver.py --pasture-python PATH --work DIR
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
OUR_PORT = 8080  # fixed ports are safe: the namespace is new and ours alone
PASTURE_PORT = 2909
OUR_URL = f"http://127.0.0.1:{OUR_PORT}"
PASTURE_URL = f"http://127.0.0.1:{PASTURE_PORT}"
USERNAME = "alice"
ACTOR = f"{OUR_URL}/users/{USERNAME}"
# Lines in our log that mean a request crashed somewhere instead of being answered on purpose.
CRASH = re.compile(r"traceback|unhandled|exception in asgi|inbox failed on an activity", re.IGNORECASE)


def bring_loopback_up() -> list[str]:
    """`ip link set lo up` with one ioctl, then the interfaces we have: loopback alone."""
    fmt = "16sH22x"  # struct ifreq: the name, then ifr_flags
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack(fmt, fcntl.ioctl(s.fileno(), siocgifflags, struct.pack(fmt, b"lo", 0)))[1]
        fcntl.ioctl(s.fileno(), siocsifflags, struct.pack(fmt, b"lo", flags | iff_up))
    interfaces = sorted(name for _, name in socket.if_nameindex())
    if interfaces != ["lo"]:
        raise SystemExit(f"refusing to run: expected a loopback-only namespace, found {interfaces}")
    return interfaces


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 30, **kwargs) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}; see {log}")
        try:
            if httpx.get(url, timeout=2, **kwargs).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s; see {log}")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_smallfedi(folder: Path) -> subprocess.Popen:
    folder.mkdir(parents=True)
    config = folder / "smallfedi.toml"
    (folder / "password.txt").write_text("interop test password\n")
    subprocess.run([sys.executable, "-m", "smallfedi", "init", "--config", str(config), "--url", OUR_URL,
                    "--username", USERNAME, "--password-file", str(folder / "password.txt")],
                   check=True, capture_output=True, text=True, timeout=60)
    text = config.read_text()
    assert "allow_private_addresses = false" in text, text
    config.write_text(text.replace("allow_private_addresses = false", "allow_private_addresses = true"))
    log = folder / "serve.log"
    process = subprocess.Popen([sys.executable, "-m", "smallfedi", "serve", "--config", str(config)],
                               stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    wait_http(ACTOR, process, log, headers={"accept": "application/activity+json"})
    return process


def start_pasture(python: str, folder: Path) -> subprocess.Popen:
    folder.mkdir(parents=True)
    subprocess.run([python, str(HERE / "seed_jsonld_cache.py")], cwd=folder, check=True, timeout=60)
    log = folder / "pasture.log"
    env = {**os.environ, "PASTURE_DOMAIN": f"127.0.0.1:{PASTURE_PORT}", "PASTURE_TIMEOUT": "20"}
    process = subprocess.Popen(
        [python, "-m", "uvicorn", "--factory", "verify_actor_app:get_app", "--app-dir", str(HERE),
         "--host", "127.0.0.1", "--port", str(PASTURE_PORT)],
        cwd=folder, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    wait_http(f"{PASTURE_URL}/actor", process, log, timeout=60)  # first start generates 7 RSA keys
    return process


def verify_actor() -> dict:
    """verify_actor's own report: per test actor get_actor / post_inbox, and webfinger."""
    response = httpx.post(f"{PASTURE_URL}/", data={"actor_uri": ACTOR},
                          headers={"accept": "application/json"}, timeout=120)
    response.raise_for_status()
    data = response.json()
    return {"result": data["result"], "messages": json.loads(data["messages"])}


def send_inputs(python: str, folder: Path) -> list[dict]:
    out = folder / "inputs.json"
    with open(folder / "send_inputs.log", "wb") as log:
        subprocess.run([python, str(HERE / "send_inputs.py"), ACTOR, PASTURE_URL, str(out)],
                       cwd=folder, stdout=log, stderr=subprocess.STDOUT, check=True, timeout=150)
    return json.loads(out.read_text())


def contexts_downloaded(folder: Path) -> list[str]:
    """Contexts bovine had to look up beyond the seeded ones (each one it tried to download)."""
    seeded = set(json.loads((HERE / "contexts.json").read_text()))
    db = sqlite3.connect(folder / "bovine_jsonld_cache.sqlite")
    try:
        urls = [url for (url,) in db.execute("SELECT url FROM jsonld")]
    finally:
        db.close()
    return sorted(set(urls) - seeded)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pasture-python", required=True)
    parser.add_argument("--work", required=True, type=Path)
    args = parser.parse_args()
    report: dict = {"interfaces": bring_loopback_up(), "timings": {}, "errors": []}
    ours = pasture = None
    t0 = time.monotonic()
    try:
        ours = start_smallfedi(args.work / "smallfedi")
        pasture = start_pasture(args.pasture_python, args.work / "pasture")
        report["timings"]["start"] = round(time.monotonic() - t0, 1)
        t = time.monotonic()
        report["verify_actor"] = verify_actor()
        report["timings"]["verify_actor"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        report["inputs"] = send_inputs(args.pasture_python, args.work / "pasture")
        report["timings"]["inputs"] = round(time.monotonic() - t, 1)
        report["smallfedi_alive"] = ours.poll() is None
    except Exception as exc:  # noqa: BLE001 - reported, and the test fails on it
        report["errors"].append(f"{type(exc).__name__}: {exc}")
    finally:
        stop(pasture)
        stop(ours)
    log = args.work / "smallfedi" / "serve.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    report["crash_lines"] = [line for line in lines if CRASH.search(line)]
    try:
        db = sqlite3.connect(args.work / "smallfedi" / "data" / "smallfedi.db")
        report["stored_uris"] = sorted(uri for (uri,) in db.execute("SELECT uri FROM statuses WHERE local = 0"))
        db.close()
    except Exception as exc:  # noqa: BLE001
        report["errors"].append(f"reading our database: {exc}")
    try:
        report["contexts_downloaded"] = contexts_downloaded(args.work / "pasture")
    except Exception as exc:  # noqa: BLE001
        report["errors"].append(f"reading the JSON-LD cache: {exc}")
    report["timings"]["total"] = round(time.monotonic() - t0, 1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
