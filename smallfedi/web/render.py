"""Templates and the one place that turns a domain error into a page."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from smallfedi import __version__
from smallfedi.core import media as media_core
from smallfedi.core import media_cache
from smallfedi.core.errors import DomainError, TooManyRequests

TEMPLATES = Path(__file__).parent / "templates"

# Offered in the compose form; any ISO 639-1 code is accepted by the core.
LANGUAGES = [
    ("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español"), ("it", "Italiano"),
    ("pt", "Português"), ("nl", "Nederlands"), ("sv", "Svenska"), ("da", "Dansk"), ("nb", "Norsk bokmål"),
    ("fi", "Suomi"), ("pl", "Polski"), ("cs", "Čeština"), ("uk", "Українська"), ("ru", "Русский"),
    ("tr", "Türkçe"), ("el", "Ελληνικά"), ("ar", "العربية"), ("he", "עברית"), ("fa", "فارسی"),
    ("hi", "हिन्दी"), ("ja", "日本語"), ("ko", "한국어"), ("zh", "中文"), ("id", "Bahasa Indonesia"),
    ("vi", "Tiếng Việt"), ("eo", "Esperanto"), ("ca", "Català"), ("eu", "Euskara"), ("ga", "Gaeilge"),
    ("cy", "Cymraeg"),
]
VISIBILITY_LABELS = {
    "public": "Public", "unlisted": "Unlisted", "private": "Followers only", "direct": "Mentioned people only",
}


def _when(value: str | None) -> str:
    if not value:
        return ""
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when.strftime("%d %b %Y, %H:%M UTC")


def size(value: int | None) -> str:
    """Bytes for people: 1023 B, 4.2 MiB, 1.07 GiB."""
    amount = float(value or 0)
    for unit in ("B", "KiB", "MiB"):
        if amount < 1024:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.2f} GiB"


def image_size(m) -> tuple[int | None, int | None]:
    """The width and height an attachment's preview is shown at (for the page's layout)."""
    if m.preview_width and m.preview_height:
        return m.preview_width, m.preview_height
    return m.width, m.height


def account_href(account) -> str:
    """Where a person's name links: the owner's public profile, or our page of a remote account."""
    return account.url if account.local else f"/accounts/{account.id}"


def status_href(status) -> str:
    return status.url if status.local else f"/statuses/{status.id}"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(("html", "xml")),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["size"] = size
    env.globals.update(version=__version__, languages=LANGUAGES, visibility_labels=VISIBILITY_LABELS,
                       account_href=account_href, status_href=status_href, media_url=media_core.url,
                       preview_url=media_core.preview_url, image_size=image_size, cached=media_cache.url_for,
                       max_attachments=media_core.MAX_ATTACHMENTS)
    return env


class _LazyToken:
    """The CSRF token, made only when a page prints it: a page without a form then sets no
    cookie, and so stays the same for every visitor (the public pages' cache keeps it)."""

    __slots__ = ("request", "value")

    def __init__(self, request: Request) -> None:
        self.request = request
        self.value: str | None = None

    def __str__(self) -> str:
        if self.value is None:
            from smallfedi.web import auth

            self.value = auth.csrf_token(self.request)
        return self.value

    __html__ = __str__  # already URL-safe: nothing to escape


def render(request: Request, name: str, context: dict | None = None, status_code: int = 200,
           headers: dict | None = None) -> HTMLResponse:
    """Render a page with what every page needs: the instance, the viewer, the CSRF token."""
    from smallfedi.web import auth  # the session helpers need render() too; import late

    inst = request.app.state.instance
    ctx = {
        "request": request,
        "inst": inst,
        "owner": inst.owner,
        "is_owner": request.state.is_owner if hasattr(request.state, "is_owner") else False,
        "csrf_token": _LazyToken(request),
        "max_chars": inst.config.limits.max_post_chars,
    }
    ctx.update(context or {})
    body = environment().get_template(name).render(ctx)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    auth.ensure_csrf_cookie(request, response)
    return response


def error_page(request: Request, status_code: int, message: str, headers: dict | None = None) -> Response:
    titles = {400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
              405: "Not allowed", 409: "Conflict", 410: "Gone", 413: "Too large", 422: "Can't do that",
              429: "Slow down", 500: "Something went wrong", 503: "Not ready"}
    return render(request, "error.html", {"title": titles.get(status_code, "Error"), "message": message},
                  status_code=status_code, headers=headers)


def domain_error_page(request: Request, exc: DomainError) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    return error_page(request, exc.status, exc.message, headers)
