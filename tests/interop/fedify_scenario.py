"""The scenario of tests/interop/test_fedify.py, run inside a loopback-only network namespace.

    unshare -n -- python -m tests.interop.fedify_scenario --peer-dir DIR --node NODE --work DIR
        [--first-knock rfc9421|draft-cavage-http-signatures-12]

It starts a real `smallfedi serve` and the Fedify peer (peer.mjs in --peer-dir, where its npm
packages are installed), then plays the scenario over HTTP: the peer through its admin API, our
side as its owner would, through the HTML pages and their forms. Each step waits (with a
deadline, polling) for what the other side should show, and stops at the first that never
comes. It prints one JSON document: the steps, the peer's log (what Fedify received and
verified, and every request it sent with its signature scheme and our answer), our server's
interfaces and log. The pytest side asserts on it; nothing is asserted here beyond the polling.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import subprocess
import sys
import time
import traceback
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests import media_samples
from tests.conftest import PASSWORD, USERNAME, Server, csrf_of, free_port
from tests.interop.netns import bring_loopback_up

PHOTO_ALT = "A red wall, half in shadow"
STEP_TIMEOUT = 15.0  # seconds for one step's effect to show; all are sub-second when things work
POLL = 0.05


class StepFailed(Exception):
    pass


def until(what: str, probe, timeout: float = STEP_TIMEOUT):
    """Call `probe` until it returns something truthy; StepFailed after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = probe()
        except httpx.HTTPError as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            raise StepFailed(f"timed out waiting for {what} (last: {last!r})")
        time.sleep(POLL)


