"""Polls between in-process instances: Alice's poll goes out as a Question, Bob and Carol vote,
Alice counts each voter once and sends the new figures back; late and repeated votes don't count."""

from __future__ import annotations

import pytest

from smallfedi.core import following, polls, posting, reading, timelines
from smallfedi.core.errors import Invalid
from smallfedi.core.models import Account
from smallfedi.core.posting import Draft
from smallfedi.store import accounts as accounts_store
from tests.conftest import Network, sign_in

pytestmark = pytest.mark.anyio

AP = {"Accept": "application/activity+json"}


def inst(client):
    return client.app.state.instance


@pytest.fixture
async def net(tmp_path):
    async with Network(tmp_path) as network:
        await network.add("alice", 9121, "alice")
        await network.add("bob", 9122, "bob")
        await network.add("carol", 9123, "carol")
        yield network


async def poll_of(client, status_id: int):
    return (await timelines.hydrate(inst(client), [await reading.load_status(inst(client), status_id)]))[0].poll


def counts(poll) -> list[int]:
    return [o.votes_count for o in poll.options]


async def alices_poll(net, text: str = "Tea or coffee?", multiple: bool = False):
    """Bob follows Alice; Alice asks. Returns (Alice's post, Bob's copy)."""
    alice, bob = net.clients["alice"], net.clients["bob"]
    await following.follow(inst(bob), "@alice@127.0.0.1:9121")
    await net.settle()
    post = await posting.publish(inst(alice), Draft(
        text=text, poll=polls.PollDraft(("Tea", "Coffee", "Water"), 3600, multiple=multiple)))
    await net.settle()
    copy = await inst(bob).federation.resolve_status(post.uri)
    return post, copy


async def test_a_poll_goes_out_votes_come_back_and_the_figures_reach_everyone(net):
    alice, bob, carol = net.clients["alice"], net.clients["bob"], net.clients["carol"]
    post, copy = await alices_poll(net)

    # Alice's post is a Question, wherever it is read.
    doc = (await alice.get(post.uri, headers=AP)).json()
    assert doc["type"] == "Question" and "anyOf" not in doc
    assert [(o["type"], o["name"], o["replies"]["totalItems"]) for o in doc["oneOf"]] == [
        ("Note", "Tea", 0), ("Note", "Coffee", 0), ("Note", "Water", 0)]
    assert doc["votersCount"] == 0 and doc["endTime"].endswith("Z") and "closed" not in doc
    assert "votersCount" in doc["@context"][2]

    # Bob's server shows it as a poll, with the same options and end.
    theirs = await poll_of(bob, copy.id)
    mine = await poll_of(alice, post.id)
    assert [o.title for o in theirs.options] == ["Tea", "Coffee", "Water"]
    assert counts(theirs) == [0, 0, 0] and not theirs.multiple and not theirs.expired
    assert theirs.expires_at == mine.expires_at[:19] + ".000Z"
    assert not theirs.mine and mine.mine
    await sign_in(bob)
    page = await bob.get(f"/statuses/{copy.id}")
    assert page.status_code == 200 and 'class="poll"' in page.text and "Coffee" in page.text

    # Carol, who doesn't follow Alice, reads the poll before anyone has voted.
    carols = await inst(carol).federation.resolve_status(post.uri)

    # Bob votes; Alice counts it and is the only one who hears of the vote itself.
    deliveries_before = len(net.router.requests)
    await polls.vote(inst(bob), copy.id, [1])
    await net.settle()
    vote_posts = [r for r in net.router.requests[deliveries_before:]
                  if r.method == "POST" and r.url.netloc == b"127.0.0.1:9121"]
    assert vote_posts, "the vote was not delivered to Alice"
    mine = await poll_of(alice, post.id)
    assert counts(mine) == [0, 1, 0] and mine.voters_count == 1
    # The vote is a vote, not a post or a mention.
    assert await inst(alice).db.fetchval("SELECT count(*) FROM statuses WHERE local = 0") == 0
    assert [n.type for n in (await timelines.notifications(inst(alice))).items] == ["follow"]
    # Bob's copy: his choice, and no edit (an Update of the figures is no new version).
    theirs = await poll_of(bob, copy.id)
    assert theirs.own_votes == (1,) and theirs.voted and counts(theirs) == [0, 1, 0]
    copy_now = await reading.load_status(inst(bob), copy.id)
    assert copy_now.edited_at is None
    assert len(await reading.history(inst(bob), copy.id, True)) == 1
    with pytest.raises(Invalid):
        await polls.vote(inst(bob), copy.id, [0])  # once only
    assert counts(await poll_of(carol, carols.id)) == [0, 0, 0]  # neither follower nor voter yet

    # Carol votes too: Alice's Update takes the new figures to Bob (a follower) and to Carol
    # (now a voter). Each learns of the other's vote only that way.
    await polls.vote(inst(carol), carols.id, [0])
    await net.settle()
    assert counts(await poll_of(alice, post.id)) == [1, 1, 0]
    theirs = await poll_of(bob, copy.id)
    assert counts(theirs) == [1, 1, 0] and theirs.voters_count == 2 and theirs.own_votes == (1,)
    assert counts(await poll_of(carol, carols.id)) == [1, 1, 0]
    doc = (await alice.get(post.uri, headers=AP)).json()
    assert [o["replies"]["totalItems"] for o in doc["oneOf"]] == [1, 1, 0] and doc["votersCount"] == 2


