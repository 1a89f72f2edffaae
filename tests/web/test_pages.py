"""The HTML face through the ASGI app: public pages, owner pages, visibility, CSRF, limits."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import PASSWORD, USERNAME, csrf_of, post_form, running_instance, sign_in

pytestmark = pytest.mark.anyio

POST_URL_RE = re.compile(r"/@alice/(\d+)$")


async def publish(client, text: str, **fields) -> int:
    response = await post_form(client, "/", "/compose", {"text": text, "visibility": "public", **fields})
    assert response.status_code == 303, response.text
    m = POST_URL_RE.search(response.headers["location"])
    assert m, response.headers["location"]
    return int(m.group(1))


async def test_visitor_sees_the_profile_and_home_redirects(client):
    response = await client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == "http://127.0.0.1:8080/@alice"
    page = await client.get("/@alice")
    assert page.status_code == 200
    assert "@alice@127.0.0.1:8080" in page.text
    assert "No posts yet." in page.text
    assert 'class="post-count">0<' in page.text


async def test_security_headers_on_pages(client):
    page = await client.get("/@alice")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "form-action" not in csp  # OAuth redirects to apps' schemes must not be blocked
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"]


async def test_unknown_pages_are_readable_404s(client):
    for path in ("/nowhere", "/@bob", "/@alice/12345", "/@alice/notanid", "/@bob/1"):
        page = await client.get(path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        assert "<h1>Not found</h1>" in page.text


async def test_bad_paging_parameter_is_a_400_page(client):
    page = await client.get("/@alice?max_id=abc")
    assert page.status_code == 400
    assert "max_id must be a post id" in page.text


async def test_login_sets_a_safe_session_cookie(client):
    response = await sign_in(client)
    assert response.status_code == 303
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "sf_session" in v)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # http:// url: a Secure cookie would never come back
    home = await client.get("/")
    assert home.status_code == 200 and "Publish" in home.text


async def test_https_instance_marks_cookies_secure(tmp_path):
    async with running_instance(tmp_path, url="https://social.example") as client:
        page = await client.get("/login")
        response = await client.post("/login", data={"csrf_token": csrf_of(page.text), "password": PASSWORD})
        cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "sf_session" in v)
        assert "Secure" in cookie


async def test_wrong_password_then_throttled(client):
    for _ in range(5):
        response = await sign_in(client, password="wrong password")
        assert response.status_code == 401
        assert "Wrong password." in response.text
    response = await sign_in(client)  # even the right password waits now
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.text
    assert int(response.headers["retry-after"]) > 0


async def test_forms_need_the_csrf_token(owner_client):
    bad = await owner_client.post("/compose", data={"text": "forged", "visibility": "public", "csrf_token": "x"})
    assert bad.status_code == 403
    assert "expired or came from another site" in bad.text
    missing = await owner_client.post("/compose", data={"text": "forged"})
    assert missing.status_code == 403
    profile = await owner_client.get("/@alice")
    assert "forged" not in profile.text


async def test_csrf_token_is_bound_to_the_browser(tmp_path):
    async with running_instance(tmp_path) as client:
        await sign_in(client)
        page = await client.get("/")
        token = csrf_of(page.text)
        # Another browser's cookie with this browser's token must fail.
        client.cookies.set("sf_csrf", "someone-else")
        response = await client.post("/compose", data={"text": "x", "csrf_token": token})
        assert response.status_code == 403


async def test_owner_pages_send_visitors_to_sign_in(client):
    for path in ("/settings/profile", "/settings/password"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"
    page = await client.get("/login")
    response = await client.post("/compose", data={"text": "x", "csrf_token": csrf_of(page.text)})
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_login_next_is_only_a_local_path(client):
    page = await client.get("/login?next=//evil.example/")
    response = await client.post("/login", data={"csrf_token": csrf_of(page.text), "password": PASSWORD,
                                                 "next": "https://evil.example/"})
    assert response.headers["location"] == "/"


async def test_publish_markdown_and_permalink(owner_client):
    status_id = await publish(owner_client, "Hello **world** <script>alert(1)</script> #Pi https://example.org/x",
                              language="en")
    page = await owner_client.get(f"/@alice/{status_id}")
    assert page.status_code == 200
    assert "<strong>world</strong>" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert 'href="http://127.0.0.1:8080/tags/pi"' in page.text
    assert 'rel="nofollow noopener noreferrer"' in page.text
    assert 'lang="en"' in page.text
    # The ActivityPub id of the post sends a browser to the page.
    redirect = await owner_client.get(f"/users/alice/statuses/{status_id}")
    assert redirect.status_code == 302 and redirect.headers["location"].endswith(f"/@alice/{status_id}")
    tag = await owner_client.get("/tags/pi")
    assert f"status-{status_id}" in tag.text


async def test_content_warning_hides_text_without_javascript(owner_client):
    status_id = await publish(owner_client, "the spoiler", spoiler_text="Film ending")
    page = await owner_client.get(f"/@alice/{status_id}")
    assert re.search(r"<details class=\"cw\">\s*<summary>.*Film ending", page.text, re.S)
    assert "<details class=\"cw\" open" not in page.text


async def test_bad_input_rerenders_the_form_with_the_text_kept(owner_client):
    long_text = "word " * 1100  # 5500 characters
    response = await post_form(owner_client, "/", "/compose",
                               {"text": long_text, "spoiler_text": "keep me", "visibility": "public"})
    assert response.status_code == 422
    assert "the limit is 5000" in response.text
    assert "keep me" in response.text and "word word word" in response.text
    empty = await post_form(owner_client, "/", "/compose", {"text": "   ", "visibility": "public"})
    assert empty.status_code == 422 and "The post is empty" in empty.text
    bad_visibility = await post_form(owner_client, "/", "/compose", {"text": "x", "visibility": "everyone"})
    assert bad_visibility.status_code == 422


async def test_urls_count_as_23_characters(tmp_path):
    async with running_instance(tmp_path, extra="\n[limits]\nmax_post_chars = 30\n") as client:
        await sign_in(client)
        ok = await post_form(client, "/", "/compose",
                             {"text": "see https://example.org/" + "a" * 200, "visibility": "public"})
        assert ok.status_code == 303
        home = await client.get("/")
        assert "up to 30 characters" in home.text


async def test_visibility_rules_for_visitors(tmp_path):
    async with running_instance(tmp_path) as client:
        await sign_in(client)
        ids = {v: await publish(client, f"a {v} post", visibility=v)
               for v in ("public", "unlisted", "private", "direct")}
        owner_profile = await client.get("/@alice")
        for v in ids:
            assert f"a {v} post" in owner_profile.text  # the owner sees everything
        client.cookies.clear()
        profile = await client.get("/@alice")
        assert "a public post" in profile.text
        for v in ("unlisted", "private", "direct"):
            assert f"a {v} post" not in profile.text
        assert 'class="post-count">1<' in profile.text
        assert (await client.get(f"/@alice/{ids['public']}")).status_code == 200
        assert (await client.get(f"/@alice/{ids['unlisted']}")).status_code == 200
        for v in ("private", "direct"):
            page = await client.get(f"/@alice/{ids[v]}")
            assert page.status_code == 404 and f"a {v} post" not in page.text
            assert (await client.get(f"/@alice/{ids[v]}/history")).status_code == 404
        for feed in ("/@alice.rss", "/@alice.atom"):
            body = (await client.get(feed)).text
            assert "a public post" in body
            for v in ("unlisted", "private", "direct"):
                assert f"a {v} post" not in body


async def test_feeds_are_valid_xml(owner_client):
    await publish(owner_client, "first & <b>escaped</b> #tag")
    await publish(owner_client, "second", spoiler_text="CW here")
    rss = await owner_client.get("/@alice.rss")
    assert rss.headers["content-type"].startswith("application/rss+xml")
    channel = ET.fromstring(rss.text).find("channel")
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == ["CW here", "first & <b>escaped</b> #tag"]
    assert items[0].findtext("pubDate").endswith("GMT")
    atom = await owner_client.get("/@alice.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = ET.fromstring(atom.text).findall("a:entry", ns)
    assert len(entries) == 2
    assert "&lt;b&gt;" in entries[1].find("a:content", ns).text  # HTML content, escaped once


async def test_profile_pages_newest_first_by_id(tmp_path):
    async with running_instance(tmp_path) as client:
        await sign_in(client)
        ids = [await publish(client, f"post number {i}") for i in range(25)]
        client.cookies.clear()
        first = await client.get("/@alice")
        shown = [int(x) for x in re.findall(r'id="status-(\d+)"', first.text)]
        assert shown == sorted(ids, reverse=True)[:20]
        older = re.search(r'href="[^"]*\?max_id=(\d+)"', first.text)
        assert older and int(older.group(1)) == shown[-1]
        second = await client.get(f"/@alice?max_id={older.group(1)}")
        rest = [int(x) for x in re.findall(r'id="status-(\d+)"', second.text)]
        assert rest == sorted(ids, reverse=True)[20:]
        newer = re.search(r'href="[^"]*\?min_id=(\d+)"', second.text)
        back = await client.get(f"/@alice?min_id={newer.group(1)}")
        assert [int(x) for x in re.findall(r'id="status-(\d+)"', back.text)] == sorted(ids, reverse=True)[:20]


async def test_edit_keeps_history_and_visibility(owner_client):
    status_id = await publish(owner_client, "first version", visibility="unlisted")
    response = await post_form(owner_client, f"/@alice/{status_id}/edit", f"/@alice/{status_id}/edit",
                               {"text": "second version", "spoiler_text": "", "visibility": "public"})
    assert response.status_code == 303
    await post_form(owner_client, f"/@alice/{status_id}/edit", f"/@alice/{status_id}/edit",
                    {"text": "third version"})
    page = await owner_client.get(f"/@alice/{status_id}")
    assert "third version" in page.text and "Edited" in page.text
    assert "Unlisted" in page.text  # visibility can't change with an edit
    history = await owner_client.get(f"/@alice/{status_id}/history")
    texts = re.findall(r"<p>(\w+ version)</p>", history.text)
    assert texts == ["third version", "second version", "first version"]
    bad = await post_form(owner_client, f"/@alice/{status_id}/edit", f"/@alice/{status_id}/edit", {"text": ""})
    assert bad.status_code == 422 and "The post is empty" in bad.text


async def test_delete_leaves_a_tombstone(owner_client):
    status_id = await publish(owner_client, "short-lived")
    confirm = await owner_client.get(f"/@alice/{status_id}/delete")
    assert "Delete this post?" in confirm.text
    response = await owner_client.post(f"/@alice/{status_id}/delete", data={"csrf_token": csrf_of(confirm.text)})
    assert response.status_code == 303
    gone = await owner_client.get(f"/@alice/{status_id}")
    assert gone.status_code == 410 and "This post was deleted." in gone.text
    assert "short-lived" not in (await owner_client.get("/@alice")).text


async def test_edit_and_delete_need_the_owner(tmp_path):
    async with running_instance(tmp_path) as client:
        await sign_in(client)
        status_id = await publish(client, "mine")
        client.cookies.clear()
        page = await client.get("/login")
        token = csrf_of(page.text)
        response = await client.post(f"/@alice/{status_id}/delete", data={"csrf_token": token})
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        assert (await client.get(f"/@alice/{status_id}")).status_code == 200


async def test_profile_settings(owner_client):
    response = await post_form(owner_client, "/settings/profile", "/settings/profile", {
        "display_name": "Alice Liddell", "bio": "I *like* #tea\n\nVisit https://wonder.land",
        "field_name_0": "Home", "field_value_0": "https://wonder.land", "field_name_1": "Pronouns",
        "field_value_1": "she/her", "locked": "1",
    })
    assert response.status_code == 200 and "Profile saved." in response.text
    profile = await owner_client.get("/@alice")
    assert "Alice Liddell" in profile.text
    assert "<em>like</em>" in profile.text
    assert '<dt>Home</dt><dd><a href="https://wonder.land"' in profile.text
    assert "Pronouns" in profile.text and "she/her" in profile.text
    assert "Follow requests are approved by hand" in profile.text
    too_many = {f"field_name_{i}": f"n{i}" for i in range(4)} | {f"field_value_{i}": "v" for i in range(4)}
    ok = await post_form(owner_client, "/settings/profile", "/settings/profile", {"display_name": "A", **too_many})
    assert ok.status_code == 200
    bad = await post_form(owner_client, "/settings/profile", "/settings/profile",
                          {"display_name": "x" * 31, "bio": "kept bio"})
    assert bad.status_code == 422 and "at most 30" in bad.text and "kept bio" in bad.text
    half = await post_form(owner_client, "/settings/profile", "/settings/profile",
                           {"display_name": "A", "field_name_0": "Label only"})
    assert half.status_code == 422 and "needs both a label and a value" in half.text


async def test_password_change(owner_client):
    wrong = await post_form(owner_client, "/settings/password", "/settings/password", {
        "current_password": "nope", "new_password": "new password 1", "confirm_password": "new password 1"})
    assert wrong.status_code == 400 and "The current password is wrong." in wrong.text
    differ = await post_form(owner_client, "/settings/password", "/settings/password", {
        "current_password": PASSWORD, "new_password": "new password 1", "confirm_password": "other one 2"})
    assert differ.status_code == 422 and "differ" in differ.text
    ok = await post_form(owner_client, "/settings/password", "/settings/password", {
        "current_password": PASSWORD, "new_password": "new password 1", "confirm_password": "new password 1"})
    assert ok.status_code == 200 and "Password changed" in ok.text
    assert (await owner_client.get("/")).status_code == 200  # this browser stays signed in
    await post_form(owner_client, "/", "/logout", {})
    assert (await sign_in(owner_client, PASSWORD)).status_code == 401
    assert (await sign_in(owner_client, "new password 1")).status_code == 303


async def test_logout(owner_client):
    response = await post_form(owner_client, "/", "/logout", {})
    assert response.status_code == 303
    assert (await owner_client.get("/")).status_code == 302


async def test_request_body_is_capped(client):
    page = await client.get("/login")
    huge = "x" * (2 * 1024 * 1024)
    response = await client.post("/login", data={"csrf_token": csrf_of(page.text), "password": huge})
    assert response.status_code == 413


async def test_username_in_paths_is_case_insensitive(client):
    assert (await client.get(f"/@{USERNAME.upper()}")).status_code == 200
