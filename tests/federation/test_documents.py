"""The documents other servers read: the actor, posts, their activities, the outbox and the
follower collections, and the ids of activities we sent. Shapes are checked strictly, the way
Mastodon, GoToSocial and Fedify read them: types, required keys, and that every URL we mint is
on our own origin.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from smallfedi.core import following, interactions, posting, profile
from smallfedi.core.posting import Draft
from smallfedi.store import accounts as accounts_store

pytestmark = pytest.mark.anyio

ORIGIN = "http://127.0.0.1:9101"
ACTOR = f"{ORIGIN}/users/alice"
BOB_ACTOR = "http://127.0.0.1:9102/users/bob"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS = "https://www.w3.org/ns/activitystreams"
SECURITY = "https://w3id.org/security/v1"
AP_ACCEPTS = ["application/activity+json",
              'application/ld+json; profile="https://www.w3.org/ns/activitystreams"']
AP = {"Accept": AP_ACCEPTS[0]}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
XSD_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def inst(client):
    return client.app.state.instance


@pytest.fixture
def alice(net):
    return net.clients["alice"]


async def get_ap(client: httpx.AsyncClient, url: str, status: int = 200, accept: str = AP_ACCEPTS[0]) -> dict:
    response = await client.get(url, headers={"Accept": accept})
    assert response.status_code == status, (url, response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0] == "application/activity+json", url
    return response.json()


def on_origin(url, origin: str = ORIGIN) -> bool:
    return isinstance(url, str) and url.startswith(origin + "/")


def check_context(doc: dict) -> dict:
    context = doc["@context"]
    assert isinstance(context, list) and context[0] == AS and SECURITY in context
    extensions = [c for c in context if isinstance(c, dict)]
    assert len(extensions) <= 1
    return extensions[0] if extensions else {}


def check_time(value) -> None:
    assert isinstance(value, str) and XSD_SECONDS.match(value), value


# Terms of the ActivityStreams 2.0 and security contexts that our documents use.
AS_TERMS = {"id", "type", "name", "summary", "url", "inbox", "outbox", "followers", "following", "endpoints",
            "sharedInbox", "published", "updated", "attachment", "tag", "icon", "image", "preferredUsername",
            "attributedTo", "to", "cc", "inReplyTo", "content", "contentMap", "actor", "object", "href",
            "totalItems", "first", "next", "prev", "partOf", "orderedItems", "alsoKnownAs", "movedTo",
            "mediaType", "width", "height"}
SECURITY_TERMS = {"publicKey", "publicKeyPem", "owner"}


def undefined_terms(doc: dict, extensions: dict) -> set[str]:
    """Keys a JSON-LD processor would drop: neither AS2, nor security, nor in our extension map."""
    found = set()
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found |= {k for k in item if not k.startswith("@")}
            stack.extend(v for k, v in item.items() if k not in ("@context", "contentMap"))  # keys: languages
        elif isinstance(item, list):
            stack.extend(item)
    return found - AS_TERMS - SECURITY_TERMS - set(extensions)


# ---------------------------------------------------------------------------------------- actor

@pytest.mark.parametrize("accept", AP_ACCEPTS)
async def test_the_actor_document(alice, accept):
    await profile.update_profile(inst(alice), profile.ProfileUpdate(
        "Alice A.", "I *like* the fediverse", [("Website", "https://alice.example/"), ("Pronouns", "she/her")],
        locked=False))
    doc = await get_ap(alice, "/users/alice", accept=accept)
    extensions = check_context(doc)
    assert undefined_terms(doc, extensions) == set()
    assert doc["id"] == ACTOR and doc["type"] == "Person"
    assert doc["preferredUsername"] == "alice" and doc["name"] == "Alice A."
    assert "<em>like</em>" in doc["summary"]
    assert doc["url"] == f"{ORIGIN}/@alice"
    assert doc["inbox"] == f"{ACTOR}/inbox" and doc["outbox"] == f"{ACTOR}/outbox"
    assert doc["followers"] == f"{ACTOR}/followers" and doc["following"] == f"{ACTOR}/following"
    assert doc["featured"] == f"{ACTOR}/collections/featured"
    assert doc["endpoints"] == {"sharedInbox": f"{ORIGIN}/inbox"}
    assert doc["manuallyApprovesFollowers"] is False
    assert isinstance(doc["discoverable"], bool) and isinstance(doc["indexable"], bool)
    check_time(doc["published"])
    for term in ("manuallyApprovesFollowers", "discoverable", "indexable", "featured", "PropertyValue", "value"):
        assert term in extensions, term

    key = doc["publicKey"]
    assert key["id"] == f"{ACTOR}#main-key" and key["owner"] == ACTOR
    public = serialization.load_pem_public_key(key["publicKeyPem"].encode("ascii"))
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size >= 2048
    secrets = await accounts_store.get_owner_secrets(inst(alice).db)
    private = serialization.load_pem_private_key(secrets["private_key_pem"].encode("ascii"), password=None)
    assert private.public_key().public_numbers() == public.public_numbers()  # the key we sign with

    fields = doc["attachment"]
    assert [(f["type"], f["name"]) for f in fields] == [("PropertyValue", "Website"), ("PropertyValue", "Pronouns")]
    assert 'href="https://alice.example/"' in fields[0]["value"] and fields[1]["value"] == "she/her"
    # Every endpoint the document names is ours and answers.
    for url in (doc["inbox"], doc["outbox"], doc["followers"], doc["following"], doc["featured"],
                doc["endpoints"]["sharedInbox"], doc["url"]):
        assert on_origin(url), url
    for url in (doc["outbox"], doc["followers"], doc["following"], doc["featured"]):
        collection = await get_ap(alice, url)
        assert collection["id"] == url and collection["type"] == "OrderedCollection"
        assert collection["totalItems"] == 0


async def test_a_locked_account_says_so(alice):
    await profile.update_profile(inst(alice), profile.ProfileUpdate("", "", [], locked=True))
    doc = await get_ap(alice, "/users/alice")
    assert doc["manuallyApprovesFollowers"] is True and doc["attachment"] == []


async def test_the_profile_address_serves_the_actor_to_activitypub_clients(alice):
    actor = await get_ap(alice, "/users/alice")
    for accept in AP_ACCEPTS:
        assert await get_ap(alice, "/@alice", accept=accept) == actor
    response = await alice.get("/@alice", headers=AP)
    assert "Accept" in response.headers.get("vary", "")


async def test_browsers_get_the_page(alice):
    response = await alice.get("/users/alice", headers=BROWSER)
    assert response.status_code in (301, 302, 303, 307, 308)
    assert response.headers["location"] in (f"{ORIGIN}/@alice", "/@alice")
    assert "Accept" in response.headers.get("vary", "")
    page = await alice.get("/@alice", headers=BROWSER)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Accept" in page.headers.get("vary", "")
    for path in ("/users/alice", "/@alice"):  # no Accept at all: a browser's page too
        response = await alice.get(path)
        assert response.status_code < 400
        assert not response.headers.get("content-type", "").startswith("application/activity+json")


async def test_unknown_actors_are_404(alice):
    for path in ("/users/bob", "/@bob", "/users/bob/outbox", "/users/bob/followers", "/users/bob/statuses/1"):
        response = await alice.get(path, headers=AP)
        assert response.status_code == 404, path


# ----------------------------------------------------------------------------------------- posts

async def publish(client, text: str, **kwargs):
    return await posting.publish(inst(client), Draft(text=text, **kwargs))


def check_note(note: dict, status, *, with_context: bool = True) -> None:
    if with_context:
        check_context(note)
    assert note["id"] == status.uri == f"{ACTOR}/statuses/{status.id}"
    assert note["type"] == "Note"
    assert note["attributedTo"] == ACTOR
    assert note["url"] == f"{ORIGIN}/@alice/{status.id}"
    check_time(note["published"])
    assert isinstance(note["to"], list) and isinstance(note["cc"], list)
    assert isinstance(note["content"], str) and note["content"].startswith("<")
    assert isinstance(note["sensitive"], bool)
    assert isinstance(note["tag"], list) and isinstance(note["attachment"], list)
    assert "source" not in note  # the Markdown stays with the owner


async def test_a_public_post_is_a_note(net, alice):
    await following.follow(inst(alice), "@bob@127.0.0.1:9102")  # so the mention resolves
    await net.settle()
    post = await publish(alice, "Hello @bob@127.0.0.1:9102 and #Fediverse #smallweb", language="en")
    note = await get_ap(alice, f"/users/alice/statuses/{post.id}")
    check_note(note, post)
    extensions = check_context(note)
    assert undefined_terms(note, extensions) == set()
    assert note["to"] == [PUBLIC]
    assert note["cc"][0] == f"{ACTOR}/followers" and BOB_ACTOR in note["cc"]
    assert note["inReplyTo"] is None
    assert note["contentMap"] == {"en": note["content"]}
    assert "Hello" in note["content"]
    hashtags = sorted((t["name"], t["href"]) for t in note["tag"] if t["type"] == "Hashtag")
    assert hashtags == [("#fediverse", f"{ORIGIN}/tags/fediverse"), ("#smallweb", f"{ORIGIN}/tags/smallweb")]
    mentions = [t for t in note["tag"] if t["type"] == "Mention"]
    assert mentions == [{"type": "Mention", "href": BOB_ACTOR, "name": "@bob@127.0.0.1:9102"}]
    assert {t["type"] for t in note["tag"]} == {"Hashtag", "Mention"}
    # The web address of the post answers ActivityPub clients with the same Note.
    assert await get_ap(alice, f"/@alice/{post.id}", accept=AP_ACCEPTS[1]) == note
    # Bob's server, reading it, sees the same post.
    copy = await inst(net.clients["bob"]).federation.resolve_status(post.uri)
    assert copy is not None and copy.visibility == "public" and copy.language == "en"
    await net.settle()


async def test_a_post_without_a_language_has_no_content_map(alice):
    post = await publish(alice, "no language given", spoiler_text="cw: testing")
    note = await get_ap(alice, f"/users/alice/statuses/{post.id}")
    check_note(note, post)
    assert "contentMap" not in note
    assert note["summary"] == "cw: testing" and note["sensitive"] is True
    assert note["tag"] == []


async def test_an_unlisted_post_is_addressed_to_followers_with_public_in_cc(alice):
    post = await publish(alice, "quietly public", visibility="unlisted")
    note = await get_ap(alice, f"/users/alice/statuses/{post.id}")
    check_note(note, post)
    assert note["to"] == [f"{ACTOR}/followers"] and note["cc"] == [PUBLIC]
    create = await get_ap(alice, f"/users/alice/statuses/{post.id}/activity")
    assert create["to"] == note["to"] and create["cc"] == note["cc"]


@pytest.mark.parametrize("visibility", ["private", "direct"])
async def test_non_public_posts_are_not_served_to_unsigned_fetches(alice, visibility):
    post = await publish(alice, "not for everyone", visibility=visibility)
    for path in (f"/users/alice/statuses/{post.id}", f"/users/alice/statuses/{post.id}/activity",
                 f"/@alice/{post.id}"):
        response = await alice.get(path, headers=AP)
        assert response.status_code == 404, path
        assert "not for everyone" not in response.text


async def test_a_reply_names_its_parent(net, alice):
    bob = net.clients["bob"]
    original = await publish(bob, "bob asks")
    parent = await inst(alice).federation.resolve_status(original.uri)
    reply = await publish(alice, "alice answers", in_reply_to_id=parent.id)
    note = await get_ap(alice, f"/users/alice/statuses/{reply.id}")
    assert note["inReplyTo"] == original.uri
    assert BOB_ACTOR in note["cc"]
    await net.settle()


async def test_an_edited_post_says_when(alice):
    post = await publish(alice, "first")
    await posting.edit(inst(alice), post.id, Draft(text="second"))
    note = await get_ap(alice, f"/users/alice/statuses/{post.id}")
    check_time(note["updated"])
    assert "second" in note["content"] and note["updated"] >= note["published"]


async def test_a_deleted_post_is_a_410_tombstone(alice):
    post = await publish(alice, "soon gone")
    await posting.delete(inst(alice), post.id)
    tombstone = await get_ap(alice, f"/users/alice/statuses/{post.id}", status=410)
    check_context(tombstone)
    assert tombstone["id"] == post.uri and tombstone["type"] == "Tombstone"
    assert "soon gone" not in json.dumps(tombstone)
    # A post that never existed is not gone, just absent.
    response = await alice.get(f"/users/alice/statuses/{post.id + 1}", headers=AP)
    assert response.status_code == 404
    for bad in ("abc", "-1", "9" * 30):
        assert (await alice.get(f"/users/alice/statuses/{bad}", headers=AP)).status_code == 404


async def test_a_posts_activity_is_its_create(alice):
    post = await publish(alice, "created #here", language="de")
    note = await get_ap(alice, f"/users/alice/statuses/{post.id}")
    create = await get_ap(alice, f"/users/alice/statuses/{post.id}/activity")
    check_context(create)
    assert create["id"] == f"{post.uri}/activity" and create["type"] == "Create"
    assert create["actor"] == ACTOR
    assert create["to"] == [PUBLIC] and create["cc"] == [f"{ACTOR}/followers"]
    check_time(create["published"])
    assert create["object"] == {k: v for k, v in note.items() if k != "@context"}


# ---------------------------------------------------------------------------------------- outbox

async def collect_pages(client, first_url: str, part_of: str, origin: str = ORIGIN) -> list[dict]:
    """Every page from `first_url` on, following `next`; checks each page's shape."""
    items, url, seen = [], first_url, set()
    while url:
        assert on_origin(url, origin) and url not in seen, url
        seen.add(url)
        page = await get_ap(client, url)
        check_context(page)
        assert page["type"] == "OrderedCollectionPage" and page["partOf"] == part_of
        assert page["id"] == url
        assert isinstance(page["orderedItems"], list)
        items += page["orderedItems"]
        url = page.get("next")
        assert len(seen) < 20
    return items


