"""Followed hashtags (the Tag entity, follow and unfollow, the followed list, tagged public posts
joining the home timeline and the user stream) and direct conversations (grouped by who takes
part, unread until read, removed until a new post, the `direct` stream)."""

from __future__ import annotations

import json

import pytest

from smallfedi.api import streaming
from smallfedi.core.events import Event
from smallfedi.store import accounts as accounts_store
from tests.api.strict_schema import ID_RE
from tests.api.test_lists import (assert_valid, follow_directly, get_json, instance, remote_account,
                                  remote_post)

pytestmark = pytest.mark.anyio


# Followed hashtags ------------------------------------------------------------------------------------

async def test_tag_follow_and_unfollow(api):
    tag = await get_json(api, "/api/v1/tags/Pi")
    assert_valid("Tag", tag)
    assert (tag["name"], tag["following"], tag["history"]) == ("pi", False, [])
    assert tag["url"].endswith("/tags/pi")
    assert (await api.get("/api/v1/tags/Pi/")).json() == tag  # Ice Cubes asks with a slash
    for bad in ("1234", "no-dashes", "%20"):
        r = await api.get(f"/api/v1/tags/{bad}")
        assert r.status_code == 404 and r.json() == {"error": "Record not found"}, bad

    r = await api.post("/api/v1/tags/Pi/follow")
    assert r.status_code == 200, r.text
    assert_valid("Tag", r.json())
    assert r.json()["following"] is True
    assert (await api.post("/api/v1/tags/pi/follow")).status_code == 200  # again: no change
    assert (await get_json(api, "/api/v1/tags/pi"))["following"] is True
    await api.post("/api/v1/statuses", json={"status": "baking a #pi"})
    found = (await get_json(api, "/api/v2/search", q="#pi", type="hashtags"))["hashtags"]
    assert_valid("Tag", found)
    assert [(t["name"], t["following"]) for t in found] == [("pi", True)]
    # Visitors don't learn what the owner follows.
    assert (await api.get("/api/v1/tags/pi", headers={"Authorization": ""})).json()["following"] is False

    for name in ("raspberry", "selfhosting", "fediverse"):
        await api.post(f"/api/v1/tags/{name}/follow")
    followed = await get_json(api, "/api/v1/followed_tags")
    assert_valid("Tag", followed)
    assert [t["name"] for t in followed] == ["fediverse", "selfhosting", "raspberry", "pi"]
    assert all(t["following"] for t in followed)
    r = await api.get("/api/v1/followed_tags", params={"limit": 3})
    assert len(r.json()) == 3 and 'rel="next"' in r.headers["link"] and "limit=3" in r.headers["link"]
    rest = (await api.get(r.headers["link"].split(">")[0].lstrip("<"))).json()
    assert [t["name"] for t in rest] == ["pi"]

    r = await api.post("/api/v1/tags/pi/unfollow")
    assert r.status_code == 200 and r.json()["following"] is False, r.text
    assert "pi" not in [t["name"] for t in await get_json(api, "/api/v1/followed_tags")]


async def test_public_posts_with_a_followed_tag_join_home(api):
    inst = instance(api)
    stranger = await remote_account(api, "stranger")
    tagged = await remote_post(api, stranger, "pie day #pi", tags=("pi",))
    unlisted = await remote_post(api, stranger, "quiet #pi", tags=("pi",), visibility="unlisted")
    untagged = await remote_post(api, stranger, "no tag here")
    other = await remote_post(api, stranger, "#cake", tags=("cake",))

    async def home() -> set[str]:
        statuses = await get_json(api, "/api/v1/timelines/home")
        assert_valid("Status", statuses)
        return {s["id"] for s in statuses}

    assert not {str(tagged.id), str(unlisted.id), str(untagged.id), str(other.id)} & await home()
    await api.post("/api/v1/tags/pi/follow")
    shown = await home()
    assert str(tagged.id) in shown
    assert not {str(unlisted.id), str(untagged.id), str(other.id)} & shown
    # The user stream has it too.
    messages = await streaming.render(inst, Event("status", tagged.id), {("user", None)})
    assert [(m["stream"], m["event"]) for m in messages] == [(["user"], "update")]
    assert await streaming.render(inst, Event("status", untagged.id), {("user", None)}) == []
    # Not from an account the owner blocked.
    async with inst.db.transaction() as tx:
        await accounts_store.set_blocked(tx, stranger.id, True)
    assert str(tagged.id) not in await home()
    async with inst.db.transaction() as tx:
        await accounts_store.set_blocked(tx, stranger.id, False)
    await api.post("/api/v1/tags/pi/unfollow")
    assert str(tagged.id) not in await home()


