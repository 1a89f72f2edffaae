"""The strict answer check itself (tests/api/schema_check.py): every API route is in its table,
every route is called once with real data behind it (the `api` fixture's hook checks each
answer), and the check does fail on what strict apps refuse."""

from __future__ import annotations

import json

import pytest
from starlette.routing import Route

from smallfedi.core import remote
from smallfedi.core.models import AttachmentInfo
from tests import media_samples
from tests.api import schema_check
from tests.api.test_lists import follow_directly, instance, remote_account, remote_post

pytestmark = pytest.mark.anyio

SAMPLE = {"id": "1234", "name": "tea", "tag": "tea"}
NOT_ENTITIES = {schema_check.HEALTH}  # a plain "OK"


def api_routes(app) -> list[tuple[str, str]]:
    """(method, path template) of every HTTP route the hook checks."""
    found = []
    for route in app.router.routes:
        if isinstance(route, Route) and schema_check.is_checked(route.path):
            found += [(m, route.path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


def concrete(template: str, values: dict) -> str:
    path = template
    for key, value in values.items():
        path = path.replace("{" + key + "}", str(value))
    return path


async def test_every_route_is_in_the_table(api):
    routes = api_routes(api.app)
    assert len(routes) > 140
    unmapped = []
    for method, template in routes:
        path = concrete(template, SAMPLE)
        if path in NOT_ENTITIES or (schema_check.STREAMING.fullmatch(path) and method == "GET"):
            continue
        if schema_check.entity_of(method, path) is None:
            unmapped.append(f"{method} {template}")
    assert not unmapped, "routes without an entity in tests/api/schema_check.py:\n" + "\n".join(unmapped)


async def test_every_route_answered_with_data_behind_it(api):
    """Each route once (each GET, and the writes no other test makes), on an instance with
    something in every feature; the fixture's hook holds every answer to the strict schema."""
    inst = instance(api)

    async def ok(method: str, path: str, **kwargs) -> dict | list:
        r = await api.request(method, path, **kwargs)
        assert r.status_code == 200, (method, path, r.status_code, r.text)
        return r.json()

    # A locked owner, one follower, two requests, a followed account, a post with a poll, a like,
    # a direct conversation, a list, filters of both versions, a followed tag, a blocked domain.
    await ok("PATCH", "/api/v1/accounts/update_credentials", data={"locked": "true"})
    bob = await remote_account(api, "bob", "127.0.0.1:9001")
    carol = await remote_account(api, "carol", "127.0.0.1:9002")
    dave = await remote_account(api, "dave", "127.0.0.1:9003")
    for who in (bob, carol, dave):
        await remote.receive_follow(inst, who, f"{who.uri}/follows/1")
    await ok("POST", f"/api/v1/follow_requests/{bob.id}/authorize")
    await follow_directly(api, bob)
    post = await ok("POST", "/api/v1/statuses", json={
        "status": "Tea or #sweep?", "poll": {"options": ["Tea", "Coffee"], "expires_in": 3600}})
    await remote.receive_like(inst, bob, post["uri"], f"{bob.uri}/likes/1")
    # A post with a photo, one upload left unposted, and a remote post with an attachment.
    photo = await ok("POST", "/api/v2/media", files={"file": ("photo.jpg", media_samples.jpeg(), "image/jpeg")},
                     data={"description": "A teapot", "focus": "0.5,-0.25"})
    unposted = await ok("POST", "/api/v1/media", files={"file": ("sound", media_samples.mp4_header(), "")})
    await ok("POST", "/api/v1/statuses", json={"status": "Tea #sweep", "media_ids": [photo["id"]]})
    await remote_post(api, bob, "Look #sweep", attachments=(
        AttachmentInfo(url="http://127.0.0.1:9001/media/a.png", type="image", mime="image/png", width=64, height=48),
        AttachmentInfo(url="http://127.0.0.1:9001/media/b.mp3", type="audio", description="A song")))
    await remote_post(api, bob, "psst", visibility="direct", mentions=(inst.owner.uri,))
    await remote_post(api, bob, "Public #sweep news", tags=("sweep",))
    notification = (await ok("GET", "/api/v1/notifications"))[0]
    conversation = (await ok("GET", "/api/v1/conversations"))[0]
    listed = await ok("POST", "/api/v1/lists", data={"title": "Friends"})
    await ok("POST", f"/api/v1/lists/{listed['id']}/accounts", data={"account_ids[]": str(bob.id)})
    v2 = await ok("POST", "/api/v2/filters", json={
        "title": "Coffee", "context": ["home", "public"], "filter_action": "warn",
        "keywords_attributes": [{"keyword": "coffee", "whole_word": True}]})
    status_filter = await ok("POST", f"/api/v2/filters/{v2['id']}/statuses", data={"status_id": post["id"]})
    v1 = await ok("POST", "/api/v1/filters", data={"phrase": "tea", "context[]": ["home"]})
    await ok("POST", "/api/v1/tags/sweep/follow")
    await ok("POST", "/api/v1/domain_blocks", data={"domain": "blocked.example"})
    await ok("POST", "/api/v1/markers", data={"home[last_read_id]": post["id"]})
    await ok("POST", "/api/v1/push/subscription", json={
        "subscription": {"endpoint": "https://push.example/device", "keys": {
            "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
            "auth": "BTBZMqHH6r4Tts7J_aSIgg"}},
        "data": {"alerts": {"mention": True}, "policy": "all"}})

    values = {"id": None, "name": "sweep", "tag": "sweep"}
    ids = {  # the id each path's {id} names, by the path's start
        "/api/v1/accounts/": bob.id, "/api/v1/statuses/": post["id"], "/api/v1/polls/": post["id"],
        "/api/v1/notifications/": notification["id"], "/api/v1/lists/": listed["id"],
        "/api/v1/timelines/list/": listed["id"], "/api/v1/filters/": v1["id"],
        "/api/v2/filters/keywords/": v2["keywords"][0]["id"], "/api/v2/filters/statuses/": status_filter["id"],
        "/api/v2/filters/": v2["id"], "/api/v1/conversations/": conversation["id"],
        "/api/v1/follow_requests/": carol.id, "/api/v1/media/": unposted["id"],
    }
    queries = {
        "/api/v1/accounts": {"id[]": [str(bob.id), str(carol.id)]},
        "/api/v1/accounts/lookup": {"acct": "bob@127.0.0.1:9001"},
        "/api/v1/accounts/search": {"q": "bob"},
        "/api/v1/accounts/relationships": {"id[]": [str(bob.id), str(dave.id)]},
        "/api/v1/accounts/familiar_followers": {"id[]": str(bob.id)},
        "/api/v1/statuses": {"id[]": post["id"]},
        "/api/v2/search": {"q": "sweep"},
    }
    answered = []
    for method, template in api_routes(api.app):
        if method != "GET" or schema_check.STREAMING.fullmatch(template) and template != schema_check.HEALTH:
            continue
        prefix = max((p for p in ids if template.startswith(p)), key=len, default=None)
        path = concrete(template, {**values, "id": ids[prefix] if prefix else None})
        r = await api.get(path, params=queries.get(template))
        assert r.status_code == 200, (path, r.status_code, r.text)
        answered.append(path)
    assert len(answered) > 70

    # The writes no other API test makes.
    await ok("POST", f"/api/v1/follow_requests/{carol.id}/reject")
    await ok("POST", f"/api/v1/accounts/{dave.id}/remove_from_followers")
    await ok("POST", f"/api/v1/accounts/{bob.id}/note", data={"comment": "met at the tea party"})
    await ok("POST", f"/api/v1/conversations/{conversation['id']}/read")
    await ok("DELETE", f"/api/v1/conversations/{conversation['id']}")
    await ok("POST", f"/api/v1/notifications/{notification['id']}/dismiss")
    await ok("DELETE", "/api/v1/domain_blocks", data={"domain": "blocked.example"})
    await ok("PUT", "/api/v1/push/subscription", json={"data": {"alerts": {"follow": True}}})
    await ok("DELETE", "/api/v1/push/subscription")
    await ok("DELETE", f"/api/v2/filters/statuses/{status_filter['id']}")
    await ok("DELETE", f"/api/v2/filters/keywords/{v2['keywords'][0]['id']}")
    await ok("DELETE", f"/api/v2/filters/{v2['id']}")
    await ok("DELETE", f"/api/v1/filters/{v1['id']}")
    await ok("DELETE", f"/api/v1/lists/{listed['id']}/accounts", data={"account_ids[]": str(bob.id)})
    await ok("DELETE", f"/api/v1/lists/{listed['id']}")
    r = await api.post(f"/api/v1/statuses/{post['id']}/translate")
    assert r.status_code == 422


# The check can fail

STATUS_PATH = "/api/v1/statuses/123"


def problems(method: str, path: str, body, status: int = 200, content_type: str = "application/json",
             authenticated: bool = True) -> list[str]:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return schema_check.answer_problems(method, path, status, content_type, content, authenticated)


def test_the_check_fails_on_what_strict_apps_refuse():
    # A path no entity is known for, unless it is an error.
    assert problems("GET", "/api/v1/frobnicate", {}) != []
    assert problems("GET", "/api/v1/frobnicate", {"error": "Record not found"}, status=404) == []
    assert problems("GET", "/api/v1/frobnicate", {"message": "nope"}, status=404) != []
    # Not JSON, or not said to be JSON.
    assert problems("GET", "/api/v1/instance", b"<html>", content_type="text/html") != []
    assert problems("GET", "/api/v1/instance", b"{nope") != []
    assert problems("GET", "/api/v1/streaming/user", b"", content_type="application/json") != []
    assert problems("GET", "/api/v1/streaming/health", b"OK", content_type="text/plain; charset=utf-8") == []
    # Entities: local ones and strict_schema's, one level deeper than it looks.
    assert problems("GET", "/api/v1/conversations", [{"id": "1", "accounts": [], "last_status": None}]) \
        == ["GET /api/v1/conversations (200): Conversation[0].unread: missing"]
    assert problems("GET", "/api/v1/conversations", [{"id": "1", "unread": False, "accounts": None,
                                                       "last_status": None}]) != []
    keyword = {"id": "1", "keyword": "tea", "whole_word": True}
    assert problems("GET", "/api/v2/filters/keywords/1", keyword) == []
    assert problems("GET", "/api/v2/filters/keywords/1", dict(keyword, id=1)) != []
    v2 = {"id": "2", "title": "t", "context": ["home"], "expires_at": None, "filter_action": "warn",
          "keywords": [keyword], "statuses": []}
    assert problems("GET", "/api/v2/filters/2", v2) == []
    assert problems("GET", "/api/v2/filters/2", dict(v2, keywords=[{"keyword": "tea"}])) != []
    assert problems("GET", "/api/v2/filters/2", dict(v2, context=["everywhere"])) != []
    assert problems("GET", "/api/v2/filters/2", dict(v2, expires_at="2025-01-01T00:00:00Z")) != []
    assert problems("GET", "/api/v1/tags/tea", {"name": "tea", "url": "https://a.example/tags/tea",
                                                "history": [{"day": 1, "uses": "0", "accounts": "0"}]}) != []
    assert problems("GET", "/api/v2/notifications/policy", {"for_not_following": "accept"}) != []
    assert problems("POST", "/api/v1/lists/1/accounts", {"ok": True}) != []
    assert problems("GET", "/api/v1/scheduled_statuses", [{"id": 5, "scheduled_at": "2025-01-01"}]) != []
    assert problems("GET", "/api/v1/domain_blocks", ["a.example", None]) != []
    assert problems("GET", "/api/v1/notifications/1", {
        "id": "1", "type": "favourite", "created_at": "2025-01-01T00:00:00.000Z", "group_key": "ungrouped-1",
        "account": None, "status": None}) == ["GET /api/v1/notifications/1 (200): Notification.account: null not "
                                              "allowed", "GET /api/v1/notifications/1 (200): Notification.status: "
                                              "a favourite notification without its post"]
    # Media attachments: every key present, null only where Mastodon sends null.
    photo = {"id": "7", "type": "image", "url": "https://a.example/media/p.jpg",
             "preview_url": "https://a.example/media/s.jpg", "remote_url": None, "preview_remote_url": None,
             "text_url": None, "description": None, "blurhash": "LEHV6nWB2yk8",
             "meta": {"original": {"width": 640, "height": 480, "size": "640x480", "aspect": 1.333},
                      "focus": {"x": 0.0, "y": -0.5}}}
    assert problems("GET", "/api/v1/media/7", photo) == []
    assert problems("POST", "/api/v2/media", photo) == []
    assert problems("GET", "/api/v1/media/7", dict(photo, url=None)) != []
    assert problems("GET", "/api/v1/media/7", dict(photo, description="")) != []  # null, as Mastodon
    assert problems("GET", "/api/v1/media/7", {k: v for k, v in photo.items() if k != "preview_remote_url"}) != []
    assert problems("GET", "/api/v1/media/7", dict(photo, meta=None)) != []
    assert problems("GET", "/api/v1/media/7", dict(photo, meta={"focus": {"x": 0.0, "y": None}})) != []
    assert problems("GET", "/api/v1/media/7", dict(photo, meta={"original": {"size": "1x1"}})) != []
    assert problems("GET", "/api/v1/media/7", dict(photo, type="picture")) != []
    assert problems("GET", STATUS_PATH + "/history", [{
        "content": "", "spoiler_text": "", "sensitive": False, "created_at": "2025-01-01T00:00:00.000Z",
        "account": None, "emojis": [], "media_attachments": [dict(photo, id=7)]}]) != []
