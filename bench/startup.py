"""Start-up time and idle memory of `smallfedi serve`, measured as on a Pi: one process.

Initialises a throwaway instance, starts the server, times the first successful response (a
WebFinger lookup: cheap, so the figure is "idle after one request"), then reads the process's
resident memory (VmRSS, VmHWM) from /proc. Runs several times and prints the median.
Usage: .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def one_run(folder: Path) -> tuple[float, int, int]:
    port = free_port()
    config = folder / f"c{port}.toml"
    pw = folder / "pw"
    pw.write_text("benchmark password\n")
    subprocess.run([sys.executable, "-m", "smallfedi", "init", "--config", str(config), "--url",
                    f"http://127.0.0.1:{port}", "--username", "bench", "--password-file", str(pw),
                    "--data-dir", str(folder / f"d{port}")], check=True, capture_output=True)
    webfinger = f"http://127.0.0.1:{port}/.well-known/webfinger?resource=acct:bench@127.0.0.1:{port}"
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "smallfedi", "serve", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(webfinger, timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.005)
            if time.perf_counter() - start > 30:
                raise RuntimeError("server did not start")
        first_response = time.perf_counter() - start
        time.sleep(1.0)  # let it settle: this is "idle right after start-up"
        mem = rss_kib(proc.pid)
        return first_response, mem["VmRSS"], mem["VmHWM"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [one_run(Path(tmp)) for _ in range(args.runs)]
    starts = [r[0] * 1000 for r in results]
    rss = [r[1] / 1024 for r in results]
    hwm = [r[2] / 1024 for r in results]
    print(f"runs: {args.runs}")
    print(f"start to first response: median {statistics.median(starts):.0f} ms "
          f"(min {min(starts):.0f}, max {max(starts):.0f})")
    print(f"idle RSS after start-up: median {statistics.median(rss):.1f} MiB "
          f"(min {min(rss):.1f}, max {max(rss):.1f}); peak {statistics.median(hwm):.1f} MiB")


if __name__ == "__main__":
    main()
