"""Lists: create, change and delete them, add and remove followed accounts, their timelines
(paged like home, with the replies each policy shows), exclusive lists leaving the home
timeline, and the `list` stream."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest

from smallfedi.api import streaming
from smallfedi.core import following, remote
from smallfedi.core.events import Event
from smallfedi.core.models import Account, ActorInfo, AttachmentInfo, NoteInfo, Status
from smallfedi.store import follows as follows_store
from smallfedi.store import statuses as statuses_store
from smallfedi.store.db import format_time, utcnow
from tests.api.strict_schema import check

pytestmark = pytest.mark.anyio


# Helpers, shared with the other tests of this feature set ----------------------------------------

def instance(api: httpx.AsyncClient):
    return api.app.state.instance


async def remote_account(api: httpx.AsyncClient, name: str, domain: str = "127.0.0.1:9") -> Account:
    """An account of another server, as federation would store it. Loopback addresses only:
    anything queued for it is refused by the fetch guard, nothing leaves the machine."""
    base = f"http://{domain}"
    return await remote.remember_actor(instance(api), ActorInfo(
        uri=f"{base}/users/{name}", username=name, domain=domain, inbox_url=f"{base}/users/{name}/inbox"))


async def follow_directly(api: httpx.AsyncClient, account: Account, accepted: bool = True) -> None:
    """The owner follows the account, as if its server had accepted (no activity sent)."""
    inst = instance(api)
    async with inst.db.transaction() as tx:
        await follows_store.upsert(tx, inst.ids.next(), inst.owner.id, account.id,
                                   f"{inst.base_url}/activities/{inst.ids.next()}", accepted, utcnow())


_numbers = iter(range(1, 1_000_000))


async def remote_post(api: httpx.AsyncClient, author: Account, text: str, *, visibility: str = "public",
                      tags: tuple[str, ...] = (), reply_to: Status | dict | None = None,
                      mentions: tuple[str, ...] = (), spoiler: str = "",
                      attachments: tuple[AttachmentInfo, ...] = ()) -> Status:
    """A post of another server's account, stored as the inbox stores one."""
    parent_uri = reply_to["uri"] if isinstance(reply_to, dict) else (reply_to.uri if reply_to else None)
    return await remote.receive_note(instance(api), NoteInfo(
        uri=f"{author.uri}/statuses/{next(_numbers)}", author_uri=author.uri, content=f"<p>{text}</p>",
        published=format_time(datetime.now(timezone.utc)), visibility=visibility, tags=tags,
        in_reply_to_uri=parent_uri, mentions=mentions, spoiler_text=spoiler, attachments=attachments), author)


def assert_valid(entity: str, obj) -> None:
    for item in obj if isinstance(obj, list) else [obj]:
        problems = check(entity, item)
        assert not problems, problems


async def get_json(api: httpx.AsyncClient, path: str, **params):
    r = await api.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def contents(statuses: list[dict]) -> list[str]:
    return [s["content"] for s in statuses]


# Lists ----------------------------------------------------------------------------------------------

async def test_list_crud(api):
    r = await api.post("/api/v1/lists", data={"title": "Friends"})
    assert r.status_code == 200, r.text
    created = r.json()
    assert_valid("List", created)
    assert (created["title"], created["replies_policy"], created["exclusive"]) == ("Friends", "list", False)

    for bad in ({"title": ""}, {"title": "x", "replies_policy": "everyone"}):
        r = await api.post("/api/v1/lists", json=bad)
        assert r.status_code == 422, r.text
        assert_valid("Error", r.json())

    r = await api.put(f"/api/v1/lists/{created['id']}",
                      json={"title": "Close friends", "replies_policy": "none", "exclusive": True})
    assert r.status_code == 200, r.text
    assert r.json() == {"id": created["id"], "title": "Close friends", "replies_policy": "none", "exclusive": True}
    # A change of title alone keeps the rest.
    r = await api.put(f"/api/v1/lists/{created['id']}", data={"title": "Friends"})
    assert (r.json()["replies_policy"], r.json()["exclusive"]) == ("none", True)

    await api.post("/api/v1/lists", json={"title": "Art", "replies_policy": "followed"})
    found = await get_json(api, "/api/v1/lists")
    assert_valid("List", found)
    assert [x["title"] for x in found] == ["Art", "Friends"]
    assert (await get_json(api, f"/api/v1/lists/{created['id']}"))["title"] == "Friends"

    assert (await api.delete(f"/api/v1/lists/{created['id']}")).json() == {}
    for method in ("get", "delete"):
        r = await getattr(api, method)(f"/api/v1/lists/{created['id']}")
        assert r.status_code == 404 and r.json() == {"error": "Record not found"}
    assert [x["title"] for x in await get_json(api, "/api/v1/lists")] == ["Art"]


