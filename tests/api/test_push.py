"""Web Push: subscriptions through the client API, and pushes that reach a push service on
loopback, encrypted for the app and signed with the instance's VAPID key.

The push service is a small Starlette app. Most tests reach it in-process through the
Network's HostRouter (the instance's guarded client sends to it as to any host); one test runs
it as a real server on 127.0.0.1 and the instance connects over TCP. Each test decrypts what
arrived with the app's private key, by the RFCs, with `cryptography` alone (not with the
library the server encrypts with), so a mistake on either side shows.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import struct
import time

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smallfedi.api import push as push_api
from smallfedi.app import create_app
from smallfedi.config import load_config, render_config
from smallfedi.core import interactions, posting, push, remote
from smallfedi.core import notifications as notifications_core
from smallfedi.core.models import ActorInfo
from smallfedi.core.posting import Draft
from smallfedi.core.setup import initialise
from smallfedi.federation import webpush
from tests.api.conftest import REDIRECT, code_from, consent, register, strict, token_for
from tests.conftest import PASSWORD, USERNAME, Network, free_port

pytestmark = pytest.mark.anyio

ALICE, BOB, PUSH_HOST = 9181, 9182, "127.0.0.1:9189"
ALERT_NAMES = {"mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
               "admin.sign_up", "admin.report"}


# ------------------------------------------------------------------------------- helpers

def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def point(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


class AppKeys:
    """What a phone app makes when it subscribes: a P-256 key pair and a 16-byte auth secret."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.p256dh = b64(point(self.private))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


def decrypt_aes128gcm(body: bytes, keys: AppKeys) -> bytes:
    """RFC 8291 §3.4 and RFC 8188, as a browser does it."""
    salt, rs, idlen = body[:16], struct.unpack("!L", body[16:20])[0], body[20]
    as_public = body[21:21 + idlen]
    assert idlen == 65 and rs >= 18
    records = body[21 + idlen:]
    assert len(records) <= rs, "more than one record"
    shared = keys.private.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public))
    ikm = _hkdf(keys.auth, shared, b"WebPush: info\x00" + point(keys.private) + as_public, 32)
    cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    padded = AESGCM(cek).decrypt(nonce, records, None)
    data = padded.rstrip(b"\x00")
    assert data[-1:] == b"\x02", "the last record ends with the 0x02 delimiter"
    return data[:-1]


def decrypt_aesgcm(body: bytes, keys: AppKeys, encryption: str, crypto_key: str) -> bytes:
    """draft-ietf-webpush-encryption-04 (`aesgcm`), as Ice Cubes and Mastodon's iOS app do it."""
    params = dict(p.strip().split("=", 1) for p in crypto_key.split(";"))
    salt = unb64(dict([encryption.split("=", 1)])["salt"])
    as_public = unb64(params["dh"])
    shared = keys.private.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_public))
    ikm = _hkdf(keys.auth, shared, b"Content-Encoding: auth\x00", 32)
    ua_public = point(keys.private)
    context = b"P-256\x00" + struct.pack("!H", 65) + ua_public + struct.pack("!H", 65) + as_public
    cek = _hkdf(salt, ikm, b"Content-Encoding: aesgcm\x00" + context, 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00" + context, 12)
    padded = AESGCM(cek).decrypt(nonce, body, None)
    pad = struct.unpack("!H", padded[:2])[0]
    return padded[2 + pad:]


def check_vapid(jwt: str, server_key: str, audience: str, subject: str) -> dict:
    """The JWT is signed by the key the API called server_key, and says the right things."""
    header_b64, claims_b64, signature_b64 = jwt.split(".")
    header, claims = json.loads(unb64(header_b64)), json.loads(unb64(claims_b64))
    assert header == {"typ": "JWT", "alg": "ES256"}
    signature = unb64(signature_b64)
    assert len(signature) == 64
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(server_key))
    public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    assert claims["aud"] == audience
    assert claims["sub"] == subject
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    return claims


