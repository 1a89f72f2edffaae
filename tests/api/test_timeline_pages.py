"""A page of posts as the timelines read it (one query for everything the posts show) and write
it (the Status JSON straight from the view): each part as it was when read on its own, and the
text exactly the entity's dict encoded. The filters in force are kept until a commit or until
the first of them expires."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from smallfedi.api import entities
from smallfedi.core import remote, timelines
from smallfedi.core.models import AttachmentInfo, NoteInfo, PollInfo, PollOption, Status
from smallfedi.store import statuses as statuses_store
from smallfedi.store.db import format_time, utcnow
from tests.api.test_lists import follow_directly, get_json, instance, remote_account, remote_post

pytestmark = pytest.mark.anyio

ODD = 'quote " backslash \\ control \x01 line\u2028sep 🎉 </script>'


async def a_busy_page(api):
    """Posts with everything a post can carry, from followed accounts, a stranger and the owner."""
    inst = instance(api)
    alice = await remote_account(api, "alice")
    bob = await remote_account(api, "bob", "127.0.0.2:9")
    carol = await remote_account(api, "carol")
    async with inst.db.transaction() as tx:
        await tx.execute("UPDATE accounts SET display_name = ?, note = ?, avatar_url = ?, fields_json = ?"
                         " WHERE id = ?", (ODD, f"<p>{ODD}</p>", "https://elsewhere.example/a.png",
                                           '[{"name": "n", "value": "<b>v</b>", "value_source": "v"}]', alice.id))
    for account in (alice, bob):
        await follow_directly(api, account)
    # Mentions and hashtags given out of their order; attachments with uneven focus points.
    shared = await remote.receive_note(inst, NoteInfo(
        uri=f"{carol.uri}/statuses/busy", author_uri=carol.uri, content=f"<p>{ODD}</p>",
        published=format_time(datetime.now(timezone.utc)), visibility="public", tags=("zeta", "alpha", "mid"),
        mentions=(bob.uri, alice.uri), spoiler_text="cw ☂", sensitive=True, language="en",
        poll=PollInfo(options=(PollOption("one ü", 3), PollOption("two", 0)), multiple=True,
                      expires_at="2099-01-01T00:00:00.000Z", voters_count=2),
        attachments=(AttachmentInfo("https://m.example/1.png", "image", "image/png", "alt \"1\"", "LEHV6nWB2yk8",
                                    640, 480, (1 / 3, -0.7071067811865476)),
                     AttachmentInfo("https://m.example/2.mp4", "video", "video/mp4", "", None, None, None, (0.0, 0.5),
                                    "https://m.example/2.png"),
                     AttachmentInfo("https://m.example/3.png", "image"))), carol)
    await remote.receive_announce(inst, bob, shared, f"{bob.uri}/announce/1", utcnow())
    mine = (await api.post("/api/v1/statuses", json={
        "status": "the owner's poll #Tag", "poll": {"options": ["yes", "no"], "expires_in": 3600}})).json()
    for action in ("favourite", "bookmark", "pin"):
        assert (await api.post(f"/api/v1/statuses/{mine['id']}/{action}")).status_code == 200
    for action in ("favourite", "reblog", "bookmark", "mute"):
        assert (await api.post(f"/api/v1/statuses/{shared.id}/{action}")).status_code == 200
    await remote_post(api, alice, ODD, reply_to=mine, spoiler="careful")
    await remote_post(api, alice, "plain", tags=("b", "a"))
    return shared, mine, (alice, bob, carol)


async def test_a_page_reads_every_part_and_writes_the_entity(api):
    inst = instance(api)
    shared, mine, (alice, bob, carol) = await a_busy_page(api)
    page = await timelines.home(inst, limit=40)
    ctx = await entities.context(inst)
    assert page.items
    for v in page.items:
        assert entities.status_json(ctx, v) == entities.dumps(entities.status(ctx, v))

    boosts = [v for v in page.items if v.reblog is not None and v.reblog.id == shared.id]
    assert {v.author.id for v in boosts} == {bob.id, inst.owner.id}
    v = boosts[0]
    assert v.reblog_author.id == carol.id and v.status.tags == ()
    assert v.reblog.tags == ("alpha", "mid", "zeta")  # by name
    assert [a.id for a in v.mentioned] == [alice.id, bob.id]  # by handle
    assert [m.remote_url for m in v.media] == [f"https://m.example/{n}" for n in ("1.png", "2.mp4", "3.png")]
    assert v.media[0].focus_x == 1 / 3 and v.media[0].focus_y == -0.7071067811865476
    assert (v.favourited, v.reblogged, v.bookmarked, v.pinned, v.muted) == (True, True, True, False, True)
    assert (v.reblogs_count, v.favourites_count, v.replies_count) == (2, 1, 0)
    assert v.poll.multiple and [o.title for o in v.poll.options] == ["one ü", "two"] and not v.poll.expired

    own = next(v for v in page.items if str(v.status.id) == mine["id"])
    assert own.status.tags == ("tag",) and own.poll.mine and own.poll.voted
    assert (own.favourited, own.reblogged, own.bookmarked, own.pinned, own.muted) == (True, False, True, True, False)
    assert (own.replies_count, own.favourites_count) == (1, 1)

    # Posts the caller already holds read the same; the positional reading of a row is from_row's.
    assert await timelines.hydrate(inst, [v.status for v in page.items]) == page.items
    rows = await statuses_store.list_home(inst.db, inst.owner.id, limit=40)
    assert [timelines._status(r) for r in rows] == [Status.from_row(r) for r in rows]

    # The answer is the entities, as the API wrote them before it wrote them straight.
    body = await get_json(api, "/api/v1/timelines/home?limit=40")
    assert body == [entities.status(ctx, v) for v in page.items]


async def test_a_gone_boosted_post_leaves_its_boost_out(api):
    inst = instance(api)
    bob = await remote_account(api, "bob")
    await follow_directly(api, bob)
    post = await remote_post(api, bob, "soon gone")
    await remote.receive_announce(inst, bob, post, f"{bob.uri}/announce/2", utcnow())
    boost = next(v.status for v in (await timelines.home(inst)).items if v.reblog is not None)
    async with inst.db.transaction() as tx:
        await tx.execute("DELETE FROM statuses WHERE id = ?", (post.id,))
    assert await timelines.hydrate(inst, [boost]) == []


async def test_filters_in_force_are_kept_until_the_first_expires(api):
    inst = instance(api)
    alice = await remote_account(api, "alice")
    await follow_directly(api, alice)
    await remote_post(api, alice, "a spoiler here")
    r = await api.post("/api/v2/filters", json={"title": "s", "context": ["home"],
                                                "keywords_attributes": [{"keyword": "spoiler"}]})
    assert r.status_code == 200, r.text
    soon = datetime.now(timezone.utc) + timedelta(seconds=1)
    async with inst.db.transaction() as tx:
        await tx.execute("UPDATE filters SET expires_at = ?", (format_time(soon),))
    home = await get_json(api, "/api/v1/timelines/home")
    assert home[0]["filtered"] and home[0]["filtered"][0]["filter"]["title"] == "s"
    commits = inst.db.commits
    await asyncio.sleep(max(0.0, (soon - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    home = await get_json(api, "/api/v1/timelines/home")
    assert inst.db.commits == commits  # nothing written: the kept filters had to notice the time
    assert home[0]["filtered"] == []
