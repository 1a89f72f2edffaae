"""Interoperability with independent software: fediverse-pasture (PyPI), the Fediverse test kit.

fediverse-pasture is written by others, on the bovine library (its own HTTP Signatures, JSON-LD
and WebFinger code), so what it reports about our server is not our code grading itself:

* verify_actor checks our actor with six test actors of its own: alice and dean POST unsigned
  (we must refuse), bob, claire, emily and frank POST signed (we must accept), claire's and
  frank's actors answer only signed GETs (we must fetch their keys signed), dean, emily and
  frank have no WebFinger and no preferredUsername; then a WebFinger round trip of our handle.
* fediverse-pasture-inputs holds the real-world payload shapes behind pasture's support tables
  (262 in 0.3.0: odd HTML, missing ids, lists where values were expected, ...). Each is POSTed,
  signed, to our inbox: every answer must be a 2xx or a 4xx we chose, never a 5xx or a dropped
  connection, and our server must log no crash.

Both run inside a network namespace that has only a loopback interface, driven by
pasture/driver.py against a real `smallfedi serve`. Pasture goes in its own virtualenv (it
pins a stack of its own), under .cache/interop/pasture-venv (ignored by git), installed once
outside the namespace since that needs PyPI; later runs reuse it.
"""

from __future__ import annotations

import collections
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import need

HERE = Path(__file__).parent
REPO = HERE.parent.parent
PASTURE = HERE / "pasture"
CACHE = Path(os.environ.get("SMALLFEDI_INTEROP_CACHE", REPO / ".cache" / "interop"))
VENV = CACHE / "pasture-venv"
PYTHON = VENV / "bin" / "python"
REQUIREMENTS = ("fediverse-pasture==0.2.25", "fediverse-pasture-inputs==0.3.0")
EXAMPLES = 262  # examples in fediverse-pasture-inputs 0.3.0
DRIVER_TIMEOUT = 300  # seconds; a run takes about 10 when things work
POST_TYPES = {"Note", "Article", "Page", "Question"}  # the object types we keep as posts

# verify_actor's expected table: (GET our actor, POST to our inbox) per test actor.
EXPECTED_TABLE = {
    "alice": (True, False),   # unsigned POST: refused
    "bob": (True, True),
    "claire": (True, True),   # her actor needs a signed GET: we fetch her key signed
    "dean": (True, False),    # unsigned POST: refused
    "emily": (True, True),    # no preferredUsername
    "frank": (True, True),    # no preferredUsername, signed GET required
}