class Peer:
    """The Fedify peer process and its admin API."""

    def __init__(self, node: str, peer_dir: Path, work: Path, first_knock: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.handle = f"fedi@127.0.0.1:{self.port}"
        self.actor = f"{self.url}/users/fedi"
        self.log_path = work / "peer.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(Path(node).resolve()), "peer.mjs", "--port", str(self.port), "--first-knock", first_knock],
            cwd=peer_dir, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def wait_ready(self) -> None:
        def ready():
            if self.process.poll() is not None:
                raise StepFailed(f"the peer exited with {self.process.returncode}")
            return self.http.get("/admin/log").status_code == 200
        until("the Fedify peer to listen", ready, timeout=30)

    def admin(self, path: str, **body) -> dict:
        response = self.http.post(path, json=body)
        if response.status_code != 200:
            raise StepFailed(f"peer {path} answered {response.status_code}: {response.text[:2000]}")
        return response.json()

    def log(self) -> dict:
        return self.http.get("/admin/log").json()

    def received(self, type_: str, **match) -> dict | None:
        for item in self.log()["received"]:
            if item["type"] == type_ and all(item.get(k) == v for k, v in match.items()):
                return item
        return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class Owner:
    """Our instance's owner in a browser: a cookie jar, the pages, and their forms."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)

    def sign_in(self) -> None:
        page = self.http.get("/login")
        response = self.http.post("/login", data={"csrf_token": csrf_of(page.text), "password": PASSWORD,
                                                  "next": "/"})
        if response.status_code != 303:
            raise StepFailed(f"sign-in answered {response.status_code}")

    def page(self, path: str) -> str:
        response = self.http.get(path)
        if response.status_code != 200:
            raise StepFailed(f"GET {path} answered {response.status_code}")
        return unescape(response.text)

    def submit(self, page_path: str, action: str, data: dict, files: dict | None = None) -> httpx.Response:
        """Load the page holding the form (for its CSRF token), then submit the form."""
        token = csrf_of(self.http.get(page_path).text)
        response = self.http.post(action, data={"csrf_token": token, **data}, files=files)
        if response.status_code != 303:
            raise StepFailed(f"POST {action} answered {response.status_code}: {response.text[:2000]}")
        return response


def articles(html: str) -> list[str]:
    """The status cards of a timeline page."""
    return html.split('<article class="status')[1:]


def people(html: str) -> list[str]:
    """The handles listed on a people page (followers, following)."""
    main = html.split('<ul class="people">', 1)[1].split("</ul>", 1)[0] if '<ul class="people">' in html else ""
    return re.findall(r'<span class="handle">@([^<]+)</span>', main)


def notifications(html: str) -> list[tuple[str, str]]:
    """(type, the person's handle) of each notification on /notifications."""
    found = []
    for item in html.split('<li class="notification ')[1:]:
        kind = item.split('"', 1)[0]
        handle = re.search(r'<span class="handle">@([^<]+)</span>', item)
        found.append((kind, handle.group(1) if handle else ""))
    return found


def run(args: argparse.Namespace) -> dict:
    result: dict = {"steps": [], "failed": None, "first_knock_setting": args.first_knock}
    result["interfaces"] = bring_loopback_up()
    work = Path(args.work)
    server = Server(work / "smallfedi")
    peer = None
    started = time.monotonic()

    def step(name: str, action) -> None:
        t0 = time.monotonic()
        detail = action()
        result["steps"].append({"name": name, "seconds": round(time.monotonic() - t0, 3), "detail": detail})

    try:
        server.init()
        config = server.config.read_text(encoding="utf-8")
        assert "allow_private_addresses = false" in config, "init wrote an unexpected config"
        # The peer lives on 127.0.0.1, which our SSRF guard refuses unless told otherwise.
        server.config.write_text(config.replace("allow_private_addresses = false",
                                                "allow_private_addresses = true"), encoding="utf-8")
        peer = Peer(args.node, Path(args.peer_dir), work, args.first_knock)
        server.start()
        peer.wait_ready()
        result["startup_seconds"] = round(time.monotonic() - started, 3)
        ours = server.url
        our_actor = f"{ours}/users/{USERNAME}"
        peer_handle = f"@{peer.handle}"
        owner = Owner(ours)
        owner.sign_in()
        state: dict = {}

        def peer_follows_us():
            sent = peer.admin("/admin/follow", target=our_actor)["sent"]
            until("the peer on our /followers page", lambda: peer.handle in people(owner.page("/followers")))
            accept = until("our Accept, verified by the peer",
                           lambda: peer.received("Accept", actor=our_actor, object=sent["id"]))
            until("a follow notification", lambda: ("follow", peer.handle) in notifications(owner.page("/notifications")))
            state["followers_before"] = len(people(owner.page("/followers")))
            state["followers_total_before"] = _followers_total(owner, our_actor)
            return {"follow": sent["id"], "accept": accept["id"], "followers": state["followers_before"],
                    "followers_totalItems": state["followers_total_before"]}

        def we_follow_peer():
            # Found by handle through WebFinger over http (our own URL is http, so we look up http).
            response = owner.submit("/follow", "/follow", {"query": peer_handle})
            account_path = response.headers["location"]
            follow = until("our Follow, verified by the peer", lambda: peer.received("Follow", actor=our_actor))
            until("the peer's Accept to show on the account page",
                  lambda: "You follow them." in owner.page(account_path))
            until("us among the peer's followers", lambda: our_actor in peer.log()["followers"])
            return {"account_page": account_path, "follow": follow["id"]}

        def peer_posts():
            token = "fedify-note-" + secrets.token_hex(4)
            out = peer.admin("/admin/note", content=f"<p>Greetings from Fedify {token}</p>")
            state.update(peer_token=token, peer_note=out["note"], peer_note_key=out["id"])
            until("the peer's note in our home timeline", lambda: token in owner.page("/"))
            return {"note": out["note"], "delivered_to_followers": out["followers"]}

        def owner_posts():
            # With a photo and its alt text, through the compose form as a browser sends it.
            token = "smallfedi-post-" + secrets.token_hex(4)
            owner.submit("/", "/compose", {"text": f"Hello Fedify, this is {token}", "visibility": "public",
                                           "description_0": PHOTO_ALT},
                         files={"file_0": ("photo.jpg", media_samples.jpeg(640, 480), "image/jpeg")})
            create = until("our Create, verified by the peer", lambda: next(
                (r for r in peer.log()["received"]
                 if r["type"] == "Create" and r["actor"] == our_actor and token in (r.get("content") or "")), None))
            state.update(our_token=token, our_note=create["object"])
            attachments = create.get("attachments") or []
            fetched = [_fetch_status(a["url"]) for a in attachments if a.get("url")]
            return {"create": create["id"], "note": create["object"], "object_type": create["object_type"],
                    "attachments": attachments, "attachment_fetches": fetched}

        def peer_likes_and_boosts():
            like = peer.admin("/admin/like", object=state["our_note"])["sent"]
            announce = peer.admin("/admin/announce", object=state["our_note"])["sent"]
            for kind in ("favourite", "reblog"):
                until(f"a {kind} notification from the peer",
                      lambda: (kind, peer.handle) in notifications(owner.page("/notifications")))
            return {"like": like["id"], "announce": announce["id"]}

        def owner_likes_and_boosts():
            card = until("the peer's note as a card on our home page",
                         lambda: next((a for a in articles(owner.page("/")) if state["peer_token"] in a), None))
            status_id = re.search(r'action="/statuses/(\d+)/favourite"', card).group(1)
            for action in ("favourite", "reblog"):
                owner.submit("/", f"/statuses/{status_id}/{action}", {"next": "/"})
            like = until("our Like, verified by the peer",
                         lambda: peer.received("Like", actor=our_actor, object=state["peer_note"]))
            announce = until("our Announce, verified by the peer",
                             lambda: peer.received("Announce", actor=our_actor, object=state["peer_note"]))
            return {"status_id": status_id, "like": like["id"], "announce": announce["id"]}

        def peer_deletes():
            peer.admin("/admin/delete", id=state["peer_note_key"])

            def gone():
                home = owner.page("/")
                assert state["our_token"] in home, "our own post vanished from the home page"
                return state["peer_token"] not in home
            until("the peer's note (and our boost of it) to leave our home timeline", gone)
            return {"deleted": state["peer_note"]}

        def peer_unfollows():
            sent = peer.admin("/admin/unfollow", target=our_actor)["sent"]
            until("the peer to leave our /followers page", lambda: peer.handle not in people(owner.page("/followers")))
            after = len(people(owner.page("/followers")))
            total_after = _followers_total(owner, our_actor)
            # We still follow the peer: the Undo undid only its follow of us.
            still_following = peer.handle in people(owner.page("/following"))
            return {"undo": sent["id"], "followers_before": state["followers_before"], "followers_after": after,
                    "followers_totalItems_before": state["followers_total_before"],
                    "followers_totalItems_after": total_after, "we_still_follow_the_peer": still_following}

        for name, action in (("peer follows us", peer_follows_us), ("we follow the peer", we_follow_peer),
                             ("peer posts a note", peer_posts), ("we post", owner_posts),
                             ("peer likes and boosts our post", peer_likes_and_boosts),
                             ("we like and boost the peer's note", owner_likes_and_boosts),
                             ("peer deletes its note", peer_deletes), ("peer unfollows us", peer_unfollows)):
            try:
                step(name, action)
            except Exception as exc:  # noqa: BLE001 - reported, with the logs, to the pytest side
                result["failed"] = {"step": name, "error": f"{type(exc).__name__}: {exc}",
                                    "traceback": traceback.format_exc()}
                break
        result["peer_url"] = peer.url
        result["our_url"] = ours
        result["peer_log"] = peer.log()
    except Exception as exc:  # noqa: BLE001
        result["failed"] = result["failed"] or {"step": "setup", "error": f"{type(exc).__name__}: {exc}",
                                                "traceback": traceback.format_exc()}
    finally:
        result["seconds"] = round(time.monotonic() - started, 3)
        if peer is not None:
            peer.stop()
            result["peer_output"] = peer.log_path.read_text(errors="replace")[-20000:]
        server.stop()
        serve_log = server.folder / "serve.log"
        result["our_output"] = serve_log.read_text(errors="replace")[-20000:] if serve_log.exists() else ""
    return result


def _fetch_status(url: str) -> list:
    """[status, content type] of a GET of an attachment's URL, as the peer's readers would fetch it."""
    response = httpx.get(url, timeout=30)
    return [response.status_code, response.headers.get("content-type", "")]


def _followers_total(owner: Owner, actor: str) -> int | None:
    """totalItems of our followers collection, as a remote server reads it."""
    response = owner.http.get(urlsplit(actor).path + "/followers",
                              headers={"Accept": "application/activity+json"})
    return response.json().get("totalItems") if response.status_code == 200 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-dir", required=True, help="folder holding peer.mjs and its node_modules")
    parser.add_argument("--node", required=True, help="a Node >= 22 binary")
    parser.add_argument("--work", required=True, help="an empty folder for the instance and the logs")
    parser.add_argument("--first-knock", default="rfc9421", choices=["rfc9421", "draft-cavage-http-signatures-12"])
    result = run(parser.parse_args())
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
