"""Media on the HTML face: composing with files, the alt text policy, refused files, showing
attachments (ours and other servers'), the avatar, feeds, and the storage page."""

from __future__ import annotations

import html
import io
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from smallfedi.core import media_cache, remote
from smallfedi.core.models import ActorInfo, AttachmentInfo, NoteInfo
from smallfedi.store.db import utcnow
from tests import media_samples as samples
from tests.conftest import csrf_of, running_instance, sign_in

pytestmark = pytest.mark.anyio

POST_URL_RE = re.compile(r"/@alice/(\d+)(\?posted=1)?$")
EMPTY_INPUT = ("", b"", "application/octet-stream")  # what a browser sends for a file input left empty


async def compose(client, text: str = "", files: dict | None = None, **fields):
    """Submit the home page's compose form as a browser does (multipart, every file input sent)."""
    page = await client.get("/")
    assert 'enctype="multipart/form-data"' in page.text
    data = {"csrf_token": csrf_of(page.text), "text": text, "visibility": "public", **fields}
    parts = {f"file_{i}": EMPTY_INPUT for i in range(4)}
    parts.update(files or {})
    return await client.post("/compose", data=data, files=parts)


def jpeg_part(name: str = "photo.jpg", **kwargs):
    return (name, samples.jpeg(**kwargs), "image/jpeg")


async def media_rows(client) -> int:
    return await client.app.state.instance.db.fetchval("SELECT count(*) FROM media")


async def status_rows(client) -> int:
    return await client.app.state.instance.db.fetchval("SELECT count(*) FROM statuses")


def images_of(page: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'(\w+)="([^"]*)"', tag)) for tag in re.findall(r"<img [^>]*>", page)
            if 'class="' not in tag]


async def test_compose_with_two_files_shows_both(owner_client):
    response = await compose(owner_client, "Two pictures #holiday", {
        "file_0": jpeg_part(), "file_2": ("small.png", samples.png(), "image/png")},
        description_0="A red wall with a dark half", description_2="A blue square")
    assert response.status_code == 303, response.text
    assert POST_URL_RE.search(response.headers["location"])
    assert "posted" not in response.headers["location"]  # both described: no reminder
    page = await owner_client.get(response.headers["location"])
    shown = images_of(page.text)
    assert [i["alt"] for i in shown] == ["A red wall with a dark half", "A blue square"]
    photo, square = shown
    assert photo["loading"] == "lazy" and photo["width"] and photo["height"]
    assert 'class="media media-2"' in page.text
    assert page.text.count('<details class="alt">') == 2 and "<summary title=\"Description\">ALT</summary>" in page.text
    for image in shown:
        assert (await owner_client.get(urlsplit(image["src"]).path)).status_code == 200
    # The picture links to the full-size file; the page shows its preview.
    full = re.search(r'<a href="([^"]+)"><img src="' + re.escape(photo["src"]), page.text).group(1)
    assert full != photo["src"]
    assert (await owner_client.get(urlsplit(full).path)).headers["content-type"] == "image/jpeg"
    # Home, the profile and the tag page show them too.
    for path in ("/", "/@alice", "/tags/holiday"):
        assert [i["alt"] for i in images_of((await owner_client.get(path)).text)] == [
            "A red wall with a dark half", "A blue square"], path


async def test_a_post_of_only_a_picture(owner_client):
    response = await compose(owner_client, "", {"file_0": jpeg_part()}, description_0="Just the picture")
    assert response.status_code == 303, response.text
    page = await owner_client.get(response.headers["location"])
    assert [i["alt"] for i in images_of(page.text)] == ["Just the picture"]


async def test_sensitive_media_are_behind_a_summary(owner_client):
    response = await compose(owner_client, "Careful", {"file_0": jpeg_part()}, description_0="Gore", sensitive="1")
    page = (await owner_client.get(response.headers["location"])).text
    folded = r'<details class="sensitive"><summary>Sensitive media — show</summary>(.*?)</details>\s*<footer'
    hidden = re.search(folded, page, re.S)
    assert hidden and 'alt="Gore"' in hidden.group(1)
    assert '<details class="sensitive" open' not in page
    # Without the box ticked, the picture is shown straight away.
    response = await compose(owner_client, "Fine", {"file_0": jpeg_part(color=(0, 200, 0))}, description_0="Grass")
    page = (await owner_client.get(response.headers["location"])).text
    assert 'alt="Grass"' in page and "Sensitive media" not in page


