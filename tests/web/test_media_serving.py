"""Serving files: the owner's media (ranges, validators, caching, names that can't escape the
folder) and the cache of remote images (fetched once, unforgeable addresses, images only, a
size budget kept by evicting the least recently served)."""

from __future__ import annotations

import io
import os
from urllib.parse import urlsplit

import pytest

from smallfedi.core import media, media_cache
from smallfedi.core.errors import DomainError
from smallfedi.store.db import format_time
from tests import media_samples as samples
from tests.conftest import running_instance

pytestmark = pytest.mark.anyio

CACHE_1MB = "\n[storage]\ncache_mb = 1\n"


async def stored(client) -> media.MediaAttachment:
    inst = client.app.state.instance
    return await media.upload(inst, media.Upload(io.BytesIO(samples.jpeg(1200, 900)), "A red square"))


def path_of(url: str) -> str:
    return urlsplit(url).path


async def test_own_media_is_served_with_validators_and_long_caching(client):
    m = await stored(client)
    inst = client.app.state.instance
    on_disk = (inst.config.media_dir / m.file).read_bytes()
    response = await client.get(f"/media/{m.file}")
    assert response.status_code == 200
    assert response.content == on_disk
    h = response.headers
    assert h["content-type"] == "image/jpeg"
    assert h["cache-control"] == "public, max-age=31536000, immutable"
    assert h["accept-ranges"] == "bytes"
    assert h["etag"] == f'"{m.file[:32]}"' and h["last-modified"].endswith("GMT")
    assert int(h["content-length"]) == len(on_disk)
    assert h["x-content-type-options"] == "nosniff"

    head = await client.head(f"/media/{m.file}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == h["content-length"] and head.headers["etag"] == h["etag"]

    # The preview is a file of its own, served the same way.
    assert m.preview_file and (await client.get(f"/media/{m.preview_file}")).status_code == 200


async def test_range_requests(client):
    m = await stored(client)
    size = (client.app.state.instance.config.media_dir / m.file).stat().st_size
    part = await client.get(f"/media/{m.file}", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert len(part.content) == 10 and part.content.startswith(b"\xff\xd8\xff")
    assert part.headers["content-range"] == f"bytes 0-9/{size}"
    tail = await client.get(f"/media/{m.file}", headers={"Range": "bytes=-4"})
    assert tail.status_code == 206 and len(tail.content) == 4
    beyond = await client.get(f"/media/{m.file}", headers={"Range": f"bytes={size + 10}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"


async def test_conditional_requests_answer_304(client):
    m = await stored(client)
    first = await client.get(f"/media/{m.file}")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = await client.get(f"/media/{m.file}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"].endswith("immutable")
    weak = await client.get(f"/media/{m.file}", headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    since = await client.get(f"/media/{m.file}", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    # If-None-Match decides when both are sent: a different tag means the body.
    changed = await client.get(f"/media/{m.file}", headers={"If-None-Match": '"other"', "If-Modified-Since": modified})
    assert changed.status_code == 200 and changed.content == first.content


async def test_only_content_names_are_served(client):
    m = await stored(client)
    inst = client.app.state.instance
    (inst.config.media_dir / "notes.txt").write_text("not for the web")
    (inst.config.media_dir / ("ab" * 16 + ".jpg")).mkdir()  # a folder with a valid-looking name
    for path in ("/media/..%2Fsmallfedi.db", "/media/..%2F..%2Fsmallfedi.toml", "/media/x.txt", "/media/notes.txt",
                 "/media/%2e%2e", f"/media/{m.file.upper()}", f"/media/{m.file}.txt", f"/media/{m.file[:-4]}.exe",
                 f"/media/{m.file[:31]}.jpg", "/media/" + "0" * 32 + ".jpg", "/media/" + "ab" * 16 + ".jpg",
                 f"/media/{m.file}%00.jpg", "/media/"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert b"SQLite" not in response.content and b"not for the web" not in response.content


# The cache of remote images ---------------------------------------------------------------------

class FakeRemote:
    """Stands in for the federation face's fetch: answers by URL and counts the calls."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.calls: list[str] = []

    async def __call__(self, url: str, max_bytes: int) -> tuple[bytes, str]:
        self.calls.append(url)
        if url not in self.files:
            raise DomainError(f"Could not fetch {url}: 404")
        return self.files[url], "image/jpeg"


async def test_remote_image_is_fetched_once_then_served_from_disk(tmp_path, monkeypatch):
    photo = samples.jpeg(300, 200, gps=False)
    remote = FakeRemote({"https://far.example/a.jpg": photo})
    async with running_instance(tmp_path, extra=CACHE_1MB) as client:
        inst = client.app.state.instance
        monkeypatch.setattr(inst.federation, "fetch_media", remote)
        url = media_cache.url_for(inst, "https://far.example/a.jpg")
        assert url.startswith("http://127.0.0.1:8080/cache/")
        first = await client.get(path_of(url))
        assert first.status_code == 200 and first.content == photo
        assert first.headers["content-type"] == "image/jpeg"
        assert first.headers["cache-control"] == "public, max-age=604800"
        assert first.headers["etag"] and first.headers["accept-ranges"] == "bytes"
        second = await client.get(path_of(url))
        assert second.status_code == 200 and second.content == photo
        assert remote.calls == ["https://far.example/a.jpg"]
        assert (await client.get(path_of(url), headers={"If-None-Match": second.headers["etag"]})).status_code == 304
        assert (await client.get(path_of(url), headers={"Range": "bytes=0-9"})).status_code == 206
        assert len(remote.calls) == 1


async def test_forged_unfetchable_and_non_image_addresses_are_404(tmp_path, monkeypatch):
    remote = FakeRemote({"https://far.example/page.jpg": samples.html_pretending_to_be_jpeg(),
                         "https://far.example/clip.mp4": samples.mp4_header()})
    async with running_instance(tmp_path, extra=CACHE_1MB) as client:
        inst = client.app.state.instance
        monkeypatch.setattr(inst.federation, "fetch_media", remote)
        real = path_of(media_cache.url_for(inst, "https://far.example/page.jpg"))
        _, _, key, encoded = real.split("/")
        # The address of another URL under this one's key, and a made-up key: not fetched at all.
        other = path_of(media_cache.url_for(inst, "https://evil.example/x.jpg")).split("/")[3]
        for forged in (f"/cache/{key}/{other}", f"/cache/{'0' * 32}/{encoded}", f"/cache/{key}/!!!"):
            assert (await client.get(forged)).status_code == 404, forged
        assert remote.calls == []
        # Bytes that are not an image, and a video, are never served from our origin.
        response = await client.get(real)
        assert response.status_code == 404 and b"<script>" not in response.content
        assert (await client.get(path_of(media_cache.url_for(inst, "https://far.example/clip.mp4")))).status_code == 404
        assert (await client.get(path_of(media_cache.url_for(inst, "https://far.example/gone.jpg")))).status_code == 404
        assert list(inst.config.cache_dir.iterdir()) == []


async def test_cache_evicts_the_least_recently_served_within_budget(tmp_path, monkeypatch):
    big = 400_000  # three of these exceed the 1 MiB budget
    files = {f"https://far.example/{n}.jpg": b"\xff\xd8\xff\xe0" + os.urandom(big) for n in ("a", "b", "c")}
    remote = FakeRemote(files)
    async with running_instance(tmp_path, extra=CACHE_1MB) as client:
        inst = client.app.state.instance
        monkeypatch.setattr(inst.federation, "fetch_media", remote)
        keys = {}
        for n in ("a", "b"):
            path = path_of(media_cache.url_for(inst, f"https://far.example/{n}.jpg"))
            keys[n] = path.split("/")[2]
            assert (await client.get(path)).status_code == 200
        # a was fetched first, then served again after b: b is now the least recently served.
        async with inst.db.transaction() as tx:
            for n, hours in (("a", 3), ("b", 2)):
                await tx.execute("UPDATE media_cache SET used_at = ? WHERE key = ?", (_hours_ago(hours), keys[n]))
        assert (await client.get(path_of(media_cache.url_for(inst, "https://far.example/a.jpg")))).status_code == 200
        path = path_of(media_cache.url_for(inst, "https://far.example/c.jpg"))
        keys["c"] = path.split("/")[2]
        assert (await client.get(path)).status_code == 200

        held = {p.name: p.stat().st_size for p in inst.config.cache_dir.iterdir()}
        assert f"{keys['b']}.jpg" not in held
        assert f"{keys['a']}.jpg" in held and f"{keys['c']}.jpg" in held
        assert sum(held.values()) <= 1024 * 1024
        assert remote.calls == [*(f"https://far.example/{n}.jpg" for n in ("a", "b", "c"))]
        # The evicted one comes back on demand.
        again = await client.get(path_of(media_cache.url_for(inst, "https://far.example/b.jpg")))
        assert again.status_code == 200 and again.content == files["https://far.example/b.jpg"]
        assert sum(p.stat().st_size for p in inst.config.cache_dir.iterdir()) <= 1024 * 1024


async def test_no_budget_means_no_cache(tmp_path):
    async with running_instance(tmp_path, extra="\n[storage]\ncache_mb = 0\n") as client:
        inst = client.app.state.instance
        assert media_cache.url_for(inst, "https://far.example/a.jpg") == "https://far.example/a.jpg"
        key = "0" * 32
        assert (await client.get(f"/cache/{key}/aHR0cHM6Ly9mYXIuZXhhbXBsZS9hLmpwZw")).status_code == 404


def _hours_ago(hours: int) -> str:
    from datetime import datetime, timedelta, timezone

    return format_time(datetime.now(timezone.utc) - timedelta(hours=hours))
