"""Pages anyone may see: the profile, each post, its history, hashtag pages and the feeds."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from smallfedi.core import reading, timelines
from smallfedi.core.errors import BadRequest, NotFound
from smallfedi.web.auth import load_viewer
from smallfedi.web.feeds import atom_feed, rss_feed
from smallfedi.web.render import render


def check_username(request: Request) -> None:
    inst = request.app.state.instance
    if request.path_params["username"].lower() != inst.owner.username.lower():
        raise NotFound("There is nobody of that name here.")


def id_param(request: Request, name: str) -> int | None:
    """An id from the query string; a clear 400 for anything that is not one."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise BadRequest(f"{name} must be a post id (digits).")
    return int(raw)


def status_id_param(request: Request) -> int:
    raw = request.path_params["status_id"]
    if not raw.isdigit() or len(raw) > 19:
        raise NotFound("This post does not exist.")
    return int(raw)


async def profile(request: Request) -> Response:
    check_username(request)
    inst = request.app.state.instance
    is_owner = await load_viewer(request)
    page = await reading.profile_page(inst, is_owner, max_id=id_param(request, "max_id"),
                                      min_id=id_param(request, "min_id"))
    return render(request, "profile.html", {
        "page": await with_views(inst, page),
        "post_count": await reading.post_count(inst, is_owner),
    })


async def with_views(inst, page):
    """A page of statuses as views (author, boosts, the owner's likes) for the card template."""
    return type(page)(items=await timelines.hydrate(inst, page.items), next_max_id=page.next_max_id,
                      prev_min_id=page.prev_min_id)


async def render_thread(request: Request, status_id: int, is_owner: bool) -> Response:
    """A post with the thread around it, and for the owner a reply form."""
    inst = request.app.state.instance
    await reading.visible_status(inst, status_id, is_owner)
    ancestors, view, descendants = await timelines.thread(inst, status_id, is_owner)
    author = view.shown_author
    mention = f"@{author.acct(inst.config.domain)} " if not author.local else ""
    undescribed = []
    if is_owner and request.query_params.get("posted") and inst.config.media.alt_text == "warn":
        # Just published (compose sends the owner here): name the attachments left without alt text.
        undescribed = [n for n, m in enumerate(view.media, 1) if not m.description.strip()]
    return render(request, "status.html", {"view": view, "ancestors": ancestors, "descendants": descendants,
                                           "undescribed": undescribed,
                                           "reply_draft": {"text": mention,
                                                           "visibility": view.shown.visibility,
                                                           "spoiler_text": view.shown.spoiler_text}})


async def status(request: Request) -> Response:
    check_username(request)
    is_owner = await load_viewer(request)
    return await render_thread(request, status_id_param(request), is_owner)


async def status_redirect(request: Request) -> Response:
    """/users/NAME/statuses/ID is the post's ActivityPub id; a browser gets the page."""
    check_username(request)
    return RedirectResponse(request.app.state.instance.status_url(status_id_param(request)), status_code=302)


async def actor_redirect(request: Request) -> Response:
    check_username(request)
    return RedirectResponse(request.app.state.instance.profile_url(), status_code=302)


async def history(request: Request) -> Response:
    check_username(request)
    inst = request.app.state.instance
    is_owner = await load_viewer(request)
    status_id = status_id_param(request)
    post = await reading.visible_status(inst, status_id, is_owner)
    versions = await reading.history(inst, status_id, is_owner)
    return render(request, "history.html", {"status": post, "versions": list(reversed(versions))})


async def tag(request: Request) -> Response:
    inst = request.app.state.instance
    is_owner = await load_viewer(request)
    name = request.path_params["tag"].lower()
    page = await reading.tag_page(inst, name, is_owner, max_id=id_param(request, "max_id"))
    return render(request, "tag.html", {"tag": name, "page": await with_views(inst, page)})


async def feed_rss(request: Request) -> Response:
    check_username(request)
    inst = request.app.state.instance
    page = await reading.profile_page(inst, False, limit=reading.MAX_PAGE)
    return await rss_feed(inst, page.items)


async def feed_atom(request: Request) -> Response:
    check_username(request)
    inst = request.app.state.instance
    page = await reading.profile_page(inst, False, limit=reading.MAX_PAGE)
    return await atom_feed(inst, page.items)