async def test_a_voter_counts_once(net):
    alice, bob = net.clients["alice"], net.clients["bob"]
    post, copy = await alices_poll(net)
    await polls.vote(inst(bob), copy.id, [0])
    await net.settle()
    assert counts(await poll_of(alice, post.id)) == [1, 0, 0]
    # Bob's server sends the same choice again, and then another one, under new activity ids
    # (as a buggy or hostile server might): a single-choice poll counts Bob once.
    bobs = inst(bob)
    author = Account.from_row(await accounts_store.get(bobs.db, copy.account_id))
    for title in ("Tea", "Coffee"):
        async with bobs.db.transaction() as tx:
            await bobs.federation.publish_vote(tx, f"{bobs.actor_uri()}#votes/{bobs.ids.next()}", copy, author,
                                               title)
    await net.settle()
    mine = await poll_of(alice, post.id)
    assert counts(mine) == [1, 0, 0] and mine.voters_count == 1
    assert await inst(alice).db.fetchval("SELECT count(*) FROM poll_votes") == 1


async def test_several_choices_count_one_voter(net):
    alice, bob = net.clients["alice"], net.clients["bob"]
    post, copy = await alices_poll(net, "Which do you drink?", multiple=True)
    doc = (await alice.get(post.uri, headers=AP)).json()
    assert "anyOf" in doc and "oneOf" not in doc
    assert (await poll_of(bob, copy.id)).multiple
    await polls.vote(inst(bob), copy.id, [0, 2])
    await net.settle()
    mine = await poll_of(alice, post.id)
    assert counts(mine) == [1, 0, 1] and mine.voters_count == 1
    theirs = await poll_of(bob, copy.id)
    assert counts(theirs) == [1, 0, 1] and theirs.own_votes == (0, 2)


async def test_a_vote_after_the_end_is_ignored(net):
    alice, bob = net.clients["alice"], net.clients["bob"]
    post, copy = await alices_poll(net)
    # Alice's poll has ended (on Alice's clock); Bob's copy does not know yet.
    async with inst(alice).db.transaction() as tx:
        await tx.execute("UPDATE polls SET expires_at = '2000-01-01T00:00:00.000Z' WHERE status_id = ?", (post.id,))
    updates_before = await inst(alice).db.fetchval("SELECT count(*) FROM activities WHERE type = 'Update'")
    await polls.vote(inst(bob), copy.id, [2])
    await net.settle()
    mine = await poll_of(alice, post.id)
    assert mine.expired and counts(mine) == [0, 0, 0] and mine.voters_count == 0
    assert await inst(alice).db.fetchval("SELECT count(*) FROM activities WHERE type = 'Update'") == updates_before
    assert await inst(alice).db.fetchval("SELECT count(*) FROM statuses WHERE local = 0") == 0
    # Now over, the Question says so.
    doc = (await alice.get(post.uri, headers=AP)).json()
    assert doc["closed"] == doc["endTime"] == "2000-01-01T00:00:00Z"
