"""The owner's pages: sign in and out, compose, edit, delete, profile and password settings.

Bad input re-renders the same form with the message and what was typed, so nothing is lost.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from smallfedi.core import auth as core_auth
from smallfedi.core import media, posting, profile as core_profile, reading, timelines
from smallfedi.core.errors import DomainError, Unauthorized
from smallfedi.web.auth import (
    SESSION_COOKIE, check_csrf, clear_session_cookie, load_viewer, owner_only, set_session_cookie,
)
from smallfedi.web.public import check_username, id_param, status_id_param
from smallfedi.web.render import render

MAX_FIELDS = 60  # form fields per request; our largest form has about fifteen


async def read_form(request: Request, max_files: int = 0):
    """The form, once its CSRF token checks out. With files, the caller closes it (temporary files)."""
    form = await request.form(max_files=max_files, max_fields=MAX_FIELDS)
    try:
        await check_csrf(request, form)
    except DomainError:
        await form.close()
        raise
    return form


def chosen_file(form, name: str):
    """The uploaded file in a file field, or None when nothing was picked (browsers send an
    empty part with no name for an empty file input)."""
    value = form.get(name)
    if value is None or isinstance(value, str) or (not value.filename and not value.size):
        return None
    return value


def text_field(form, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value if isinstance(value, str) else default


def checkbox(form, name: str) -> bool:
    return text_field(form, name) in ("1", "on", "true", "yes")


def safe_next(value: str | None) -> str:
    """Only a path on this site, so the sign-in page can't bounce anyone elsewhere."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# Signing in and out

async def login_page(request: Request) -> Response:
    if await load_viewer(request):
        return see_other(safe_next(request.query_params.get("next")))
    return render(request, "login.html", {"next": safe_next(request.query_params.get("next"))})


async def login(request: Request) -> Response:
    form = await read_form(request)
    inst = request.app.state.instance
    next_url = safe_next(text_field(form, "next"))
    client = request.client.host if request.client else "unknown"
    try:
        token = await core_auth.login(inst, text_field(form, "password"), client,
                                      request.headers.get("user-agent", ""))
    except DomainError as exc:
        headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
        return render(request, "login.html", {"next": next_url, "error": exc.message},
                      status_code=exc.status, headers=headers)
    response = see_other(next_url)
    set_session_cookie(request, response, token)
    return response


async def logout(request: Request) -> Response:
    await read_form(request)
    await core_auth.logout(request.app.state.instance, request.cookies.get(SESSION_COOKIE))
    response = see_other(request.app.state.instance.profile_url())
    clear_session_cookie(request, response)
    return response


# Home: compose and the owner's own posts

async def home(request: Request) -> Response:
    inst = request.app.state.instance
    if not await load_viewer(request):
        return RedirectResponse(inst.profile_url(), status_code=302)
    return await _home_page(request)


async def _home_page(request: Request, draft: dict | None = None, error: str | None = None,
                     status_code: int = 200) -> Response:
    inst = request.app.state.instance
    page = await timelines.home(inst, max_id=id_param(request, "max_id"), min_id=id_param(request, "min_id"))
    return render(request, "home.html", {"page": page, "draft": draft or {}, "error": error},
                  status_code=status_code)


def _draft_from(form) -> posting.Draft:
    reply_to = text_field(form, "in_reply_to_id")
    return posting.Draft(
        text=text_field(form, "text"),
        spoiler_text=text_field(form, "spoiler_text"),
        visibility=text_field(form, "visibility", "public"),
        language=text_field(form, "language") or None,
        sensitive=checkbox(form, "sensitive"),
        in_reply_to_id=int(reply_to) if reply_to.isdigit() and len(reply_to) < 20 else None,
    )


def _attachments(form) -> list[tuple[int, object, str]]:
    """(slot, file, description) of each file input that holds a file, in slot order."""
    found = []
    for i in range(media.MAX_ATTACHMENTS):
        upload = chosen_file(form, f"file_{i}")
        if upload is not None:
            found.append((i, upload, text_field(form, f"description_{i}")))
    return found


def _draft_values(draft: posting.Draft, form) -> dict:
    """What the form shows again after an error: the text and the descriptions (a browser
    can't be given its picked files back)."""
    return {**draft.__dict__, "descriptions": [text_field(form, f"description_{i}")
                                               for i in range(media.MAX_ATTACHMENTS)]}


@owner_only
async def compose(request: Request) -> Response:
    inst = request.app.state.instance
    form = await read_form(request, max_files=media.MAX_ATTACHMENTS)
    try:
        draft = _draft_from(form)
        files = _attachments(form)
        undescribed = [slot + 1 for slot, _, text in files if not text.strip()]
        if undescribed and inst.config.media.alt_text == "require":
            return await _home_page(request, draft=_draft_values(draft, form), status_code=422,
                                    error=_needs_descriptions(undescribed))
        try:
            # One at a time, in order. When a later file is refused, the earlier ones stay stored
            # but unattached; the core removes unattached uploads after a day.
            ids = [(await media.upload(inst, media.Upload(f.file, text))).id for _, f, text in files]
            status = await posting.publish(inst, replace(draft, media_ids=tuple(ids) or None))
        except DomainError as exc:
            message = exc.message + (" Choose the files again." if files else "")
            return await _home_page(request, draft=_draft_values(draft, form), error=message,
                                    status_code=exc.status)
    finally:
        await form.close()
    if undescribed and inst.config.media.alt_text == "warn":
        return see_other(f"{status.url}?posted=1")  # the post's page then names what lacks a description
    return see_other(status.url)


