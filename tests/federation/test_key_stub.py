"""A sender whose key id answers with a stub of the actor (no inbox), as GoToSocial serves
`/users/NAME/main-key`: the inbox must fetch the whole actor from the stub's id and accept."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from smallfedi.core import following
from smallfedi.federation.signatures import sign_headers
from tests.conftest import Network

pytestmark = pytest.mark.anyio

GTS = "http://127.0.0.1:9160"
ACTOR = f"{GTS}/users/zoe"
KEY_ID = f"{ACTOR}/main-key"
AS = "https://www.w3.org/ns/activitystreams"


def fake_gotosocial(public_pem: str) -> Starlette:
    key = {"id": KEY_ID, "owner": ACTOR, "publicKeyPem": public_pem}
    stub = {"@context": [AS, "https://w3id.org/security/v1"], "id": ACTOR, "type": "Person",
            "preferredUsername": "zoe", "publicKey": key}
    actor = {**stub, "inbox": f"{ACTOR}/inbox", "outbox": f"{ACTOR}/outbox", "followers": f"{ACTOR}/followers",
             "endpoints": {"sharedInbox": f"{GTS}/inbox"}}

    def doc(body):
        async def endpoint(request):
            return Response(json.dumps(body), media_type="application/activity+json")
        return endpoint

    async def inbox(request):
        return Response(status_code=202)

    return Starlette(routes=[Route("/users/zoe/main-key", doc(stub)), Route("/users/zoe", doc(actor)),
                             Route("/users/zoe/inbox", inbox, methods=["POST"]),
                             Route("/inbox", inbox, methods=["POST"])])


async def test_a_key_id_serving_an_actor_stub_is_followed_to_the_actor(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    async with Network(tmp_path) as net:
        alice = await net.add("alice", 9161, "alice")
        net.router.add("127.0.0.1:9160", fake_gotosocial(public_pem))
        follow = {"@context": AS, "id": f"{GTS}/follows/{time.time_ns()}", "type": "Follow", "actor": ACTOR,
                  "object": "http://127.0.0.1:9161/users/alice"}
        body = json.dumps(follow).encode("utf-8")
        headers = {"Content-Type": "application/activity+json"}
        headers.update(sign_headers("POST", "http://127.0.0.1:9161/users/alice/inbox", headers, body, KEY_ID, key))
        response = await alice.post("/users/alice/inbox", content=body, headers=headers)
        assert response.status_code == 202, response.text
        await net.settle()
        followers = await following.list_followers(alice.app.state.instance)
        assert [a.uri for _, a in followers] == [ACTOR]
        assert followers[0][1].inbox_url == f"{ACTOR}/inbox"