class PushService:
    """A push service on loopback: keeps every POST, answers with `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict, bytes]] = []
        self.status = 201
        self.headers: dict[str, str] = {}
        self.app = Starlette(routes=[Route("/push/{device}", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        self.received.append((request.url.path, dict(request.headers), await request.body()))
        return Response(status_code=self.status, headers=self.headers)

    async def wait(self, count: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} push(es) arrived, {count} expected")
            await asyncio.sleep(0.01)


def inst(client):
    return client.app.state.instance


def with_push_routes(client) -> None:
    """The push routes, first in the app's table, unless the app already has them."""
    if not any(getattr(route, "path", None) == push_api.PATH for route in client.app.router.routes):
        client.app.router.routes[0:0] = push_api.routes()


async def bearer_client(client: httpx.AsyncClient, scopes: str = "read write follow push") -> httpx.AsyncClient:
    token = await token_for(strict(client), scopes)
    client.cookies.clear()
    transport = httpx.ASGITransport(app=client.app, client=("127.0.0.1", 12345))
    api = strict(httpx.AsyncClient(transport=transport, base_url=str(client.base_url),
                                   headers={"Authorization": f"Bearer {token}"}))
    api.token = token
    api.app = client.app
    return api


async def subscribe(api, keys: AppKeys, *, standard: bool = False, alerts: dict | None = None,
                    policy: str = "all", endpoint: str = f"http://{PUSH_HOST}/push/device-1") -> dict:
    body = {"subscription": {"endpoint": endpoint, "standard": standard,
                             "keys": {"p256dh": keys.p256dh, "auth": b64(keys.auth)}},
            "data": {"alerts": alerts if alerts is not None else {name: True for name in ALERT_NAMES},
                     "policy": policy}}
    r = await api.post("/api/v1/push/subscription", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def queued(client) -> list:
    return await inst(client).db.fetchall("SELECT * FROM push_queue")


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


async def bob_likes_a_post(net, text: str = "A post for Bob to like") -> int:
    alice, bob = net.clients["alice"], net.clients["bob"]
    post = await posting.publish(inst(alice), Draft(text=text))
    copy = await inst(bob).federation.resolve_status(post.uri)
    await interactions.favourite(inst(bob), copy.id)
    await net.settle()
    return post.id


async def bob_mentions_alice(net, text: str = "hello") -> None:
    await posting.publish(inst(net.clients["bob"]), Draft(text=f"@alice@127.0.0.1:{ALICE} {text}"))
    await net.settle()


@pytest.fixture
async def pushnet(tmp_path):
    """Alice (with push routes and an app's token), Bob on another instance, a push service."""
    async with Network(tmp_path) as net:
        net.push = PushService()
        net.router.add(PUSH_HOST, net.push.app)
        alice = strict(await net.add("alice", ALICE, "alice"))
        strict(await net.add("bob", BOB, "bob"))
        with_push_routes(alice)
        net.api = await bearer_client(alice)
        yield net
        await net.api.aclose()


# ------------------------------------------------------------------ pushes that arrive

@pytest.mark.parametrize("standard", [True, False], ids=["aes128gcm", "aesgcm"])
async def test_a_like_is_pushed_encrypted_and_signed(pushnet, standard):
    keys = AppKeys()
    sub = await subscribe(pushnet.api, keys, standard=standard)
    assert sub["server_key"] == inst(pushnet.clients["alice"]).vapid_public_key
    await bob_likes_a_post(pushnet, "Watermelons **and** melons & more")
    await pushnet.push.wait()
    path, headers, body = pushnet.push.received[0]
    assert path == "/push/device-1"
    assert headers["content-type"] == "application/octet-stream"
    assert headers["ttl"] == str(48 * 3600)
    audience, subject = f"http://{PUSH_HOST}", f"http://127.0.0.1:{ALICE}"
    if standard:
        assert headers["content-encoding"] == "aes128gcm"
        assert "encryption" not in headers and "crypto-key" not in headers
        scheme, _, rest = headers["authorization"].partition(" ")
        assert scheme == "vapid"
        fields = dict(part.strip().split("=", 1) for part in rest.split(","))
        assert fields["k"] == sub["server_key"]
        check_vapid(fields["t"], sub["server_key"], audience, subject)
        plaintext = decrypt_aes128gcm(body, keys)
    else:
        assert headers["content-encoding"] == "aesgcm"
        scheme, _, jwt = headers["authorization"].partition(" ")
        assert scheme == "WebPush"
        crypto_key = dict(p.split("=", 1) for p in headers["crypto-key"].split(";"))
        assert crypto_key["p256ecdsa"] == sub["server_key"]
        check_vapid(jwt, sub["server_key"], audience, subject)
        plaintext = decrypt_aesgcm(body, keys, headers["encryption"], headers["crypto-key"])
    payload = json.loads(plaintext)
    assert set(payload) == {"access_token", "preferred_locale", "notification_id", "notification_type", "icon",
                            "title", "body"}
    notifications = (await pushnet.api.get("/api/v1/notifications")).json()
    assert [n["type"] for n in notifications] == ["favourite"]
    assert type(payload["notification_id"]) is int and payload["notification_id"] == int(notifications[0]["id"])
    assert payload["notification_type"] == "favourite"
    assert payload["access_token"] == pushnet.api.token
    assert payload["preferred_locale"] == "en"
    assert payload["title"] == "bob favorited your post"
    assert payload["body"] == "Watermelons and melons & more"
    assert payload["icon"].startswith("http")
    await until(lambda: _empty(pushnet.clients["alice"]))  # the row goes once the service took it


async def _empty(client) -> bool:
    return not await queued(client)


async def test_a_disabled_alert_sends_nothing(pushnet):
    keys = AppKeys()
    await subscribe(pushnet.api, keys, alerts={"mention": True, "favourite": False})
    await bob_likes_a_post(pushnet)
    assert await queued(pushnet.clients["alice"]) == []
    await bob_mentions_alice(pushnet, "are you there?")
    await pushnet.push.wait()
    await asyncio.sleep(0.1)
    assert len(pushnet.push.received) == 1  # the mention, and the like never
    _, headers, body = pushnet.push.received[0]
    payload = json.loads(decrypt_aesgcm(body, keys, headers["encryption"], headers["crypto-key"]))
    assert payload["notification_type"] == "mention"
    assert payload["title"] == "bob mentioned you" and "are you there?" in payload["body"]


async def test_the_policy_picks_whose_notifications_are_pushed(pushnet):
    from smallfedi.core import following

    keys = AppKeys()
    await subscribe(pushnet.api, keys, policy="followed")  # Alice follows nobody yet
    await bob_likes_a_post(pushnet)
    assert await queued(pushnet.clients["alice"]) == [] and pushnet.push.received == []
    r = await pushnet.api.put("/api/v1/push/subscription", data={"data[policy]": "follower"})
    assert r.status_code == 200 and r.json()["policy"] == "follower"
    await following.follow(inst(pushnet.clients["bob"]), f"@alice@127.0.0.1:{ALICE}")
    await pushnet.settle()
    await pushnet.push.wait()  # the follow notification, from a follower
    r = await pushnet.api.put("/api/v1/push/subscription", json={"data": {"policy": "none"}})
    assert r.json()["policy"] == "none"
    await bob_mentions_alice(pushnet)
    await asyncio.sleep(0.1)
    assert len(pushnet.push.received) == 1 and await queued(pushnet.clients["alice"]) == []


async def test_a_muted_account_is_not_pushed(pushnet):
    await subscribe(pushnet.api, AppKeys())
    bob = await inst(pushnet.clients["alice"]).federation.resolve_account(f"bob@127.0.0.1:{BOB}")
    r = await pushnet.api.post(f"/api/v1/accounts/{bob.id}/mute", data={"notifications": "true"})
    assert r.status_code == 200, r.text
    await bob_mentions_alice(pushnet)
    assert [n.type for n in (await notifications_core.page(inst(pushnet.clients["alice"]))).items] == []
    assert await queued(pushnet.clients["alice"]) == [] and pushnet.push.received == []
    await pushnet.api.post(f"/api/v1/accounts/{bob.id}/unmute")
    await bob_mentions_alice(pushnet, "again")
    await pushnet.push.wait()


# ------------------------------------------------------------------ failures and restarts

@pytest.mark.parametrize("status", [410, 404])
async def test_a_gone_endpoint_removes_the_subscription(pushnet, status):
    pushnet.push.status = status
    await subscribe(pushnet.api, AppKeys())
    await bob_likes_a_post(pushnet)
    await pushnet.push.wait()
    db = inst(pushnet.clients["alice"]).db
    await until(lambda: _no_subscription(db))
    assert await queued(pushnet.clients["alice"]) == []
    r = await pushnet.api.get("/api/v1/push/subscription")
    assert r.status_code == 404 and r.json() == {"error": "Record not found"}


async def _no_subscription(db) -> bool:
    return await db.fetchval("SELECT count(*) FROM push_subscriptions") == 0


async def test_a_failing_endpoint_is_retried_with_backoff(pushnet):
    pushnet.push.status = 503
    alice = pushnet.clients["alice"]
    await subscribe(pushnet.api, AppKeys(), standard=True)
    await bob_likes_a_post(pushnet)
    await pushnet.push.wait()

    async def attempted() -> bool:
        rows = await queued(alice)
        return bool(rows) and rows[0]["attempts"] == 1

    await until(attempted)
    row = (await queued(alice))[0]
    assert row["last_error"] == "HTTP 503"
    assert row["next_attempt_at"] > time.time() + 10  # backed off, not hammering
    assert len(pushnet.push.received) == 1
    assert await pushnet.api.get("/api/v1/push/subscription")  # still subscribed
    pushnet.push.status = 201
    async with inst(alice).db.transaction() as tx:  # fast-forward the clock
        await tx.execute("UPDATE push_queue SET next_attempt_at = 0")
    push.wake(inst(alice))
    await pushnet.push.wait(2)
    await until(lambda: _empty(alice))


async def test_a_rate_limit_is_honoured(pushnet):
    pushnet.push.status, pushnet.push.headers = 429, {"Retry-After": "3000"}
    alice = pushnet.clients["alice"]
    await subscribe(pushnet.api, AppKeys())
    await bob_likes_a_post(pushnet)
    await pushnet.push.wait()

    async def attempted() -> bool:
        rows = await queued(alice)
        return bool(rows) and rows[0]["attempts"] == 1

    await until(attempted)
    row = (await queued(alice))[0]
    assert row["last_error"] == "HTTP 429" and row["next_attempt_at"] > time.time() + 2900


async def test_a_refused_push_is_dropped_and_the_subscription_kept(pushnet):
    pushnet.push.status = 400
    alice = pushnet.clients["alice"]
    await subscribe(pushnet.api, AppKeys())
    await bob_likes_a_post(pushnet)
    await pushnet.push.wait()
    await until(lambda: _empty(alice))
    assert len(pushnet.push.received) == 1
    assert (await pushnet.api.get("/api/v1/push/subscription")).status_code == 200


async def test_a_push_is_given_up_after_a_day(pushnet):
    pushnet.push.status = 503
    alice = pushnet.clients["alice"]
    await subscribe(pushnet.api, AppKeys())
    await bob_likes_a_post(pushnet)
    await pushnet.push.wait()

    async def attempted() -> bool:
        rows = await queued(alice)
        return bool(rows) and rows[0]["attempts"] == 1

    await until(attempted)
    async with inst(alice).db.transaction() as tx:  # as if it had failed for a day and more
        await tx.execute("UPDATE push_queue SET next_attempt_at = 0, created_at = ?", (time.time() - 86400 - 60,))
    push.wake(inst(alice))
    await pushnet.push.wait(2)
    await until(lambda: _empty(alice))
    assert (await pushnet.api.get("/api/v1/push/subscription")).status_code == 200


async def test_the_queue_survives_a_restart(tmp_path):
    keys = AppKeys()
    async with Network(tmp_path) as net:
        service = PushService()
        net.router.add(PUSH_HOST, service.app)
        alice = strict(await net.add("alice", ALICE, "alice", deliver=False))  # as if killed before sending
        strict(await net.add("bob", BOB, "bob"))
        with_push_routes(alice)
        net.api = await bearer_client(alice)
        await subscribe(net.api, keys, standard=True)
        await bob_mentions_alice(net, "while you were away")
        assert len(await queued(alice)) == 1
        await asyncio.sleep(0.1)
        assert service.received == []
        await net.api.aclose()
    async with Network(tmp_path) as net:
        service = PushService()
        net.router.add(PUSH_HOST, service.app)
        await net.add("alice", ALICE, "alice")
        await service.wait()
        payload = json.loads(decrypt_aes128gcm(service.received[0][2], keys))
        assert payload["notification_type"] == "mention" and "while you were away" in payload["body"]
        await until(lambda: _empty(net.clients["alice"]))


async def test_revoking_the_token_ends_its_subscription(pushnet):
    alice = pushnet.clients["alice"]
    app = await register(alice)
    code = code_from(await consent(alice, app))["code"]
    token = (await alice.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": REDIRECT})).json()["access_token"]
    alice.cookies.clear()
    await subscribe(pushnet.api, AppKeys())  # another token's: it stays
    r = await alice.post("/api/v1/push/subscription", headers={"Authorization": f"Bearer {token}"}, json={
        "subscription": {"endpoint": f"http://{PUSH_HOST}/push/revoked",
                         "keys": {"p256dh": AppKeys().p256dh, "auth": b64(os.urandom(16))}}})
    assert r.status_code == 200, r.text
    db = inst(alice).db
    assert await db.fetchval("SELECT count(*) FROM push_subscriptions") == 2
    r = await alice.post("/oauth/revoke", data={"client_id": app["client_id"], "client_secret": app["client_secret"],
                                                 "token": token})
    assert r.status_code == 200, r.text
    endpoints = [row[0] for row in await db.fetchall("SELECT endpoint FROM push_subscriptions")]
    assert endpoints == [f"http://{PUSH_HOST}/push/device-1"]


# ------------------------------------------------------------------------ the API itself

async def test_subscription_crud_with_forms(pushnet):
    api, keys = pushnet.api, AppKeys()
    r = await api.get("/api/v1/push/subscription")
    assert r.status_code == 404 and r.json() == {"error": "Record not found"}
    form = {"subscription[endpoint]": f"http://{PUSH_HOST}/push/tusky",
            "subscription[keys][p256dh]": keys.p256dh, "subscription[keys][auth]": b64(keys.auth),
            "data[alerts][mention]": "true", "data[alerts][follow]": "1", "data[alerts][favourite]": "false",
            "data[alerts][admin.sign_up]": "true", "data[policy]": "follower"}
    r = await api.post("/api/v1/push/subscription", data=form)
    assert r.status_code == 200, r.text
    sub = r.json()
    assert type(sub["id"]) is int
    assert sub["endpoint"] == f"http://{PUSH_HOST}/push/tusky"
    assert sub["standard"] is False and sub["policy"] == "follower"
    assert set(sub["alerts"]) == ALERT_NAMES and all(type(v) is bool for v in sub["alerts"].values())
    assert {k for k, v in sub["alerts"].items() if v} == {"mention", "follow", "admin.sign_up"}
    server_key = unb64(sub["server_key"])
    assert len(server_key) == 65 and server_key[0] == 4 and "=" not in sub["server_key"]
    assert (await api.get("/api/v1/push/subscription")).json() == sub

    r = await api.put("/api/v1/push/subscription", data={"data[alerts][favourite]": "true",
                                                         "data[alerts][mention]": "false"})
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["id"] == sub["id"] and updated["policy"] == "follower"
    assert {k for k, v in updated["alerts"].items() if v} == {"favourite", "follow", "admin.sign_up"}

    # Subscribing again replaces the token's subscription.
    r = await api.post("/api/v1/push/subscription", data={**form, "subscription[standard]": "true"})
    assert r.json()["standard"] is True and r.json()["id"] != sub["id"]
    assert await inst(pushnet.clients["alice"]).db.fetchval("SELECT count(*) FROM push_subscriptions") == 1

    for _ in range(2):  # as often as an app likes
        r = await api.delete("/api/v1/push/subscription")
        assert r.status_code == 200 and r.json() == {}
    assert (await api.get("/api/v1/push/subscription")).status_code == 404
    r = await api.put("/api/v1/push/subscription", data={"data[policy]": "all"})
    assert r.status_code == 404


async def test_subscription_with_json_and_one_per_token(pushnet):
    api, keys = pushnet.api, AppKeys()
    body = {"subscription": {"endpoint": f"http://{PUSH_HOST}/push/android", "standard": True,
                             "keys": {"p256dh": keys.p256dh + "=", "auth": base64.b64encode(keys.auth).decode()}},
            "data": {"alerts": {"mention": True, "reblog": True, "admin": {"report": True}}, "policy": "all"}}
    r = await api.post("/api/v1/push/subscription", json=body)
    assert r.status_code == 200, r.text
    sub = r.json()
    assert sub["standard"] is True and sub["policy"] == "all"
    assert {k for k, v in sub["alerts"].items() if v} == {"mention", "reblog", "admin.report"}
    r = await api.put("/api/v1/push/subscription", json={"data": {"alerts": {"reblog": False}, "policy": "none"}})
    assert r.status_code == 200
    assert {k for k, v in r.json()["alerts"].items() if v} == {"mention", "admin.report"}
    assert r.json()["policy"] == "none"
    # Another token of the same owner has its own subscription, or none.
    other = await bearer_client(pushnet.clients["alice"])
    try:
        assert (await other.get("/api/v1/push/subscription")).status_code == 404
        await subscribe(other, AppKeys(), endpoint=f"http://{PUSH_HOST}/push/other")
        assert (await other.get("/api/v1/push/subscription")).json()["endpoint"].endswith("/other")
        assert (await api.get("/api/v1/push/subscription")).json()["endpoint"].endswith("/android")
    finally:
        await other.aclose()


async def test_bad_subscriptions_are_refused_with_422(pushnet):
    api, keys = pushnet.api, AppKeys()
    good = {"endpoint": f"http://{PUSH_HOST}/push/x", "keys": {"p256dh": keys.p256dh, "auth": b64(keys.auth)}}
    other_point = point(ec.generate_private_key(ec.SECP256R1()))
    off_curve = b"\x04" + other_point[1:33] + bytes(32)
    compressed = keys.private.public_key().public_bytes(serialization.Encoding.X962,
                                                        serialization.PublicFormat.CompressedPoint)
    bad = [
        {**good, "endpoint": ""},
        {**good, "endpoint": "ftp://127.0.0.1/push"},
        {**good, "endpoint": "not a url"},
        {**good, "endpoint": "https:///no-host"},
        {**good, "keys": {"p256dh": keys.p256dh[:-4], "auth": b64(keys.auth)}},      # 62 bytes
        {**good, "keys": {"p256dh": b64(off_curve), "auth": b64(keys.auth)}},        # not a P-256 point
        {**good, "keys": {"p256dh": b64(compressed), "auth": b64(keys.auth)}},        # a compressed point
        {**good, "keys": {"p256dh": "!!!", "auth": b64(keys.auth)}},
        {**good, "keys": {"p256dh": keys.p256dh, "auth": b64(keys.auth[:15])}},
        {**good, "keys": {"p256dh": keys.p256dh, "auth": b64(keys.auth + b"x")}},
        {**good, "keys": {"p256dh": keys.p256dh}},
    ]
    for subscription in bad:
        r = await api.post("/api/v1/push/subscription", json={"subscription": subscription})
        assert r.status_code == 422, (subscription, r.text)
        assert "error" in r.json()
    r = await api.post("/api/v1/push/subscription", json={"subscription": good, "data": {"policy": "friends"}})
    assert r.status_code == 422
    assert (await api.get("/api/v1/push/subscription")).status_code == 404  # nothing was stored
    assert (await api.post("/api/v1/push/subscription", json={"subscription": good})).status_code == 200


async def test_the_push_scope_is_needed(pushnet):
    alice = pushnet.clients["alice"]
    reader = await bearer_client(alice, "read write follow")
    try:
        for method in ("GET", "POST", "PUT", "DELETE"):
            r = await reader.request(method, "/api/v1/push/subscription")
            assert r.status_code == 403, (method, r.text)
        r = await reader.get("/api/v1/push/subscription", headers={"Authorization": "Bearer nonsense"})
        assert r.status_code == 401
    finally:
        await reader.aclose()


async def test_endpoints_must_be_https_without_private_addresses(tmp_path, caplog):
    """With the default configuration an http endpoint is refused, and an https one on a
    private address is stored but never contacted: the guarded client refuses it."""
    config_path = tmp_path / "smallfedi.toml"
    config_path.write_text(render_config("http://127.0.0.1:8080", "data"), encoding="utf-8")
    config = load_config(config_path)
    await initialise(config, USERNAME, PASSWORD)
    app = create_app(config)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 12345)),
                                     base_url="http://127.0.0.1:8080") as client:
            client.app = app
            with_push_routes(client)
            async with await bearer_client(client) as api:
                keys = AppKeys()
                r = await api.post("/api/v1/push/subscription", json={"subscription": {
                    "endpoint": "http://push.example/x", "keys": {"p256dh": keys.p256dh, "auth": b64(keys.auth)}}})
                assert r.status_code == 422 and "https" in r.json()["error"]
                await subscribe(api, keys, endpoint="https://127.0.0.1:1/push/private")
                instance = app.state.instance
                with caplog.at_level(logging.WARNING, logger="smallfedi.push"):
                    await _a_like_from_afar(instance)
                    await until(lambda: _queue_empty(instance))  # dropped, not retried for a day
                assert any("refused" in record.getMessage() for record in caplog.records)
                assert "/push/private" not in caplog.text  # the endpoint is a secret: only its host is logged
                assert await instance.db.fetchval("SELECT count(*) FROM push_subscriptions") == 1