async def test_alt_text_required_refuses_before_storing_anything(tmp_path):
    async with running_instance(tmp_path, extra='\n[media]\nalt_text = "require"\n') as client:
        await sign_in(client)
        response = await compose(client, "Look at this", {"file_0": jpeg_part(), "file_1": jpeg_part("b.jpg")},
                                 description_0="Described")
        assert response.status_code == 422
        assert "File 2 needs a description" in response.text
        assert "Look at this</textarea>" in response.text
        assert ">Described</textarea>" in response.text  # what was typed stays
        assert await media_rows(client) == 0 and await status_rows(client) == 0
        assert list(client.app.state.instance.config.media_dir.iterdir()) == []
        # With every description, it goes out.
        response = await compose(client, "Look at this", {"file_0": jpeg_part()}, description_0="Described")
        assert response.status_code == 303


async def test_alt_text_warning_names_the_undescribed(owner_client):
    two = {"file_0": jpeg_part(), "file_1": jpeg_part("b.jpg", color=(1, 2, 3))}
    response = await compose(owner_client, "Two", two, description_0="Described")
    assert response.status_code == 303
    assert response.headers["location"].endswith("?posted=1")
    page = (await owner_client.get(response.headers["location"])).text
    assert "Attachment 2 has no description" in page
    assert 'alt="Image without a description"' in page
    # Visitors never see the reminder.
    signed_in = owner_client.cookies
    owner_client.cookies = {}
    try:
        visitor = await owner_client.get(response.headers["location"])
    finally:
        owner_client.cookies = signed_in
    assert visitor.status_code == 200 and 'alt="Described"' in visitor.text
    assert "has no description" not in visitor.text


async def test_alt_text_off_says_nothing(tmp_path):
    async with running_instance(tmp_path, extra='\n[media]\nalt_text = "off"\n') as client:
        await sign_in(client)
        response = await compose(client, "Plain", {"file_0": jpeg_part()})
        assert response.status_code == 303 and "posted" not in response.headers["location"]


@pytest.mark.parametrize("bad, message", [
    (samples.html_pretending_to_be_jpeg(), "not an image, video or audio file"),
    (samples.truncated_jpeg(), "damaged or incomplete"),
    (samples.bomb_png(), "too large to process"),
])
async def test_a_refused_file_keeps_the_text(owner_client, bad, message):
    response = await compose(owner_client, "My **words**", {"file_0": ("x.jpg", bad, "image/jpeg")},
                             description_0="What it shows", spoiler_text="cw here")
    assert 400 <= response.status_code < 500
    assert message in response.text
    assert "Choose the files again" in response.text
    assert "My **words**</textarea>" in response.text and 'value="cw here"' in response.text
    assert ">What it shows</textarea>" in response.text
    assert await status_rows(owner_client) == 0 and await media_rows(owner_client) == 0


async def test_a_refused_second_file_posts_nothing(owner_client):
    files = {"file_0": jpeg_part(), "file_1": ("b.jpg", b"\x00" * 100, "image/jpeg")}
    response = await compose(owner_client, "Half", files, description_0="Fine", description_1="Broken")
    assert response.status_code == 422
    assert await status_rows(owner_client) == 0
    # The first was stored before the second was refused: it stays unattached until the sweep.
    assert await owner_client.app.state.instance.db.fetchval(
        "SELECT count(*) FROM media WHERE status_id IS NULL") == 1


async def test_compose_takes_at_most_four_files_and_needs_the_token(owner_client):
    page = await owner_client.get("/")
    token = csrf_of(page.text)
    five = {f"file_{i}": jpeg_part(f"{i}.jpg") for i in range(5)}
    response = await owner_client.post("/compose", data={"csrf_token": token, "text": "x"}, files=five)
    assert response.status_code == 400
    forged = await owner_client.post("/compose", data={"csrf_token": "forged", "text": "x"},
                                     files={"file_0": jpeg_part()})
    assert forged.status_code == 403
    assert await media_rows(owner_client) == 0 and await status_rows(owner_client) == 0


async def test_edit_form_keeps_attachments(owner_client):
    response = await compose(owner_client, "Before", {"file_0": jpeg_part()}, description_0="Kept")
    post_url = response.headers["location"]
    edit_page = await owner_client.get(post_url + "/edit")
    assert 'type="file"' not in edit_page.text and "multipart" not in edit_page.text
    saved = await owner_client.post(post_url + "/edit", data={"csrf_token": csrf_of(edit_page.text), "text": "After"})
    assert saved.status_code == 303
    page = (await owner_client.get(post_url)).text
    assert "After" in page and 'alt="Kept"' in page