def _unshare_works() -> tuple[bool, str]:
    program = shutil.which("unshare")
    if program is None:
        return False, "the `unshare` program (util-linux) is not installed"
    try:
        probe = subprocess.run([program, "-n", "true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"`unshare -n` could not run: {exc}"
    if probe.returncode != 0:
        return False, f"`unshare -n` failed (needs root or CAP_SYS_ADMIN): {probe.stderr.strip()}"
    return True, ""


def install_pasture() -> float:
    """The pasture virtualenv, made when missing or when REQUIREMENTS changed. Returns the seconds
    the install took (0 when cached); skips (fails in CI) when PyPI can't be reached."""
    stamp_value = "\n".join((*REQUIREMENTS, sys.version.split()[0]))
    stamp = VENV / ".installed"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "pasture-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel sessions install once
        if stamp.exists() and stamp.read_text() == stamp_value and PYTHON.exists():
            return 0.0
        started = time.monotonic()
        shutil.rmtree(VENV, ignore_errors=True)
        made = subprocess.run([sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True,
                              timeout=300)
        need(made.returncode == 0, f"could not create a virtualenv: {made.stderr.strip()[-500:]}")
        pip = subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              *REQUIREMENTS], capture_output=True, text=True, timeout=900)
        if pip.returncode != 0:
            shutil.rmtree(VENV, ignore_errors=True)
            need(False, f"could not install {' '.join(REQUIREMENTS)} from PyPI:\n{pip.stderr.strip()[-2000:]}")
        stamp.write_text(stamp_value)
        return time.monotonic() - started


def _tail(path: Path, chars: int = 12000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(none)"


def _logs(work: Path) -> str:
    return "\n".join(f"--- {name} ---\n{_tail(work / name)}"
                     for name in ("smallfedi/serve.log", "pasture/pasture.log", "pasture/send_inputs.log"))


@pytest.fixture(scope="module")
def pasture_run(tmp_path_factory):
    """One driver run: both checks against one server. Returns (report, explanation on failure)."""
    ok, why = _unshare_works()
    need(ok, why)
    took = install_pasture()
    work = tmp_path_factory.mktemp("pasture")
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    argv = [shutil.which("unshare"), "-n", "--", sys.executable, str(PASTURE / "driver.py"),
            "--pasture-python", str(PYTHON), "--work", str(work)]
    started = time.monotonic()
    # Its own session, so a run that hangs ends with everything it started.
    process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=DRIVER_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"the pasture driver did not finish in {DRIVER_TIMEOUT} s\n{err[-5000:]}\n{_logs(work)}")
    if process.returncode != 0 or not out.strip():
        pytest.fail(f"the pasture driver failed ({process.returncode}):\n{err[-10000:]}\n{_logs(work)}")
    report = json.loads(out)
    print(f"\npasture: install {took:.1f} s (0 = cached), driver {time.monotonic() - started:.1f} s, "
          f"phases {report['timings']}")
    explanation = "\n".join([
        "driver errors: " + json.dumps(report["errors"]),
        "our crash lines: " + json.dumps(report["crash_lines"][:20], indent=1),
        "verify_actor: " + json.dumps(report.get("verify_actor"), indent=1)[-8000:],
        "inputs not 202: " + json.dumps([r for r in report.get("inputs", []) if r["status"] != 202], indent=1)[-8000:],
        _logs(work),
    ])
    return report, explanation


def test_namespace_and_run_are_sound(pasture_run):
    report, why = pasture_run
    assert report["interfaces"] == ["lo"]  # nothing could leave the machine
    assert report["errors"] == [], why
    # Every JSON-LD context pasture needed came from our seeded cache, none from a failed download
    # (an empty security context would make pasture misread every key).
    assert report["contexts_downloaded"] == [], why


def test_verify_actor_table(pasture_run):
    report, why = pasture_run
    result = report["verify_actor"]["result"]
    table = {name: (row["get_actor"], row["post_inbox"]) for name, row in result.items() if name != "webfinger"}
    print("\nactor   GET actor  POST inbox")
    for name, (get, post) in table.items():
        print(f"{name:7} {get!s:10} {post}")
    print(f"webfinger round trip: {result['webfinger']}")
    assert table == EXPECTED_TABLE, why
    assert result["webfinger"] is True, why
    assert report["crash_lines"] == [], why


def test_every_pasture_input_is_answered_on_purpose(pasture_run):
    report, why = pasture_run
    results = report["inputs"]
    histogram = collections.Counter(str(r["status"]) for r in results)
    print(f"\nsent {len(results)} pasture inputs; HTTP status histogram: {dict(histogram)}")
    assert len(results) == EXAMPLES, why
    assert report["smallfedi_alive"], why
    failures = [r for r in results if not (isinstance(r["status"], int) and 200 <= r["status"] < 500)]
    assert failures == [], why
    # A 4xx is deliberate when our inbox said why; an unexpected error would have logged a traceback.
    assert report["crash_lines"] == [], why
    # What we accepted as a post is stored: 202 means the post is there, not merely not crashed.
    stored = set(report["stored_uris"])
    lost = [r for r in results if r["status"] == 202 and r["object_id"] not in stored
            and set(r["type"] if isinstance(r["type"], list) else [r["type"]]) & POST_TYPES]
    assert lost == [], why
    # The plain Note (pasture's baseline example) and at least most inputs went in as posts.
    assert any(r["input"] == "necessary_properties" and r["n"] == 0 and r["object_id"] in stored
               for r in results), why
    assert len(stored) >= EXAMPLES * 0.9, why