async def test_the_outbox_pages_through_public_posts_only(net, alice):
    bob = net.clients["bob"]
    bobs = await publish(bob, "bob's post to boost")
    public = [await publish(alice, f"public number {n}" + (" for @bob@127.0.0.1:9102" if n == 22 else ""))
              for n in range(23)]
    for visibility in ("unlisted", "private", "direct"):
        await publish(alice, f"a {visibility} post", visibility=visibility)
    deleted = await publish(alice, "deleted later")
    await posting.delete(inst(alice), deleted.id)
    copy = await inst(alice).federation.resolve_status(bobs.uri)
    await interactions.reblog(inst(alice), copy.id)

    outbox = await get_ap(alice, "/users/alice/outbox")
    check_context(outbox)
    assert outbox["id"] == f"{ACTOR}/outbox" and outbox["type"] == "OrderedCollection"
    assert on_origin(outbox["first"])
    assert "orderedItems" not in outbox  # the items come in pages
    items = await collect_pages(alice, outbox["first"], outbox["id"])

    creates = [i for i in items if i["type"] == "Create"]
    for create in creates:
        assert create["actor"] == ACTOR and create["object"]["attributedTo"] == ACTOR
        assert create["object"]["to"] == [PUBLIC]
        assert create["id"] == create["object"]["id"] + "/activity"
        assert "@context" not in create
    assert [c["object"]["id"] for c in creates] == [p.uri for p in reversed(public)]  # newest first, no gaps
    assert outbox["totalItems"] == len(items)
    assert {i["type"] for i in items} <= {"Create", "Announce"}
    announces = [i for i in items if i["type"] == "Announce"]
    assert [a["object"] for a in announces] == [bobs.uri]
    assert announces[0]["actor"] == ACTOR and announces[0]["to"] == [PUBLIC]
    assert items[0] == announces[0]  # the newest thing alice did
    assert [t["href"] for t in items[1]["object"]["tag"]] == [BOB_ACTOR]  # mentions, as in the Note
    for item in (items[0], items[1], items[-1]):  # as served at their own ids
        served = await get_ap(alice, item["id"][len(ORIGIN):])
        assert {k: v for k, v in served.items() if k != "@context"} == item
    assert "private post" not in json.dumps(items) and "direct post" not in json.dumps(items)
    assert "unlisted post" not in json.dumps(items) and "deleted later" not in json.dumps(items)
    await net.settle()


