"""Polls through the client API: creating one with a post (form and JSON), the Poll entity as
the strictest apps parse it, reading a poll, and the owner's vote on another server's poll."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from smallfedi.core import remote
from smallfedi.core.models import ActorInfo, NoteInfo, PollInfo, PollOption
from smallfedi.store.db import format_time
from tests.api.strict_schema import check

pytestmark = pytest.mark.anyio

# A remote author on an address nothing listens on: the vote is queued, never delivered.
FAR = "http://127.0.0.1:9"


def instance(api: httpx.AsyncClient):
    return api.app.state.instance


def seconds_until(stamp: str) -> float:
    return (datetime.fromisoformat(stamp.replace("Z", "+00:00")) - datetime.now(timezone.utc)).total_seconds()


async def remote_poll(api: httpx.AsyncClient, *, multiple: bool = False, ends_in: int = 3600,
                      counts=(3, 4, 0), voters: int | None = 7, number: int = 1) -> dict:
    """A Question from another server, stored as federation would store it; its API status."""
    inst = instance(api)
    author = await remote.remember_actor(inst, ActorInfo(
        uri=f"{FAR}/users/carol", username="carol", domain="127.0.0.1:9", inbox_url=f"{FAR}/users/carol/inbox"))
    ends = format_time(datetime.now(timezone.utc) + timedelta(seconds=ends_in))
    status = await remote.receive_note(inst, NoteInfo(
        uri=f"{FAR}/users/carol/statuses/{number}", author_uri=author.uri, content="<p>Which one?</p>",
        published=format_time(datetime.now(timezone.utc)), visibility="public",
        poll=PollInfo(options=tuple(PollOption(t, c) for t, c in zip(("Red", "Green", "Blue"), counts)),
                      multiple=multiple, expires_at=ends, voters_count=voters)), author)
    r = await api.get(f"/api/v1/statuses/{status.id}")
    assert r.status_code == 200, r.text
    return r.json()


async def sent_votes(api: httpx.AsyncClient) -> list[dict]:
    rows = await instance(api).db.fetchall("SELECT json FROM activities WHERE type = 'Create' ORDER BY id")
    docs = [json.loads(r["json"]) for r in rows]
    return [d for d in docs if "#votes/" in d["id"]]


# Creating a poll

async def test_create_a_poll_with_a_form(api):
    r = await api.post("/api/v1/statuses", data={
        "status": "Tea or coffee?", "poll[options][]": ["Tea", "Coffee"], "poll[expires_in]": "3600"})
    assert r.status_code == 200, r.text
    status = r.json()
    assert check("Status", status) == []
    poll = status["poll"]
    assert check("Poll", poll) == [], check("Poll", poll)
    assert poll["id"] == status["id"]
    assert [o["title"] for o in poll["options"]] == ["Tea", "Coffee"]
    assert [o["votes_count"] for o in poll["options"]] == [0, 0]
    assert (poll["multiple"], poll["expired"], poll["votes_count"], poll["voters_count"]) == (False, False, 0, 0)
    # The author counts as having voted in their own poll (apps then show the results).
    assert (poll["voted"], poll["own_votes"], poll["emojis"]) == (True, [], [])
    assert 3500 < seconds_until(poll["expires_at"]) <= 3600
    # The same poll at its own address, and on the post.
    alone = await api.get(f"/api/v1/polls/{status['id']}")
    assert alone.status_code == 200 and alone.json() == poll
    assert (await api.get(f"/api/v1/statuses/{status['id']}")).json()["poll"] == poll


async def test_create_a_poll_with_json(api):
    r = await api.post("/api/v1/statuses", json={
        "status": "Seasons you like", "visibility": "unlisted",
        "poll": {"options": ["Spring", "Summer", "Autumn", "Winter"], "expires_in": 86400,
                 "multiple": True, "hide_totals": True}})
    assert r.status_code == 200, r.text
    poll = r.json()["poll"]
    assert check("Poll", poll) == []
    assert poll["multiple"] is True and len(poll["options"]) == 4
    # Totals hidden until the end, as the author asked.
    assert [o["votes_count"] for o in poll["options"]] == [None] * 4
    assert 86300 < seconds_until(poll["expires_at"]) <= 86400


async def test_a_null_or_missing_poll_is_no_poll(api):
    r = await api.post("/api/v1/statuses", json={"status": "no poll here", "poll": None})
    assert r.status_code == 200, r.text
    assert r.json()["poll"] is None
    r = await api.post("/api/v1/statuses", data={"status": "nor here"})
    assert r.json()["poll"] is None
    assert (await api.get(f"/api/v1/polls/{r.json()['id']}")).status_code == 404


@pytest.mark.parametrize("poll", [
    {"options": ["Only one"], "expires_in": 3600},
    {"options": ["a", "b", "c", "d", "e"], "expires_in": 3600},
    {"options": ["a", "x" * 51], "expires_in": 3600},
    {"options": ["same", "same"], "expires_in": 3600},
    {"options": ["a", "  "], "expires_in": 3600},
    {"options": ["a", "b"], "expires_in": 299},
    {"options": ["a", "b"], "expires_in": 2_629_747},
    {"options": ["a", "b"]},
    {"options": [["a"], "b"], "expires_in": 3600},
])
async def test_invalid_polls_are_refused_with_422(api, poll):
    r = await api.post("/api/v1/statuses", json={"status": "a bad poll", "poll": poll})
    assert r.status_code == 422, (poll, r.text)
    assert isinstance(r.json()["error"], str)
    # Nothing was posted.
    assert await instance(api).db.fetchval("SELECT count(*) FROM statuses") == 0


async def test_poll_limits_hold_in_a_form_too(api):
    r = await api.post("/api/v1/statuses", data={
        "status": "?", "poll[options][]": ["a", "b"], "poll[expires_in]": "60"})
    assert r.status_code == 422, r.text
    ok = await api.post("/api/v1/statuses", data={
        "status": "?", "poll[options][]": ["a", "x" * 50], "poll[expires_in]": "300", "poll[multiple]": "true"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["poll"]["multiple"] is True


# Voting on another server's poll

async def test_vote_on_a_remote_poll(api):
    status = await remote_poll(api)
    assert check("Status", status) == []
    poll = status["poll"]
    assert check("Poll", poll) == []
    assert (poll["voted"], poll["own_votes"], poll["votes_count"], poll["voters_count"]) == (False, [], 7, 7)

    r = await api.post(f"/api/v1/polls/{poll['id']}/votes", data={"choices[]": ["1"]})
    assert r.status_code == 200, r.text
    after = r.json()
    assert check("Poll", after) == []
    assert (after["voted"], after["own_votes"]) == (True, [1])
    # Counted here at once; the author's next Update brings the true figures.
    assert [o["votes_count"] for o in after["options"]] == [3, 5, 0]
    assert (after["votes_count"], after["voters_count"]) == (8, 8)
    assert (await api.get(f"/api/v1/statuses/{status['id']}")).json()["poll"] == after

    # One Create of a Note per choice, named after the option, to the poll's author only.
    [vote] = await sent_votes(api)
    note = vote["object"]
    assert vote["type"] == "Create" and note["type"] == "Note"
    assert (note["name"], note["inReplyTo"]) == ("Green", status["uri"])
    assert vote["to"] == note["to"] == [f"{FAR}/users/carol"] and "cc" not in vote
    targets = await instance(api).db.fetchall(
        "SELECT inbox_url FROM deliveries JOIN activities a ON a.id = activity_id WHERE a.uri = ?", (vote["id"],))
    assert [t["inbox_url"] for t in targets] == [f"{FAR}/users/carol/inbox"]

    # Twice is refused.
    again = await api.post(f"/api/v1/polls/{poll['id']}/votes", data={"choices[]": ["0"]})
    assert again.status_code == 422, again.text
    assert len(await sent_votes(api)) == 1


async def test_several_choices_on_a_multiple_choice_poll(api):
    status = await remote_poll(api, multiple=True, voters=5)
    r = await api.post(f"/api/v1/polls/{status['poll']['id']}/votes", json={"choices": [0, 2]})
    assert r.status_code == 200, r.text
    poll = r.json()
    assert poll["own_votes"] == [0, 2]
    assert [o["votes_count"] for o in poll["options"]] == [4, 4, 1] and poll["voters_count"] == 6
    assert sorted(v["object"]["name"] for v in await sent_votes(api)) == ["Blue", "Red"]


async def test_voting_errors(api):
    single = (await remote_poll(api))["poll"]["id"]
    ended = (await remote_poll(api, ends_in=-60, number=2))["poll"]["id"]
    own = (await api.post("/api/v1/statuses", json={
        "status": "mine", "poll": {"options": ["a", "b"], "expires_in": 600}})).json()["id"]
    plain = (await api.post("/api/v1/statuses", data={"status": "no poll"})).json()["id"]
    cases = [
        (own, {"choices[]": ["0"]}, 422),          # one's own poll
        (ended, {"choices[]": ["0"]}, 422),        # over
        (single, {"choices[]": ["3"]}, 422),       # no such option
        (single, {"choices[]": ["-1"]}, 422),
        (single, {"choices[]": ["x"]}, 422),
        (single, {"choices[]": ["0", "1"]}, 422),  # several on a single-choice poll
        (single, {}, 422),                         # nothing chosen
        (plain, {"choices[]": ["0"]}, 404),        # a post without a poll
        ("999999999", {"choices[]": ["0"]}, 404),  # no such post
    ]
    for poll_id, data, expected in cases:
        r = await api.post(f"/api/v1/polls/{poll_id}/votes", data=data)
        assert r.status_code == expected, (poll_id, data, r.status_code, r.text)
        assert isinstance(r.json()["error"], str)
    assert await sent_votes(api) == []
    ended_poll = (await api.get(f"/api/v1/polls/{ended}")).json()
    assert ended_poll["expired"] is True and check("Poll", ended_poll) == []
    # Reading a poll needs no token; voting does.
    token = api.headers.pop("Authorization")
    try:
        assert (await api.get(f"/api/v1/polls/{single}")).status_code == 200
        assert (await api.post(f"/api/v1/polls/{single}/votes", data={"choices[]": ["0"]})).status_code == 401
    finally:
        api.headers["Authorization"] = token
