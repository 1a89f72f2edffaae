"""Authorized fetch (`require_signed_fetch`) and a hidden network (`hide_network`)."""

from __future__ import annotations

import pytest

from smallfedi.core import following, posting
from smallfedi.core.posting import Draft
from tests.conftest import Network

pytestmark = pytest.mark.anyio
AP = {"Accept": "application/activity+json"}


async def test_signed_fetch_required_but_federation_still_works(tmp_path):
    async with Network(tmp_path) as net:
        alice = await net.add("alice", 9101, "alice", federation="require_signed_fetch = true")
        bob = await net.add("bob", 9102, "bob")
        post = await posting.publish(alice.app.state.instance, Draft(text="for signed eyes"))
        # Unsigned: the actor (and its key) stays readable, posts and collections do not.
        assert (await alice.get("/users/alice", headers=AP)).status_code == 200
        for path in (f"/users/alice/statuses/{post.id}", "/users/alice/outbox", "/users/alice/followers"):
            response = await alice.get(path, headers=AP)
            assert response.status_code == 401, path
            assert "signed" in response.json()["error"]
        assert (await alice.get("/.well-known/webfinger?resource=acct:alice@127.0.0.1:9101")).status_code == 200
        assert (await alice.get("/@alice")).status_code == 200  # the web page is not affected
        # Bob's server signs its fetches, so following and reading work.
        await following.follow(bob.app.state.instance, "@alice@127.0.0.1:9101")
        await net.settle()
        copy = await bob.app.state.instance.federation.resolve_status(post.uri)
        assert copy is not None and "signed eyes" in copy.content
        # What a signed reader got is never handed to an unsigned one from the public cache.
        assert (await alice.get(f"/users/alice/statuses/{post.id}", headers=AP)).status_code == 401
        # A bad signature is refused, not treated as unsigned.
        bad = await alice.get(f"/users/alice/statuses/{post.id}",
                              headers={**AP, "Signature": 'keyId="x",signature="AAAA"'})
        assert bad.status_code == 401


async def test_hidden_network_shows_counts_only(tmp_path):
    async with Network(tmp_path) as net:
        alice = await net.add("alice", 9101, "alice", federation="hide_network = true")
        bob = await net.add("bob", 9102, "bob")
        await following.follow(bob.app.state.instance, "@alice@127.0.0.1:9101")
        await net.settle()
        collection = (await alice.get("/users/alice/followers", headers=AP)).json()
        assert collection["totalItems"] == 1 and "first" not in collection
        page = (await alice.get("/users/alice/followers?page=1", headers=AP)).json()
        assert "orderedItems" not in page