async def test_outbox_paging_by_max_id(alice):
    posts = [await publish(alice, f"post {n}") for n in range(5)]
    page = await get_ap(alice, f"/users/alice/outbox?page=true&max_id={posts[3].id}")
    assert [i["object"]["id"] for i in page["orderedItems"]] == [posts[2].uri, posts[1].uri, posts[0].uri]
    for bad in ("abc", "-5", "9" * 40, ""):
        response = await alice.get(f"/users/alice/outbox?page=true&max_id={bad}", headers=AP)
        assert response.status_code in (200, 400), bad


# ----------------------------------------------------------------------------- follow collections

async def test_followers_and_following_count_and_list(net, alice):
    bob = net.clients["bob"]
    await following.follow(inst(bob), "@alice@127.0.0.1:9101")
    await following.follow(inst(alice), "@bob@127.0.0.1:9102")
    await net.settle()
    for kind in ("followers", "following"):
        uri = f"{ACTOR}/{kind}"
        collection = await get_ap(alice, f"/users/alice/{kind}")
        check_context(collection)
        assert collection["id"] == uri and collection["type"] == "OrderedCollection"
        assert collection["totalItems"] == 1
        assert await collect_pages(alice, collection["first"], uri) == [BOB_ACTOR]
    # Seen from bob's side, the counts match what alice's server says.
    bobs = await get_ap(bob, "/users/bob/followers")
    assert bobs["totalItems"] == 1
    assert await collect_pages(bob, bobs["first"], bobs["id"], "http://127.0.0.1:9102") == [ACTOR]