# Conversations ----------------------------------------------------------------------------------------

def assert_conversation(c: dict) -> None:
    """A Conversation as Tusky and Ice Cubes read it (not in the schema): all four keys."""
    assert set(c) == {"id", "unread", "accounts", "last_status"}
    assert ID_RE.match(c["id"]) and isinstance(c["unread"], bool) and c["accounts"]
    assert_valid("Account", c["accounts"])
    assert_valid("Status", c["last_status"])


async def conversations(api, **params) -> list[dict]:
    found = await get_json(api, "/api/v1/conversations", **params)
    for c in found:
        assert_conversation(c)
    return found


async def test_conversations(api):
    inst = instance(api)
    owner_uri = inst.owner.uri
    bob = await remote_account(api, "bob", "127.0.0.1:9001")
    carol = await remote_account(api, "carol", "127.0.0.1:9002")
    await follow_directly(api, bob)
    public = await remote_post(api, bob, "not a direct post", mentions=(owner_uri,))
    first = await remote_post(api, bob, "psst, alice", visibility="direct", mentions=(owner_uri,))

    (conv,) = await conversations(api)
    assert ([a["id"] for a in conv["accounts"]], conv["unread"], conv["last_status"]["id"]) == \
        ([str(bob.id)], True, str(first.id))
    assert str(public.id) != conv["last_status"]["id"]

    # The owner answers: the same conversation, now read (the latest post is the owner's).
    r = await api.post("/api/v1/statuses", json={"status": "@bob@127.0.0.1:9001 hello bob",
                                                 "visibility": "direct", "in_reply_to_id": str(first.id)})
    assert r.status_code == 200, r.text
    answer = r.json()
    (conv2,) = await conversations(api)
    assert (conv2["id"], conv2["unread"], conv2["last_status"]["id"]) == (conv["id"], False, answer["id"])

    # Bob again: unread until marked read.
    again = await remote_post(api, bob, "one more thing", visibility="direct", mentions=(owner_uri,))
    (conv3,) = await conversations(api)
    assert (conv3["id"], conv3["unread"], conv3["last_status"]["id"]) == (conv["id"], True, str(again.id))
    r = await api.post(f"/api/v1/conversations/{conv['id']}/read")
    assert r.status_code == 200, r.text
    assert_conversation(r.json())
    assert r.json()["unread"] is False
    assert (await conversations(api))[0]["unread"] is False

    # Carol writes to the owner and Bob: another conversation, with both.
    group = await remote_post(api, carol, "all three of us", visibility="direct",
                              mentions=(owner_uri, bob.uri))
    found = await conversations(api)
    assert [c["last_status"]["id"] for c in found] == [str(group.id), str(again.id)]
    assert sorted(a["id"] for a in found[0]["accounts"]) == sorted([str(bob.id), str(carol.id)])
    assert found[0]["unread"] is True

    # Paged by the latest post, with Link.
    r = await api.get("/api/v1/conversations", params={"limit": 1})
    assert [c["id"] for c in r.json()] == [found[0]["id"]]
    assert f"max_id={group.id}" in r.headers["link"] and "limit=1" in r.headers["link"]
    older = (await api.get(r.headers["link"].split(">")[0].lstrip("<"))).json()
    assert [c["id"] for c in older] == [conv["id"]]
    newer = (await api.get("/api/v1/conversations", params={"min_id": str(again.id)})).json()
    assert [c["id"] for c in newer] == [found[0]["id"]]

    # Removed until someone writes again.
    assert (await api.delete(f"/api/v1/conversations/{conv['id']}")).json() == {}
    assert [c["id"] for c in await conversations(api)] == [found[0]["id"]]
    back = await remote_post(api, bob, "are you there?", visibility="direct", mentions=(owner_uri,))
    current = await conversations(api)
    assert [(c["id"], c["last_status"]["id"], c["unread"]) for c in current][0] == (conv["id"], str(back.id), True)

    for method, path in (("post", "/api/v1/conversations/999/read"), ("delete", "/api/v1/conversations/999")):
        r = await getattr(api, method)(path)
        assert r.status_code == 404 and r.json() == {"error": "Record not found"}

    # The direct stream gets the conversation of a new direct post.
    messages = await streaming.render(inst, Event("status", back.id), {("direct", None)})
    assert [(m["stream"], m["event"]) for m in messages] == [(["direct"], "conversation")]
    payload = json.loads(messages[0]["payload"])
    assert_conversation(payload)
    assert (payload["id"], payload["last_status"]["id"]) == (conv["id"], str(back.id))
