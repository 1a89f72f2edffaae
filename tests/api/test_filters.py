"""Filters: the v2 API (filters, keywords, posts), the v1 API (one filter per keyword), and
filters applied: `filtered` on the posts of each context, "hide" removing them, keyword
matching as Mastodon matches, expired filters doing nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest

from smallfedi.core import remote
from smallfedi.store.db import format_time
from tests.api.strict_schema import ID_RE
from tests.api.test_lists import (assert_valid, follow_directly, get_json, instance, remote_account,
                                  remote_post)

pytestmark = pytest.mark.anyio

SPOILERS = [("title", "Spoilers"), ("context[]", "home"), ("context[]", "thread"),
            ("keywords_attributes[][keyword]", "Movie"), ("keywords_attributes[][whole_word]", "true"),
            ("keywords_attributes[][keyword]", "plot twist"), ("keywords_attributes[][whole_word]", "false")]


def assert_result(result: dict) -> None:
    """A FilterResult, as strict apps read it (the schema has the Filter itself)."""
    assert set(result) == {"filter", "keyword_matches", "status_matches"}
    assert_valid("FilterV2", result["filter"])
    for key in ("keyword_matches", "status_matches"):
        assert result[key] is None or (isinstance(result[key], list) and all(isinstance(x, str) for x in result[key]))


def assert_keyword(k: dict) -> None:
    assert set(k) == {"id", "keyword", "whole_word"} and ID_RE.match(k["id"])
    assert isinstance(k["keyword"], str) and isinstance(k["whole_word"], bool)


async def post_form(api, path: str, fields: list[tuple[str, str]]):
    """A form with repeated keys (`context[]`, `keywords_attributes[][keyword]`), as apps send it."""
    return await api.post(path, content=urlencode(fields),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})


async def create(api, fields) -> dict:
    r = await post_form(api, "/api/v2/filters", fields)
    assert r.status_code == 200, r.text
    assert_valid("FilterV2", r.json())
    return r.json()


async def test_v2_filters(api):
    found = await create(api, SPOILERS)
    # Form fields grouped as Rails groups keywords_attributes[][…].
    assert [(k["keyword"], k["whole_word"]) for k in found["keywords"]] == [("Movie", True), ("plot twist", False)]
    assert (found["title"], found["context"], found["filter_action"], found["expires_at"], found["statuses"]) == \
        ("Spoilers", ["home", "thread"], "warn", None, [])
    for k in found["keywords"]:
        assert_keyword(k)

    for bad in ({"title": "x"}, {"title": "x", "context": ["everywhere"]}, {"context": ["home"]},
                {"title": "x", "context": ["home"], "filter_action": "explode"},
                {"title": "x", "context": ["home"], "expires_in": "soon"}):
        r = await api.post("/api/v2/filters", json=bad)
        assert r.status_code == 422, (bad, r.text)

    fid = found["id"]
    movie, twist = found["keywords"]
    r = await api.put(f"/api/v2/filters/{fid}", json={
        "title": "No spoilers", "filter_action": "hide", "expires_in": 3600, "context": ["home", "public"],
        "keywords_attributes": [{"id": movie["id"], "_destroy": True},
                                {"id": twist["id"], "keyword": "twist"},
                                {"keyword": "finale", "whole_word": False}]})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert_valid("FilterV2", changed)
    assert (changed["title"], changed["filter_action"], changed["context"]) == ("No spoilers", "hide",
                                                                                ["home", "public"])
    expires = datetime.fromisoformat(changed["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - datetime.now(timezone.utc) <= timedelta(hours=1)
    assert [(k["keyword"], k["whole_word"]) for k in changed["keywords"]] == [("twist", False), ("finale", False)]
    r = await api.put(f"/api/v2/filters/{fid}", json={"keywords_attributes": [{"id": "1", "_destroy": True}]})
    assert r.status_code == 404, r.text  # not a keyword of this filter
    cleared = (await api.put(f"/api/v2/filters/{fid}", data={"expires_in": ""})).json()
    assert cleared["expires_at"] is None and cleared["title"] == "No spoilers"

    assert [f["id"] for f in await get_json(api, "/api/v2/filters")] == [fid]
    assert (await get_json(api, f"/api/v2/filters/{fid}"))["title"] == "No spoilers"

    # Keywords one by one.
    keywords = await get_json(api, f"/api/v2/filters/{fid}/keywords")
    assert [k["keyword"] for k in keywords] == ["twist", "finale"]
    r = await api.post(f"/api/v2/filters/{fid}/keywords", data={"keyword": "ending"})
    assert r.status_code == 200, r.text
    ending = r.json()
    assert_keyword(ending)
    assert ending["whole_word"] is True  # Mastodon's default
    assert (await api.post(f"/api/v2/filters/{fid}/keywords", data={"keyword": " "})).status_code == 422
    assert (await get_json(api, f"/api/v2/filters/keywords/{ending['id']}")) == ending
    r = await api.put(f"/api/v2/filters/keywords/{ending['id']}", json={"keyword": "the end", "whole_word": False})
    assert r.json() == {"id": ending["id"], "keyword": "the end", "whole_word": False}
    assert (await api.delete(f"/api/v2/filters/keywords/{ending['id']}")).json() == {}
    assert (await api.get(f"/api/v2/filters/keywords/{ending['id']}")).status_code == 404

    # Single posts.
    post = (await api.post("/api/v1/statuses", json={"status": "a post to hide"})).json()
    r = await api.post(f"/api/v2/filters/{fid}/statuses", data={"status_id": post["id"]})
    assert r.status_code == 200, r.text
    entry = r.json()
    assert set(entry) == {"id", "status_id"} and entry["status_id"] == post["id"]
    assert await get_json(api, f"/api/v2/filters/{fid}/statuses") == [entry]
    assert await get_json(api, f"/api/v2/filters/statuses/{entry['id']}") == entry
    assert (await get_json(api, f"/api/v2/filters/{fid}"))["statuses"] == [entry]
    assert (await api.post(f"/api/v2/filters/{fid}/statuses", data={"status_id": "999"})).status_code == 404
    assert (await api.delete(f"/api/v2/filters/statuses/{entry['id']}")).json() == {}
    assert await get_json(api, f"/api/v2/filters/{fid}/statuses") == []

    assert (await api.delete(f"/api/v2/filters/{fid}")).json() == {}
    assert (await api.get(f"/api/v2/filters/{fid}")).status_code == 404
    assert await get_json(api, "/api/v2/filters") == []


async def test_v1_filters_are_keywords(api):
    r = await post_form(api, "/api/v1/filters", [("phrase", "Elections"), ("context[]", "home"),
                                                 ("context[]", "notifications"), ("irreversible", "true"),
                                                 ("whole_word", "false"), ("expires_in", "600")])
    assert r.status_code == 200, r.text
    v1 = r.json()
    assert set(v1) == {"id", "phrase", "context", "whole_word", "expires_at", "irreversible"}
    assert (v1["phrase"], v1["context"], v1["whole_word"], v1["irreversible"]) == \
        ("Elections", ["home", "notifications"], False, True)
    assert v1["expires_at"] is not None
    # Seen through v2: a filter titled with the phrase, holding it as its keyword, hiding.
    (v2,) = await get_json(api, "/api/v2/filters")
    assert (v2["title"], v2["filter_action"], [k["id"] for k in v2["keywords"]]) == ("Elections", "hide", [v1["id"]])

    # Every v2 keyword is a v1 filter.
    await api.post(f"/api/v2/filters/{v2['id']}/keywords", data={"keyword": "ballot"})
    phrases = {f["phrase"]: f for f in await get_json(api, "/api/v1/filters")}
    assert set(phrases) == {"Elections", "ballot"}
    assert phrases["ballot"]["context"] == ["home", "notifications"] and phrases["ballot"]["irreversible"]

    # The phrase and whole_word can always change; the filter's context not while it has two keywords.
    r = await api.put(f"/api/v1/filters/{v1['id']}", json={"phrase": "Election", "whole_word": True})
    assert r.status_code == 200 and (r.json()["phrase"], r.json()["whole_word"]) == ("Election", True), r.text
    r = await api.put(f"/api/v1/filters/{v1['id']}", json={"phrase": "Election", "context": ["public"]})
    assert r.status_code == 422, r.text
    await api.delete(f"/api/v1/filters/{phrases['ballot']['id']}")
    r = await api.put(f"/api/v1/filters/{v1['id']}", json={"phrase": "Election", "context": ["public"],
                                                           "irreversible": False})
    assert r.status_code == 200, r.text
    assert (r.json()["context"], r.json()["irreversible"]) == (["public"], False)
    assert (await get_json(api, f"/api/v1/filters/{v1['id']}"))["phrase"] == "Election"

    # Deleting a v1 filter deletes its keyword; the v2 filter stays.
    assert (await api.delete(f"/api/v1/filters/{v1['id']}")).json() == {}
    assert await get_json(api, "/api/v1/filters") == []
    assert (await api.get(f"/api/v1/filters/{v1['id']}")).status_code == 404
    assert [f["keywords"] for f in await get_json(api, "/api/v2/filters")] == [[]]


async def test_keyword_matching(api):
    friend = await remote_account(api, "friend")
    await follow_directly(api, friend)
    posts = {
        "word": await remote_post(api, friend, "What a MOVIE that was"),
        "inside": await remote_post(api, friend, "Moviestars everywhere"),
        "markup": await remote_post(api, friend, "a mo<strong>vie</strong> in bold"),
        "warning": await remote_post(api, friend, "nothing here", spoiler="movie talk"),
        "tag": await remote_post(api, friend, "<strong>p</strong> is for paragraph"),
    }
    filt = await create(api, [("title", "Films"), ("context[]", "home"),
                              ("keywords_attributes[][keyword]", "movie"),
                              ("keywords_attributes[][whole_word]", "true")])

    async def matched() -> dict[str, list[str]]:
        statuses = {s["id"]: s for s in await get_json(api, "/api/v1/timelines/home")}
        out = {}
        for name, post in posts.items():
            found = statuses[str(post.id)]["filtered"]
            for result in found:
                assert_result(result)
            out[name] = [m for r in found for m in (r["keyword_matches"] or [])]
        return out

    # Whole word: case-insensitive, in the text with the HTML taken out and in the content warning.
    assert await matched() == {"word": ["movie"], "inside": [], "markup": ["movie"], "warning": ["movie"], "tag": []}
    # Anywhere in a word when whole_word is off; markup is never matched ("strong").
    keyword_id = filt["keywords"][0]["id"]
    await api.put(f"/api/v2/filters/keywords/{keyword_id}", json={"whole_word": False})
    assert (await matched())["inside"] == ["movie"]
    await api.put(f"/api/v2/filters/keywords/{keyword_id}", json={"keyword": "strong"})
    assert all(v == [] for v in (await matched()).values())


async def test_filters_apply_by_context_and_action(api):
    inst = instance(api)
    friend = await remote_account(api, "friend")
    await follow_directly(api, friend)
    plain = await remote_post(api, friend, "a quiet day")
    spoiler = await remote_post(api, friend, "the plot twist at the end!")
    reply = await remote_post(api, friend, "no, the plot twist was obvious", reply_to=plain)
    mine = (await api.post("/api/v1/statuses", json={"status": "my plot twist review"})).json()
    mention = await remote_post(api, friend, "@alice plot twist incoming", mentions=(inst.owner.uri,))
    await remote.receive_announce(inst, friend, await remote_post(api, await remote_account(api, "far"),
                                                                  "plot twist, boosted"),
                                  f"{friend.uri}/announces/1", format_time(datetime.now(timezone.utc)))
    filt = await create(api, [("title", "Twists"), ("context[]", "home"), ("context[]", "thread"),
                              ("context[]", "account"), ("context[]", "notifications"),
                              ("keywords_attributes[][keyword]", "plot twist")])

    def by_id(statuses: list[dict]) -> dict[str, dict]:
        assert_valid("Status", statuses)
        return {s["id"]: s for s in statuses}

    home = by_id(await get_json(api, "/api/v1/timelines/home"))
    assert home[str(plain.id)]["filtered"] == []
    assert [r["filter"]["id"] for r in home[str(spoiler.id)]["filtered"]] == [filt["id"]]
    assert home[str(spoiler.id)]["filtered"][0]["keyword_matches"] == ["plot twist"]
    assert home[str(spoiler.id)]["filtered"][0]["status_matches"] is None
    assert home[mine["id"]]["filtered"]
    boost = next(s for s in home.values() if s["reblog"] is not None)
    assert boost["filtered"] and boost["reblog"]["filtered"]  # the boost and the boosted post
    # Not in a context the filter doesn't name; never for visitors.
    public = by_id(await get_json(api, "/api/v1/timelines/public"))
    assert public[str(spoiler.id)]["filtered"] == []
    # Thread, account and notifications contexts.
    context = await get_json(api, f"/api/v1/statuses/{plain.id}/context")
    assert context["descendants"][0]["id"] == str(reply.id) and context["descendants"][0]["filtered"]
    on_profile = by_id(await get_json(api, f"/api/v1/accounts/{friend.id}/statuses"))
    assert on_profile[str(spoiler.id)]["filtered"] and not on_profile[str(plain.id)]["filtered"]
    notes = await get_json(api, "/api/v1/notifications")
    (note,) = [n for n in notes if n["status"] and n["status"]["id"] == str(mention.id)]
    assert note["status"]["filtered"][0]["keyword_matches"] == ["plot twist"]

    # "hide" removes them; the Link header still pages past them.
    await api.put(f"/api/v2/filters/{filt['id']}", json={"filter_action": "hide"})
    r = await api.get("/api/v1/timelines/home", params={"limit": 3})
    assert 'rel="next"' in r.headers["link"]
    home = by_id(await get_json(api, "/api/v1/timelines/home"))
    assert set(home) == {str(plain.id)}
    assert not (await get_json(api, f"/api/v1/statuses/{plain.id}/context"))["descendants"]
    assert [n for n in await get_json(api, "/api/v1/notifications") if n["status"]] == []
    assert [n["status"] for n in (await get_json(api, "/api/v2/notifications"))["notification_groups"]
            if n["status_id"]] == []
    anonymous = (await api.get("/api/v1/timelines/public", headers={"Authorization": ""})).json()
    assert str(spoiler.id) in {s["id"] for s in anonymous}  # others never see the owner's filters

    # A filter naming one post matches it by id; boosts of it too.
    await api.put(f"/api/v2/filters/{filt['id']}", json={"filter_action": "warn", "keywords_attributes": [
        {"id": filt["keywords"][0]["id"], "_destroy": True}]})
    await api.post(f"/api/v2/filters/{filt['id']}/statuses", data={"status_id": str(plain.id)})
    home = by_id(await get_json(api, "/api/v1/timelines/home"))
    assert home[str(plain.id)]["filtered"][0]["status_matches"] == [str(plain.id)]
    assert home[str(plain.id)]["filtered"][0]["keyword_matches"] is None
    assert not home[str(spoiler.id)]["filtered"]

    # Expired filters apply nowhere.
    async with inst.db.transaction() as tx:
        await tx.execute("UPDATE filters SET expires_at = ?",
                         (format_time(datetime.now(timezone.utc) - timedelta(seconds=1)),))
    home = by_id(await get_json(api, "/api/v1/timelines/home"))
    assert all(s["filtered"] == [] for s in home.values())