async def test_a_pending_follow_request_is_not_a_follower(net, alice):
    await profile.update_profile(inst(alice), profile.ProfileUpdate("", "", [], locked=True))
    await following.follow(inst(net.clients["bob"]), "@alice@127.0.0.1:9101")
    await net.settle()
    collection = await get_ap(alice, "/users/alice/followers")
    assert collection["totalItems"] == 0
    assert await collect_pages(alice, collection["first"], collection["id"]) == []


# --------------------------------------------------------------------- ids of activities we sent

def sent_by(net, origin_netloc: str, to_netloc: str) -> list[dict]:
    """The bodies of the activities one instance POSTed to another."""
    return [json.loads(r.content) for r in net.router.requests
            if r.method == "POST" and r.url.netloc.decode() == to_netloc
            and r.headers.get("signature", "").find(origin_netloc) != -1]


async def test_every_activity_we_send_is_dereferenceable(net, alice):
    bob = net.clients["bob"]
    await following.follow(inst(bob), "@alice@127.0.0.1:9101")
    await net.settle()
    await following.follow(inst(alice), "@bob@127.0.0.1:9102")
    await net.settle()
    bobs = await publish(bob, "like me")
    await net.settle()
    copy = await inst(alice).federation.resolve_status(bobs.uri)
    await interactions.favourite(inst(alice), copy.id)
    await interactions.unfavourite(inst(alice), copy.id)
    await interactions.reblog(inst(alice), copy.id)
    await interactions.unreblog(inst(alice), copy.id)
    await publish(alice, "a post for bob")
    await net.settle()

    sent = sent_by(net, "127.0.0.1:9101", "127.0.0.1:9102")
    kinds = {a["type"] for a in sent}
    assert {"Accept", "Follow", "Like", "Undo", "Announce", "Create"} <= kinds, kinds
    undone = {a["object"]["type"] for a in sent if a["type"] == "Undo"}
    assert undone == {"Like", "Announce"}, undone
    for activity in sent:
        assert on_origin(activity["id"]) and activity["actor"] == ACTOR
        path = activity["id"][len(ORIGIN):]
        assert "#" not in path, activity["id"]
        if activity["type"] == "Announce":  # undone since: the boost is gone
            assert (await alice.get(path, headers=AP)).status_code in (404, 410)
            continue
        served = await get_ap(alice, path)
        assert served["id"] == activity["id"] and served["type"] == activity["type"], path
        assert served["actor"] == ACTOR
        if activity["type"] in ("Accept", "Follow", "Like", "Undo"):
            assert served == activity  # exactly what was delivered
    accept = next(a for a in sent if a["type"] == "Accept")
    assert accept["object"]["type"] == "Follow" and accept["object"]["actor"] == BOB_ACTOR
    assert accept["object"]["object"] == ACTOR
    # The Follow it accepts is bob's, and bob's server serves it at its id too.
    follow_id = accept["object"]["id"]
    assert follow_id.startswith("http://127.0.0.1:9102/")
    served = await get_ap(bob, follow_id[len("http://127.0.0.1:9102"):])
    assert served["type"] == "Follow" and served["actor"] == BOB_ACTOR and served["object"] == ACTOR


async def test_unknown_activity_ids_are_404(alice):
    for path in ("/activities/1", "/activities/nothing", "/activities/%2e%2e"):
        response = await alice.get(path, headers=AP)
        assert response.status_code == 404, path


async def test_featured_holds_the_pinned_posts(alice):
    from smallfedi.core import marks

    pinned = await posting.publish(inst(alice), Draft("pinned for all to see"))
    await posting.publish(inst(alice), Draft("not pinned"))
    secret = await posting.publish(inst(alice), Draft("followers only", visibility="private"))
    await marks.pin(inst(alice), pinned.id)
    with pytest.raises(Exception):
        await marks.pin(inst(alice), secret.id)  # only public and unlisted posts can be pinned
    doc = await get_ap(alice, f"{ACTOR}/collections/featured")
    assert doc["totalItems"] == 1
    assert [n["id"] for n in doc["orderedItems"]] == [pinned.uri]
    assert doc["orderedItems"][0]["type"] == "Note"
    await marks.pin(inst(alice), pinned.id, False)
    assert (await get_ap(alice, f"{ACTOR}/collections/featured"))["orderedItems"] == []