async def _queue_empty(instance) -> bool:
    return await instance.db.fetchval("SELECT count(*) FROM push_queue") == 0


async def _a_like_from_afar(instance) -> None:
    """A remote account likes the owner's post, without a second instance."""
    post = await posting.publish(instance, Draft(text="Liked from afar"))
    actor = await remote.remember_actor(instance, ActorInfo(
        uri="https://far.example/users/carol", username="carol", domain="far.example",
        inbox_url="https://far.example/users/carol/inbox", display_name="Carol"))
    assert await remote.receive_like(instance, actor, instance.status_uri(post.id),
                                     "https://far.example/likes/1")


async def test_a_push_over_real_tcp_on_loopback(tmp_path):
    """The instance's own network transport (no test router): a push service on 127.0.0.1."""
    import uvicorn

    service = PushService()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(service.app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    serving = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert not serving.done() and time.monotonic() < deadline, "the push service did not start"
            await asyncio.sleep(0.01)
        config_path = tmp_path / "smallfedi.toml"
        config_path.write_text(render_config("http://127.0.0.1:8080", "data").replace(
            "allow_private_addresses = false", "allow_private_addresses = true"), encoding="utf-8")
        config = load_config(config_path)
        await initialise(config, USERNAME, PASSWORD)
        app = create_app(config)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 12345)),
                                         base_url="http://127.0.0.1:8080") as client:
                client.app = app
                with_push_routes(client)
                api = await bearer_client(client)
                async with api:
                    keys = AppKeys()
                    sub = await subscribe(api, keys, standard=True, endpoint=f"http://127.0.0.1:{port}/push/tcp")
                    await _a_like_from_afar(app.state.instance)
                    await service.wait()
        _, headers, body = service.received[0]
        fields = dict(p.strip().split("=", 1) for p in headers["authorization"].partition(" ")[2].split(","))
        check_vapid(fields["t"], sub["server_key"], f"http://127.0.0.1:{port}", "http://127.0.0.1:8080")
        payload = json.loads(decrypt_aes128gcm(body, keys))
        assert payload["title"] == "Carol favorited your post" and payload["body"] == "Liked from afar"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)