def _needs_descriptions(slots: list[int]) -> str:
    if len(slots) == 1:
        return (f"File {slots[0]} needs a description (alt text) for people who can't see it. "
                "Write one and choose the file again.")
    numbers = ", ".join(str(n) for n in slots[:-1]) + f" and {slots[-1]}"
    return (f"Files {numbers} need descriptions (alt text) for people who can't see them. "
            "Write them and choose the files again.")


# Editing and deleting one post

@owner_only
async def edit_page(request: Request) -> Response:
    check_username(request)
    status = await reading.visible_status(request.app.state.instance, status_id_param(request), True)
    draft = {"text": status.source or "", "spoiler_text": status.spoiler_text, "language": status.language,
             "sensitive": status.sensitive, "visibility": status.visibility}
    return render(request, "edit.html", {"status": status, "draft": draft})


@owner_only
async def edit(request: Request) -> Response:
    check_username(request)
    inst = request.app.state.instance
    form = await read_form(request)
    status_id = status_id_param(request)
    draft = _draft_from(form)
    try:
        status = await posting.edit(inst, status_id, draft)
    except DomainError as exc:
        status = await reading.visible_status(inst, status_id, True)
        return render(request, "edit.html", {"status": status, "draft": draft.__dict__, "error": exc.message},
                      status_code=exc.status)
    return see_other(status.url)


@owner_only
async def delete_page(request: Request) -> Response:
    check_username(request)
    inst = request.app.state.instance
    status = await reading.visible_status(inst, status_id_param(request), True)
    view = (await timelines.hydrate(inst, [status]))[0]
    return render(request, "delete.html", {"status": status, "view": view})


@owner_only
async def delete(request: Request) -> Response:
    check_username(request)
    await read_form(request)
    inst = request.app.state.instance
    await posting.delete(inst, status_id_param(request))
    return see_other("/")


# Settings

@owner_only
async def profile_settings_page(request: Request) -> Response:
    return render(request, "settings_profile.html", {"form": _profile_form_values(request.app.state.instance.owner)})


def _profile_form_values(owner) -> dict:
    fields = [(f.name, f.value_source) for f in owner.fields]
    return {"display_name": owner.display_name, "bio": owner.note_source, "locked": owner.locked,
            "fields": fields}


PROFILE_IMAGES = ("avatar", "header")


@owner_only
async def profile_settings(request: Request) -> Response:
    inst = request.app.state.instance
    form = await read_form(request, max_files=len(PROFILE_IMAGES))
    slots = inst.config.limits.max_profile_fields
    fields = [(text_field(form, f"field_name_{i}"), text_field(form, f"field_value_{i}")) for i in range(slots)]
    update = core_profile.ProfileUpdate(display_name=text_field(form, "display_name"), bio=text_field(form, "bio"),
                                        fields=fields, locked=checkbox(form, "locked"))
    try:
        # Images first: a refused file changes nothing. A stored image the profile then fails to
        # take is named by nothing, and the core's sweep removes it.
        images: dict[str, str] = {}
        for purpose in PROFILE_IMAGES:
            upload = chosen_file(form, purpose)
            if upload is not None:
                images[f"{purpose}_url"] = await media.profile_image(inst, upload.file, purpose)
            elif checkbox(form, f"remove_{purpose}"):
                images[f"{purpose}_url"] = ""  # back to the default image
        await core_profile.update_profile(inst, replace(update, **images))  # one Update to followers
    except DomainError as exc:
        values = {"display_name": update.display_name, "bio": update.bio, "locked": update.locked,
                  "fields": fields}
        return render(request, "settings_profile.html", {"form": values, "error": exc.message},
                      status_code=exc.status)
    finally:
        await form.close()
    return render(request, "settings_profile.html", {"form": _profile_form_values(inst.owner),
                                                     "notice": "Profile saved."})


@owner_only
async def password_settings_page(request: Request) -> Response:
    return render(request, "settings_password.html")


@owner_only
async def password_settings(request: Request) -> Response:
    inst = request.app.state.instance
    form = await read_form(request)
    try:
        await core_profile.change_password(inst, text_field(form, "current_password"),
                                           text_field(form, "new_password"), text_field(form, "confirm_password"))
    except DomainError as exc:
        status = 400 if isinstance(exc, Unauthorized) else exc.status  # a 401 would ask for HTTP auth
        return render(request, "settings_password.html", {"error": exc.message}, status_code=status)
    # Every session ended with the change; this browser gets a fresh one.
    token = await core_auth.start_session(inst, request.headers.get("user-agent", ""))
    response = render(request, "settings_password.html", {"notice": "Password changed. Other sessions were signed out."})
    set_session_cookie(request, response, token)
    return response
