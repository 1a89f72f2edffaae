"""Attachments over ActivityPub, both ways: the owner's photos go out as Mastodon's Documents
(with alt text, blurhash, size and focal point), and what other servers send is read into links
to the origin, checked value by value."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from PIL import Image

from smallfedi.core import following, media, posting, profile
from smallfedi.core.media import MAX_DESCRIPTION, MAX_REMOTE_ATTACHMENTS, Upload
from smallfedi.core.models import AttachmentInfo
from smallfedi.core.posting import Draft
from smallfedi.federation import documents as docs
from smallfedi.federation.parse import attachments, note_info
from smallfedi.store import statuses as statuses_store
from tests import media_samples
from tests.federation.test_documents import check_context, get_ap, undefined_terms

pytestmark = pytest.mark.anyio

ALICE = "http://127.0.0.1:9101"
BOB = "127.0.0.1:9102"
ALT = "A red wall, its left half in shadow"
BLURHASH = "LEHV6nWB2yk8pyo0adR*.7kCMdnj"  # 4x3 components: 28 characters
BLURHASH_2 = "LKO2?U%2Tw=w]~RBVZRi};RPxuwH"


def inst(client):
    return client.app.state.instance


async def upload(client, data: bytes, description: str = "", focus: str | None = None):
    return await media.upload(inst(client), Upload(io.BytesIO(data), description=description, focus=focus))


async def bobs_attachments(net, uri: str):
    bob = inst(net.clients["bob"])
    row = await statuses_store.get_by_uri(bob.db, uri)
    assert row is not None, f"Bob never stored {uri}"
    return list((await media.for_statuses(bob, [row["id"]])).get(row["id"], ()))


def sent_to_bob(net, kind: str) -> list[dict]:
    """The Notes of the activities of `kind` Alice delivered to Bob's server."""
    bodies = [json.loads(r.content) for r in net.router.requests
              if r.method == "POST" and r.url.netloc.decode() == BOB and "/inbox" in r.url.path]
    return [b["object"] for b in bodies if b.get("type") == kind and b.get("actor") == f"{ALICE}/users/alice"]


def document(m) -> dict:
    return {"type": "Document", "mediaType": m.mime, "url": f"{ALICE}/media/{m.file}", "name": m.description or None,
            "blurhash": m.blurhash, "width": m.width, "height": m.height, "focalPoint": [m.focus_x, m.focus_y]}


# ------------------------------------------------------------------------------ both ways, live

async def test_a_photo_reaches_a_follower_with_its_alt_text_and_without_exif(net):
    alice, bob = net.clients["alice"], net.clients["bob"]
    await following.follow(inst(bob), "@alice@127.0.0.1:9101")
    await net.settle()
    photo = await upload(alice, media_samples.jpeg(), ALT, "0.5,-0.25")
    assert photo.blurhash and photo.width == 1200 and photo.height == 900
    post = await posting.publish(inst(alice), Draft("A wall I liked", media_ids=(photo.id,)))
    await net.settle()

    # What went over the wire: the Create's Note carries the Document as Mastodon sends it.
    [note] = sent_to_bob(net, "Create")
    assert note["attachment"] == [document(photo)]

    [copy] = await bobs_attachments(net, post.uri)
    own_url = f"{ALICE}/media/{photo.file}"
    assert (copy.remote_url, copy.file, copy.type, copy.mime) == (own_url, None, "image", "image/jpeg")
    assert (copy.description, copy.blurhash) == (ALT, photo.blurhash)
    assert (copy.width, copy.height, copy.focus_x, copy.focus_y) == (1200, 900, 0.5, -0.25)

    # Bob's server can fetch the file where the Document says it is, and nothing of the camera's
    # EXIF (where, with what) comes along.
    async with httpx.AsyncClient(transport=net.router) as http:
        response = await http.get(copy.remote_url)
    assert response.status_code == 200, (response.status_code, response.text[:200])
    assert response.headers["content-type"].startswith("image/jpeg")
    assert b"PhoneMaker" not in response.content
    exif = Image.open(io.BytesIO(response.content)).getexif()
    assert media_samples.GPS_IFD not in exif and media_samples.MAKE not in exif


