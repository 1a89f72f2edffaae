"""The owner's social pages, driven through the HTML forms of two federating instances."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Network, csrf_of, post_form, sign_in

pytestmark = pytest.mark.anyio


@pytest.fixture
async def pair(tmp_path):
    async with Network(tmp_path) as net:
        alice = await net.add("alice", 9101, "alice")
        bob = await net.add("bob", 9102, "bob")
        assert (await sign_in(alice)).status_code == 303
        assert (await sign_in(bob)).status_code == 303
        yield net, alice, bob


async def follow_by_form(client, handle: str):
    response = await post_form(client, "/follow", "/follow", {"query": handle})
    assert response.status_code == 303, response.text
    return response.headers["location"]


async def publish(client, text: str, **extra) -> str:
    response = await post_form(client, "/", "/compose", {"text": text, "visibility": "public", **extra})
    assert response.status_code == 303, response.text
    return response.headers["location"]


async def test_follow_post_and_interact_through_the_pages(pair):
    net, alice, bob = pair
    account_url = await follow_by_form(bob, "@alice@127.0.0.1:9101")
    await net.settle()
    page = await bob.get(account_url)
    assert "You follow them." in page.text and "@alice@127.0.0.1:9101" in page.text
    notifications = await alice.get("/notifications")
    assert "followed you" in notifications.text and "bob" in notifications.text
    followers = await alice.get("/followers")
    assert "@bob@127.0.0.1:9102" in followers.text

    await publish(alice, "Pie for everyone #baking")
    await net.settle()
    home = await bob.get("/")
    assert "Pie for everyone" in home.text
    status_id = re.search(r'action="/statuses/(\d+)/favourite"', home.text).group(1)
    for action in ("favourite", "reblog"):
        response = await bob.post(f"/statuses/{status_id}/{action}",
                                  data={"csrf_token": csrf_of(home.text), "next": "/"})
        assert response.status_code == 303 and response.headers["location"] == "/"
    home = await bob.get("/")
    assert "Unlike" in home.text and "Unboost" in home.text and "bob</a> boosted" in home.text
    # Bob replies from the thread page's form.
    thread = await bob.get(f"/statuses/{status_id}")
    assert 'name="in_reply_to_id" value="%s"' % status_id in thread.text
    assert "@alice@127.0.0.1:9101 " in thread.text  # the reply form starts with the mention
    response = await bob.post("/compose", data={"csrf_token": csrf_of(thread.text), "in_reply_to_id": status_id,
                                                "text": "@alice@127.0.0.1:9101 save me a slice",
                                                "visibility": "public"})
    assert response.status_code == 303
    await net.settle()
    notifications = await alice.get("/notifications")
    for verb in ("liked your post", "boosted your post", "mentioned you"):
        assert verb in notifications.text
    own_post = await alice.get("/")
    link = re.search(r'href="(http://127.0.0.1:9101/@alice/\d+)"', own_post.text).group(1)
    thread = await alice.get(link.replace("http://127.0.0.1:9101", ""))
    assert "save me a slice" in thread.text  # the reply shows under the post


async def test_locked_account_approves_from_notifications(pair):
    net, alice, bob = pair
    response = await post_form(alice, "/settings/profile", "/settings/profile",
                               {"display_name": "Alice", "bio": "", "locked": "1"})
    assert response.status_code == 200
    account_url = await follow_by_form(bob, "alice@127.0.0.1:9101")
    await net.settle()
    assert "Follow request sent." in (await bob.get(account_url)).text
    notifications = await alice.get("/notifications")
    assert "Follow requests" in notifications.text
    approve = re.search(r'action="(/accounts/\d+/approve)"', notifications.text).group(1)
    response = await alice.post(approve, data={"csrf_token": csrf_of(notifications.text), "next": "/notifications"})
    assert response.status_code == 303
    await net.settle()
    assert "You follow them." in (await bob.get(account_url)).text


async def test_unfollow_and_bad_handles(pair):
    net, alice, bob = pair
    account_url = await follow_by_form(bob, "@alice@127.0.0.1:9101")
    await net.settle()
    page = await bob.get(account_url)
    response = await bob.post(f"{account_url}/unfollow", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303
    await net.settle()
    assert "You follow them." not in (await bob.get(account_url)).text
    assert "Nobody yet." in (await alice.get("/followers")).text
    for query, message in (("not a handle", "Give a handle"), ("@nobody@127.0.0.1:9101", "Could not"),
                           ("@ghost@127.0.0.1:9999", "Could not look up")):
        response = await post_form(bob, "/follow", "/follow", {"query": query})
        assert 400 <= response.status_code < 500, (query, response.status_code)
        assert message in response.text and f'value="{query}"' in response.text.replace("&#34;", '"')


async def test_social_pages_are_for_the_owner_only(pair):
    net, alice, bob = pair
    alice.cookies.clear()
    for path in ("/notifications", "/follow", "/followers", "/following", "/accounts/1", "/statuses/1"):
        response = await alice.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path


async def test_authorize_interaction_opens_the_account_or_the_post(pair):
    """WebFinger's subscribe template: another server's follow or reply button lands here."""
    net, alice, bob = pair
    where = await publish(bob, "a post to answer")
    post_url = f"http://127.0.0.1:9102{where}" if where.startswith("/") else where
    r = await alice.get("/authorize_interaction", params={"uri": "acct:bob@127.0.0.1:9102"})
    assert r.status_code == 303 and r.headers["location"].startswith("/accounts/")
    page = await alice.get(r.headers["location"])
    assert "bob" in page.text
    r = await alice.get("/authorize_interaction", params={"uri": post_url})
    assert r.status_code == 303 and r.headers["location"].startswith("/statuses/"), r.text
    assert "a post to answer" in (await alice.get(r.headers["location"])).text
    r = await alice.get("/authorize_interaction", params={"uri": "nonsense"})
    assert r.status_code in (400, 404, 422) and "<form" in r.text
    alice.cookies.clear()
    r = await alice.get("/authorize_interaction", params={"uri": "acct:bob@127.0.0.1:9102"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # Signed in, the owner comes back to the same question.
    login_page = await alice.get(r.headers["location"])
    assert 'value="/authorize_interaction?uri=acct' in login_page.text