async def test_remote_attachments_and_avatars_go_through_the_cache(owner_client):
    inst = owner_client.app.state.instance
    bob = await remote.remember_actor(inst, ActorInfo(
        uri="http://127.0.0.1:9/users/bob", username="bob", domain="127.0.0.1:9",
        inbox_url="http://127.0.0.1:9/users/bob/inbox", avatar_url="http://127.0.0.1:9/a.png",
        header_url="http://127.0.0.1:9/h.png"))
    status = await remote.receive_note(inst, NoteInfo(
        uri="http://127.0.0.1:9/users/bob/statuses/1", author_uri=bob.uri, content="<p>Holiday</p>",
        published=utcnow(), visibility="public", attachments=(
            AttachmentInfo(url="http://127.0.0.1:9/m/1.jpg", type="image", description="Sea", width=800, height=600),
            AttachmentInfo(url="http://127.0.0.1:9/m/2.mp4", type="video", preview_url="http://127.0.0.1:9/m/2.jpg",
                           description="Waves"),
            AttachmentInfo(url="http://127.0.0.1:9/m/3.ogg", type="audio"))), bob)
    page = (await owner_client.get(f"/statuses/{status.id}")).text
    sea = next(i for i in images_of(page) if i["alt"] == "Sea")
    assert sea["src"] == media_cache.url_for(inst, "http://127.0.0.1:9/m/1.jpg")
    assert sea["width"] == "800" and sea["height"] == "600"
    assert '<a href="http://127.0.0.1:9/m/1.jpg"><img' in page
    cached_poster = html.escape(media_cache.url_for(inst, "http://127.0.0.1:9/m/2.jpg"))
    assert (f'<video controls preload="none" src="http://127.0.0.1:9/m/2.mp4" poster="{cached_poster}"'
            ' aria-label="Waves">') in page
    assert '<audio controls preload="none" src="http://127.0.0.1:9/m/3.ogg">' in page
    avatar = html.escape(media_cache.url_for(inst, "http://127.0.0.1:9/a.png"))
    assert f'<img class="avatar-small" src="{avatar}"' in page
    account_page = (await owner_client.get(f"/accounts/{bob.id}")).text
    assert f'<img class="avatar" src="{avatar}"' in account_page
    assert f'src="{html.escape(media_cache.url_for(inst, "http://127.0.0.1:9/h.png"))}"' in account_page


async def test_avatar_and_header_upload_and_removal(owner_client):
    profile = (await owner_client.get("/@alice")).text
    assert '<span class="avatar u-photo initial"' in profile
    page = await owner_client.get("/settings/profile")
    assert 'enctype="multipart/form-data"' in page.text
    form = {"csrf_token": csrf_of(page.text), "display_name": "Alice", "bio": "Hi"}
    inst = owner_client.app.state.instance
    updates = "SELECT count(*) FROM activities WHERE type = 'Update'"
    before = await inst.db.fetchval(updates)
    saved = await owner_client.post("/settings/profile", data=form, files={
        "avatar": jpeg_part("me.jpg", width=900, height=600), "header": jpeg_part("wide.jpg", width=1800, height=600)})
    assert saved.status_code == 200 and "Profile saved." in saved.text
    assert await inst.db.fetchval(updates) == before + 1  # text and pictures: one Update to followers
    assert inst.owner.avatar_url.startswith("http://127.0.0.1:8080/media/")
    profile = (await owner_client.get("/@alice")).text
    assert f'<img class="avatar u-photo" src="{inst.owner.avatar_url}"' in profile
    assert f'<img class="header-image" src="{inst.owner.header_url}"' in profile
    served = await owner_client.get(urlsplit(inst.owner.avatar_url).path)
    from PIL import Image

    assert Image.open(io.BytesIO(served.content)).size == (400, 400)
    assert "Alice" in profile  # the text fields were saved with the pictures

    # A refused picture changes nothing.
    page = await owner_client.get("/settings/profile")
    refused = await owner_client.post("/settings/profile", data={**form, "csrf_token": csrf_of(page.text)},
                                      files={"avatar": ("x.jpg", samples.html_pretending_to_be_jpeg(), "image/jpeg")})
    assert refused.status_code == 422 and "not an image" in refused.text
    assert f'src="{inst.owner.avatar_url}"' in (await owner_client.get("/@alice")).text

    # Removing the avatar brings the initial back; the header stays.
    page = await owner_client.get("/settings/profile")
    removed = await owner_client.post("/settings/profile", data={
        **form, "csrf_token": csrf_of(page.text), "remove_avatar": "1"}, files={"avatar": EMPTY_INPUT})
    assert removed.status_code == 200
    assert inst.owner.avatar_url is None and inst.owner.header_url
    assert '<span class="avatar u-photo initial"' in (await owner_client.get("/@alice")).text


