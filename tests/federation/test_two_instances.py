"""Two (or three) smallfedi instances in one process, federating with real signatures."""

from __future__ import annotations

import pytest

from smallfedi.core import following, interactions, posting, profile, timelines
from smallfedi.core.posting import Draft
from tests.conftest import Network

pytestmark = pytest.mark.anyio


def inst(client):
    return client.app.state.instance


async def texts(client) -> list[str]:
    page = await timelines.home(inst(client))
    return [v.shown.content for v in page.items]


async def notification_types(client) -> list[str]:
    page = await timelines.notifications(inst(client))
    return [n.type for n in page.items]


async def test_follow_post_reply_like_boost_both_ways(net):
    alice, bob = net.clients["alice"], net.clients["bob"]
    # Bob follows Alice by handle: WebFinger, signed actor fetch, Follow, auto-Accept.
    account = await following.follow(inst(bob), "@alice@127.0.0.1:9101")
    assert account.uri == "http://127.0.0.1:9101/users/alice"
    await net.settle()
    rel = await following.relationship(inst(bob), account.id)
    assert rel["following"] and not rel["requested"]
    assert await following.counts(inst(alice)) == (1, 0)
    assert await notification_types(alice) == ["follow"]

    # Alice posts; Bob's home timeline has it within the same settle.
    post = await posting.publish(inst(alice), Draft(text="Hello #fediverse from **Alice**"))
    await net.settle()
    assert any("Hello" in t and "<strong>Alice</strong>" in t for t in await texts(bob))

    # Bob replies, likes and boosts; Alice is told of each.
    bobs_copy = await inst(bob).federation.resolve_status(post.uri)
    reply = await posting.publish(inst(bob), Draft(text="@alice@127.0.0.1:9101 welcome!",
                                                   in_reply_to_id=bobs_copy.id))
    await interactions.favourite(inst(bob), bobs_copy.id)
    await interactions.reblog(inst(bob), bobs_copy.id)
    await net.settle()
    kinds = await notification_types(alice)
    assert {"mention", "favourite", "reblog"} <= set(kinds)
    ancestors, me, replies = await timelines.thread(inst(alice), post.id, True)
    assert [r.shown.uri for r in replies] == [reply.uri]
    views = await timelines.hydrate(inst(alice), [post])
    assert (views[0].favourites_count, views[0].reblogs_count, views[0].replies_count) == (1, 1, 1)

    # Alice follows back and sees Bob's posts; she answers and boosts.
    await following.follow(inst(alice), "bob@127.0.0.1:9102")
    await net.settle()
    assert await following.counts(inst(alice)) == (1, 1)
    await posting.publish(inst(bob), Draft(text="Bob's own news"))
    await net.settle()
    assert any("Bob's own news" in t for t in await texts(alice))


async def test_locked_account_approval(net):
    alice, bob = net.clients["alice"], net.clients["bob"]
    await profile.update_profile(inst(alice), profile.ProfileUpdate("Alice", "", [], locked=True))
    await net.settle()
    account = await following.follow(inst(bob), "@alice@127.0.0.1:9101")
    await net.settle()
    assert (await following.relationship(inst(bob), account.id))["requested"]
    assert await notification_types(alice) == ["follow_request"]
    requests = await following.list_followers(inst(alice), accepted=False)
    assert len(requests) == 1
    bob_on_alice = requests[0][1]
    await posting.publish(inst(alice), Draft(text="before approval", visibility="private"))
    await net.settle()
    assert not any("before approval" in t for t in await texts(bob))
    await following.approve(inst(alice), bob_on_alice.id)
    await net.settle()
    assert (await following.relationship(inst(bob), account.id))["following"]
    await posting.publish(inst(alice), Draft(text="followers only", visibility="private"))
    await net.settle()
    assert any("followers only" in t for t in await texts(bob))
    # Rejecting (removing a follower) ends it on Bob's side too.
    await following.reject(inst(alice), bob_on_alice.id)
    await net.settle()
    assert not (await following.relationship(inst(bob), account.id))["following"]


