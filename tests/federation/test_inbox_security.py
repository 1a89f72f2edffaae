"""The inbox against hostile or broken senders: signatures, origins, shapes, sizes, replays, SSRF.

Three in-process instances federate through the HostRouter: alice (the target), bob (the
sender, whose real private key signs the crafted requests) and carol (a third party whose
name bob tries to borrow). Every case ends by checking that alice still takes a good signed
Follow from bob (202, follower recorded, Accept delivered): a rejected request must leave the
target working. No case may produce a 5xx, nor reach the inbox's catch-all handler (which
would turn a crash into a 400 and hide it).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import logging
import time

import httpcore
import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from smallfedi.core import following, posting, timelines
from smallfedi.core.errors import DomainError
from smallfedi.core.posting import Draft
from smallfedi.federation.signatures import sign_headers
from smallfedi.store import accounts as accounts_store
from smallfedi.store import queue as queue_store
from smallfedi.store import statuses as statuses_store
from tests.conftest import Network, running_instance

pytestmark = pytest.mark.anyio

ALICE, BOB, CAROL = "http://127.0.0.1:9101", "http://127.0.0.1:9102", "http://127.0.0.1:9103"
ALICE_ACTOR, BOB_ACTOR, CAROL_ACTOR = (f"{u}/users/{n}" for u, n in
                                       ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")))
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS = "https://www.w3.org/ns/activitystreams"
_serial = itertools.count(1)


def inst(client):
    return client.app.state.instance


def fresh(kind: str = "things") -> str:
    """A new activity/object id on bob's server."""
    return f"{BOB}/{kind}/{time.time_ns()}-{next(_serial)}"


async def private_key_of(client) -> rsa.RSAPrivateKey:
    secrets = await accounts_store.get_owner_secrets(inst(client).db)
    return serialization.load_pem_private_key(secrets["private_key_pem"].encode("ascii"), password=None)


def encode(body) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")


def signed(target: httpx.AsyncClient, body, key_id: str, key: rsa.RSAPrivateKey, *, path: str = "/inbox",
           content_type: str = "application/activity+json", now: float | None = None) -> tuple[bytes, dict]:
    """(body, headers) of a draft-cavage signed POST to `path` on `target`, as Mastodon sends it."""
    raw = encode(body)
    headers = {"Content-Type": content_type}
    headers.update(sign_headers("POST", f"{target.base_url}".rstrip("/") + path, headers, raw, key_id, key, now=now))
    return raw, headers


class Sender:
    """Bob's side: crafts activities, signs them with bob's real key, posts them to alice."""

    def __init__(self, net: Network, key: rsa.RSAPrivateKey) -> None:
        self.net = net
        self.alice = net.clients["alice"]
        self.key = key
        self.key_id = f"{BOB_ACTOR}#main-key"

    async def post(self, body, *, path: str = "/inbox", **kwargs) -> httpx.Response:
        raw, headers = signed(self.alice, body, self.key_id, self.key, path=path, **kwargs)
        response = await self.alice.post(path, content=raw, headers=headers)
        assert response.status_code < 500, response.text
        return response

    async def follow_still_works(self) -> None:
        """The target survived: a good signed Follow is accepted and processed."""
        follow = {"@context": AS, "id": fresh("follows"), "type": "Follow", "actor": BOB_ACTOR, "object": ALICE_ACTOR}
        response = await self.post(follow)
        assert response.status_code == 202, response.text
        await self.net.settle()
        assert (await following.counts(inst(self.alice)))[0] == 1
        assert ("follow", BOB_ACTOR) in await notifications(self.alice)
        # Alice answered with an Accept of exactly that Follow, and bob's server took it.
        accepts = [json.loads(r.content) for r in self.net.router.requests
                   if r.method == "POST" and r.url.netloc == b"127.0.0.1:9102"
                   and json.loads(r.content).get("type") == "Accept"]
        assert [a["object"]["id"] for a in accepts] == [follow["id"]]
        assert await inst(self.alice).db.fetchval("SELECT count(*) FROM deliveries") == 0