async def test_feeds_carry_the_attachments(owner_client):
    await compose(owner_client, "With a picture", {"file_0": jpeg_part()}, description_0="Red")
    rss = await owner_client.get("/@alice.rss")
    item = ET.fromstring(rss.content).find("channel/item")
    enclosure = item.find("enclosure")
    assert enclosure.get("type") == "image/jpeg" and int(enclosure.get("length")) > 0
    assert enclosure.get("url").startswith("http://127.0.0.1:8080/media/")
    assert 'alt="Red"' in item.find("description").text
    atom = await owner_client.get("/@alice.atom")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entry = ET.fromstring(atom.content).find("a:entry", ns)
    links = [link for link in entry.findall("a:link", ns) if link.get("rel") == "enclosure"]
    assert len(links) == 1 and links[0].get("href") == enclosure.get("url")
    assert 'alt="Red"' in entry.find("a:content", ns).text


async def test_storage_page_shows_figures_and_prunes(owner_client):
    inst = owner_client.app.state.instance
    await compose(owner_client, "Mine", {"file_0": jpeg_part()}, description_0="Kept")
    bob = await remote.remember_actor(inst, ActorInfo(
        uri="http://127.0.0.1:9/users/bob", username="bob", domain="127.0.0.1:9",
        inbox_url="http://127.0.0.1:9/users/bob/inbox"))
    for n in range(3):
        await remote.receive_note(inst, NoteInfo(
            uri=f"http://127.0.0.1:9/users/bob/statuses/{n}", author_uri=bob.uri, content=f"<p>old {n}</p>",
            published=utcnow(), visibility="public"), bob)
    async with inst.db.transaction() as tx:  # two of them from long ago
        await tx.execute("UPDATE statuses SET created_at = '2020-01-01T00:00:00.000Z' WHERE uri LIKE '%/0'"
                         " OR uri LIKE '%/1'")
    page = await owner_client.get("/settings/storage")
    assert page.status_code == 200
    text = html.unescape(re.sub(r"<[^>]+>", " ", page.text))
    assert re.search(r"Database\s+\d+(\.\d)? (KiB|MiB)", text)
    assert re.search(r"Your media\s+\d+\.\d KiB in 2 files", text)  # the photo and its preview
    assert "1 of yours, 3 from other servers" in text
    assert "Off: remote posts are kept" in text
    assert 'value="90"' in page.text  # the default offered with no setting

    preview = await owner_client.post("/settings/storage", data={
        "csrf_token": csrf_of(page.text), "days": "90", "action": "preview"})
    assert preview.status_code == 200 and "would remove 2 remote posts" in preview.text
    assert await status_rows(owner_client) == 4

    pruned = await owner_client.post("/settings/storage", data={
        "csrf_token": csrf_of(page.text), "days": "90", "action": "prune"})
    assert pruned.status_code == 200 and "Pruned: 2 remote posts removed" in pruned.text
    assert "1 of yours, 1 from other servers" in html.unescape(re.sub(r"<[^>]+>", " ", pruned.text))

    for days in ("0", "abc", "9" * 40, ""):
        bad = await owner_client.post("/settings/storage", data={"csrf_token": csrf_of(page.text), "days": days})
        assert bad.status_code == 422 and "whole number" in bad.text, days
    forged = await owner_client.post("/settings/storage", data={"csrf_token": "forged", "days": "1"})
    assert forged.status_code == 403


async def test_storage_page_with_a_pruning_setting(tmp_path):
    extra = "\n[storage]\nprune_remote_after_days = 30\ncache_mb = 2\n"
    async with running_instance(tmp_path, extra=extra) as client:
        await sign_in(client)
        page = await client.get("/settings/storage")
        text = html.unescape(re.sub(r"<[^>]+>", " ", page.text))
        assert "Remote posts older than 30 days are removed (0 now)" in text
        assert "of at most 2.0 MiB" in text
        assert 'value="30"' in page.text


async def test_storage_page_is_for_the_owner(client):
    page = await client.get("/settings/storage")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/settings/storage"
    token = csrf_of((await client.get("/login")).text)
    posted = await client.post("/settings/storage", data={"csrf_token": token, "days": "1"})
    assert posted.status_code == 303 and posted.headers["location"].startswith("/login")
    nav = (await sign_in(client), await client.get("/settings/profile"))[1].text
    assert '<a href="/settings/storage">Storage</a>' in nav
