"""The client API as JavaScript apps use it: masto (masto.js, in Elk and Phanpy) and megalodon
(Whalebird, Fedistar), both from npm, against a real `smallfedi serve` on loopback.

js/clients.mjs signs each library in through OAuth (the browser step played with fetch: the
authorise page, the password, Allow) and makes the calls those apps make; it prints one JSON line
per check and stops at the first failure. The npm packages go to .cache/api/js under the
repository (ignored by git), once per package-lock (`npm ci`, no install scripts); later runs
reuse them and need no network.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need
from tests.npm import npm_ci

HERE = Path(__file__).parent
SOURCE = HERE / "js"
REPO = HERE.parent.parent
CACHE = REPO / ".cache" / "api" / "js"
RUN_TIMEOUT = 120  # seconds; a run takes a few when things work


def install_clients() -> tuple[Path, float]:
    took = npm_ci(SOURCE, CACHE, "clients.mjs", CACHE / "node_modules" / "megalodon")
    return CACHE, took


@pytest.fixture(scope="session")
def js_clients() -> Path:
    need(shutil.which("node") is not None and shutil.which("npm") is not None,
         "Node and npm are not installed (they run masto and megalodon)")
    folder, took = install_clients()
    print(f"\nmasto and megalodon ready in {took:.1f} s (0 = cached)")
    return folder


def test_masto_and_megalodon_sign_in_post_and_read(js_clients, server):
    # Its own process group, so a run that hangs is ended with everything it started.
    process = subprocess.Popen(["node", "clients.mjs", server.url, server.password], cwd=js_clients,
                               env={**os.environ, "NODE_NO_WARNINGS": "1"}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
    log = (server.folder / "serve.log").read_text(errors="replace")
    why = f"--- clients.mjs ({process.returncode})\n{out}\n{err[-5000:]}\n--- the server's log\n{log[-10000:]}"
    assert process.returncode == 0, why
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines and all(line["ok"] for line in lines), why
    assert lines[-1] == {"client": "-", "check": "all", "ok": True}, why
    checked = {line["client"] for line in lines}
    assert {"masto", "megalodon"} <= checked, why
    uploads = [line for line in lines if line["client"] == "masto" and line["check"].startswith("v2.media.create")]
    assert uploads and uploads[0]["type"] == "image", why
    assert uploads[0]["description"] == "A small gradient, blue at the bottom", why
    assert "Traceback" not in log, why
