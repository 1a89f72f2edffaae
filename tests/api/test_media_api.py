"""Media through the client API: uploads (v1 and v2) cleaned of their metadata, refused files
leaving nothing behind, attachments on posts and edits, alt text and focus, the owner's avatar
and header, remote attachments and avatars, and the limits the instance advertises."""

from __future__ import annotations

import io
from contextlib import asynccontextmanager
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from PIL import Image

from smallfedi.core import images, remote
from smallfedi.core.models import ActorInfo, AttachmentInfo
from tests import media_samples
from tests.api.conftest import strict, token_for
from tests.api.test_lists import instance, remote_post
from tests.conftest import running_instance

pytestmark = pytest.mark.anyio

SMALL_LIMITS = "\n[media]\nmax_image_bytes = 65536\nmax_video_bytes = 65536\nmax_image_side = 1000\n"
GPS_IFD = 0x8825


@asynccontextmanager
async def api_with(folder, extra: str = ""):
    """The `api` fixture's client, on an instance with `extra` configuration."""
    async with running_instance(folder, extra=extra) as client:
        strict(client)
        token = await token_for(client)
        client.cookies.clear()
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


async def upload(api: httpx.AsyncClient, data: bytes, name: str = "photo.jpg", mime: str = "image/jpeg",
                 version: int = 2, **fields) -> httpx.Response:
    return await api.post(f"/api/v{version}/media", files={"file": (name, data, mime)}, data=fields)


async def uploaded(api: httpx.AsyncClient, data: bytes | None = None, **fields) -> dict:
    r = await upload(api, media_samples.jpeg(320, 240, gps=False) if data is None else data, **fields)
    assert r.status_code == 200, r.text
    return r.json()


async def served(api: httpx.AsyncClient, url: str) -> bytes:
    """The bytes behind one of our media URLs, as a browser or app gets them."""
    path = urlsplit(url).path
    assert path.startswith("/media/"), url
    r = await api.get(path)
    assert r.status_code == 200, (url, r.status_code)
    return r.content


def stored_files(api: httpx.AsyncClient) -> set[str]:
    return {p.name for p in instance(api).config.media_dir.iterdir()}


async def media_rows(api: httpx.AsyncClient) -> int:
    return await instance(api).db.fetchval("SELECT count(*) FROM media")


async def post(api: httpx.AsyncClient, **body) -> httpx.Response:
    return await api.post("/api/v1/statuses", json=body)


def ids_of(status: dict) -> list[str]:
    return [m["id"] for m in status["media_attachments"]]


# Uploads ------------------------------------------------------------------------------------------