async def test_an_edit_that_changes_the_image_reaches_the_follower(net):
    alice, bob = net.clients["alice"], net.clients["bob"]
    await following.follow(inst(bob), "@alice@127.0.0.1:9101")
    await net.settle()
    first = await upload(alice, media_samples.jpeg(color=(10, 200, 10)), "green")
    post = await posting.publish(inst(alice), Draft("colours", media_ids=(first.id,)))
    await net.settle()
    [before] = await bobs_attachments(net, post.uri)

    # A text-only edit leaves Bob's attachment as it was (the same id, for the apps).
    await posting.edit(inst(alice), post.id, Draft("colours, edited"))
    await net.settle()
    assert [m.id for m in await bobs_attachments(net, post.uri)] == [before.id]

    second = await upload(alice, media_samples.png(), "")
    third = await upload(alice, media_samples.jpeg(300, 200, gps=False, color=(0, 0, 250)), "blue")
    await posting.edit(inst(alice), post.id, Draft("other colours", media_ids=(second.id, third.id)))
    await net.settle()
    update = sent_to_bob(net, "Update")[-1]
    assert update["attachment"] == [document(m) for m in (second, third)]
    assert update["attachment"][0]["name"] is None  # no alt text is null, as Mastodon sends it
    after = await bobs_attachments(net, post.uri)
    assert [(m.remote_url, m.description, m.mime) for m in after] == [
        (f"{ALICE}/media/{second.file}", "", "image/png"), (f"{ALICE}/media/{third.file}", "blue", "image/jpeg")]

    # And an edit that drops every attachment takes them away over there too.
    await posting.edit(inst(alice), post.id, Draft("no colours at all", media_ids=()))
    await net.settle()
    assert await bobs_attachments(net, post.uri) == []


# ------------------------------------------------------------------------------ our documents

async def test_the_note_and_outbox_carry_the_documents(net):
    alice = net.clients["alice"]
    photo = await upload(alice, media_samples.jpeg(640, 480, gps=False), ALT, "-0.1,0.9")
    post = await posting.publish(inst(alice), Draft("documents", media_ids=(photo.id,)))
    note = await get_ap(alice, f"/users/alice/statuses/{post.id}")
    extensions = check_context(note)
    assert extensions["blurhash"] == "toot:blurhash"
    assert extensions["focalPoint"] == {"@container": "@list", "@id": "toot:focalPoint"}
    assert undefined_terms(note, extensions) == set()
    assert note["attachment"] == [{
        "type": "Document", "mediaType": "image/jpeg", "url": f"{ALICE}/media/{photo.file}", "name": ALT,
        "blurhash": photo.blurhash, "width": 640, "height": 480, "focalPoint": [-0.1, 0.9]}]
    create = await get_ap(alice, f"/users/alice/statuses/{post.id}/activity")
    assert create["object"]["attachment"] == note["attachment"]
    outbox = await get_ap(alice, "/users/alice/outbox?page=true")
    assert outbox["orderedItems"][0]["object"]["attachment"] == note["attachment"]


async def test_the_actor_says_what_type_its_images_are(net):
    alice = net.clients["alice"]
    await profile.set_images(inst(alice), avatar_url=f"{ALICE}/media/0123abcd.png",
                             header_url=f"{ALICE}/media/4567ef.JPG")
    actor = await get_ap(alice, "/users/alice")
    assert actor["icon"] == {"type": "Image", "url": f"{ALICE}/media/0123abcd.png", "mediaType": "image/png"}
    assert actor["image"] == {"type": "Image", "url": f"{ALICE}/media/4567ef.JPG", "mediaType": "image/jpeg"}
    assert undefined_terms(actor, check_context(actor)) == set()
    # An address that does not tell its type gets no guess.
    assert docs.image("https://elsewhere.example/avatar?size=400") == {
        "type": "Image", "url": "https://elsewhere.example/avatar?size=400"}


# -------------------------------------------------------------------------- what others send

MASTODON_NOTE = {
    "@context": ["https://www.w3.org/ns/activitystreams",
                 {"toot": "http://joinmastodon.org/ns#", "blurhash": "toot:blurhash",
                  "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"}}],
    "id": "https://mastodon.example/users/zoe/statuses/110000000000000001",
    "type": "Note",
    "attributedTo": "https://mastodon.example/users/zoe",
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "cc": ["https://mastodon.example/users/zoe/followers"],
    "published": "2024-05-01T10:00:00Z",
    "content": "<p>Two from the walk</p>",
    "sensitive": False,
    "attachment": [
        {"type": "Document", "mediaType": "image/jpeg",
         "url": "https://files.mastodon.example/media_attachments/files/110/000/001/original/abc.jpg",
         "name": "A heron in the reeds", "blurhash": BLURHASH, "focalPoint": [-0.42, 0.13],
         "width": 1600, "height": 1200},
        {"type": "Document", "mediaType": "video/mp4",
         "url": "https://files.mastodon.example/media_attachments/files/110/000/002/original/def.mp4",
         "name": None, "blurhash": BLURHASH_2, "width": 1280, "height": 720, "duration": "PT12S",
         "icon": {"type": "Image", "mediaType": "image/png",
                  "url": "https://files.mastodon.example/media_attachments/files/110/000/002/thumbnail/def.png"}},
        # Mastodon 4.4 sends the link preview as a Link: no media.
        {"type": "Link", "href": "https://news.example/herons"},
    ],
}


def test_a_mastodon_note_with_two_documents():
    note = note_info(MASTODON_NOTE)
    assert note.attachments == (
        AttachmentInfo(url="https://files.mastodon.example/media_attachments/files/110/000/001/original/abc.jpg",
                       type="image", mime="image/jpeg", description="A heron in the reeds", blurhash=BLURHASH,
                       width=1600, height=1200, focus=(-0.42, 0.13)),
        AttachmentInfo(url="https://files.mastodon.example/media_attachments/files/110/000/002/original/def.mp4",
                       type="video", mime="video/mp4", description="", blurhash=BLURHASH_2, width=1280,
                       height=720, preview_url="https://files.mastodon.example/media_attachments/files/110/000/"
                                               "002/thumbnail/def.png"),
    )


