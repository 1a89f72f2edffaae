"""Mastodon.py, the reference Python client library, against real `smallfedi serve` processes on
loopback: it registers an app, the owner approves it on the authorise page, and then it uses the
API the way apps do. Every JSON answer is also held to what the strictest apps require
(tests/api/schema_check.py): Mastodon.py itself accepts nearly anything.

Two servers run: `home`, the one under test, and `peer`, a second instance whose owner follows,
likes, boosts and mentions, so that notifications, remote accounts and relationships are real.
"""

from __future__ import annotations

import base64
import io
import re
import time
import uuid
import warnings
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from mastodon import Mastodon
from mastodon.errors import MastodonAPIError, MastodonNotFoundError, MastodonUnauthorizedError

from tests import media_samples
from tests.api.conftest import REDIRECT, hidden_fields
from tests.api.schema_check import answer_problems
from tests.conftest import USERNAME, Server

SCOPES = ["read", "write", "follow", "push"]
OOB = "urn:ietf:wg:oauth:2.0:oob"
TIMEOUT = 20  # seconds, for every HTTP request
FEDERATION_WAIT = 20  # seconds, for a delivery to arrive on the other server


class Recorder:
    """A `requests` response hook: every answer Mastodon.py receives, kept for checking."""

    def __init__(self) -> None:
        self.seen: list[tuple] = []
        self.checked = 0

    def hook(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        request = response.request
        self.seen.append((request.method, urlsplit(response.url).path, response.status_code,
                          response.headers.get("content-type", ""), response.content,
                          "authorization" in {k.lower() for k in request.headers}))
        return response

    def session(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False  # loopback only: no proxy from the environment
        s.hooks["response"].append(self.hook)
        return s

    def problems(self) -> list[str]:
        """Every problem in the answers not checked yet (tests/api/schema_check.py)."""
        found = []
        for method, path, status, ctype, content, authenticated in self.seen[self.checked:]:
            found += answer_problems(method, path, status, ctype, content, authenticated)
        self.checked = len(self.seen)
        return found


def browser_step(authorize_url: str, password: str, state: str, redirect: str = REDIRECT) -> str:
    """Play the owner in a browser: open the page, type the password, press Allow; the code
    comes back in the 303's Location (the redirect URI itself is never contacted), or for the
    out-of-band URI on a page to copy it from."""
    with requests.Session() as browser:
        browser.trust_env = False
        page = browser.get(authorize_url, timeout=TIMEOUT)
        assert page.status_code == 200, page.text
        form = hidden_fields(page.text)
        assert 'name="password"' in page.text
        form["password"] = password
        form["decision"] = "approve"
        base = "{0.scheme}://{0.netloc}".format(urlsplit(authorize_url))
        answer = browser.post(f"{base}/oauth/authorize", data=form, allow_redirects=False, timeout=TIMEOUT)
    if redirect == OOB:
        assert answer.status_code == 200, answer.text
        shown = re.search(r'id="authorization_code"[^>]*value="([^"]+)"', answer.text)
        assert shown, answer.text
        return shown.group(1)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?"), location
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query.get("state") == state
    return query["code"]


def sign_in(server: Server, recorder: Recorder, name: str = "Mastodon.py acceptance",
            redirect: str = REDIRECT) -> Mastodon:
    """The whole sign-in as an app does it: register, authorise, exchange the code."""
    session = recorder.session()
    client_id, client_secret = Mastodon.create_app(
        name, scopes=SCOPES, redirect_uris=[REDIRECT, OOB], website="https://example.org/app",
        api_base_url=server.url, session=session, request_timeout=TIMEOUT)
    m = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server.url,
                 version_check_mode="created", session=session, request_timeout=TIMEOUT,
                 ratelimit_method="throw")
    state = uuid.uuid4().hex
    url = m.auth_request_url(redirect_uris=redirect, scopes=SCOPES, state=state, allow_http=True)
    assert url.startswith(f"{server.url}/oauth/authorize?")
    code = browser_step(url, server.password, state, redirect)
    token = m.log_in(code=code, redirect_uri=redirect, scopes=SCOPES, allow_http=True)
    assert token and m.access_token == token
    return m


def wait_until(predicate, timeout: float = FEDERATION_WAIT, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {timeout} s")
        time.sleep(0.1)


def allow_private(server: Server) -> None:
    text = server.config.read_text()
    server.config.write_text(text.replace("allow_private_addresses = false", "allow_private_addresses = true"))


@pytest.fixture(scope="module")
def recorder():
    return Recorder()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mastodonpy")
    started = []
    try:
        for name in ("home", "peer"):
            server = Server(folder / name).init()
            allow_private(server)  # the two talk to each other over loopback
            started.append(server.start())
        yield {"home": started[0], "peer": started[1]}
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def home(servers):
    return servers["home"]


@pytest.fixture(scope="module")
def m(home, recorder) -> Mastodon:
    return sign_in(home, recorder)


@pytest.fixture(scope="module")
def peer(servers, recorder) -> Mastodon:
    """The owner of the second server, signed in with Mastodon.py as well."""
    return sign_in(servers["peer"], recorder, "Mastodon.py peer")


@pytest.fixture(scope="module")
def me(m):
    return m.account_verify_credentials()


@pytest.fixture(autouse=True)
def strict(recorder):
    """After each test: every JSON answer so far passes the strict apps' schema."""
    yield
    found = recorder.problems()
    if found:
        pytest.fail("answers a strict app would reject:\n" + "\n".join(found[:50]), pytrace=False)


def ids(statuses) -> list[str]:
    return [str(s.id) for s in statuses]


# Signing in and what apps read first


def test_sign_in_detects_a_mastodon_4_3_server(m, home):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert m.retrieve_mastodon_version() == "4.3.0"
    assert m.mastodon_api_version == 2
    assert not [w for w in caught if "API version" in str(w.message)], [str(w.message) for w in caught]
    assert m.verify_minimum_version("4.3.0", cached=True)
    app = m.app_verify_credentials()
    assert app.name == "Mastodon.py acceptance"
    assert m.oauth_authorization_server_info().token_endpoint == f"{home.url}/oauth/token"


def test_verify_and_update_credentials(m, home):
    me = m.account_verify_credentials()
    assert me.username == USERNAME and me.acct == USERNAME
    assert me.url.startswith(home.url) and me.avatar.startswith("http")
    assert me.source.privacy == "public" and me.source.fields == []
    updated = m.account_update_credentials(
        display_name="Alice Liddell", note="Curious & curiouser, see https://example.org",
        fields=[("Home", "https://example.org"), ("Pronouns", "she/her")])
    assert updated.id == me.id
    assert updated.display_name == "Alice Liddell"
    assert "Curious &amp; curiouser" in updated.note and "<a " in updated.note
    assert [(f.name, f.value) for f in updated.source.fields] == [("Home", "https://example.org"),
                                                                  ("Pronouns", "she/her")]
    assert [f.name for f in updated.fields] == ["Home", "Pronouns"]
    assert "href=" in updated.fields[0].value
    again = m.account_verify_credentials()
    assert again.display_name == "Alice Liddell"
    assert again.source.note == "Curious & curiouser, see https://example.org"
    # Fields left out of an update stay as they are.
    kept = m.account_update_credentials(display_name="Alice")
    assert kept.display_name == "Alice" and [f.name for f in kept.fields] == ["Home", "Pronouns"]


def test_instance_and_what_apps_load_at_start(m, home):
    domain = urlsplit(home.url).netloc
    latest = m.instance()  # v2 on a 4.x server
    assert latest.domain == domain
    assert latest.api_versions.mastodon == 2
    assert latest.configuration.urls.streaming == "ws://" + domain
    assert latest.configuration.statuses.max_characters > 0
    # The Web Push key apps subscribe with: an uncompressed P-256 point, base64url.
    key = base64.urlsafe_b64decode(latest.configuration.vapid.public_key + "==")
    assert len(key) == 65 and key[0] == 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Mastodon.py calls v1 deprecated
        v1 = m.instance_v1()
    assert v1.uri == domain and v1.urls.streaming_api == "ws://" + domain
    v2 = m.instance_v2()
    assert v2.version.startswith("4.3.0")
    assert m.custom_emojis() == []
    prefs = m.preferences()
    assert prefs["posting:default:visibility"] == "public"
    assert m.filters_v2() == []
    assert m.lists() == []
    assert m.stream_healthy() is True


# Posting


def test_idempotency_key_gives_the_same_post(m):
    key = uuid.uuid4().hex
    first = m.status_post("Only once, however often the app retries", idempotency_key=key)
    second = m.status_post("Only once, however often the app retries", idempotency_key=key)
    assert second.id == first.id
    other = m.status_post("Only once, however often the app retries", idempotency_key=uuid.uuid4().hex)
    assert other.id != first.id


def test_scheduled_posts_are_refused_with_422(m):
    before = m.account_verify_credentials().statuses_count
    when = datetime.now(timezone.utc) + timedelta(hours=1)
    with pytest.raises(MastodonAPIError) as caught:
        m.status_post("Later, please", scheduled_at=when)
    assert caught.value.args[1] == 422
    assert m.account_verify_credentials().statuses_count == before


def test_reply_with_content_warning_and_visibility(m, me):
    parent = m.status_post("A question for later")
    assert parent.visibility == "public" and parent.spoiler_text == "" and parent.sensitive is False
    assert parent.account.id == me.id and parent.in_reply_to_id is None
    reply = m.status_post("The answer", in_reply_to_id=parent, spoiler_text="spoilers", visibility="unlisted",
                          language="en")
    assert reply.in_reply_to_id == parent.id
    assert reply.in_reply_to_account_id == me.id
    assert reply.spoiler_text == "spoilers" and reply.sensitive is True
    assert reply.visibility == "unlisted" and reply.language == "en"
    private = m.status_post("For followers", visibility="private")
    assert private.visibility == "private"
    direct = m.status_post("Just for me", visibility="direct")
    assert direct.visibility == "direct"
    assert m.status(parent).replies_count == 1


def test_home_timeline_pages_end_and_show_each_post_once(m):
    posted = [m.status_post(f"Paging post {i}") for i in range(7)]
    page = first = m.timeline_home(limit=3)
    assert ids(first) == [str(posted[6].id), str(posted[5].id), str(posted[4].id)]
    seen, pages = [], 0
    while page:
        seen += ids(page)
        pages += 1
        assert pages < 100, "fetch_next never ends"
        page = m.fetch_next(page)
    assert len(seen) == len(set(seen)), "a post came twice"
    assert [int(i) for i in seen] == sorted((int(i) for i in seen), reverse=True)
    assert set(ids(posted)) <= set(seen)
    assert pages >= 3
    # The first page links to what comes after it (rel="prev"): how clients poll for new posts.
    assert m.fetch_previous(first) == []
    later = m.status_post("Posted after the walk")
    assert ids(m.fetch_previous(first)) == [str(later.id)]
    # Newer than a post: the page just above it, still newest first.
    newer = m.timeline_home(min_id=posted[2].id, limit=2)
    assert ids(newer) == [str(posted[4].id), str(posted[3].id)]
    assert ids(m.timeline_home(since_id=posted[5].id)) == [str(later.id), str(posted[6].id)]


def test_public_and_hashtag_timelines_and_search(m):
    tagged = m.status_post("Tea at four #madteaparty")
    quiet = m.status_post("Unlisted tea #madteaparty", visibility="unlisted")
    local = m.timeline_public(local=True)
    assert str(tagged.id) in ids(local) and str(quiet.id) not in ids(local)
    assert [t.name for t in tagged.tags] == ["madteaparty"]
    by_tag = m.timeline_hashtag("madteaparty")
    assert ids(by_tag)[0] == str(tagged.id) and str(quiet.id) not in ids(by_tag)
    assert ids(m.timeline_hashtag("madteaparty", local=True)) == ids(by_tag)
    found = m.search_v2("#madtea", resolve=False)
    assert [t.name for t in found.hashtags] == ["madteaparty"]
    assert found.hashtags[0].url.startswith("http")
    only_tags = m.search_v2("madtea", resolve=False, result_type="hashtags")
    assert [t.name for t in only_tags.hashtags] == ["madteaparty"]
    assert only_tags.accounts == [] and only_tags.statuses == []
    people = m.search_v2(USERNAME, resolve=False, result_type="accounts")
    assert [a.username for a in people.accounts] == [USERNAME]


# Media


def test_media_post_then_a_post_with_it(m, home):
    photo = m.media_post(media_samples.jpeg(640, 480), mime_type="image/jpeg", description="A red door")
    assert photo.type == "image" and photo.url.startswith(f"{home.url}/media/")
    assert photo.description == "A red door" and photo.blurhash
    square = m.media_post(io.BytesIO(media_samples.png()), mime_type="image/png", focus=(0.5, -0.5))
    assert square.meta.focus.x == 0.5 and square.meta.focus.y == -0.5
    assert m.media_update(square, description="A blue square").description == "A blue square"
    assert m.media(square).description == "A blue square"

    posted = m.status_post("Two pictures", media_ids=[photo, square])
    shown = m.status(posted)
    assert [a.id for a in shown.media_attachments] == [photo.id, square.id]
    first = shown.media_attachments[0]
    assert first.description == "A red door" and first.blurhash == photo.blurhash
    assert first.meta.original.width == 640 and first.url == photo.url
    pictures_only = m.status_post("", media_ids=[m.media_post(media_samples.png(), mime_type="image/png")])
    assert pictures_only.content == "" and len(pictures_only.media_attachments) == 1

    edited = m.status_update(posted, "One picture", media_ids=[square])
    assert [a.id for a in edited.media_attachments] == [square.id]
    with pytest.raises(MastodonAPIError) as caught:
        m.media_post(b"<html></html>", mime_type="image/jpeg")
    assert caught.value.args[1] == 422


def test_avatar_upload_and_removal(m, home):
    me = m.account_update_credentials(avatar=media_samples.jpeg(800, 600), avatar_mime_type="image/jpeg")
    assert me.avatar.startswith(f"{home.url}/media/") and me.avatar_static == me.avatar
    assert m.account_verify_credentials().avatar == me.avatar
    header = m.account_update_credentials(header=media_samples.png(600, 200), header_mime_type="image/png").header
    assert header.startswith(f"{home.url}/media/")
    reset = m.account_delete_avatar()
    assert reset.avatar.endswith("/static/avatar.png") and reset.header == header
    assert m.account_delete_header().header.endswith("/static/header.png")


# The owner's actions on posts


def test_favourite_and_unfavourite(m):
    post = m.status_post("Worth a star")
    liked = m.status_favourite(post)
    assert liked.id == post.id and liked.favourited is True and liked.favourites_count == 1
    assert str(post.id) in ids(m.favourites())
    undone = m.status_unfavourite(post)
    assert undone.favourited is False and undone.favourites_count == 0
    assert str(post.id) not in ids(m.favourites())


def test_reblog_has_its_own_id_and_unreblog(m):
    post = m.status_post("Worth a boost")
    boost = m.status_reblog(post)
    assert boost.id != post.id
    assert boost.reblog.id == post.id
    assert boost.reblog.reblogged is True and boost.reblogged is True
    assert boost.reblog.reblogs_count == 1
    assert boost.content == "" and boost.reblog.content != ""
    home = m.timeline_home(limit=5)
    assert ids(home)[0] == str(boost.id) and home[0].reblog.id == post.id
    assert m.status(boost.id).reblog.id == post.id
    undone = m.status_unreblog(post)
    assert undone.id == post.id and undone.reblogged is False and undone.reblogs_count == 0
    with pytest.raises(MastodonNotFoundError):
        m.status(boost.id)


def test_bookmark_pin_and_mute(m, me):
    post = m.status_post("Keep this one")
    marked = m.status_bookmark(post)
    assert marked.bookmarked is True
    assert ids(m.bookmarks())[0] == str(post.id)
    assert m.status_unbookmark(post).bookmarked is False
    assert str(post.id) not in ids(m.bookmarks())

    pinned = m.status_pin(post)
    assert pinned.pinned is True
    assert ids(m.account_statuses(me, pinned=True)) == [str(post.id)]
    assert m.status_unpin(post).pinned is False
    assert m.account_statuses(me, pinned=True) == []

    muted = m.status_mute(post)
    assert muted.muted is True
    assert m.status(post).muted is True
    assert m.status_unmute(post).muted is False


def test_context_source_edit_history_delete(m):
    root = m.status_post("Down the *rabbit hole*")
    child = m.status_post("Falling", in_reply_to_id=root)
    grandchild = m.status_post("Still falling", in_reply_to_id=child)
    context = m.status_context(grandchild)
    assert ids(context.ancestors) == [str(root.id), str(child.id)]  # oldest first
    assert context.descendants == []
    below = m.status_context(root)
    assert below.ancestors == [] and ids(below.descendants) == [str(child.id), str(grandchild.id)]

    source = m.status_source(root)
    assert source.id == root.id and source.text == "Down the *rabbit hole*" and source.spoiler_text == ""

    edited = m.status_update(root, "Down the **rabbit hole**", spoiler_text="falling")
    assert edited.id == root.id and edited.edited_at is not None
    assert "<strong>rabbit hole</strong>" in edited.content and edited.spoiler_text == "falling"
    history = m.status_history(root)
    assert len(history) == 2
    assert "<em>rabbit hole</em>" in history[0].content and "<strong>" in history[1].content
    assert history[1].spoiler_text == "falling"

    gone = m.status_delete(grandchild)
    assert gone.id == grandchild.id and gone.text == "Still falling"
    with pytest.raises(MastodonNotFoundError):
        m.status(grandchild)
    assert ids(m.status_context(root).descendants) == [str(child.id)]


def test_account_lookup_statuses_and_filters(m, me, home):
    assert m.account_lookup(USERNAME).id == me.id
    assert m.account_lookup(f"{USERNAME}@{urlsplit(home.url).netloc}").id == me.id
    assert m.account(me.id).acct == USERNAME
    thread_start = m.status_post("A thread of my own")
    thread_next = m.status_post("…continued", in_reply_to_id=thread_start)
    other = m.status_post("Boost me")
    boost = m.status_reblog(other)
    everything = ids(m.account_statuses(me, limit=10))
    assert {str(thread_start.id), str(thread_next.id), str(boost.id)} <= set(everything)
    no_boosts = ids(m.account_statuses(me, exclude_reblogs=True, limit=10))
    assert str(boost.id) not in no_boosts and str(other.id) in no_boosts
    # Replies to oneself are a thread and stay, as on Mastodon.
    no_replies = ids(m.account_statuses(me, exclude_replies=True, limit=10))
    assert str(thread_next.id) in no_replies
    m.status_unreblog(other)
    assert str(boost.id) not in ids(m.account_statuses(me, limit=10))


# With a second server: notifications, remote accounts, relationships


def test_federation_notifications_relationships_markers(m, me, peer, servers):
    home_domain = urlsplit(servers["home"].url).netloc
    # The peer finds the home owner by handle and follows.
    found = peer.search_v2(f"@{USERNAME}@{home_domain}", resolve=True, result_type="accounts")
    assert [a.acct for a in found.accounts] == [f"{USERNAME}@{home_domain}"]
    remote_me = found.accounts[0]
    relationship = peer.account_follow(remote_me)
    assert relationship.id == remote_me.id
    wait_until(lambda: peer.account_relationships(remote_me)[0].following, what="follow accepted")

    follows = wait_until(lambda: m.notifications(types=["follow"]), what="follow notification")
    follower = follows[0].account
    assert follows[0].type == "follow" and follows[0].status is None
    assert follower.acct == f"{USERNAME}@{urlsplit(servers['peer'].url).netloc}"
    rel = m.account_relationships(follower)[0]
    assert rel.id == follower.id and rel.followed_by is True and rel.following is False
    assert m.account(follower.id).acct == follower.acct
    assert m.account_lookup(follower.acct).id == follower.id

    # The home owner posts; the peer sees it, likes, boosts and replies.
    post = m.status_post("News for my followers #fromhome")
    copy = wait_until(lambda: [s for s in peer.timeline_home(limit=10) if s.uri == post.uri],
                      what="post delivered")[0]
    peer.status_favourite(copy)
    peer.status_reblog(copy)
    peer.status_post(f"@{USERNAME}@{home_domain} lovely!", in_reply_to_id=copy)
    wanted = {"follow", "favourite", "reblog", "mention"}
    notes = wait_until(lambda: (lambda n: n if wanted <= {x.type for x in n} else None)(m.notifications()),
                       what="notifications for like, boost and reply")
    by_type = {n.type: n for n in notes}
    for kind in ("favourite", "reblog", "mention"):
        assert by_type[kind].account.id == follower.id
    assert by_type["favourite"].status.id == post.id and by_type["reblog"].status.id == post.id
    reply = by_type["mention"].status
    assert reply.in_reply_to_id == post.id and reply.account.id == follower.id
    assert m.notifications(id=by_type["mention"].id).id == by_type["mention"].id
    assert [n.type for n in m.notifications(exclude_types=["follow", "favourite", "reblog"])] == ["mention"]
    assert m.status(post).favourites_count == 1 and m.status(post).reblogs_count == 1
    assert ids(m.status_context(post).descendants) == [str(reply.id)]
    assert [a.id for a in m.status_favourited_by(post)] == [follower.id]
    assert [a.id for a in m.status_reblogged_by(post)] == [follower.id]

    # Notifications page like timelines: the walk ends and meets each one once.
    page, walked = m.notifications(limit=2), []
    while page:
        walked += ids(page)
        assert len(walked) < 100, "fetch_next never ends"
        page = m.fetch_next(page)
    assert walked == ids(notes) and len(set(walked)) == len(walked)

    grouped = m.grouped_notifications()
    groups = grouped.notification_groups
    assert {g.type for g in groups} >= wanted
    assert {a.id for a in grouped.accounts} == {follower.id}
    assert str(post.id) in {str(s.id) for s in grouped.statuses}
    assert m.unread_grouped_notifications_count() >= 4

    # Read markers.
    newest = notes[0]
    set_ = m.markers_set(["home", "notifications"], [post.id, newest.id])
    assert str(set_.home.last_read_id) == str(post.id)
    got = m.markers_get(["home", "notifications"])
    assert str(got.notifications.last_read_id) == str(newest.id)
    assert got.home.version >= 1
    assert m.unread_grouped_notifications_count() == 0

    # A reply to someone else is left out with exclude_replies; following back shows both ways.
    answer = m.status_post("Thank you!", in_reply_to_id=reply)
    assert answer.in_reply_to_account_id == follower.id
    assert answer.mentions and answer.mentions[0].id == follower.id
    assert str(answer.id) not in ids(m.account_statuses(me, exclude_replies=True, limit=40))
    assert str(answer.id) in ids(m.account_statuses(me, limit=40))
    m.account_follow(follower)
    both = wait_until(lambda: (lambda r: r if r.following and r.followed_by else None)(
        m.account_relationships([follower])[0]), what="follow back accepted")
    assert both.requested is False
    assert [a.id for a in m.account_followers(me)] == [follower.id]
    assert [a.id for a in m.account_following(me)] == [follower.id]
    assert m.follow_requests() == [] and m.blocks() == []
    assert m.account_mute(follower).muting is True
    assert [a.id for a in m.mutes()] == [follower.id]
    assert m.account_unmute(follower).muting is False and m.mutes() == []

    # The peer's posts now reach the home server: home, federated and hashtag timelines, search.
    news = peer.status_post("Peer news #frompeer")
    here = wait_until(lambda: [s for s in m.timeline_home(limit=10) if s.uri == news.uri],
                      what="peer post delivered")[0]
    assert here.account.id == follower.id and here.id != news.id
    assert str(here.id) in ids(m.timeline_public(remote=True)) and str(here.id) in ids(m.timeline_public())
    assert str(here.id) not in ids(m.timeline_public(local=True))
    assert ids(m.timeline_hashtag("frompeer")) == [str(here.id)]
    # (Remote posts are ordered by their published second, so within one second in any order.)
    assert str(here.id) in ids(m.account_statuses(follower, limit=5))
    assert ids(m.search_v2(news.url, resolve=True, result_type="statuses").statuses) == [str(here.id)]
    assert ids(m.search_v2(news.uri, resolve=True).statuses) == [str(here.id)]
    # Acting on a remote post: the peer hears of it.
    m.status_favourite(here)
    boost = m.status_reblog(here)
    assert boost.id != here.id and boost.reblog.id == here.id and boost.account.id == me.id
    kinds = wait_until(lambda: (lambda n: n if {"favourite", "reblog"} <= n else None)(
        {x.type for x in peer.notifications(types=["favourite", "reblog"])}), what="peer notified")
    assert kinds == {"favourite", "reblog"}
    assert ids(m.statuses([post.id, here.id])) == [str(post.id), str(here.id)]

    # Dismissing one notification, then clearing them all.
    m.notifications_dismiss(by_type["mention"])
    assert "mention" not in {n.type for n in m.notifications()}
    m.notifications_clear()
    assert m.notifications() == [] and m.grouped_notifications().notification_groups == []


def test_unread_count_v1(m):
    assert isinstance(m.notifications_unread_count().count, int)


# Signing out


def test_revoked_token_stops_working(home, recorder):
    app = sign_in(home, recorder, "Mastodon.py short-lived", redirect=OOB)  # the code copied by hand
    token = app.access_token
    assert app.account_verify_credentials().username == USERNAME
    app.revoke_access_token(allow_http=True)
    assert app.access_token is None
    stale = Mastodon(access_token=token, api_base_url=home.url, session=recorder.session(),
                     request_timeout=TIMEOUT, ratelimit_method="throw")
    with pytest.raises(MastodonUnauthorizedError) as caught:
        stale.account_verify_credentials()
    assert caught.value.args[1] == 401
    with pytest.raises(MastodonUnauthorizedError):
        stale.timeline_home()