async def test_members_are_followed_accounts(api):
    followed = [await remote_account(api, f"friend{i}") for i in range(3)]
    stranger = await remote_account(api, "stranger")
    for account in followed:
        await follow_directly(api, account)
    list_id = (await api.post("/api/v1/lists", json={"title": "Friends"})).json()["id"]

    # Only accounts the owner follows, as Mastodon; the whole request fails otherwise.
    r = await api.post(f"/api/v1/lists/{list_id}/accounts",
                       data={"account_ids[]": [str(followed[0].id), str(stranger.id)]})
    assert r.status_code == 404, r.text
    r = await api.post(f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": [str(a.id) for a in followed]})
    assert r.status_code == 200 and r.json() == {}, r.text
    r = await api.post(f"/api/v1/lists/{list_id}/accounts", json={"account_ids": [str(followed[0].id)]})
    assert r.status_code == 422, r.text

    members = await get_json(api, f"/api/v1/lists/{list_id}/accounts")
    assert_valid("Account", members)
    assert [m["id"] for m in members] == [str(a.id) for a in reversed(followed)]  # latest added first

    # Paged with Link, limit kept; limit=0 is everyone at once.
    r = await api.get(f"/api/v1/lists/{list_id}/accounts", params={"limit": 2})
    assert len(r.json()) == 2 and 'rel="next"' in r.headers["link"] and "limit=2" in r.headers["link"]
    next_url = r.headers["link"].split(">")[0].lstrip("<")
    rest = (await api.get(next_url)).json()
    assert [m["id"] for m in rest] == [str(followed[0].id)]
    assert len((await api.get(f"/api/v1/lists/{list_id}/accounts", params={"limit": 0})).json()) == 3

    mine = await get_json(api, f"/api/v1/accounts/{followed[1].id}/lists")
    assert_valid("List", mine)
    assert [x["id"] for x in mine] == [list_id]
    assert await get_json(api, f"/api/v1/accounts/{stranger.id}/lists") == []

    r = await api.request("DELETE", f"/api/v1/lists/{list_id}/accounts",
                          data={"account_ids[]": [str(followed[1].id)]})
    assert r.status_code == 200 and r.json() == {}, r.text
    assert [m["id"] for m in await get_json(api, f"/api/v1/lists/{list_id}/accounts")] == \
        [str(followed[2].id), str(followed[0].id)]

    # Unfollowing takes the account off every list.
    await following.unfollow(instance(api), followed[2].id)
    assert [m["id"] for m in await get_json(api, f"/api/v1/lists/{list_id}/accounts")] == [str(followed[0].id)]
    assert await get_json(api, f"/api/v1/accounts/{followed[2].id}/lists") == []


async def test_list_timeline_shows_members_and_the_replies_its_policy_allows(api):
    member, followed, stranger = [await remote_account(api, n) for n in ("member", "followed", "stranger")]
    for account in (member, followed):
        await follow_directly(api, account)
    list_id = (await api.post("/api/v1/lists", json={"title": "Members"})).json()["id"]
    await api.post(f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": [str(member.id)]})

    mine = (await api.post("/api/v1/statuses", json={"status": "the owner speaks"})).json()
    first = await remote_post(api, member, "member's own post")
    others = await remote_post(api, followed, "followed account's post")
    far = await remote_post(api, stranger, "a stranger's post")
    await remote_post(api, member, "member answers itself", reply_to=first)
    await remote_post(api, member, "member answers the owner", reply_to=mine)
    await remote_post(api, member, "member answers a followed account", reply_to=others)
    await remote_post(api, member, "member answers a stranger", reply_to=far)

    async def shown(policy: str) -> list[str]:
        await api.put(f"/api/v1/lists/{list_id}", json={"replies_policy": policy})
        statuses = await get_json(api, f"/api/v1/timelines/list/{list_id}")
        assert_valid("Status", statuses)
        return [c.removeprefix("<p>").removesuffix("</p>") for c in contents(statuses)]

    always = ["member answers the owner", "member answers itself", "member's own post"]
    assert await shown("list") == always
    assert await shown("none") == always
    assert await shown("followed") == ["member answers a followed account", *always]
    # With the followed account in the list, "list" shows replies to it too (and its posts);
    # the stranger's posts, and replies to them, stay out whatever the policy.
    await api.post(f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": [str(followed.id)]})
    assert await shown("list") == ["member answers a followed account", *always[:2], "followed account's post",
                                   always[2]]
    assert not {"a stranger's post", "member answers a stranger"} & set(await shown("followed"))

    # Paging like home: Link next with max_id, limit kept, prev for newer posts.
    r = await api.get(f"/api/v1/timelines/list/{list_id}", params={"limit": 2})
    assert len(r.json()) == 2 and 'rel="next"' in r.headers["link"] and 'rel="prev"' in r.headers["link"]
    older = (await api.get(r.headers["link"].split(">")[0].lstrip("<"))).json()
    assert older and older[0]["id"] < r.json()[-1]["id"]
    newest = r.json()[0]["id"]
    since = (await api.get(f"/api/v1/timelines/list/{list_id}", params={"min_id": older[0]["id"]})).json()
    assert since[0]["id"] == newest

    assert (await api.get("/api/v1/timelines/list/12345")).status_code == 404


async def test_exclusive_list_members_leave_the_home_timeline(api):
    inst = instance(api)
    member = await remote_account(api, "member")
    await follow_directly(api, member)
    post = await remote_post(api, member, "from a list member")
    list_id = (await api.post("/api/v1/lists", json={"title": "Quiet"})).json()["id"]
    await api.post(f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": [str(member.id)]})

    async def home() -> list[str]:
        return [s["id"] for s in await get_json(api, "/api/v1/timelines/home")]

    assert str(post.id) in await home()
    await api.put(f"/api/v1/lists/{list_id}", json={"exclusive": True})
    assert str(post.id) not in await home()
    assert not await statuses_store.in_home(inst.db, inst.owner.id, post.id)  # nor on the user stream
    assert [s["id"] for s in await get_json(api, f"/api/v1/timelines/list/{list_id}")] == [str(post.id)]
    await api.put(f"/api/v1/lists/{list_id}", json={"exclusive": False})
    assert str(post.id) in await home()


async def test_home_still_walks_the_primary_key(api):
    """The home query's extra conditions (followed tags, exclusive lists, blocked domains) keep
    SQLite on the primary key, newest first, instead of gathering and sorting."""
    inst = instance(api)
    where, params, order = statuses_store._bounds(10**18, None, None)
    bounds, values = statuses_store._named(where, params)
    sql, args = statuses_store._numbered(
        f"SELECT s.* FROM statuses s WHERE {statuses_store._HOME}{bounds} ORDER BY s.id {order} LIMIT :limit",
        {"owner": inst.owner.id, **values, "limit": 20})
    plan = [r[3] for r in await inst.db.fetchall("EXPLAIN QUERY PLAN " + sql, args)]
    assert plan[0] == "SEARCH s USING INTEGER PRIMARY KEY (rowid<?)", plan
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in plan), plan


async def test_list_stream(api):
    inst = instance(api)
    member, other = await remote_account(api, "member"), await remote_account(api, "other")
    for account in (member, other):
        await follow_directly(api, account)
    list_id = (await api.post("/api/v1/lists", json={"title": "Live"})).json()["id"]
    await api.post(f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": [str(member.id)]})
    subscription = streaming._subscription("list", list_id)
    assert subscription == ("list", list_id)
    assert streaming._subscription("list", "not-a-number") is None

    post = await remote_post(api, member, "live from a member")
    messages = await streaming.render(inst, Event("status", post.id), {subscription})
    assert [(m["stream"], m["event"]) for m in messages] == [(["list", list_id], "update")]
    assert_valid("Status", json.loads(messages[0]["payload"]))
    elsewhere = await remote_post(api, other, "not in the list")
    assert await streaming.render(inst, Event("status", elsewhere.id), {subscription}) == []