async def test_a_phone_photo_is_uploaded_upright_and_without_its_metadata(tmp_path):
    async with api_with(tmp_path, SMALL_LIMITS.replace("65536", "4194304")) as api:
        photo = media_samples.jpeg(1200, 900, gps=True, orientation=6)
        assert b"PhoneMaker" in photo
        r = await upload(api, photo, description="A red door", focus="0.5,-0.25")
        assert r.status_code == 200, r.text
        m = r.json()
        assert m["type"] == "image" and m["description"] == "A red door"
        assert m["url"].startswith("http://127.0.0.1:8080/media/") and m["remote_url"] is None
        assert m["preview_url"].startswith("http://127.0.0.1:8080/media/") and m["preview_url"] != m["url"]
        assert m["blurhash"] and m["text_url"] is None
        original, small = m["meta"]["original"], m["meta"]["small"]
        assert (original["width"], original["height"]) == (750, 1000)  # turned upright, long side 1000
        assert original["aspect"] == pytest.approx(0.75) and original["size"] == "750x1000"
        assert small["width"] < original["width"] and small["aspect"] == pytest.approx(0.75, abs=0.01)
        assert m["meta"]["focus"] == {"x": 0.5, "y": -0.25}

        for url in (m["url"], m["preview_url"]):
            data = await served(api, url)
            assert b"PhoneMaker" not in data and b"Exif" not in data
            im = Image.open(io.BytesIO(data))
            assert len(im.getexif()) == 0 and "exif" not in im.info
            assert not im.getexif().get_ifd(GPS_IFD)
            assert im.width < im.height and max(im.size) <= 1000
        im = Image.open(io.BytesIO(await served(api, m["url"]))).convert("L")
        # The dark left half of the sensor's picture is at the top once turned.
        assert im.getpixel((im.width // 2, 10)) < 60 < im.getpixel((im.width // 2, im.height - 10))

        again = await api.get(f"/api/v1/media/{m['id']}")
        assert again.status_code == 200 and again.json() == m
        changed = await api.put(f"/api/v1/media/{m['id']}", data={"description": "A blue door", "focus": "-1,1"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["description"] == "A blue door"
        assert changed.json()["meta"]["focus"] == {"x": -1.0, "y": 1.0}
        # JSON too; what is not sent stays.
        kept = await api.put(f"/api/v1/media/{m['id']}", json={"focus": "0,0"})
        assert kept.json()["description"] == "A blue door" and kept.json()["meta"]["focus"] == {"x": 0.0, "y": 0.0}
        cleared = await api.put(f"/api/v1/media/{m['id']}", json={"description": ""})
        assert cleared.json()["description"] is None  # no alt text is null, as Mastodon


async def test_v1_and_other_kinds_of_file(api):
    v1 = await upload(api, media_samples.png(), name="file", mime="application/octet-stream", version=1)
    assert v1.status_code == 200, v1.text
    assert v1.json()["type"] == "image" and v1.json()["url"].endswith(".png")
    assert v1.json()["preview_url"] == v1.json()["url"]  # small enough to be its own preview
    gif = await uploaded(api, media_samples.gif_animated())
    assert gif["url"].endswith(".gif") and b"secret camera" not in await served(api, gif["url"])
    video = await uploaded(api, media_samples.mp4_header(), description="A clip")
    assert video["type"] == "video" and video["url"].endswith(".mp4") and video["description"] == "A clip"


async def test_scopes_and_tokens(api):
    body = {"file": ("p.png", media_samples.png(), "image/png")}
    anonymous = await api.post("/api/v2/media", files=body, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    reader = await token_for(api, "read")
    refused = await api.post("/api/v2/media", files=body, headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403 and refused.json()["error"]
    writer = await token_for(api, "write:media")
    made = await api.post("/api/v2/media", files=body, headers={"Authorization": f"Bearer {writer}"})
    assert made.status_code == 200, made.text
    # Reading one back: with write:media (as Mastodon asks) or a read token.
    for token in (writer, reader):
        r = await api.get(f"/api/v1/media/{made.json()['id']}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
    assert (await api.put(f"/api/v1/media/{made.json()['id']}", data={"description": "x"},
                          headers={"Authorization": f"Bearer {reader}"})).status_code == 403
    assert (await api.get("/api/v1/media/12345")).status_code == 404
    assert (await api.get("/api/v1/media/nope")).status_code == 404


async def refused_leaving_nothing(api: httpx.AsyncClient, cases: dict) -> None:
    """Each upload refused with its status and a message saying why; no row, no file stays."""
    await uploaded(api)  # the folder and table are in use already
    before_files, before_rows = stored_files(api), await media_rows(api)
    for what, (data, status, words) in cases.items():
        r = await upload(api, data, description="should not stay")
        assert r.status_code == status, (what, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/json"), what
        assert words in r.json()["error"], (what, r.json())
    assert stored_files(api) == before_files
    assert await media_rows(api) == before_rows


async def test_refused_files_leave_nothing_behind(api):
    await refused_leaving_nothing(api, {
        "a decompression bomb": (media_samples.bomb_png(), 422, "too large to process"),
        "a truncated photo": (media_samples.truncated_jpeg(), 422, "damaged"),
        "HTML calling itself a JPEG": (media_samples.html_pretending_to_be_jpeg(), 422, "not an image"),
        "an empty file": (b"", 422, "empty"),
    })


async def test_refused_sizes_and_forms_leave_nothing_behind(tmp_path):
    async with api_with(tmp_path, SMALL_LIMITS) as api:
        await refused_leaving_nothing(api, {
            "a photo over max_image_bytes": (media_samples.jpeg(400, 300, gps=False) + b"\0" * 70_000, 413,
                                             "limit"),
            # Past the cap on upload bodies (here limits.max_body_bytes, 1 MiB: it is never lower).
            "a body over the upload cap": (b"\xff\xd8\xff" + b"\0" * 1_100_000, 413, "too large"),
        })
        before_files, before_rows = stored_files(api), await media_rows(api)
        # Streamed without a length: cut off as it arrives.
        boundary = "cut"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n"
                "Content-Type: image/jpeg\r\n\r\n").encode()

        async def body():
            yield head
            for _ in range(140):
                yield b"\0" * 8192
            yield f"\r\n--{boundary}--\r\n".encode()

        r = await api.post("/api/v2/media", content=body(),
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert r.status_code == 413 and r.json()["error"]
        missing = await api.post("/api/v2/media", data={"description": "no file"})
        assert missing.status_code == 422 and "file" in missing.json()["error"]
        two = await api.post("/api/v2/media", files=[("file", ("a.png", media_samples.png(), "image/png")),
                                                     ("file", ("b.png", media_samples.png(), "image/png"))])
        assert two.status_code == 400 and two.json()["error"]
        bad_focus = await upload(api, media_samples.png(), name="p.png", mime="image/png", focus="2,0")
        assert bad_focus.status_code == 422 and "focus" in bad_focus.json()["error"]
        long_text = await upload(api, media_samples.png(), name="p.png", mime="image/png", description="x" * 1501)
        assert long_text.status_code == 422
        assert stored_files(api) == before_files
        assert await media_rows(api) == before_rows


# Attachments on posts -------------------------------------------------------------------------------

async def test_posts_with_attachments(api):
    a, b = await uploaded(api, description="First"), await uploaded(api, media_samples.png())
    status = await post(api, status="Two pictures", media_ids=[b["id"], a["id"]])
    assert status.status_code == 200, status.text
    assert ids_of(status.json()) == [b["id"], a["id"]]
    assert status.json()["media_attachments"][1]["description"] == "First"
    shown = (await api.get(f"/api/v1/statuses/{status.json()['id']}")).json()
    assert ids_of(shown) == [b["id"], a["id"]]
    home = (await api.get("/api/v1/timelines/home")).json()
    assert ids_of(home[0]) == [b["id"], a["id"]]

    # Used already, too many, not an id, not ours: refused, nothing posted.
    again = await post(api, status="Again", media_ids=[a["id"]])
    assert again.status_code == 422 and "another post" in again.json()["error"]
    five = [(await uploaded(api))["id"] for _ in range(5)]
    assert (await post(api, status="Five", media_ids=five)).status_code == 422
    assert (await post(api, status="Word", media_ids=["first"])).status_code == 422
    assert (await post(api, status="Ghost", media_ids=["12345"])).status_code == 422
    assert (await api.get("/api/v1/timelines/home")).json()[0]["id"] == status.json()["id"]

    # A form's media_ids[], in order; and a post of pictures only.
    form = await api.post("/api/v1/statuses", data={"status": "", "media_ids[]": [five[1], five[0]]})
    assert form.status_code == 200, form.text
    assert ids_of(form.json()) == [five[1], five[0]] and form.json()["content"] == ""
    assert (await post(api, status="", media_ids=[])).status_code == 422  # nothing at all


async def test_editing_attachments(api):
    a, b, c = [await uploaded(api) for _ in range(3)]
    status = (await post(api, status="Before", media_ids=[a["id"], b["id"]])).json()
    path = f"/api/v1/statuses/{status['id']}"
    # Without media_ids the attachments stay.
    kept = await api.put(path, json={"status": "Text changed"})
    assert kept.status_code == 200, kept.text
    assert ids_of(kept.json()) == [a["id"], b["id"]]
    # With them, they are replaced; the one let go may be posted elsewhere.
    replaced = await api.put(path, json={"status": "Pictures changed", "media_ids": [c["id"], a["id"]]})
    assert ids_of(replaced.json()) == [c["id"], a["id"]]
    assert (await post(api, status="Reused", media_ids=[b["id"]])).status_code == 200
    # Alt text changed with the edit, as the web app and Mastodon.py send it.
    described = await api.put(path, json={
        "status": "Described", "media_ids": [c["id"], a["id"]],
        "media_attributes": [{"id": c["id"], "description": "A cat", "focus": "0.1,0.2"}]})
    assert described.status_code == 200, described.text
    first = described.json()["media_attachments"][0]
    assert first["description"] == "A cat" and first["meta"]["focus"] == {"x": 0.1, "y": 0.2}
    # A form's media_attributes[][...], one attachment after another.
    pairs = [("status", "Form"), ("media_ids[]", c["id"]), ("media_ids[]", a["id"]),
             ("media_attributes[][id]", c["id"]), ("media_attributes[][description]", "Cat"),
             ("media_attributes[][id]", a["id"]), ("media_attributes[][description]", "Dog")]
    form = await api.put(path, content=urlencode(pairs), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 200, form.text
    assert [m["description"] for m in form.json()["media_attachments"]] == ["Cat", "Dog"]
    history = (await api.get(f"{path}/history")).json()
    assert all(ids_of(version) == [c["id"], a["id"]] for version in history)
    # Text removed, pictures kept: still a post.
    assert (await api.put(path, json={"status": ""})).status_code == 200
    # All removed with the text: nothing left to show.
    assert (await api.put(path, json={"status": "", "media_ids": []})).status_code == 422
    bad = await api.put(path, json={"status": "x", "media_attributes": [{"description": "no id"}]})
    assert bad.status_code == 422


# The owner's avatar and header ---------------------------------------------------------------------

async def test_avatar_and_header(api):
    me = (await api.get("/api/v1/accounts/verify_credentials")).json()
    assert me["avatar"].endswith("/static/avatar.png")
    r = await api.patch("/api/v1/accounts/update_credentials",
                        files={"avatar": ("me.jpg", media_samples.jpeg(1200, 900), "image/jpeg")})
    assert r.status_code == 200, r.text
    avatar = r.json()["avatar"]
    assert avatar.startswith("http://127.0.0.1:8080/media/") and r.json()["avatar_static"] == avatar
    assert r.json()["display_name"] == me["display_name"]
    image = Image.open(io.BytesIO(await served(api, avatar)))
    assert image.size == (images.AVATAR_SIDE, images.AVATAR_SIDE) == (400, 400)
    assert not image.getexif()
    assert (await api.get(f"/api/v1/accounts/{me['id']}")).json()["avatar"] == avatar

    both = await api.patch("/api/v1/accounts/update_credentials", data={"display_name": "Alice"},
                           files={"header": ("h.png", media_samples.png(300, 200), "image/png")})
    assert both.status_code == 200, both.text
    assert both.json()["display_name"] == "Alice" and both.json()["avatar"] == avatar
    assert Image.open(io.BytesIO(await served(api, both.json()["header"]))).size == (1500, 500)

    refused = await api.patch("/api/v1/accounts/update_credentials", data={"display_name": "Bob"},
                              files={"avatar": ("x.jpg", media_samples.html_pretending_to_be_jpeg(), "image/jpeg")})
    assert refused.status_code == 422
    assert (await api.get("/api/v1/accounts/verify_credentials")).json()["display_name"] == "Alice"

    gone = await api.delete("/api/v1/profile/avatar")
    assert gone.status_code == 200, gone.text
    assert gone.json()["avatar"].endswith("/static/avatar.png") and gone.json()["source"]
    assert gone.json()["header"] == both.json()["header"]
    assert (await api.delete("/api/v1/profile/header")).json()["header"].endswith("/static/header.png")
    assert instance(api).owner.avatar_url is None and instance(api).owner.header_url is None


# Other servers' attachments and avatars ------------------------------------------------------------

async def test_remote_attachments_and_avatars(api):
    inst = instance(api)
    bob = await remote.remember_actor(inst, ActorInfo(
        uri="http://127.0.0.1:9/users/bob", username="bob", domain="127.0.0.1:9",
        inbox_url="http://127.0.0.1:9/users/bob/inbox", avatar_url="http://127.0.0.1:9/a.png"))
    remote_status = await remote_post(api, bob, "Holiday", attachments=(
        AttachmentInfo(url="http://127.0.0.1:9/m/1.jpg", type="image", description="Sea", width=800, height=600,
                       blurhash="LEHV6nWB2yk8", focus=(0.0, 0.5)),
        AttachmentInfo(url="http://127.0.0.1:9/m/2.mp4", type="video", preview_url="http://127.0.0.1:9/m/2.jpg")))
    shown = (await api.get(f"/api/v1/statuses/{remote_status.id}")).json()
    photo, video = shown["media_attachments"]
    assert photo["url"] == photo["remote_url"] == "http://127.0.0.1:9/m/1.jpg"
    assert photo["preview_url"].startswith("http://127.0.0.1:8080/cache/")
    assert photo["description"] == "Sea" and photo["meta"]["focus"] == {"x": 0.0, "y": 0.5}
    assert photo["meta"]["original"]["size"] == "800x600"
    assert video["type"] == "video" and video["preview_remote_url"] == "http://127.0.0.1:9/m/2.jpg"
    assert video["preview_url"].startswith("http://127.0.0.1:8080/cache/") and video["description"] is None
    assert shown["account"]["avatar"].startswith("http://127.0.0.1:8080/cache/")
    assert shown["account"]["header"].endswith("/static/header.png")
    # A remote post's attachments can't be attached to ours.
    assert (await post(api, status="Mine", media_ids=[photo["id"]])).status_code == 422
    assert (await api.get(f"/api/v1/media/{photo['id']}")).status_code == 404


async def test_remote_images_link_to_the_origin_without_a_cache(tmp_path):
    async with api_with(tmp_path, "\n[storage]\ncache_mb = 0\n") as api:
        bob = await remote.remember_actor(instance(api), ActorInfo(
            uri="http://127.0.0.1:9/users/bob", username="bob", domain="127.0.0.1:9",
            inbox_url="http://127.0.0.1:9/users/bob/inbox", avatar_url="http://127.0.0.1:9/a.png"))
        status = await remote_post(api, bob, "Holiday", attachments=(
            AttachmentInfo(url="http://127.0.0.1:9/m/1.jpg", type="image"),))
        shown = (await api.get(f"/api/v1/statuses/{status.id}")).json()
        assert shown["media_attachments"][0]["preview_url"] == "http://127.0.0.1:9/m/1.jpg"
        assert shown["account"]["avatar"] == "http://127.0.0.1:9/a.png"


# What apps are told ----------------------------------------------------------------------------------

async def test_the_instance_advertises_the_media_limits(tmp_path):
    async with api_with(tmp_path, SMALL_LIMITS) as api:
        config = (await api.get("/api/v2/instance")).json()["configuration"]
        limits = config["media_attachments"]
        assert limits["image_size_limit"] == 65536 and limits["video_size_limit"] == 65536
        assert limits["image_matrix_limit"] == images.MAX_PIXELS
        assert limits["description_limit"] == 1500
        assert {"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "video/mp4",
                "video/quicktime", "video/webm", "audio/mpeg", "audio/mp4", "audio/ogg", "audio/flac",
                "audio/wav"} <= set(limits["supported_mime_types"])
        assert config["statuses"]["max_media_attachments"] == 4
        v1 = (await api.get("/api/v1/instance")).json()["configuration"]["media_attachments"]
        assert v1["image_size_limit"] == 65536


async def test_posted_media_is_described_by_editing_the_post(api):
    m = await uploaded(api, description="First")
    status = (await post(api, status="Posted", media_ids=[m["id"]])).json()
    # As Mastodon: once posted, PUT /media/:id is refused; the post's edit carries the change out.
    refused = await api.put(f"/api/v1/media/{m['id']}", json={"description": "Sneaky"})
    assert refused.status_code == 404 and "edit the post" in refused.json()["error"]
    assert (await api.get(f"/api/v1/media/{m['id']}")).json()["description"] == "First"
    poll = (await post(api, status="A poll", poll={"options": ["a", "b"], "expires_in": 3600})).json()
    other = await uploaded(api)
    mixed = await api.put(f"/api/v1/statuses/{poll['id']}", json={"status": "A poll", "media_ids": [other["id"]]})
    assert mixed.status_code == 422 and "poll" in mixed.json()["error"]
    assert status["media_attachments"][0]["description"] == "First"


async def test_only_media(api):
    m = await uploaded(api)
    with_media = (await post(api, status="With a picture", media_ids=[m["id"]])).json()
    await post(api, status="Words only")
    me = (await api.get("/api/v1/accounts/verify_credentials")).json()
    for path in (f"/api/v1/accounts/{me['id']}/statuses?only_media=true", "/api/v1/timelines/public?only_media=1"):
        listed = (await api.get(path)).json()
        assert [s["id"] for s in listed] == [with_media["id"]], path
    everything = (await api.get(f"/api/v1/accounts/{me['id']}/statuses")).json()
    assert len(everything) == 2