async def test_edits_and_deletes_reach_followers(net):
    alice, bob = net.clients["alice"], net.clients["bob"]
    await following.follow(inst(bob), "@alice@127.0.0.1:9101")
    await net.settle()
    post = await posting.publish(inst(alice), Draft(text="first words"))
    await net.settle()
    await posting.edit(inst(alice), post.id, Draft(text="better words"))
    await net.settle()
    copy = await inst(bob).federation.resolve_status(post.uri)
    assert "better words" in copy.content and copy.edited_at
    from smallfedi.core import reading

    history = await reading.history(inst(bob), copy.id, True)
    assert [("first" in h.content, "better" in h.content) for h in history] == [(True, False), (False, True)]
    await posting.delete(inst(alice), post.id)
    await net.settle()
    assert not any("words" in t for t in await texts(bob))


async def test_boost_of_a_boost_and_undo(tmp_path):
    async with Network(tmp_path) as net:
        alice = await net.add("alice", 9101, "alice")
        bob = await net.add("bob", 9102, "bob")
        carol = await net.add("carol", 9103, "carol")
        await following.follow(inst(bob), "@alice@127.0.0.1:9101")
        await following.follow(inst(carol), "@bob@127.0.0.1:9102")
        await net.settle()
        post = await posting.publish(inst(alice), Draft(text="worth sharing"))
        await net.settle()
        bobs_copy = await inst(bob).federation.resolve_status(post.uri)
        await interactions.reblog(inst(bob), bobs_copy.id)
        await net.settle()
        # Carol sees Bob's boost of Alice's post; she boosts that boost: it is Alice's post she boosts.
        home = await timelines.home(inst(carol))
        boost_view = home.items[0]
        assert boost_view.reblog is not None and "worth sharing" in boost_view.shown.content
        await interactions.reblog(inst(carol), boost_view.status.id)
        await net.settle()
        assert (await notification_types(alice)).count("reblog") == 2
        await interactions.unreblog(inst(bob), bobs_copy.id)
        await net.settle()
        assert (await notification_types(alice)).count("reblog") == 1
        await interactions.unfavourite(inst(bob), bobs_copy.id)  # never liked: a no-op


async def test_unfollow_and_undo_like(net):
    alice, bob = net.clients["alice"], net.clients["bob"]
    account = await following.follow(inst(bob), "@alice@127.0.0.1:9101")
    await net.settle()
    post = await posting.publish(inst(alice), Draft(text="likeable"))
    await net.settle()
    copy = await inst(bob).federation.resolve_status(post.uri)
    await interactions.favourite(inst(bob), copy.id)
    await net.settle()
    assert "favourite" in await notification_types(alice)
    await interactions.unfavourite(inst(bob), copy.id)
    await net.settle()
    assert "favourite" not in await notification_types(alice)
    await following.unfollow(inst(bob), account.id)
    await net.settle()
    assert await following.counts(inst(alice)) == (0, 0)


async def test_queue_survives_a_restart(tmp_path):
    """What was queued but not sent when the server stopped goes out after the restart."""
    async with Network(tmp_path) as net:
        await net.add("alice", 9101, "alice", deliver=False)  # as if killed before sending
        bob = await net.add("bob", 9102, "bob")
        await following.follow(inst(bob), "@alice@127.0.0.1:9101")
        await net.settle()
        await posting.publish(inst(net.clients["alice"]), Draft(text="sent after the restart"))
        assert await inst(net.clients["alice"]).db.fetchval("SELECT count(*) FROM deliveries") == 2
        assert not any("restart" in t for t in await texts(bob))
    async with Network(tmp_path) as net:
        bob = await net.add("bob", 9102, "bob")  # Bob first: Alice's worker starts sending at once
        await net.add("alice", 9101, "alice")
        await net.settle()
        assert any("sent after the restart" in t for t in await texts(bob))
        account = await following.follow(inst(bob), "@alice@127.0.0.1:9101")
        assert (await following.relationship(inst(bob), account.id))["following"]


