"""A real browser posts pictures: Playwright (PyPI) drives Debian's Chromium, headless and with
JavaScript off, against a real server on loopback. The owner picks a phone photo (with GPS in
its EXIF) in the compose form, describes it and posts; the post shows it with that alt text,
and the file the browser loads carries no EXIF. Then a sensitive post: its picture stays folded
away until the summary is clicked.

Setup and skip rules as in test_browser.py: the system's Chromium, nothing downloaded.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import pytest

from tests import media_samples as samples
from tests.conftest import USERNAME
from tests.web.browser import chromium_page

pytestmark = pytest.mark.browser

ALT = "A red wall, its left half in shadow"
SENSITIVE_ALT = "Something startling"


def test_owner_posts_pictures_in_a_real_browser(server, tmp_path):
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(samples.jpeg(1600, 1200, gps=True))
    other = tmp_path / "IMG_0002.jpg"
    other.write_bytes(samples.jpeg(800, 600, color=(30, 160, 60)))

    def report(page) -> None:
        shot = tmp_path / "failure.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
        except Exception as exc:  # the browser itself may be what broke
            print(f"could not screenshot: {exc!r}")
        print(f"server log: {server.folder / 'serve.log'}")

    with chromium_page(report) as (page, expect):
        _flow(page, expect, server, photo, other)


def _flow(page, expect, server, photo: Path, other: Path) -> None:
    base = server.url
    post_re = re.compile(re.escape(f"{base}/@{USERNAME}/") + r"\d+(\?posted=1)?$")

    page.goto(base + "/login")
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + "/")

    # Pick the photo, describe it, post.
    page.get_by_text("Attach images, video or audio").click()
    page.locator("#file_0").set_input_files(str(photo))
    page.get_by_label("Description of file 1").fill(ALT)
    page.get_by_label("What's on your mind?").fill("Found this wall today")
    page.get_by_role("button", name="Publish").click()

    expect(page).to_have_url(post_re)
    card = page.locator("article.status")
    image = card.get_by_role("img", name=ALT)
    expect(image).to_be_visible()
    expect(image).to_have_attribute("alt", ALT)
    expect(card.locator("details.alt summary")).to_have_text("ALT")
    card.locator("details.alt summary").click()
    expect(card.locator("details.alt p")).to_have_text(ALT)

    # What the browser loads, the preview and the full-size file, has no EXIF (so no GPS).
    preview_src = image.get_attribute("src")
    full_src = card.locator(".attachment a").first.get_attribute("href")
    for src in (preview_src, full_src):
        assert src.startswith(base + "/media/"), src
        loaded = page.request.get(src)
        assert loaded.ok and loaded.headers["content-type"] == "image/jpeg"
        _assert_no_exif(loaded.body())
        assert loaded.body() == httpx.get(src).content

    # A sensitive post: the picture is folded away until the summary is clicked.
    page.goto(base + "/")
    page.get_by_text("Attach images, video or audio").click()
    page.locator("#file_0").set_input_files(str(other))
    page.get_by_label("Description of file 1").fill(SENSITIVE_ALT)
    page.get_by_label("What's on your mind?").fill("Careful with this one")
    page.get_by_label("Mark media as sensitive").check()
    page.get_by_role("button", name="Publish").click()

    expect(page).to_have_url(post_re)
    sensitive = page.locator("article.status details.sensitive")
    expect(sensitive).to_have_count(1)
    expect(sensitive).not_to_have_attribute("open", re.compile(".*"))
    hidden = sensitive.locator("img")
    expect(hidden).to_have_attribute("alt", SENSITIVE_ALT)
    expect(hidden).to_be_hidden()
    expect(page.get_by_text("Careful with this one")).to_be_visible()  # only the media are hidden
    sensitive.locator(":scope > summary").click()
    expect(sensitive).to_have_attribute("open", re.compile(".*"))
    expect(hidden).to_be_visible()

    # Both are on the profile, for a visitor too.
    page.context.clear_cookies()
    page.goto(f"{base}/@{USERNAME}")
    expect(page.get_by_role("img", name=ALT)).to_be_visible()
    expect(page.locator("details.sensitive img")).to_be_hidden()


def _assert_no_exif(data: bytes) -> None:
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG"
    assert "exif" not in im.info, "the served image still has an EXIF block"
    assert not im.getexif(), dict(im.getexif())
    assert b"Exif\x00\x00" not in data and b"PhoneMaker" not in data