@pytest.fixture
async def net(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with Network(tmp_path) as network:
        await network.add("alice", 9101, "alice")
        await network.add("bob", 9102, "bob")
        await network.add("carol", 9103, "carol")
        yield network
    # The inbox's last-resort handler answers 400 to anything unexpected; none of these cases may need it.
    assert "inbox failed on an activity" not in caplog.text
    assert "RecursionError" not in caplog.text


@pytest.fixture
async def bob(net):
    sender = Sender(net, await private_key_of(net.clients["bob"]))
    yield sender
    await sender.follow_still_works()


def like(object_uri: str, actor: str = BOB_ACTOR) -> dict:
    return {"@context": AS, "id": fresh("likes"), "type": "Like", "actor": actor, "object": object_uri}


async def notifications(client) -> list[tuple[str, str]]:
    page = await timelines.notifications(inst(client))
    return [(n.type, n.account.uri) for n in page.items]


async def alice_post(net, text: str = "a post of alice's", visibility: str = "public"):
    return await posting.publish(inst(net.clients["alice"]), Draft(text=text, visibility=visibility))


# ------------------------------------------------------------------------------ signatures

async def test_the_good_path_is_accepted(bob):
    """The control for every negative case below: the same request, correctly signed, is processed."""
    post = await alice_post(bob.net)
    response = await bob.post(like(post.uri))
    assert response.status_code == 202, response.text
    assert await notifications(bob.alice) == [("favourite", BOB_ACTOR)]


async def test_unsigned_is_401(bob):
    post = await alice_post(bob.net)
    response = await bob.alice.post("/inbox", content=encode(like(post.uri)),
                                    headers={"Content-Type": "application/activity+json"})
    assert response.status_code == 401
    assert "not signed" in response.json()["error"]
    assert await notifications(bob.alice) == []


async def test_body_tampered_after_signing_is_401(bob):
    post = await alice_post(bob.net)
    raw, headers = signed(bob.alice, like(post.uri), bob.key_id, bob.key)
    tampered = raw.replace(post.uri.encode(), post.uri.encode() + b"0")
    assert tampered != raw and len(tampered) == len(raw) + 1
    response = await bob.alice.post("/inbox", content=tampered, headers=headers)
    assert response.status_code == 401
    assert "Digest" in response.json()["error"]
    # Same body, but the Digest header recomputed by the attacker: the signature no longer matches.
    headers["Digest"] = "SHA-256=" + base64.b64encode(hashlib.sha256(tampered).digest()).decode()
    response = await bob.alice.post("/inbox", content=tampered, headers=headers)
    assert response.status_code == 401
    assert "does not verify" in response.json()["error"]
    assert await notifications(bob.alice) == []


async def test_a_signature_two_hours_old_is_401(bob):
    post = await alice_post(bob.net)
    response = await bob.post(like(post.uri), now=time.time() - 2 * 3600)
    assert response.status_code == 401
    assert "expired" in response.json()["error"]
    # …and one from two hours in the future.
    response = await bob.post(like(post.uri), now=time.time() + 2 * 3600)
    assert response.status_code == 401
    assert "future" in response.json()["error"]
    assert await notifications(bob.alice) == []


async def test_a_wrong_key_under_the_real_key_id_is_401(bob):
    post = await alice_post(bob.net)
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raw, headers = signed(bob.alice, like(post.uri), bob.key_id, impostor)
    response = await bob.alice.post("/inbox", content=raw, headers=headers)
    assert response.status_code == 401
    assert "does not verify" in response.json()["error"]
    assert await notifications(bob.alice) == []


@pytest.mark.parametrize("claimed", [CAROL_ACTOR, ALICE_ACTOR])
async def test_the_key_owner_must_be_the_actor(bob, claimed):
    """Bob's valid signature on an activity claiming carol (or alice herself) as its actor: 403,
    as the inbox documents (the signature is fine; the signer may not speak for that actor)."""
    post = await alice_post(bob.net)
    activity = like(post.uri, actor=claimed)
    activity["id"] = f"{claimed.rsplit('/users/', 1)[0]}/likes/{time.time_ns()}"
    response = await bob.post(activity)
    assert response.status_code == 403
    assert "actor" in response.json()["error"]
    assert await notifications(bob.alice) == []


async def test_an_activity_id_on_another_server_is_refused(bob):
    post = await alice_post(bob.net)
    activity = like(post.uri)
    activity["id"] = f"{CAROL}/likes/1"
    response = await bob.post(activity)
    assert response.status_code == 400
    assert await notifications(bob.alice) == []


# --------------------------------------------------------------------------- the body's shape

async def test_a_body_over_one_mebibyte_is_413(bob):
    post = await alice_post(bob.net)
    activity = like(post.uri)
    activity["content"] = "x" * (1024 * 1024)
    response = await bob.post(activity)
    assert response.status_code == 413
    assert await notifications(bob.alice) == []


async def test_a_body_streamed_over_the_limit_without_a_length_is_413(bob):
    """No Content-Length to check first: the cap applies while the body streams in."""
    raw = encode({"type": "Like", "content": "x" * (1024 * 1024 + 10)})

    async def chunks():
        for start in range(0, len(raw), 65536):
            yield raw[start:start + 65536]

    _, headers = signed(bob.alice, raw, bob.key_id, bob.key)
    response = await bob.alice.post("/inbox", content=chunks(), headers=headers)
    assert response.status_code == 413


async def test_json_nested_a_thousand_deep_is_400_without_recursion_error(bob):
    for depth in (1000, 100):  # beyond the parser's recursion limit, and within it but beyond ours
        nested = '{"type": "Note", "inReplyTo": ' * depth + "{}" + "}" * depth  # too deep for json.dumps itself
        body = (f'{{"id": "{fresh("creates")}", "type": "Create", "actor": "{BOB_ACTOR}", '
                f'"object": {nested}}}').encode()
        assert body.count(b"{") == depth + 2
        response = await bob.post(body)
        assert response.status_code == 400, depth
        assert "nested too deeply" in response.json()["error"], depth
    hostile = b'{"type": "Like", "object": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = await bob.post(hostile)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]
    assert await notifications(bob.alice) == []


@pytest.mark.parametrize("body", [b"this is not json", b"{\"type\": \"Like\",", b"\xff\xfe\x00",
                                  b"", b"[]", b'[{"type": "Like"}]', b'"Like"', b"42", b"null"])
async def test_a_body_that_is_not_a_json_object_is_400(bob, body):
    response = await bob.post(body)
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/html", ""])
async def test_a_wrong_content_type_is_415(bob, content_type):
    post = await alice_post(bob.net)
    response = await bob.post(like(post.uri), content_type=content_type)
    assert response.status_code == 415
    assert await notifications(bob.alice) == []


@pytest.mark.parametrize("content_type", ["application/activity+json",
                                          'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
                                          "application/json; charset=utf-8"])
async def test_the_activitypub_content_types_are_accepted(bob, content_type):
    post = await alice_post(bob.net)
    response = await bob.post(like(post.uri), content_type=content_type, path="/users/alice/inbox")
    assert response.status_code == 202, response.text
    assert await notifications(bob.alice) == [("favourite", BOB_ACTOR)]


@pytest.mark.parametrize("missing", ["id", "type", "actor"])
async def test_an_activity_without_id_type_or_actor_is_400(bob, missing):
    post = await alice_post(bob.net)
    activity = like(post.uri)
    del activity[missing]
    response = await bob.post(activity)
    assert response.status_code == 400
    assert missing in response.json()["error"]
    assert await notifications(bob.alice) == []


async def test_an_unknown_activity_type_is_accepted_and_ignored(bob):
    post = await alice_post(bob.net)
    before = await inst(bob.alice).db.fetchval("SELECT count(*) FROM statuses")
    for kind in ("Bite", "https://example.org/ns#Poke", ["Bite", "Nudge"]):
        response = await bob.post({**like(post.uri), "type": kind})
        assert response.status_code == 202, response.text
    assert await notifications(bob.alice) == []
    assert await inst(bob.alice).db.fetchval("SELECT count(*) FROM statuses") == before


# ------------------------------------------------------------------------------------ replays

async def test_a_repeated_delivery_is_processed_once(bob):
    post = await alice_post(bob.net)
    activity = like(post.uri)
    for _ in range(2):
        response = await bob.post(activity)
        assert response.status_code == 202
    assert await notifications(bob.alice) == [("favourite", BOB_ACTOR)]
    assert await queue_store.seen(inst(bob.alice).db, activity["id"])
    assert await inst(bob.alice).db.fetchval("SELECT count(*) FROM favourites") == 1


async def test_a_captured_request_replayed_after_an_undo_changes_nothing(bob):
    """Bob likes, then un-likes. An eavesdropper replays the original Like byte for byte (still
    inside the signature's time window): the like must not come back."""
    post = await alice_post(bob.net)
    activity = like(post.uri)
    raw, headers = signed(bob.alice, activity, bob.key_id, bob.key)
    assert (await bob.alice.post("/inbox", content=raw, headers=headers)).status_code == 202
    undo = {"@context": AS, "id": fresh("undos"), "type": "Undo", "actor": BOB_ACTOR,
            "object": {k: v for k, v in activity.items() if k != "@context"}}
    assert (await bob.post(undo)).status_code == 202
    assert await notifications(bob.alice) == []
    replay = await bob.alice.post("/inbox", content=raw, headers=headers)
    assert replay.status_code == 202  # accepted as already seen…
    assert await notifications(bob.alice) == []  # …and not processed again
    assert await inst(bob.alice).db.fetchval("SELECT count(*) FROM favourites") == 0


async def test_a_repeated_create_stores_one_post_and_one_notification(bob):
    note_id = fresh("notes")
    create = {"@context": AS, "id": f"{note_id}/activity", "type": "Create", "actor": BOB_ACTOR,
              "object": {"id": note_id, "type": "Note", "attributedTo": BOB_ACTOR, "to": [PUBLIC],
                         "content": "<p>hi @alice</p>", "published": "2024-01-01T00:00:00Z",
                         "tag": [{"type": "Mention", "href": ALICE_ACTOR, "name": "@alice@127.0.0.1:9101"}]}}
    for _ in range(3):
        assert (await bob.post(create)).status_code == 202
    assert await notifications(bob.alice) == [("mention", BOB_ACTOR)]
    assert await inst(bob.alice).db.fetchval("SELECT count(*) FROM statuses WHERE uri = ?", (note_id,)) == 1


# ------------------------------------------------------------------------- speaking for others

def create_note(note: dict, kind: str = "Create") -> dict:
    return {"@context": AS, "id": fresh("creates"), "type": kind, "actor": BOB_ACTOR, "to": [PUBLIC],
            "object": {"type": "Note", "to": [PUBLIC], "content": "<p>forged</p>", **note}}


async def test_a_create_of_a_note_attributed_to_someone_else_is_403(bob):
    note_id = f"{CAROL}/users/carol/statuses/1"
    response = await bob.post(create_note({"id": note_id, "attributedTo": CAROL_ACTOR}))
    assert response.status_code == 403
    # Nor may bob put words in alice's mouth on her own server.
    response = await bob.post(create_note({"id": f"{ALICE}/users/alice/statuses/1", "attributedTo": ALICE_ACTOR}))
    assert response.status_code == 403
    assert await inst(bob.alice).db.fetchval("SELECT count(*) FROM statuses") == 0


async def test_a_create_of_a_note_whose_id_is_on_another_server_is_refused(bob):
    note_id = f"{CAROL}/users/carol/statuses/2"
    response = await bob.post(create_note({"id": note_id, "attributedTo": BOB_ACTOR}))
    assert 400 <= response.status_code < 500
    assert await statuses_store.get_by_uri(inst(bob.alice).db, note_id) is None


async def test_an_update_of_someone_elses_note_changes_nothing(bob):
    carol = bob.net.clients["carol"]
    await following.follow(inst(bob.alice), "@carol@127.0.0.1:9103")
    await bob.net.settle()
    original = await posting.publish(inst(carol), Draft(text="carol's own words"))
    await bob.net.settle()
    assert await statuses_store.get_by_uri(inst(bob.alice).db, original.uri) is not None
    for attributed in (CAROL_ACTOR, BOB_ACTOR):
        response = await bob.post(create_note({"id": original.uri, "attributedTo": attributed,
                                               "content": "<p>bob's words</p>"}, kind="Update"))
        assert 400 <= response.status_code < 500
    row = await statuses_store.get_by_uri(inst(bob.alice).db, original.uri)
    assert "carol's own words" in row["content"] and row["edited_at"] is None


async def test_a_delete_of_someone_elses_post_has_no_effect(bob):
    carol = bob.net.clients["carol"]
    await following.follow(inst(bob.alice), "@carol@127.0.0.1:9103")
    await bob.net.settle()
    carols = await posting.publish(inst(carol), Draft(text="carol stays"))
    await bob.net.settle()
    alices = await alice_post(bob.net, "alice stays")
    for target in (carols.uri, alices.uri):
        for obj in (target, {"id": target, "type": "Tombstone"}, {"id": target, "type": "Note"}):
            delete = {"@context": AS, "id": fresh("deletes"), "type": "Delete", "actor": BOB_ACTOR, "object": obj}
            response = await bob.post(delete)
            assert response.status_code == 202, response.text  # accepted, as Mastodon does, but ignored
    db = inst(bob.alice).db
    assert await statuses_store.get_by_uri(db, carols.uri) is not None
    assert await statuses_store.get_by_uri(db, alices.uri) is not None
    # An unsigned "self-delete" of carol's account is answered 202 and changes nothing either.
    body = encode({"id": f"{CAROL_ACTOR}#delete", "type": "Delete", "actor": CAROL_ACTOR, "object": CAROL_ACTOR})
    response = await bob.alice.post("/inbox", content=body, headers={"Content-Type": "application/activity+json"})
    assert response.status_code == 202
    assert await statuses_store.get_by_uri(db, carols.uri) is not None
    assert await accounts_store.get_by_uri(db, CAROL_ACTOR) is not None


# ----------------------------------------------------------------------------------- RFC 9421

def rfc9421_headers(url: str, body: bytes, key_id: str, key: rsa.RSAPrivateKey,
                    created: int | None = None) -> dict[str, str]:
    """Signature-Input/Signature as Fedify sends them, built here by hand from RFC 9421 §2.5."""
    target = httpx.URL(url)
    authority = target.netloc.decode("ascii")
    digest = f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"
    created = int(time.time()) if created is None else created
    params = (f'("@method" "@target-uri" "@authority" "content-digest")'
              f';created={created};keyid="{key_id}";alg="rsa-v1_5-sha256"')
    base = "\n".join([
        '"@method": POST',
        f'"@target-uri": {url}',
        f'"@authority": {authority}',
        f'"content-digest": {digest}',
        f'"@signature-params": {params}',
    ]).encode("ascii")
    signature = base64.b64encode(key.sign(base, padding.PKCS1v15(), hashes.SHA256())).decode()
    return {"Content-Type": "application/activity+json", "Content-Digest": digest,
            "Signature-Input": f"sig1={params}", "Signature": f"sig1=:{signature}:"}


async def test_an_rfc9421_signed_delivery_is_accepted(bob):
    post = await alice_post(bob.net)
    body = encode(like(post.uri))
    headers = rfc9421_headers(f"{ALICE}/inbox", body, bob.key_id, bob.key)
    response = await bob.alice.post("/inbox", content=body, headers=headers)
    assert response.status_code == 202, response.text
    assert await notifications(bob.alice) == [("favourite", BOB_ACTOR)]


async def test_bad_rfc9421_signatures_are_401(bob):
    post = await alice_post(bob.net)
    body = encode(like(post.uri))
    url = f"{ALICE}/inbox"
    cases = {
        "tampered body": (body.replace(b'"Like"', b'"Bite"'), rfc9421_headers(url, body, bob.key_id, bob.key)),
        "wrong key": (body, rfc9421_headers(url, body, bob.key_id,
                                            rsa.generate_private_key(public_exponent=65537, key_size=2048))),
        "another target": (body, rfc9421_headers(f"{ALICE}/users/alice/inbox", body, bob.key_id, bob.key)),
        "two hours old": (body, rfc9421_headers(url, body, bob.key_id, bob.key, created=int(time.time()) - 7200)),
    }
    for name, (sent, headers) in cases.items():
        response = await bob.alice.post("/inbox", content=sent, headers=headers)
        assert response.status_code == 401, name
    assert await notifications(bob.alice) == []


# ---------------------------------------------------------------------------------------- SSRF

PRIVATE_KEY_IDS = ["http://127.0.0.1:1/users/x#main-key", "http://10.0.0.1/actor", "http://[::1]/actor",
                   "http://169.254.169.254/", "http://192.168.0.1:8080/users/x", "http://[fd00::1]/actor",
                   "http://0.0.0.0/actor", "http://localhost:1/actor"]


class NoConnections:
    """Stands in for the network under the SSRF guard of a real (non-injected) client: records
    every connection attempt and refuses it."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, int]] = []

    async def connect_tcp(self, host, port, *args, **kwargs):
        self.attempts.append((host, port))
        raise httpcore.ConnectError("the test forbids connecting")


def spy_on_connections(client) -> NoConnections:
    guard = client.app.state.federation.client._transport
    backend = guard.inner._pool._network_backend  # the guard's pinned backend, which checks then connects
    spy = NoConnections()
    backend._inner = spy
    return spy


@pytest.fixture
async def public_instance(tmp_path):
    """An instance as deployed: default config (allow_private_addresses = false), real network transport."""
    async with running_instance(tmp_path) as client:
        assert not inst(client).config.federation.allow_private_addresses
        yield client


@pytest.mark.parametrize("key_id", PRIVATE_KEY_IDS)
async def test_a_key_id_on_a_private_address_is_refused_before_connecting(public_instance, key_id, caplog):
    caplog.set_level(logging.INFO)
    spy = spy_on_connections(public_instance)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    activity = {"id": "http://10.0.0.1/likes/1", "type": "Like", "actor": key_id.split("#")[0],
                "object": "http://127.0.0.1:8080/users/alice"}
    raw, headers = signed(public_instance, activity, key_id, key)
    started = time.monotonic()
    response = await public_instance.post("/inbox", content=raw, headers=headers)
    assert time.monotonic() - started < 2  # no connect timeout was waited for
    assert response.status_code == 401, response.text
    assert "not a public address" in response.json()["error"]
    assert "not a public address" in caplog.text
    assert spy.attempts == []
    # The guard refused it; the instance is fine.
    actor = await public_instance.get("/users/alice", headers={"Accept": "application/activity+json"})
    assert actor.status_code == 200


@pytest.mark.parametrize("target", ["http://10.0.0.5/users/x", "http://127.0.0.1:1/users/x",
                                    "http://[::1]:8080/users/x", "@x@10.0.0.5", "@x@192.168.1.1:8080"])
async def test_following_a_private_address_is_a_clear_error(public_instance, target):
    spy = spy_on_connections(public_instance)
    with pytest.raises(DomainError) as raised:
        await following.follow(inst(public_instance), target)
    assert "not a public address" in raised.value.message
    assert 400 <= raised.value.status < 500
    assert spy.attempts == []
    assert await inst(public_instance).db.fetchval("SELECT count(*) FROM follows") == 0


async def test_the_connection_spy_sees_what_the_guard_lets_through(public_instance):
    """The control for the two tests above: with the guard opened, the same keyId does reach
    the (spied) network, so an empty `attempts` there means the guard stopped it first."""
    spy = spy_on_connections(public_instance)
    public_instance.app.state.federation.client._transport.allow_private = True
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for key_id, expected in (("http://10.0.0.1/actor", ("10.0.0.1", 80)), ("http://[::1]:81/actor", ("::1", 81))):
        raw, headers = signed(public_instance, {"id": "http://10.0.0.1/x", "type": "Like", "actor": key_id},
                              key_id, key)
        response = await public_instance.post("/inbox", content=raw, headers=headers)
        assert response.status_code == 401
        assert spy.attempts[-1] == expected
