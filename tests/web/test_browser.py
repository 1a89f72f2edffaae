"""A real browser against a real server: Playwright (PyPI) drives Debian's Chromium, headless and
with JavaScript off, through the owner's whole day on loopback: sign in (one wrong password first),
post with a content warning, see it on the profile, edit it, delete it, sign out.

Nothing is downloaded: the browser is the system's Chromium, and `playwright install` is never run.
On failure the profile and the compose (home) pages are screenshotted into the test's tmp_path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import USERNAME
from tests.web.browser import chromium_page

pytestmark = pytest.mark.browser

CW = "Spoilers for the finale"
TEXT = "The **butler** did it. #Mystery — see [the notes](https://example.com/notes)"
NEW_TEXT = "On second thought, the **gardener** did it. #Mystery"


def _screenshots(page, server, tmp_path: Path) -> list[Path]:
    """Best effort: the profile and the compose page as they are now, for whoever reads the failure."""
    saved = []
    for name, url in (("profile", f"{server.url}/@{USERNAME}"), ("compose", f"{server.url}/")):
        path = tmp_path / f"{name}.png"
        try:
            page.goto(url)
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)
        except Exception as exc:  # the browser itself may be what broke
            print(f"could not screenshot {name}: {exc!r}")
    return saved


def test_owner_posts_edits_and_deletes_in_a_real_browser(server, tmp_path):
    base = server.url
    profile_url = f"{base}/@{USERNAME}"

    def report(page) -> None:
        for path in _screenshots(page, server, tmp_path):
            print(f"screenshot: {path}")
        print(f"server log: {server.folder / 'serve.log'}")

    with chromium_page(report) as (page, expect):
        _flow(page, expect, base, profile_url, server.password)


def _flow(page, expect, base: str, profile_url: str, password: str) -> None:
    nav = page.locator("header.site nav")

    # A visitor opening the site lands on the profile, which offers "Sign in".
    response = page.goto(base + "/")
    assert response is not None and response.ok
    expect(page).to_have_url(profile_url)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.locator(".post-count")).to_have_text("0")

    nav.get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    # One wrong password: the same page again, with the error, and still signed out.
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong password.")
    expect(nav.get_by_role("link", name="Sign in")).to_be_visible()

    # The right one: Home, with the compose form and a "Sign out" button.
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + "/")
    expect(nav.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_text("Nothing here yet")).to_be_visible()

    # Write a post with a content warning and some Markdown.
    page.get_by_label("Content warning").fill(CW)
    page.get_by_label("What's on your mind?").fill(TEXT)
    page.get_by_role("button", name="Publish").click()

    # Its own page; the warning is shown, the text folded away until the summary is clicked.
    expect(page).to_have_url(re.compile(re.escape(profile_url) + r"/\d+$"))
    post_url = page.url
    card = page.locator("article.status")
    expect(card).to_have_count(1)
    details = card.locator("details.cw")
    expect(details).not_to_have_attribute("open", re.compile(".*"))
    expect(details.locator("summary")).to_contain_text(CW)
    expect(card.get_by_text("did it")).to_be_hidden()
    details.locator("summary").click()
    expect(details).to_have_attribute("open", re.compile(".*"))
    content = details.locator(".content")
    expect(content).to_be_visible()
    expect(content.locator("strong")).to_have_text("butler")
    expect(content.get_by_role("link", name="#Mystery")).to_have_attribute("href", re.compile(r"/tags/mystery$"))
    expect(content.get_by_role("link", name="the notes")).to_have_attribute("href", "https://example.com/notes")
    expect(content).not_to_contain_text("**")

    # The profile lists it, still behind its warning, and counts one post.
    page.locator("header.site .brand").click()
    expect(page).to_have_url(profile_url)
    expect(page.locator(".post-count")).to_have_text("1")
    expect(page.locator(".counts")).to_contain_text("1 post")
    cards = page.locator(".timeline article.status")
    expect(cards).to_have_count(1)
    expect(cards.locator("details.cw summary")).to_contain_text(CW)
    expect(cards.locator("details.cw .content")).to_be_hidden()

    # Edit it.
    cards.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(post_url + "/edit")
    expect(page.get_by_role("heading", name="Edit post")).to_be_visible()
    text_box = page.get_by_role("textbox", name=re.compile(r"^Text"))
    expect(text_box).to_have_value(TEXT)
    expect(page.get_by_label("Content warning")).to_have_value(CW)
    text_box.fill(NEW_TEXT)
    page.get_by_role("button", name="Save changes").click()

    # Back on the post: the new text, and an "Edited" link to the history.
    expect(page).to_have_url(post_url)
    details = page.locator("article.status details.cw")
    details.locator("summary").click()
    expect(details.locator(".content")).to_contain_text("On second thought")
    expect(details.locator(".content strong")).to_have_text("gardener")
    expect(details.locator(".content")).not_to_contain_text("butler")
    edited = page.get_by_role("link", name=re.compile(r"^Edited"))
    expect(edited).to_be_visible()
    edited.click()

    # The history shows both versions, the newest first.
    expect(page).to_have_url(post_url + "/history")
    expect(page.get_by_role("heading", name="Edit history")).to_be_visible()
    versions = page.locator("article.version")
    expect(versions).to_have_count(2)
    expect(versions.nth(0)).to_contain_text("(current)")
    expect(versions.nth(0).locator(".content")).to_contain_text("gardener")
    expect(versions.nth(1)).to_contain_text("(original)")
    expect(versions.nth(1).locator(".content")).to_contain_text("butler")
    expect(versions.nth(1)).to_contain_text(f"Content warning: {CW}")

    # Delete it: the confirmation page, then "Delete for good".
    page.get_by_role("link", name="Back to the post").click()
    expect(page).to_have_url(post_url)
    page.locator("article.status").get_by_role("link", name="Delete", exact=True).click()
    expect(page).to_have_url(post_url + "/delete")
    expect(page.get_by_role("heading", name="Delete this post?")).to_be_visible()
    page.get_by_role("button", name="Delete for good").click()
    expect(page).to_have_url(base + "/")
    expect(page.get_by_text("Nothing here yet")).to_be_visible()

    # The profile is empty again, and the post's address answers 410 Gone.
    response = page.goto(profile_url)
    assert response is not None and response.status == 200
    expect(page.locator(".post-count")).to_have_text("0")
    expect(page.locator(".timeline article.status")).to_have_count(0)
    expect(page.get_by_text("No posts yet.")).to_be_visible()
    response = page.goto(post_url)
    assert response is not None and response.status == 410, response and response.status
    expect(page.get_by_role("heading", name="Gone")).to_be_visible()

    # Sign out: a visitor again, Home sends them to the profile, and "Sign in" is back.
    page.goto(profile_url)
    nav.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(profile_url)
    expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    expect(nav.get_by_role("button", name="Sign out")).to_have_count(0)
    response = page.goto(base + "/")
    assert response is not None and response.ok
    expect(page).to_have_url(profile_url)
    expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
    assert response.request.redirected_from is not None, "Home should redirect a visitor"
    assert response.request.redirected_from.url == base + "/"