async def test_a_failing_host_is_retried_with_backoff(net):
    alice, bob = net.clients["alice"], net.clients["bob"]
    await following.follow(inst(bob), "@alice@127.0.0.1:9101")
    await net.settle()
    net.router.down.add("127.0.0.1:9102")
    await posting.publish(inst(alice), Draft(text="try again later"))
    db = inst(alice).db
    for _ in range(500):
        row = await db.fetchone("SELECT attempts, next_attempt_at, last_error FROM deliveries")
        if row and row["attempts"] == 1:
            break
        import asyncio
        await asyncio.sleep(0.01)
    assert row["attempts"] == 1 and row["last_error"] == "HTTP 503"
    import time
    assert row["next_attempt_at"] > time.time() + 20  # backed off, not hammering
    net.router.down.clear()
    async with db.transaction() as tx:  # fast-forward the clock for the test
        await tx.execute("UPDATE deliveries SET next_attempt_at = 0")
    inst(alice).federation.wake_delivery()
    await net.settle()
    assert any("try again later" in t for t in await texts(bob))


async def test_block_and_being_blocked(net):
    alice, bob = net.clients["alice"], net.clients["bob"]
    account = await following.follow(inst(bob), "@alice@127.0.0.1:9101")
    await following.follow(inst(alice), "@bob@127.0.0.1:9102")
    await net.settle()
    bob_on_alice = await inst(alice).federation.resolve_account("bob@127.0.0.1:9102")
    await following.block(inst(alice), bob_on_alice.id)
    await net.settle()
    # The follows ended on both sides; Bob's server knows it is blocked.
    assert await following.counts(inst(alice)) == (0, 0)
    assert await following.counts(inst(bob)) == (0, 0)
    assert await inst(bob).db.fetchval("SELECT blocks_owner FROM accounts WHERE id = ?", (account.id,)) == 1
    # Bob's server sends nothing more to alice, even a post that mentions her.
    sent_before = sum(1 for r in net.router.requests if r.method == "POST" and r.url.netloc == b"127.0.0.1:9101")
    await posting.publish(inst(bob), Draft(text="@alice@127.0.0.1:9101 hello?"))
    await net.settle()
    assert sent_before == sum(1 for r in net.router.requests
                              if r.method == "POST" and r.url.netloc == b"127.0.0.1:9101")
    assert "mention" not in await notification_types(alice)
    await following.unblock(inst(alice), bob_on_alice.id)
    await net.settle()
    assert await inst(bob).db.fetchval("SELECT blocks_owner FROM accounts WHERE id = ?", (account.id,)) == 0


async def test_two_actors_with_one_handle_are_both_kept(net):
    from smallfedi.core import remote
    from smallfedi.core.models import ActorInfo

    alice = inst(net.clients["alice"])
    for path in ("users/x", "people/x"):
        await remote.remember_actor(alice, ActorInfo(uri=f"https://r.example/{path}", username="x",
                                                     domain="r.example", inbox_url=f"https://r.example/{path}/inbox"))
    assert await alice.db.fetchval("SELECT count(*) FROM accounts WHERE username = 'x'") == 2


async def test_a_reply_stored_before_its_parent_attaches_when_the_parent_arrives(net):
    from smallfedi.core import remote
    from smallfedi.core.models import ActorInfo, NoteInfo

    alice = inst(net.clients["alice"])
    author = await remote.remember_actor(alice, ActorInfo(uri="https://r.example/users/x", username="x",
                                                          domain="r.example", inbox_url="https://r.example/inbox"))
    parent_uri = "https://r.example/notes/1"
    child = await remote.receive_note(alice, NoteInfo(
        uri="https://r.example/notes/2", author_uri=author.uri, content="<p>a reply</p>",
        published="2026-01-01T00:00:01.000Z", visibility="public", in_reply_to_uri=parent_uri), author)
    assert child.in_reply_to_id is None
    parent = await remote.receive_note(alice, NoteInfo(
        uri=parent_uri, author_uri=author.uri, content="<p>the parent</p>",
        published="2026-01-01T00:00:00.000Z", visibility="public"), author)
    _, _, descendants = await timelines.thread(alice, parent.id, True)
    assert [v.status.uri for v in descendants] == ["https://r.example/notes/2"]
