"""Acknowledged writes and queued deliveries survive kill -9, with real server processes."""

from __future__ import annotations

import signal
import sqlite3
import time

import httpx

from tests.conftest import USERNAME, Server, csrf_of


def signed_in_client(server: Server) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=10)
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_of(page.text), "password": server.password})
    assert response.status_code == 303
    return client


def publish(client: httpx.Client, text: str) -> str:
    home = client.get("/")
    response = client.post("/compose", data={"csrf_token": csrf_of(home.text), "text": text,
                                             "visibility": "public"})
    assert response.status_code == 303, response.text
    return response.headers["location"]


def kill_9(server: Server) -> None:
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)


def allow_private(server: Server) -> None:
    text = server.config.read_text().replace("allow_private_addresses = false", "allow_private_addresses = true")
    server.config.write_text(text)


def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_post_acknowledged_before_kill_9_is_kept(tmp_path):
    server = Server(tmp_path / "a").init().start()
    try:
        client = signed_in_client(server)
        url = publish(client, "written before the power cut")
        kill_9(server)  # at once: no shutdown, no checkpoint
        server.start()
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and "written before the power cut" in page.text
    finally:
        server.stop()


def test_the_delivery_queue_survives_kill_9(tmp_path):
    alice = Server(tmp_path / "alice").init()
    bob = Server(tmp_path / "bob").init()
    for s in (alice, bob):
        allow_private(s)
    alice.start()
    bob.start()
    try:
        bob_client = signed_in_client(bob)
        home = bob_client.get("/follow")
        response = bob_client.post("/follow", data={"csrf_token": csrf_of(home.text),
                                                    "query": f"{USERNAME}@127.0.0.1:{alice.port}"})
        assert response.status_code == 303, response.text
        followers_db = alice.folder / "data" / "smallfedi.db"
        wait_for(lambda: sqlite3.connect(followers_db).execute(
            "SELECT count(*) FROM follows WHERE accepted = 1").fetchone()[0] == 1)

        bob.stop()  # Bob's server is down: Alice's delivery fails and is queued for a retry
        alice_client = signed_in_client(alice)
        publish(alice_client, "queued through a crash")
        wait_for(lambda: sqlite3.connect(followers_db).execute(
            "SELECT count(*) FROM deliveries d JOIN activities a ON a.id = d.activity_id"
            " WHERE a.type = 'Create' AND d.attempts >= 1").fetchone()[0] == 1)
        kill_9(alice)

        db = sqlite3.connect(followers_db)
        assert db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 1
        db.execute("UPDATE deliveries SET next_attempt_at = 0")  # skip the backoff for the test
        db.commit()
        db.close()
        bob.start()
        alice.start()
        bob_home = lambda: "queued through a crash" in signed_in_client(bob).get("/").text  # noqa: E731
        wait_for(bob_home)
        assert sqlite3.connect(followers_db).execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
    finally:
        alice.stop()
        bob.stop()
