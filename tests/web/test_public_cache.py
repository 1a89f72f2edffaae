"""The cache of rendered public documents: kept for strangers, never stale after a change,
never for the signed-in owner, bounded."""

from __future__ import annotations

import httpx
import pytest

from smallfedi.core import remote
from smallfedi.federation.parse import ActorInfo, NoteInfo
from smallfedi.public_cache import DocumentCache
from smallfedi.store.db import utcnow
from tests.conftest import post_form
from tests.web.test_pages import publish

pytestmark = pytest.mark.anyio

AP = {"Accept": "application/activity+json"}


def stranger(owner_client) -> httpx.AsyncClient:
    """Another browser on the same app: no cookies."""
    return httpx.AsyncClient(transport=owner_client._transport, base_url=str(owner_client.base_url))


async def test_public_pages_come_from_the_cache_until_they_change(owner_client):
    cache: DocumentCache = owner_client.app.state.public_cache
    async with stranger(owner_client) as visitor:
        first = await visitor.get("/@alice")
        assert first.status_code == 200 and "set-cookie" not in first.headers  # no form, no cookie
        hits = cache.hits
        again = await visitor.get("/@alice")
        assert again.text == first.text and cache.hits == hits + 1
        assert again.headers["content-security-policy"] and again.headers["x-frame-options"] == "DENY"
        # The actor and the page share a path but not an answer: Accept is part of the key.
        actor = await visitor.get("/users/alice", headers=AP)
        assert actor.json()["type"] == "Person"
        assert (await visitor.get("/users/alice", headers=AP)).json() == actor.json()

        post_id = await publish(owner_client, "Fresh from the oven")
        page = await visitor.get("/@alice")
        assert "Fresh from the oven" in page.text
        note = await visitor.get(f"/users/alice/statuses/{post_id}", headers=AP)
        assert "Fresh from the oven" in note.json()["content"]
        assert "Fresh from the oven" in (await visitor.get(f"/@alice/{post_id}")).text

        edit = await post_form(owner_client, f"/@alice/{post_id}/edit", f"/@alice/{post_id}/edit",
                               {"text": "Fresh and edited"})
        assert edit.status_code == 303
        assert "Fresh and edited" in (await visitor.get(f"/users/alice/statuses/{post_id}", headers=AP)).json()["content"]
        assert "Fresh and edited" in (await visitor.get("/@alice")).text

        gone = await post_form(owner_client, f"/@alice/{post_id}/delete", f"/@alice/{post_id}/delete", {})
        assert gone.status_code == 303
        assert (await visitor.get(f"/users/alice/statuses/{post_id}", headers=AP)).status_code == 410
        assert "Fresh and edited" not in (await visitor.get("/@alice")).text

        saved = await post_form(owner_client, "/settings/profile", "/settings/profile",
                                {"display_name": "Alice Cached", "bio": ""})
        assert saved.status_code == 200 and "Profile saved." in saved.text
        assert (await visitor.get("/users/alice", headers=AP)).json()["name"] == "Alice Cached"


async def test_the_owner_never_gets_the_strangers_page(owner_client):
    async with stranger(owner_client) as visitor:
        await visitor.get("/@alice")
        await visitor.get("/@alice")
    post_id = await publish(owner_client, "Mine")
    own = await owner_client.get("/@alice")
    assert f"/@alice/{post_id}/edit" in own.text  # the owner's controls
    async with stranger(owner_client) as visitor:
        assert f"/@alice/{post_id}/edit" not in (await visitor.get("/@alice")).text


async def test_a_stranger_post_leaves_the_cache_and_a_reply_renews_it(owner_client):
    inst = owner_client.app.state.instance
    cache: DocumentCache = owner_client.app.state.public_cache
    post_id = await publish(owner_client, "Ask me anything")
    bob = await remote.remember_actor(inst, ActorInfo(
        uri="http://127.0.0.1:9/users/bob", username="bob", domain="127.0.0.1:9",
        inbox_url="http://127.0.0.1:9/users/bob/inbox"))
    async with stranger(owner_client) as visitor:
        await visitor.get(f"/@alice/{post_id}")
        generation = inst.db.public_generation
        await remote.receive_note(inst, NoteInfo(
            uri="http://127.0.0.1:9/users/bob/statuses/1", author_uri=bob.uri, content="<p>Unrelated</p>",
            published=utcnow(), visibility="public"), bob)
        assert inst.db.public_generation == generation  # an inbox storm doesn't empty the cache
        hits = cache.hits
        await visitor.get(f"/@alice/{post_id}")
        assert cache.hits == hits + 1
        await remote.receive_note(inst, NoteInfo(
            uri="http://127.0.0.1:9/users/bob/statuses/2", author_uri=bob.uri, content="<p>An answer</p>",
            published=utcnow(), visibility="public", in_reply_to_uri=f"http://127.0.0.1:8080/users/alice/statuses/{post_id}"),
            bob)
        assert "An answer" in (await visitor.get(f"/@alice/{post_id}")).text


async def test_pages_with_a_form_or_a_session_are_not_kept(client):
    cache: DocumentCache = client.app.state.public_cache
    login = await client.get("/login")
    assert "set-cookie" in login.headers  # the login form needs its CSRF cookie
    entries = len(cache)
    await client.get("/login")
    await client.get("/api/v1/instance")
    assert len(cache) == entries


async def test_the_cache_keeps_to_its_budget(client):
    cache: DocumentCache = client.app.state.public_cache
    cache.max_bytes = 20_000
    for n in range(60):
        assert (await client.get(f"/@alice?page={n}")).status_code in (200, 400)
    assert 0 < cache.bytes <= 20_000
