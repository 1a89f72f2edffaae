"""The client API's route table, and the wrapper that gives every /api and /oauth path CORS,
an optional trailing slash and a JSON 404.

Endpoints are named, not imported (see smallfedi.lazy): an endpoint's module loads on its
first request.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from smallfedi.lazy import lazy

SLASH_OPTIONAL = ("/api/", "/oauth/", "/.well-known/oauth-authorization-server/")
CORS_PREFIXES = ("/api/", "/oauth/token", "/oauth/revoke", "/.well-known/", "/nodeinfo/")
CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    # A wildcard would not cover Authorization; name what apps send.
    (b"access-control-allow-headers", b"Authorization, Content-Type, Idempotency-Key, Accept"),
    (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    (b"access-control-expose-headers", b"Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining"),
    (b"access-control-max-age", b"86400"),
]


class ApiEdge:
    """For API paths: strip a trailing slash (Mastodon.py asks for /api/v1/instance/), answer
    CORS preflights and add CORS headers. (Unknown /api paths get a JSON 404, and known ones a
    JSON 405 for a wrong method, from the application's HTTPException handler.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(SLASH_OPTIONAL) and path.endswith("/") and path.rstrip("/") not in ("/api", "/oauth"):
            # Answer as without the slash; a redirect would lose a POST's body, and apps don't follow.
            path = path.rstrip("/")
            raw = scope.get("raw_path")
            scope = {**scope, "path": path, "raw_path": raw.rstrip(b"/") if raw else path.encode("utf-8")}
        cors = path.startswith(CORS_PREFIXES)
        if cors and scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": CORS_HEADERS})
            await send({"type": "http.response.body", "body": b""})
            return
        if not cors:
            await self.app(scope, receive, send)
            return

        async def with_cors(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                message = {**message, "headers": headers + [(k, v) for k, v in CORS_HEADERS if k not in have]}
            await send(message)

        await self.app(scope, receive, with_cors)


# Endpoints their module makes with a factory: their routes are named after the factory's
# inner function, as they were when the table held the endpoints themselves.
MADE_BY_FACTORY = frozenset({
    "accounts:remove_avatar", "accounts:remove_header", "accounts:follow", "accounts:unfollow",
    "accounts:remove_from_followers", "accounts:block", "accounts:unblock", "accounts:mute",
    "accounts:unmute", "accounts:note", "accounts:authorize_follow", "accounts:reject_follow",
    "statuses:favourite", "statuses:unfavourite", "statuses:reblog", "statuses:unreblog",
    "statuses:bookmark", "statuses:unbookmark", "statuses:pin", "statuses:unpin", "statuses:mute",
    "statuses:unmute",
})


def _r(path: str, handler, methods=("GET",)) -> Route:
    """`handler`: "module:function" in smallfedi.api, or an endpoint."""
    if isinstance(handler, str):
        handler = lazy(f"smallfedi.api.{handler}", name="handler" if handler in MADE_BY_FACTORY else None)
    return Route(path, handler, methods=list(methods))


def _empty(scope: str | None = None, public: bool = False):
    """instance.empty_list(scope, public=public), made on first use."""
    def make():
        from smallfedi.api.instance import empty_list

        return empty_list(scope, public=public)
    return lazy(make, name="handler")


def _sse(stream: str):
    """streaming.sse(stream), made on first use."""
    def make():
        from smallfedi.api.streaming import sse

        return sse(stream)
    return lazy(make, name="endpoint")


# The streaming and Web Push routes are listed here too, so the table needs neither module.
STREAMING = "/api/v1/streaming"
SSE_PATHS = {"user": "user", "user/notification": "user:notification", "public": "public",
             "public/local": "public:local", "public/remote": "public:remote", "hashtag": "hashtag",
             "hashtag/local": "hashtag:local", "direct": "direct", "list": "list"}
PUSH = "/api/v1/push/subscription"


def routes() -> list[BaseRoute]:
    v1 = "/api/v1"
    return [
        # Live updates, then Web Push subscriptions
        WebSocketRoute(STREAMING, lazy("smallfedi.api.streaming:websocket")),
        *(Route(f"{STREAMING}/{path}", _sse(stream)) for path, stream in SSE_PATHS.items()),
        _r(PUSH, "push:create", ["POST"]),
        _r(PUSH, "push:show"),
        _r(PUSH, "push:update", ["PUT"]),
        _r(PUSH, "push:delete", ["DELETE"]),
        # OAuth and apps
        _r("/.well-known/oauth-authorization-server", "oauth:server_metadata"),
        _r("/oauth/token", "oauth:token", ["POST"]),
        _r("/oauth/revoke", "oauth:revoke", ["POST"]),
        _r(f"{v1}/apps", "oauth:create_app", ["POST"]),
        _r(f"{v1}/apps/verify_credentials", "oauth:verify_app"),
        # Instance and client setup
        _r(f"{v1}/instance", "instance:instance_v1"),
        _r("/api/v2/instance", "instance:instance_v2"),
        _r(f"{v1}/instance/peers", _empty(public=True)),
        _r(f"{v1}/instance/rules", _empty(public=True)),
        _r(f"{v1}/instance/activity", _empty(public=True)),
        _r(f"{v1}/instance/extended_description", "instance:extended_description"),
        _r(f"{v1}/streaming/health", "instance:streaming_health"),
        _r(f"{v1}/preferences", "instance:preferences"),
        _r(f"{v1}/custom_emojis", _empty(public=True)),
        # Accounts
        _r(f"{v1}/accounts/verify_credentials", "accounts:verify_credentials"),
        _r(f"{v1}/accounts/update_credentials", "accounts:update_credentials", ["PATCH", "PUT", "POST"]),
        _r(f"{v1}/profile/avatar", "accounts:remove_avatar", ["DELETE"]),
        _r(f"{v1}/profile/header", "accounts:remove_header", ["DELETE"]),
        _r(f"{v1}/accounts/relationships", "accounts:relationships"),
        _r(f"{v1}/accounts/lookup", "accounts:lookup"),
        _r(f"{v1}/accounts/search", "accounts:search_accounts"),
        _r(f"{v1}/accounts/familiar_followers", _empty("read:follows")),
        _r(f"{v1}/accounts", "accounts:show_many"),
        _r(f"{v1}/accounts/{{id}}", "accounts:show"),
        _r(f"{v1}/accounts/{{id}}/statuses", "accounts:statuses"),
        _r(f"{v1}/accounts/{{id}}/followers", "accounts:followers"),
        _r(f"{v1}/accounts/{{id}}/following", "accounts:following_list"),
        _r(f"{v1}/accounts/{{id}}/lists", "accounts:account_lists"),
        _r(f"{v1}/accounts/{{id}}/featured_tags", _empty(public=True)),
        _r(f"{v1}/accounts/{{id}}/identity_proofs", _empty(public=True)),
        _r(f"{v1}/accounts/{{id}}/follow", "accounts:follow", ["POST"]),
        _r(f"{v1}/accounts/{{id}}/unfollow", "accounts:unfollow", ["POST"]),
        _r(f"{v1}/accounts/{{id}}/remove_from_followers", "accounts:remove_from_followers", ["POST"]),
        _r(f"{v1}/accounts/{{id}}/block", "accounts:block", ["POST"]),
        _r(f"{v1}/accounts/{{id}}/unblock", "accounts:unblock", ["POST"]),
        _r(f"{v1}/accounts/{{id}}/mute", "accounts:mute", ["POST"]),
        _r(f"{v1}/accounts/{{id}}/unmute", "accounts:unmute", ["POST"]),
        _r(f"{v1}/accounts/{{id}}/note", "accounts:note", ["POST"]),
        _r(f"{v1}/follow_requests", "accounts:follow_requests"),
        _r(f"{v1}/follow_requests/{{id}}/authorize", "accounts:authorize_follow", ["POST"]),
        _r(f"{v1}/follow_requests/{{id}}/reject", "accounts:reject_follow", ["POST"]),
        _r(f"{v1}/blocks", "accounts:blocks"),
        _r(f"{v1}/mutes", "accounts:mutes"),
        _r(f"{v1}/domain_blocks", "accounts:domain_blocks_list"),
        _r(f"{v1}/domain_blocks", "accounts:block_domain", ["POST"]),
        _r(f"{v1}/domain_blocks", "accounts:unblock_domain", ["DELETE"]),
        _r("/api/v2/search", "accounts:search_v2"),
        # Statuses
        _r(f"{v1}/statuses", "statuses:create", ["POST"]),
        _r(f"{v1}/statuses", "statuses:show_many"),
        _r(f"{v1}/statuses/{{id}}", "statuses:show"),
        _r(f"{v1}/statuses/{{id}}", "statuses:edit", ["PUT"]),
        _r(f"{v1}/statuses/{{id}}", "statuses:delete", ["DELETE"]),
        _r(f"{v1}/statuses/{{id}}/context", "statuses:context"),
        _r(f"{v1}/statuses/{{id}}/source", "statuses:source"),
        _r(f"{v1}/statuses/{{id}}/history", "statuses:history"),
        _r(f"{v1}/statuses/{{id}}/favourited_by", "statuses:favourited_by"),
        _r(f"{v1}/statuses/{{id}}/reblogged_by", "statuses:reblogged_by"),
        _r(f"{v1}/statuses/{{id}}/favourite", "statuses:favourite", ["POST"]),
        _r(f"{v1}/statuses/{{id}}/unfavourite", "statuses:unfavourite", ["POST"]),
        _r(f"{v1}/statuses/{{id}}/reblog", "statuses:reblog", ["POST"]),
        _r(f"{v1}/statuses/{{id}}/unreblog", "statuses:unreblog", ["POST"]),
        _r(f"{v1}/statuses/{{id}}/bookmark", "statuses:bookmark", ["POST"]),
        _r(f"{v1}/statuses/{{id}}/unbookmark", "statuses:unbookmark", ["POST"]),
        _r(f"{v1}/statuses/{{id}}/pin", "statuses:pin", ["POST"]),
        _r(f"{v1}/statuses/{{id}}/unpin", "statuses:unpin", ["POST"]),
        _r(f"{v1}/statuses/{{id}}/mute", "statuses:mute", ["POST"]),
        _r(f"{v1}/statuses/{{id}}/unmute", "statuses:unmute", ["POST"]),
        _r(f"{v1}/statuses/{{id}}/translate", "statuses:not_supported", ["POST"]),
        # Media (uploads for posts)
        _r(f"{v1}/media", "media:create_v1", ["POST"]),
        _r("/api/v2/media", "media:create_v2", ["POST"]),
        _r(f"{v1}/media/{{id}}", "media:show"),
        _r(f"{v1}/media/{{id}}", "media:update", ["PUT"]),
        _r(f"{v1}/polls/{{id}}", "polls:show"),
        _r(f"{v1}/polls/{{id}}/votes", "polls:vote", ["POST"]),
        _r(f"{v1}/bookmarks", "statuses:bookmarks"),
        _r(f"{v1}/favourites", "statuses:favourites"),
        _r(f"{v1}/scheduled_statuses", _empty("read:statuses")),
        # Timelines, notifications, markers
        _r(f"{v1}/timelines/home", "timelines:home"),
        _r(f"{v1}/timelines/public", "timelines:public"),
        _r(f"{v1}/timelines/tag/{{tag}}", "timelines:tag"),
        _r(f"{v1}/timelines/link", _empty("read:statuses")),
        _r(f"{v1}/notifications", "timelines:notifications"),
        _r(f"{v1}/notifications/clear", "timelines:clear", ["POST"]),
        _r(f"{v1}/notifications/requests", _empty("read:notifications")),
        _r(f"{v1}/notifications/unread_count", "timelines:unread_count"),
        _r(f"{v1}/notifications/{{id}}", "timelines:notification"),
        _r(f"{v1}/notifications/{{id}}/dismiss", "timelines:dismiss", ["POST"]),
        _r("/api/v2/notifications", "timelines:grouped"),
        _r("/api/v2/notifications/unread_count", "timelines:unread_count"),
        _r("/api/v2/notifications/policy", "instance:notification_policy"),
        _r(f"{v1}/markers", "timelines:markers"),
        _r(f"{v1}/markers", "timelines:set_markers", ["POST"]),
        # Features not built: the empty answers Mastodon gives when there is nothing.
        # Lists, followed hashtags, filters, conversations
        _r(f"{v1}/lists", "lists:index"),
        _r(f"{v1}/lists", "lists:create", ["POST"]),
        _r(f"{v1}/lists/{{id}}", "lists:show"),
        _r(f"{v1}/lists/{{id}}", "lists:update", ["PUT", "PATCH"]),
        _r(f"{v1}/lists/{{id}}", "lists:delete", ["DELETE"]),
        _r(f"{v1}/lists/{{id}}/accounts", "lists:members"),
        _r(f"{v1}/lists/{{id}}/accounts", "lists:add_members", ["POST"]),
        _r(f"{v1}/lists/{{id}}/accounts", "lists:remove_members", ["DELETE"]),
        _r(f"{v1}/timelines/list/{{id}}", "timelines:list_timeline"),
        _r(f"{v1}/tags/{{name}}", "tags:show"),
        _r(f"{v1}/tags/{{name}}/follow", "tags:follow", ["POST"]),
        _r(f"{v1}/tags/{{name}}/unfollow", "tags:unfollow", ["POST"]),
        _r(f"{v1}/followed_tags", "tags:followed"),
        _r(f"{v1}/filters", "filters:v1_index"),
        _r(f"{v1}/filters", "filters:v1_create", ["POST"]),
        _r(f"{v1}/filters/{{id}}", "filters:v1_show"),
        _r(f"{v1}/filters/{{id}}", "filters:v1_update", ["PUT"]),
        _r(f"{v1}/filters/{{id}}", "filters:v1_delete", ["DELETE"]),
        _r("/api/v2/filters", "filters:index"),
        _r("/api/v2/filters", "filters:create", ["POST"]),
        _r("/api/v2/filters/keywords/{id}", "filters:show_keyword"),
        _r("/api/v2/filters/keywords/{id}", "filters:update_keyword", ["PUT"]),
        _r("/api/v2/filters/keywords/{id}", "filters:delete_keyword", ["DELETE"]),
        _r("/api/v2/filters/statuses/{id}", "filters:show_status"),
        _r("/api/v2/filters/statuses/{id}", "filters:delete_status", ["DELETE"]),
        _r("/api/v2/filters/{id}", "filters:show"),
        _r("/api/v2/filters/{id}", "filters:update", ["PUT"]),
        _r("/api/v2/filters/{id}", "filters:delete", ["DELETE"]),
        _r("/api/v2/filters/{id}/keywords", "filters:keywords"),
        _r("/api/v2/filters/{id}/keywords", "filters:add_keyword", ["POST"]),
        _r("/api/v2/filters/{id}/statuses", "filters:statuses"),
        _r("/api/v2/filters/{id}/statuses", "filters:add_status", ["POST"]),
        _r(f"{v1}/conversations", "conversations:index"),
        _r(f"{v1}/conversations/{{id}}", "conversations:delete", ["DELETE"]),
        _r(f"{v1}/conversations/{{id}}/read", "conversations:read", ["POST"]),
        _r(f"{v1}/announcements", _empty(public=True)),
        _r(f"{v1}/trends/tags", _empty(public=True)),
        _r(f"{v1}/trends/statuses", _empty(public=True)),
        _r(f"{v1}/trends/links", _empty(public=True)),
        _r("/api/v2/suggestions", _empty("read")),
        _r(f"{v1}/directory", _empty(public=True)),
        _r(f"{v1}/endorsements", _empty("read:accounts")),
        _r(f"{v1}/featured_tags", _empty("read:accounts")),
        _r(f"{v1}/featured_tags/suggestions", _empty("read:accounts")),
        # Anything else under /api answers JSON (404, or 405 for a known path) through the
        # application's HTTPException handler; no catch-all route here, or it would hide the 405s.
    ]

