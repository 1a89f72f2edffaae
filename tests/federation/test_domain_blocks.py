"""Domain blocks between two in-process instances: Alice blocks Bob's domain. Bob's follow of
Alice and Alice's of Bob end (Bob is told both), Bob's posts and notifications leave Alice's
timelines, Bob's new activities are dropped before their signature is checked (no key is
fetched), nothing of Alice's is delivered to Bob's server any more, and nothing is fetched
from it. Unblocking lets Bob's activities in again."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from smallfedi.core import domain_blocks, following, interactions, posting
from smallfedi.core.errors import DomainError
from smallfedi.core.posting import Draft
from smallfedi.federation import signatures
from tests.api.conftest import token_for
from tests.api.schema_check import Strict
from tests.api.strict_schema import check
from tests.conftest import Network

pytestmark = pytest.mark.anyio

ALICE, BOB = "127.0.0.1:9131", "127.0.0.1:9132"


def inst(client):
    return client.app.state.instance


@pytest.fixture
async def net(tmp_path):
    strict = Strict()  # every API answer held to the strict apps' schema
    async with Network(tmp_path) as network:
        strict.install(await network.add("alice", 9131, "alice"))
        strict.install(await network.add("bob", 9132, "bob"))
        yield network
    strict.report()


async def with_token(client):
    token = await token_for(client)
    client.cookies.clear()
    client.headers["Authorization"] = f"Bearer {token}"
    return client


async def api_get(client, path: str, **params):
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def requests_to(net, host: str, since: int = 0) -> list:
    return [r for r in net.router.requests[since:] if r.url.netloc.decode() == host]


async def test_blocking_a_domain(net):
    alice, bob = net.clients["alice"], net.clients["bob"]
    await with_token(alice)
    bob_on_alice = await following.follow(inst(alice), f"bob@{BOB}")
    await following.follow(inst(bob), f"@alice@{ALICE}")
    await net.settle()
    old_post = await posting.publish(inst(bob), Draft(text=f"@alice@{ALICE} before the block"))
    await net.settle()
    assert old_post.uri in [s["uri"] for s in await api_get(alice, "/api/v1/timelines/home")]
    assert {"follow", "mention"} <= {n["type"] for n in await api_get(alice, "/api/v1/notifications")}

    # Alice's own domain can't be blocked (a block of the bare address would cover it).
    r = await alice.post("/api/v1/domain_blocks", data={"domain": "127.0.0.1"})
    assert r.status_code == 422, r.text
    r = await alice.post("/api/v1/domain_blocks", data={"domain": BOB})
    assert r.status_code == 200 and r.json() == {}, r.text
    r = await alice.get("/api/v1/domain_blocks")
    assert r.json() == [BOB] and 'rel="prev"' in r.headers["link"]
    (rel,) = await api_get(alice, "/api/v1/accounts/relationships", **{"id[]": str(bob_on_alice.id)})
    assert check("Relationship", rel) == []
    assert (rel["domain_blocking"], rel["following"], rel["followed_by"]) == (True, False, False)
    await net.settle()

    # Bob was told: a Reject of his Follow, an Undo of Alice's.
    alice_on_bob = await inst(bob).federation.resolve_account(f"alice@{ALICE}")
    mutual = await following.relationship(inst(bob), alice_on_bob.id)
    assert not mutual["following"] and not mutual["followed_by"]

    # Bob's posts and notifications are gone from every list of Alice's.
    for path in ("/api/v1/timelines/home", "/api/v1/timelines/public",
                 f"/api/v1/accounts/{bob_on_alice.id}/statuses"):
        assert old_post.uri not in [s["uri"] for s in await api_get(alice, path)], path
    assert [n for n in await api_get(alice, "/api/v1/notifications") if n["account"]["id"] == str(bob_on_alice.id)] \
        == []
    assert (await api_get(alice, "/api/v2/notifications"))["notification_groups"] == []

    # Bob's new activities are dropped unverified, and no key is fetched from his server.
    mark = len(net.router.requests)
    await posting.publish(inst(bob), Draft(text=f"@alice@{ALICE} after the block"))
    await net.settle()
    stored = await inst(alice).db.fetchval("SELECT count(*) FROM statuses WHERE account_id = ?", (bob_on_alice.id,))
    assert stored == 1
    forged = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"http://{BOB}/users/eve/activities/1",
              "type": "Follow", "actor": f"http://{BOB}/users/eve", "object": inst(alice).actor_uri()}
    # Signed well, with a key Alice doesn't know: unblocked, she would fetch it from Bob's server.
    body = json.dumps(forged).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers.update(signatures.sign_headers("POST", f"http://{ALICE}/users/alice/inbox", headers, body,
                                           f"http://{BOB}/users/eve#main-key",
                                           rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    r = await alice.post("/users/alice/inbox", content=body, headers=headers)
    assert r.status_code == 202, r.text  # not 401: dropped before the signature is looked at
    assert requests_to(net, BOB, mark) == []

    # Nothing of Alice's goes to Bob's server, and nothing is fetched from it.
    mark = len(net.router.requests)
    await interactions.favourite(inst(alice), (await inst(alice).db.fetchval(
        "SELECT id FROM statuses WHERE uri = ?", (old_post.uri,))))
    await following.block(inst(alice), bob_on_alice.id)
    await posting.publish(inst(alice), Draft(text="hello everyone"))
    await net.settle()
    assert await inst(alice).db.fetchval("SELECT count(*) FROM deliveries WHERE host = ?", (BOB,)) == 0
    with pytest.raises(DomainError):
        await inst(alice).federation.resolve_account(f"bob@{BOB}")
    with pytest.raises(DomainError):
        await following.follow_account(inst(alice), bob_on_alice)
    assert await inst(alice).federation.resolve_status(f"http://{BOB}/users/bob/statuses/1") is None
    assert requests_to(net, BOB, mark) == []
    await following.unblock(inst(alice), bob_on_alice.id)

    # Unblocked: Bob's activities come in again, and his earlier posts are back.
    r = await alice.request("DELETE", "/api/v1/domain_blocks", data={"domain": BOB})
    assert r.status_code == 200 and r.json() == {}, r.text
    assert await api_get(alice, "/api/v1/domain_blocks") == []
    await posting.publish(inst(bob), Draft(text=f"@alice@{ALICE} after the unblock"))
    await net.settle()
    notes = await api_get(alice, "/api/v1/notifications", **{"types[]": "mention"})
    assert any("after the unblock" in n["status"]["content"] for n in notes)
    assert old_post.uri in [s["uri"] for s in await api_get(alice, "/api/v1/timelines/public")]
    (rel,) = await api_get(alice, "/api/v1/accounts/relationships", **{"id[]": str(bob_on_alice.id)})
    assert rel["domain_blocking"] is False


async def test_a_block_covers_subdomains_and_only_its_port():
    assert domain_blocks.normalise(" https://Example.COM/about ") == "example.com"
    assert domain_blocks.normalise("*.example.com") == "example.com"
    assert domain_blocks.normalise("@bücher.example") == "xn--bcher-kva.example"
    for bad in ("", "two words", "exa$mple.com"):
        with pytest.raises(DomainError):
            domain_blocks.normalise(bad)
    assert domain_blocks.covers("example.com", "example.com")
    assert domain_blocks.covers("example.com", "social.example.com")
    assert domain_blocks.covers("example.com", "example.com:8443")
    assert not domain_blocks.covers("example.com", "notexample.com")
    assert not domain_blocks.covers("example.com", "example.com.evil")
    assert domain_blocks.covers("127.0.0.1:9132", "127.0.0.1:9132")
    assert not domain_blocks.covers("127.0.0.1:9132", "127.0.0.1:9131")
    assert domain_blocks.covers("127.0.0.1", "127.0.0.1:9131")


async def test_the_sql_rule_matches_the_python_rule(tmp_path):
    """The SQL rule (store) and the Python rule (core) agree, host by host."""
    from smallfedi.store import domain_blocks as domain_blocks_store
    from smallfedi.store.db import Database

    db = Database(tmp_path / "rule.db")
    await db.open()
    try:
        hosts = ["example.com", "social.example.com", "example.com:8443", "notexample.com", "example.com.evil",
                 "127.0.0.1:9132", "127.0.0.1:9131", "a.example.com:80"]
        blocks = ["example.com", "127.0.0.1:9132", "127.0.0.1"]
        async with db.transaction() as tx:
            for i, host in enumerate(hosts, 1):
                await tx.execute("INSERT INTO accounts (id, username, domain, uri, created_at, updated_at)"
                                 " VALUES (?, 'x', ?, ?, '', '')", (i, host, f"http://{host}/x"))
        for block in blocks:
            async with db.transaction() as tx:
                await tx.execute("DELETE FROM domain_blocks")
                await tx.execute("INSERT INTO domain_blocks (id, domain, created_at) VALUES (1, ?, '')", (block,))
            found = {hosts[r[0] - 1] for r in await db.fetchall(
                f"SELECT a.id FROM accounts a WHERE {domain_blocks_store.on_blocked_domain('a.id')}")}
            assert found == {h for h in hosts if domain_blocks.covers(block, h)}, block
    finally:
        await db.close()