# ------------------------------------------------------------------------ keys and vectors

async def test_the_vapid_key_is_made_at_init_and_for_older_databases(tmp_path):
    from smallfedi.core.instance import Instance
    from smallfedi.store.db import Database

    config_path = tmp_path / "smallfedi.toml"
    config_path.write_text(render_config("http://127.0.0.1:8080", "data"), encoding="utf-8")
    config = load_config(config_path)
    await initialise(config, USERNAME, PASSWORD)
    db = Database(config.db_path)
    await db.open()
    try:
        made_at_init = await db.fetchone("SELECT * FROM vapid_key")  # by init itself, before any start
    finally:
        await db.close()
    assert made_at_init is not None
    assert len(unb64(made_at_init["public_key"])) == 65
    private = serialization.load_pem_private_key(made_at_init["private_key_pem"].encode(), None)
    assert b64(point(private)) == made_at_init["public_key"]  # the pair belongs together

    seen = []
    for forget in (True, False, False):
        instance = Instance(config)
        await instance.open()
        try:
            seen.append(instance.vapid_public_key)
            if forget:  # make it a database from before Web Push
                async with instance.db.transaction() as tx:
                    await tx.execute("DELETE FROM vapid_key")
        finally:
            await instance.close()
    assert seen[0] == made_at_init["public_key"]
    assert seen[1] and seen[1] != seen[0]  # made at start-up when missing…
    assert seen[2] == seen[1]              # …and kept from then on
    assert len(unb64(seen[1])) == 65


def test_rfc_8291_appendix_a():
    """The RFC's own example, byte for byte: fixed salt and sender key."""
    as_private = ec.derive_private_key(int.from_bytes(unb64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"), "big"),
                                       ec.SECP256R1())
    body, headers = webpush.encrypt(
        b"When I grow up, I want to be a watermelon",
        unb64("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"),
        unb64("BTBZMqHH6r4Tts7J_aSIgg"), standard=True, salt=unb64("DGv6ra1nlYgDCS1FRnbzlw"), ephemeral=as_private)
    assert headers == {"Content-Encoding": "aes128gcm"}
    assert b64(body) == ("DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6T"
                         "lzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN")


def test_a_forged_vapid_signature_is_caught():
    """The checker the tests rely on does reject a token signed by another key."""
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    token = webpush.vapid_jwt(key, "https://push.example:443/x", "https://me.example")
    check_vapid(token, b64(point(key)), "https://push.example", "https://me.example")
    with pytest.raises(InvalidSignature):
        check_vapid(token, b64(point(other)), "https://push.example", "https://me.example")