def test_gotosocial_misskey_and_peertube_shapes():
    doc = {"attachment": [
        # GoToSocial: Image/Audio types, alt text that may come as HTML in summary.
        {"type": "Image", "mediaType": "image/webp", "url": "https://gts.example/fileserver/01H/attachment/x.webp",
         "summary": "<p>A dog &amp; a ball<br>on grass</p>", "blurhash": BLURHASH, "focalPoint": [0, 0.5]},
        {"type": "Audio", "url": "https://gts.example/fileserver/01H/attachment/y.mp3", "name": "Birdsong"},
        # Misskey: a Document with a type in mediaType and a GIF (an image until decoded).
        {"type": "Document", "mediaType": "image/gif", "url": "https://mk.example/files/webpublic-9f",
         "name": None, "sensitive": False},
        # PeerTube-like: a list of links, a web page first; the video file wins.
        {"type": "Document", "name": "Trailer", "url": [
            {"type": "Link", "mediaType": "text/html", "href": "https://tube.example/w/abc"},
            {"type": "Link", "mediaType": "video/mp4; codecs=avc1", "href": "https://tube.example/static/abc-720.mp4"},
        ]},
        # A type that says nothing and no mediaType: a file of unknown kind, still a link.
        {"type": "Document", "url": {"type": "Link", "href": "https://files.example/report.pdf"}},
    ]}
    assert attachments(doc) == (
        AttachmentInfo(url="https://gts.example/fileserver/01H/attachment/x.webp", type="image", mime="image/webp",
                       description="A dog & a ball\non grass", blurhash=BLURHASH, focus=(0.0, 0.5)),
        AttachmentInfo(url="https://gts.example/fileserver/01H/attachment/y.mp3", type="audio",
                       description="Birdsong"),
        AttachmentInfo(url="https://mk.example/files/webpublic-9f", type="image", mime="image/gif"),
        AttachmentInfo(url="https://tube.example/static/abc-720.mp4", type="video", mime="video/mp4",
                       description="Trailer"),
        AttachmentInfo(url="https://files.example/report.pdf", type="unknown"),
    )


def test_bad_values_are_dropped_or_bounded():
    doc = {"attachment": [
        {"type": "Document", "mediaType": "image/png", "url": "javascript:alert(1)", "name": "xss"},
        {"type": "Document", "mediaType": "image/png", "url": "https://exa mple.com/space.png"},
        {"type": "Document", "mediaType": "image/png", "url": "data:image/png;base64,AAAA"},
        {"type": "Document", "mediaType": "image/png", "name": "no url at all"},
        {"type": "PropertyValue", "name": "Website", "value": "<a href='https://x.example'>x</a>"},
        "https://a.reference/that/we/never/fetch",
        {"type": "Document", "mediaType": "<b>image/png</b>", "url": "https://bad.example/huge.png",
         "width": 10**9, "height": -5, "blurhash": "not a blurhash!", "focalPoint": [7, -9],
         "name": "x" * 5000},
        {"type": "Document", "mediaType": "image/png", "url": "https://bad.example/b.png", "width": True,
         "height": "900", "blurhash": "UEHLh[WB2yk8pyoJadR*.7kCMdnj", "focalPoint": [0.5, "up"],
         "name": "<script>alert(1)</script>\x00ok", "icon": "javascript:void(0)"},
    ]}
    found = attachments(doc)
    assert [a.url for a in found] == ["https://bad.example/huge.png", "https://bad.example/b.png"]
    huge, other = found
    assert (huge.mime, huge.type, huge.width, huge.height, huge.blurhash, huge.focus) == (
        "", "unknown", None, None, None, (1.0, -1.0))
    assert huge.description == "x" * MAX_DESCRIPTION
    # A blurhash of base83 characters but the wrong length for its size byte does not decode.
    assert (other.width, other.height, other.blurhash, other.focus, other.preview_url) == (
        None, None, None, (0.0, 0.0), None)
    assert other.description == "<script>alert(1)</script>ok"  # plain text: shown as written, never as HTML


def test_a_single_attachment_and_the_limit():
    one = {"type": "Document", "mediaType": "image/png", "url": "https://one.example/a.png"}
    assert attachments({"attachment": one}) == (
        AttachmentInfo(url="https://one.example/a.png", type="image", mime="image/png"),)
    many = [dict(one, url=f"https://one.example/{n}.png") for n in range(MAX_REMOTE_ATTACHMENTS + 5)]
    assert len(attachments({"attachment": many})) == MAX_REMOTE_ATTACHMENTS
    assert attachments({}) == () and attachments({"attachment": "nope"}) == ()
