"""The HTML face's route table. Every endpoint's domain errors become a readable page.

Endpoints are named, not imported (see smallfedi.lazy): an endpoint's module, and the
templates, load on its first request.
"""

from __future__ import annotations

from functools import wraps
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from smallfedi.core.errors import DomainError
from smallfedi.lazy import lazy


def _pages(endpoint):
    @wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except DomainError as exc:
            from smallfedi.web.render import domain_error_page

            return domain_error_page(request, exc)
        except HTTPException as exc:  # e.g. a malformed form body from the parser
            from smallfedi.web.render import error_page

            return error_page(request, exc.status_code, exc.detail or "The request could not be read.")
    return wrapper


def _page(path: str, endpoint: str, methods=("GET",)) -> Route:
    """`endpoint`: "module:function" in smallfedi.web."""
    return Route(path, _pages(lazy(f"smallfedi.web.{endpoint}")), methods=list(methods))


def routes() -> list[BaseRoute]:
    static = Path(__file__).parent / "static"
    return [
        _page("/", "owner:home"),
        _page("/login", "owner:login_page"),
        _page("/login", "owner:login", ["POST"]),
        _page("/logout", "owner:logout", ["POST"]),
        _page("/compose", "owner:compose", ["POST"]),
        _page("/settings/profile", "owner:profile_settings_page"),
        _page("/settings/profile", "owner:profile_settings", ["POST"]),
        _page("/settings/password", "owner:password_settings_page"),
        _page("/settings/password", "owner:password_settings", ["POST"]),
        _page("/settings/storage", "settings:storage_page"),
        _page("/settings/storage", "settings:storage_prune", ["POST"]),
        _page("/settings/apps", "authorize:apps_page"),
        _page("/settings/apps/{app_id}/revoke", "authorize:revoke_app", ["POST"]),
        _page("/oauth/authorize", "authorize:authorize_page"),
        _page("/oauth/authorize", "authorize:authorize", ["POST"]),
        _page("/notifications", "social:notifications"),
        _page("/follow", "social:follow_page"),
        _page("/authorize_interaction", "social:authorize_interaction"),
        _page("/follow", "social:follow", ["POST"]),
        _page("/followers", "social:followers_page"),
        _page("/following", "social:following_page"),
        _page("/accounts/{account_id}", "social:account_page"),
        _page("/accounts/{account_id}/{action}", "social:account_action", ["POST"]),
        _page("/statuses/{status_id}", "social:status_page"),
        _page("/statuses/{status_id}/history", "social:status_history"),
        _page("/statuses/{status_id}/{action}", "social:status_action", ["POST"]),
        _page("/tags/{tag}", "public:tag"),
        # Feeds before the profile: "/@name.rss" would otherwise match "/@{username}".
        _page("/@{username}.rss", "public:feed_rss"),
        _page("/@{username}.atom", "public:feed_atom"),
        _page("/@{username}", "public:profile"),
        _page("/@{username}/{status_id}", "public:status"),
        _page("/@{username}/{status_id}/history", "public:history"),
        _page("/@{username}/{status_id}/edit", "owner:edit_page"),
        _page("/@{username}/{status_id}/edit", "owner:edit", ["POST"]),
        _page("/@{username}/{status_id}/delete", "owner:delete_page"),
        _page("/@{username}/{status_id}/delete", "owner:delete", ["POST"]),
        _page("/users/{username}", "public:actor_redirect"),
        _page("/users/{username}/statuses/{status_id}", "public:status_redirect"),
        _page("/media/{name}", "media:own_file"),
        _page("/cache/{key}/{encoded}", "media:cached_file"),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
