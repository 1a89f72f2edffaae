"""The client API's route table, and the wrapper that gives every /api and /oauth path CORS,
an optional trailing slash and a JSON 404."""

from __future__ import annotations

from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from smallfedi.api import accounts, instance, oauth, polls, statuses, timelines
from smallfedi.api import conversations, filters, lists, media, tags
from smallfedi.api.http import error

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


def _r(path: str, handler, methods=("GET",)) -> Route:
    return Route(path, handler, methods=list(methods))


def routes() -> list[Route]:
    a, s, t, i = accounts, statuses, timelines, instance
    v1 = "/api/v1"
    return [
        # OAuth and apps
        _r("/.well-known/oauth-authorization-server", oauth.server_metadata),
        _r("/oauth/token", oauth.token, ["POST"]),
        _r("/oauth/revoke", oauth.revoke, ["POST"]),
        _r(f"{v1}/apps", oauth.create_app, ["POST"]),
        _r(f"{v1}/apps/verify_credentials", oauth.verify_app),
        # Instance and client setup
        _r(f"{v1}/instance", i.instance_v1),
        _r("/api/v2/instance", i.instance_v2),
        _r(f"{v1}/instance/peers", i.empty_list(public=True)),
        _r(f"{v1}/instance/rules", i.empty_list(public=True)),
        _r(f"{v1}/instance/activity", i.empty_list(public=True)),
        _r(f"{v1}/instance/extended_description", i.extended_description),
        _r(f"{v1}/streaming/health", i.streaming_health),
        _r(f"{v1}/preferences", i.preferences),
        _r(f"{v1}/custom_emojis", i.empty_list(public=True)),
        # Accounts
        _r(f"{v1}/accounts/verify_credentials", a.verify_credentials),
        _r(f"{v1}/accounts/update_credentials", a.update_credentials, ["PATCH", "PUT", "POST"]),
        _r(f"{v1}/profile/avatar", a.remove_avatar, ["DELETE"]),
        _r(f"{v1}/profile/header", a.remove_header, ["DELETE"]),
        _r(f"{v1}/accounts/relationships", a.relationships),
        _r(f"{v1}/accounts/lookup", a.lookup),
        _r(f"{v1}/accounts/search", a.search_accounts),
        _r(f"{v1}/accounts/familiar_followers", i.empty_list("read:follows")),
        _r(f"{v1}/accounts", a.show_many),
        _r(f"{v1}/accounts/{{id}}", a.show),
        _r(f"{v1}/accounts/{{id}}/statuses", a.statuses),
        _r(f"{v1}/accounts/{{id}}/followers", a.followers),
        _r(f"{v1}/accounts/{{id}}/following", a.following_list),
        _r(f"{v1}/accounts/{{id}}/lists", a.account_lists),
        _r(f"{v1}/accounts/{{id}}/featured_tags", i.empty_list(public=True)),
        _r(f"{v1}/accounts/{{id}}/identity_proofs", i.empty_list(public=True)),
        _r(f"{v1}/accounts/{{id}}/follow", a.follow, ["POST"]),
        _r(f"{v1}/accounts/{{id}}/unfollow", a.unfollow, ["POST"]),
        _r(f"{v1}/accounts/{{id}}/remove_from_followers", a.remove_from_followers, ["POST"]),
        _r(f"{v1}/accounts/{{id}}/block", a.block, ["POST"]),
        _r(f"{v1}/accounts/{{id}}/unblock", a.unblock, ["POST"]),
        _r(f"{v1}/accounts/{{id}}/mute", a.mute, ["POST"]),
        _r(f"{v1}/accounts/{{id}}/unmute", a.unmute, ["POST"]),
        _r(f"{v1}/accounts/{{id}}/note", a.note, ["POST"]),
        _r(f"{v1}/follow_requests", a.follow_requests),
        _r(f"{v1}/follow_requests/{{id}}/authorize", a.authorize_follow, ["POST"]),
        _r(f"{v1}/follow_requests/{{id}}/reject", a.reject_follow, ["POST"]),
        _r(f"{v1}/blocks", a.blocks),
        _r(f"{v1}/mutes", a.mutes),
        _r(f"{v1}/domain_blocks", a.domain_blocks_list),
        _r(f"{v1}/domain_blocks", a.block_domain, ["POST"]),
        _r(f"{v1}/domain_blocks", a.unblock_domain, ["DELETE"]),
        _r("/api/v2/search", a.search_v2),
        # Statuses
        _r(f"{v1}/statuses", s.create, ["POST"]),
        _r(f"{v1}/statuses", s.show_many),
        _r(f"{v1}/statuses/{{id}}", s.show),
        _r(f"{v1}/statuses/{{id}}", s.edit, ["PUT"]),
        _r(f"{v1}/statuses/{{id}}", s.delete, ["DELETE"]),
        _r(f"{v1}/statuses/{{id}}/context", s.context),
        _r(f"{v1}/statuses/{{id}}/source", s.source),
        _r(f"{v1}/statuses/{{id}}/history", s.history),
        _r(f"{v1}/statuses/{{id}}/favourited_by", s.favourited_by),
        _r(f"{v1}/statuses/{{id}}/reblogged_by", s.reblogged_by),
        _r(f"{v1}/statuses/{{id}}/favourite", s.favourite, ["POST"]),
        _r(f"{v1}/statuses/{{id}}/unfavourite", s.unfavourite, ["POST"]),
        _r(f"{v1}/statuses/{{id}}/reblog", s.reblog, ["POST"]),
        _r(f"{v1}/statuses/{{id}}/unreblog", s.unreblog, ["POST"]),
        _r(f"{v1}/statuses/{{id}}/bookmark", s.bookmark, ["POST"]),
        _r(f"{v1}/statuses/{{id}}/unbookmark", s.unbookmark, ["POST"]),
        _r(f"{v1}/statuses/{{id}}/pin", s.pin, ["POST"]),
        _r(f"{v1}/statuses/{{id}}/unpin", s.unpin, ["POST"]),
        _r(f"{v1}/statuses/{{id}}/mute", s.mute, ["POST"]),
        _r(f"{v1}/statuses/{{id}}/unmute", s.unmute, ["POST"]),
        _r(f"{v1}/statuses/{{id}}/translate", s.not_supported, ["POST"]),
        # Media (uploads for posts)
        _r(f"{v1}/media", media.create_v1, ["POST"]),
        _r("/api/v2/media", media.create_v2, ["POST"]),
        _r(f"{v1}/media/{{id}}", media.show),
        _r(f"{v1}/media/{{id}}", media.update, ["PUT"]),
        _r(f"{v1}/polls/{{id}}", polls.show),
        _r(f"{v1}/polls/{{id}}/votes", polls.vote, ["POST"]),
        _r(f"{v1}/bookmarks", s.bookmarks),
        _r(f"{v1}/favourites", s.favourites),
        _r(f"{v1}/scheduled_statuses", i.empty_list("read:statuses")),
        # Timelines, notifications, markers
        _r(f"{v1}/timelines/home", t.home),
        _r(f"{v1}/timelines/public", t.public),
        _r(f"{v1}/timelines/tag/{{tag}}", t.tag),
        _r(f"{v1}/timelines/link", i.empty_list("read:statuses")),
        _r(f"{v1}/notifications", t.notifications),
        _r(f"{v1}/notifications/clear", t.clear, ["POST"]),
        _r(f"{v1}/notifications/requests", i.empty_list("read:notifications")),
        _r(f"{v1}/notifications/unread_count", t.unread_count),
        _r(f"{v1}/notifications/{{id}}", t.notification),
        _r(f"{v1}/notifications/{{id}}/dismiss", t.dismiss, ["POST"]),
        _r("/api/v2/notifications", t.grouped),
        _r("/api/v2/notifications/unread_count", t.unread_count),
        _r("/api/v2/notifications/policy", i.notification_policy),
        _r(f"{v1}/markers", t.markers),
        _r(f"{v1}/markers", t.set_markers, ["POST"]),
        # Features not built: the empty answers Mastodon gives when there is nothing.
        # Lists, followed hashtags, filters, conversations
        _r(f"{v1}/lists", lists.index),
        _r(f"{v1}/lists", lists.create, ["POST"]),
        _r(f"{v1}/lists/{{id}}", lists.show),
        _r(f"{v1}/lists/{{id}}", lists.update, ["PUT", "PATCH"]),
        _r(f"{v1}/lists/{{id}}", lists.delete, ["DELETE"]),
        _r(f"{v1}/lists/{{id}}/accounts", lists.members),
        _r(f"{v1}/lists/{{id}}/accounts", lists.add_members, ["POST"]),
        _r(f"{v1}/lists/{{id}}/accounts", lists.remove_members, ["DELETE"]),
        _r(f"{v1}/timelines/list/{{id}}", t.list_timeline),
        _r(f"{v1}/tags/{{name}}", tags.show),
        _r(f"{v1}/tags/{{name}}/follow", tags.follow, ["POST"]),
        _r(f"{v1}/tags/{{name}}/unfollow", tags.unfollow, ["POST"]),
        _r(f"{v1}/followed_tags", tags.followed),
        _r(f"{v1}/filters", filters.v1_index),
        _r(f"{v1}/filters", filters.v1_create, ["POST"]),
        _r(f"{v1}/filters/{{id}}", filters.v1_show),
        _r(f"{v1}/filters/{{id}}", filters.v1_update, ["PUT"]),
        _r(f"{v1}/filters/{{id}}", filters.v1_delete, ["DELETE"]),
        _r("/api/v2/filters", filters.index),
        _r("/api/v2/filters", filters.create, ["POST"]),
        _r("/api/v2/filters/keywords/{id}", filters.show_keyword),
        _r("/api/v2/filters/keywords/{id}", filters.update_keyword, ["PUT"]),
        _r("/api/v2/filters/keywords/{id}", filters.delete_keyword, ["DELETE"]),
        _r("/api/v2/filters/statuses/{id}", filters.show_status),
        _r("/api/v2/filters/statuses/{id}", filters.delete_status, ["DELETE"]),
        _r("/api/v2/filters/{id}", filters.show),
        _r("/api/v2/filters/{id}", filters.update, ["PUT"]),
        _r("/api/v2/filters/{id}", filters.delete, ["DELETE"]),
        _r("/api/v2/filters/{id}/keywords", filters.keywords),
        _r("/api/v2/filters/{id}/keywords", filters.add_keyword, ["POST"]),
        _r("/api/v2/filters/{id}/statuses", filters.statuses),
        _r("/api/v2/filters/{id}/statuses", filters.add_status, ["POST"]),
        _r(f"{v1}/conversations", conversations.index),
        _r(f"{v1}/conversations/{{id}}", conversations.delete, ["DELETE"]),
        _r(f"{v1}/conversations/{{id}}/read", conversations.read, ["POST"]),
        _r(f"{v1}/announcements", i.empty_list(public=True)),
        _r(f"{v1}/trends/tags", i.empty_list(public=True)),
        _r(f"{v1}/trends/statuses", i.empty_list(public=True)),
        _r(f"{v1}/trends/links", i.empty_list(public=True)),
        _r("/api/v2/suggestions", i.empty_list("read")),
        _r(f"{v1}/directory", i.empty_list(public=True)),
        _r(f"{v1}/endorsements", i.empty_list("read:accounts")),
        _r(f"{v1}/featured_tags", i.empty_list("read:accounts")),
        _r(f"{v1}/featured_tags/suggestions", i.empty_list("read:accounts")),
        # Anything else under /api answers JSON (404, or 405 for a known path) through the
        # application's HTTPException handler; no catch-all route here, or it would hide the 405s.
    ]


__all__ = ["ApiEdge", "routes", "error"]
