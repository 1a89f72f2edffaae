"""Which entity each API answer is, and whether the strictest apps would accept it.

`ENTITIES` maps (methods, path) to the entity Mastodon answers with; `problems_of` checks one
parsed answer against the strict apps' schema (tests/api/strict_schema.py, plus the entities it
lacks, defined below from Mastodon's documentation with the same rules); `Strict` is an httpx
response hook that does this for every answer a test client receives, and collects what it finds.

Every route of smallfedi/api (routes.py, push.py, streaming.py) must be in the table: an answer
on an API path the table does not know is itself a problem, so a new route is mapped or fails.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.api import strict_schema
from tests.api.strict_schema import DATE_RE, DT_RE, ID_RE, URL_RE

# Entities strict_schema.py lacks, from Mastodon's documentation (docs.joinmastodon.org/entities),
# in its notation: "?" may be absent or null, "!" present but may be null, else present, not null.
LOCAL = {
    "Conversation": {"id": "id", "unread": "bool", "accounts": "list:Account", "last_status": "Status!"},
    "FilterKeyword": {"id": "id", "keyword": "str", "whole_word": "bool"},
    "FilterStatus": {"id": "id", "status_id": "id"},
    "FilterResult": {"filter": "FilterV2", "keyword_matches": "list:str!", "status_matches": "list:id!"},
    "FilterV1": {"id": "id", "phrase": "str", "context": "list:enum:home|notifications|public|thread|account",
                 "whole_word": "bool", "expires_at": "dt!", "irreversible": "bool"},
    "ExtendedDescription": {"updated_at": "dt", "content": "str0"},
    "NotificationPolicy": {**{k: "enum:accept|filter|drop" for k in (
        "for_not_following", "for_not_followers", "for_new_accounts", "for_private_mentions",
        "for_limited_accounts")}, "summary": "NotificationPolicySummary"},
    "NotificationPolicySummary": {"pending_requests_count": "int", "pending_notifications_count": "int"},
    "Rule": {"id": "id", "text": "str", "hint": "str0?"},
    # Tag.history: strings cast from integers (the day a UNIX timestamp).
    "TagHistory": {"day": "intstr", "uses": "intstr", "accounts": "intstr"},
    "FamiliarFollowers": {"id": "id", "accounts": "list:Account"},
    "Suggestion": {"source": "str", "sources": "list:str", "account": "Account"},
    "Activity": {"week": "intstr", "statuses": "intstr", "logins": "intstr", "registrations": "intstr"},
    # Tusky choked on `"y": null` (#4462): both numbers, always.
    "MediaFocus": {"x": "num", "y": "num"},
}
# Entities of strict_schema.py checked one level deeper than it does.
REFINED = {
    "Status": dict(strict_schema.E["Status"], filtered="list:FilterResult?"),
    "FilterV2": dict(strict_schema.E["FilterV2"], context="list:enum:home|notifications|public|thread|account",
                     keywords="list:FilterKeyword", statuses="list:FilterStatus"),
    "Tag": dict(strict_schema.E["Tag"], history="list:TagHistory"),
    # Every key Mastodon sends, present (null where it sends null); `meta` an object, its
    # sizes with integer width and height (Tusky #4362), its focus two numbers.
    "MediaAttachment": dict(strict_schema.E["MediaAttachment"], preview_remote_url="url!", text_url="url!",
                            meta="MediaMeta"),
    "MediaMeta": dict(strict_schema.E["MediaMeta"], focus="MediaFocus?"),
}
SPECS = {**strict_schema.E, **LOCAL, **REFINED}

# Entities only ever answered empty here (features not built), which no strict app's rules were
# gathered for: checked generically (ids are digit strings, *_at times have milliseconds, no
# null inside an array). Map a route to a real entity above once it answers with data.
GENERIC = {"ScheduledStatus", "Announcement", "NotificationRequest", "TrendsLink", "IdentityProof", "FeaturedTag"}

# Which entity each answer is, by method and path (a trailing slash ignored). "list:X" is an
# array of X (an entity, or a kind: "list:str" for domain names).
_S = r"/api/v1/statuses/\d+"
_A = r"/api/v1/accounts/\d+"
_F2 = r"/api/v2/filters"
_RELATION = r"(un)?(follow|block|mute)|remove_from_followers|note"
ENTITIES = [
    # OAuth and apps
    ({"POST"}, r"/api/v1/apps", "CredentialApplication"),
    ({"GET"}, r"/api/v1/apps/verify_credentials", "Application"),
    ({"POST"}, r"/oauth/token", "Token"),
    ({"POST"}, r"/oauth/revoke", "Empty"),
    ({"GET"}, r"/\.well-known/oauth-authorization-server", "OAuthServer"),
    # Instance and client setup
    ({"GET"}, r"/api/v1/instance", "InstanceV1"),
    ({"GET"}, r"/api/v2/instance", "InstanceV2"),
    ({"GET"}, r"/api/v1/instance/peers", "list:str"),
    ({"GET"}, r"/api/v1/instance/rules", "list:Rule"),
    ({"GET"}, r"/api/v1/instance/activity", "list:Activity"),
    ({"GET"}, r"/api/v1/instance/extended_description", "ExtendedDescription"),
    ({"GET"}, r"/api/v1/preferences", "Preferences"),
    ({"GET"}, r"/api/v1/custom_emojis", "list:Emoji"),
    # Accounts
    ({"GET", "PATCH", "PUT", "POST"}, r"/api/v1/accounts/(verify|update)_credentials", "CredentialAccount"),
    ({"DELETE"}, r"/api/v1/profile/(avatar|header)", "CredentialAccount"),
    ({"GET"}, r"/api/v1/accounts/relationships", "list:Relationship"),
    ({"GET"}, r"/api/v1/accounts(/search)?", "list:Account"),
    ({"GET"}, r"/api/v1/accounts/familiar_followers", "list:FamiliarFollowers"),
    ({"GET"}, r"/api/v1/accounts/(lookup|\d+)", "Account"),
    ({"GET"}, _A + r"/statuses", "list:Status"),
    ({"GET"}, _A + r"/(followers|following)", "list:Account"),
    ({"GET"}, _A + r"/lists", "list:List"),
    ({"GET"}, _A + r"/featured_tags", "list:FeaturedTag"),
    ({"GET"}, _A + r"/identity_proofs", "list:IdentityProof"),
    ({"POST"}, _A + rf"/({_RELATION})", "Relationship"),
    ({"POST"}, r"/api/v1/follow_requests/\d+/(authorize|reject)", "Relationship"),
    ({"GET"}, r"/api/v1/(blocks|mutes|follow_requests|directory|endorsements)", "list:Account"),
    ({"GET"}, r"/api/v1/domain_blocks", "list:str"),
    ({"POST", "DELETE"}, r"/api/v1/domain_blocks", "Empty"),
    ({"GET"}, r"/api/v2/search", "Search"),
    # Statuses, media and polls
    ({"POST"}, r"/api/v1/statuses", "Status"),
    ({"GET"}, r"/api/v1/statuses", "list:Status"),
    ({"GET", "PUT", "DELETE"}, _S, "Status"),
    ({"POST"}, _S + r"/(un)?(favourite|reblog|bookmark|pin|mute)", "Status"),
    ({"POST"}, _S + r"/translate", "Translation"),  # refused with 422; an answer would need a check
    ({"GET"}, _S + r"/context", "Context"),
    ({"GET"}, _S + r"/source", "StatusSource"),
    ({"GET"}, _S + r"/history", "list:StatusEdit"),
    ({"GET"}, _S + r"/(favourited|reblogged)_by", "list:Account"),
    ({"POST"}, r"/api/v[12]/media", "MediaAttachment"),
    ({"GET", "PUT"}, r"/api/v1/media/\d+", "MediaAttachment"),
    ({"GET"}, r"/api/v1/polls/\d+", "Poll"),
    ({"POST"}, r"/api/v1/polls/\d+/votes", "Poll"),
    ({"GET"}, r"/api/v1/(bookmarks|favourites)", "list:Status"),
    ({"GET"}, r"/api/v1/scheduled_statuses", "list:ScheduledStatus"),
    # Timelines, notifications, markers
    ({"GET"}, r"/api/v1/timelines/(home|public|link|tag/[^/]+|list/\d+)", "list:Status"),
    ({"GET"}, r"/api/v1/notifications", "list:Notification"),
    ({"GET"}, r"/api/v1/notifications/requests", "list:NotificationRequest"),
    ({"GET"}, r"/api/v[12]/notifications/unread_count", "UnreadCount"),
    ({"GET"}, r"/api/v1/notifications/\d+", "Notification"),
    ({"POST"}, r"/api/v1/notifications/(\d+/dismiss|clear)", "Empty"),
    ({"GET"}, r"/api/v2/notifications", "GroupedNotificationsResults"),
    ({"GET"}, r"/api/v2/notifications/policy", "NotificationPolicy"),
    ({"GET", "POST"}, r"/api/v1/markers", "Markers"),
    # Lists
    ({"GET"}, r"/api/v1/lists", "list:List"),
    ({"POST"}, r"/api/v1/lists", "List"),
    ({"GET", "PUT", "PATCH"}, r"/api/v1/lists/\d+", "List"),
    ({"DELETE"}, r"/api/v1/lists/\d+", "Empty"),
    ({"GET"}, r"/api/v1/lists/\d+/accounts", "list:Account"),
    ({"POST", "DELETE"}, r"/api/v1/lists/\d+/accounts", "Empty"),
    # Hashtags
    ({"GET"}, r"/api/v1/tags/[^/]+", "Tag"),
    ({"POST"}, r"/api/v1/tags/[^/]+/(un)?follow", "Tag"),
    ({"GET"}, r"/api/v1/(followed_tags|trends/tags|featured_tags/suggestions)", "list:Tag"),
    ({"GET"}, r"/api/v1/featured_tags", "list:FeaturedTag"),
    # Filters, v1 and v2
    ({"GET"}, r"/api/v1/filters", "list:FilterV1"),
    ({"POST"}, r"/api/v1/filters", "FilterV1"),
    ({"GET", "PUT"}, r"/api/v1/filters/\d+", "FilterV1"),
    ({"DELETE"}, r"/api/v1/filters/\d+", "Empty"),
    ({"GET"}, _F2, "list:FilterV2"),
    ({"POST"}, _F2, "FilterV2"),
    ({"GET", "PUT"}, _F2 + r"/keywords/\d+", "FilterKeyword"),
    ({"GET"}, _F2 + r"/statuses/\d+", "FilterStatus"),
    ({"DELETE"}, _F2 + r"/(keywords/|statuses/|)\d+", "Empty"),
    ({"GET", "PUT"}, _F2 + r"/\d+", "FilterV2"),
    ({"GET"}, _F2 + r"/\d+/keywords", "list:FilterKeyword"),
    ({"POST"}, _F2 + r"/\d+/keywords", "FilterKeyword"),
    ({"GET"}, _F2 + r"/\d+/statuses", "list:FilterStatus"),
    ({"POST"}, _F2 + r"/\d+/statuses", "FilterStatus"),
    # Conversations
    ({"GET"}, r"/api/v1/conversations", "list:Conversation"),
    ({"POST"}, r"/api/v1/conversations/\d+/read", "Conversation"),
    ({"DELETE"}, r"/api/v1/conversations/\d+", "Empty"),
    # Optional features answered empty
    ({"GET"}, r"/api/v1/announcements", "list:Announcement"),
    ({"GET"}, r"/api/v1/trends/statuses", "list:Status"),
    ({"GET"}, r"/api/v1/trends/links", "list:TrendsLink"),
    ({"GET"}, r"/api/v2/suggestions", "list:Suggestion"),
    # Web Push
    ({"POST", "GET", "PUT"}, r"/api/v1/push/subscription", "WebPushSubscription"),
    ({"DELETE"}, r"/api/v1/push/subscription", "Empty"),
]
# Answers that are not JSON: Mastodon's plain "OK", and the server-sent event streams (their
# errors are JSON, and checked as errors).
HEALTH = "/api/v1/streaming/health"
STREAMING = re.compile(r"/api/v1/streaming(/.*)?")
CHECKED_PREFIXES = ("/api/", "/oauth/token", "/oauth/revoke", "/.well-known/oauth-authorization-server")
STATUS_FLAGS = ("favourited", "reblogged", "muted", "bookmarked", "pinned")
# The notification types that always carry their post (Mastodon's Notification entity).
WITH_STATUS = {"favourite", "reblog", "status", "mention", "poll", "update", "quote", "quoted_update"}


def normalised(path: str) -> str:
    """The path as the server routes it: without a trailing slash."""
    return path.rstrip("/") or "/"


def entity_of(method: str, path: str) -> str | None:
    path = normalised(path)
    for methods, pattern, entity in ENTITIES:
        if method in methods and re.fullmatch(pattern, path):
            return entity
    return None


# The checker: strict_schema's rules, over SPECS (its entities, refined, and the local ones).

_KINDS = {
    "id": lambda x: isinstance(x, str) and bool(ID_RE.match(x)),
    "intstr": lambda x: isinstance(x, str) and x.isdigit(),
    "str": lambda x: isinstance(x, str) and x != "",
    "str0": lambda x: isinstance(x, str),
    "url": lambda x: isinstance(x, str) and bool(URL_RE.match(x)),
    "int": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "num": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
    "bool": lambda x: isinstance(x, bool),
    "dt": lambda x: isinstance(x, str) and bool(DT_RE.match(x)),
    "date": lambda x: isinstance(x, str) and bool(DATE_RE.match(x)),
}


def _kind(kind: str, value, path: str, errs: list[str]) -> None:
    if kind == "any":
        return
    if kind.startswith("list:"):
        if not isinstance(value, list):
            errs.append(f"{path}: expected list")
            return
        for i, item in enumerate(value):
            if item is None:
                errs.append(f"{path}[{i}]: null item in list")
            else:
                _kind(kind[5:], item, f"{path}[{i}]", errs)
        return
    if kind.startswith("enum:"):
        if value not in kind[5:].split("|"):
            errs.append(f"{path}: {value!r} not in {kind[5:]}")
        return
    if kind in SPECS or kind in GENERIC:
        if not isinstance(value, dict):
            errs.append(f"{path}: expected object {kind}")
        else:
            errs.extend(check(kind, value, path))
        return
    if not _KINDS[kind](value):
        errs.append(f"{path}: {value!r} is not a valid {kind}")


def generic(value, path: str) -> list[str]:
    """For entities without a schema: `id` and `…_id` are digit strings, `…_at` times have
    milliseconds, and arrays hold no nulls, at any depth."""
    errs: list[str] = []
    if isinstance(value, list):
        for i, item in enumerate(value):
            errs += [f"{path}[{i}]: null item in list"] if item is None else generic(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            if item is None:
                continue
            if (key == "id" or key.endswith("_id")) and not (isinstance(item, str) and ID_RE.match(item)):
                errs.append(f"{where}: {item!r} is not a valid id")
            elif key.endswith("_at") and not (isinstance(item, str) and DT_RE.match(item)):
                errs.append(f"{where}: {item!r} is not a valid dt")
            else:
                errs += generic(item, where)
    return errs


def check(entity: str, obj: dict, path: str | None = None) -> list[str]:
    """Problems a strict app would have with `obj` as `entity` (none: it would accept it)."""
    path = path or entity
    if entity in GENERIC:
        return generic(obj, path)
    errs: list[str] = []
    for key, spec in SPECS[entity].items():
        optional, null_ok = spec.endswith("?"), spec.endswith(("?", "!"))
        kind = spec.rstrip("?!")
        if key not in obj:
            if not optional:
                errs.append(f"{path}.{key}: missing")
            continue
        if obj[key] is None:
            if not null_ok:
                errs.append(f"{path}.{key}: null not allowed")
            continue
        _kind(kind, obj[key], f"{path}.{key}", errs)
    if entity == "Status" and isinstance(obj.get("reblog"), dict) and obj["reblog"].get("id") == obj.get("id"):
        errs.append(f"{path}: reblog wrapper must have its own id (Ivory crashes otherwise)")
    # Mastodon attaches the post to these notifications always; apps show it without a check.
    if entity == "Notification" and obj.get("type") in WITH_STATUS and not isinstance(obj.get("status"), dict):
        errs.append(f"{path}.status: a {obj['type']} notification without its post")
    if entity == "NotificationGroup" and obj.get("type") in WITH_STATUS and obj.get("status_id") is None:
        errs.append(f"{path}.status_id: a {obj['type']} group without its post")
    return errs


def _statuses_in(value):
    """Every Status object inside an answer (reblogged ones, notifications' and search's too)."""
    if isinstance(value, list):
        for item in value:
            yield from _statuses_in(item)
    elif isinstance(value, dict):
        if "visibility" in value and "account" in value and "content" in value:
            yield value
        for key in ("reblog", "status", "statuses", "ancestors", "descendants", "last_status"):
            if isinstance(value.get(key), (dict, list)):
                yield from _statuses_in(value[key])


def problems_of(method: str, path: str, status: int, body, authenticated: bool) -> list[str]:
    """What a strict app would refuse in one parsed JSON answer."""
    if status >= 400:
        return check("Error", body) if isinstance(body, dict) else ["error body is not an object"]
    entity = entity_of(method, path)
    if entity is None:
        return [f"no entity known for {method} {path}: add it to ENTITIES in tests/api/schema_check.py"]
    if entity == "Empty":
        return [] if body == {} else [f"expected {{}}, got {body!r}"]
    if entity == "OAuthServer":
        return [] if isinstance(body, dict) and "token_endpoint" in body else ["no token_endpoint"]
    if entity == "UnreadCount":
        ok = isinstance(body, dict) and isinstance(body.get("count"), int) and not isinstance(body["count"], bool)
        return [] if ok else [f"expected {{count: int}}, got {body!r}"]
    if entity == "Markers":
        return strict_schema.check_markers(body) if isinstance(body, dict) else ["expected an object"]
    if entity == "Translation":
        return [f"{method} {path} answered {status}: translation is refused, so there is no check for it"]
    found: list[str] = []
    if entity.startswith("list:"):
        _kind(entity, body, entity[5:], found)
    elif isinstance(body, dict):
        found += check(entity, body)
    else:
        found.append(f"expected an object {entity}")
    if authenticated:
        # The schema lets these be absent; with a token, Tusky and Ice Cubes need real booleans.
        for s in _statuses_in(body):
            found += [f"Status {s.get('id')}.{k}: {s.get(k)!r} is not a bool for the owner"
                      for k in STATUS_FLAGS if not isinstance(s.get(k), bool)]
            if s.get("filtered") is None:
                found.append(f"Status {s.get('id')}.filtered: must be [] for the owner")
    return found


def answer_problems(method: str, path: str, status: int, content_type: str, content: bytes | None,
                    authenticated: bool) -> list[str]:
    """Everything wrong with one answer to an API path, `content` None when it was not read
    (an event stream). Each problem names the method, path and status."""
    where = f"{method} {path} ({status})"
    path = normalised(path)
    media = content_type.split(";")[0].strip().lower()
    if method == "OPTIONS":
        return []  # a CORS preflight: 204, nothing in it
    if method == "HEAD":  # the GET's headers, no body
        if status < 400 and path != HEALTH and not STREAMING.fullmatch(path) and media != "application/json":
            return [f"{where}: Content-Type {content_type!r}, not application/json"]
        return []
    if status < 400 and path == HEALTH:
        return [] if media == "text/plain" else [f"{where}: Content-Type {content_type!r}, not text/plain"]
    if status < 400 and STREAMING.fullmatch(path):
        if path == "/api/v1/streaming":
            return [f"{where}: the WebSocket endpoint answered plain HTTP"]
        return [] if media == "text/event-stream" else [f"{where}: Content-Type {content_type!r}, not an event stream"]
    if media != "application/json":
        return [f"{where}: Content-Type {content_type!r}, not application/json"]
    try:
        body = json.loads(content or b"")
    except ValueError:
        return [f"{where}: the body is not JSON"]
    return [f"{where}: {p}" for p in problems_of(method, path, status, body, authenticated)]


def is_checked(path: str) -> bool:
    return path.startswith(CHECKED_PREFIXES)


def _streamed(path: str, status: int) -> bool:
    """A successful event stream: never read (it does not end)."""
    path = normalised(path)
    return status < 400 and path != HEALTH and bool(STREAMING.fullmatch(path))


class Strict:
    """An httpx response hook: every answer to an API path is checked as it arrives, and the
    problems kept in `found` (with method, path and status) until `report` raises them."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.checked = 0

    def _inspect(self, response: httpx.Response, content: bytes | None) -> None:
        request = response.request
        self.checked += 1
        self.found += answer_problems(request.method, request.url.path, response.status_code,
                                      response.headers.get("content-type", ""), content,
                                      request.headers.get("authorization", "")[:7].lower() == "bearer ")

    async def async_hook(self, response: httpx.Response) -> None:
        path = response.request.url.path
        if not is_checked(path):
            return
        content = None
        if not _streamed(path, response.status_code) and response.request.method not in ("OPTIONS", "HEAD"):
            content = await response.aread()
        self._inspect(response, content)

    def sync_hook(self, response: httpx.Response) -> None:
        path = response.request.url.path
        if not is_checked(path):
            return
        content = None
        if not _streamed(path, response.status_code) and response.request.method not in ("OPTIONS", "HEAD"):
            content = response.read()
        self._inspect(response, content)

    def install(self, client: httpx.Client | httpx.AsyncClient):
        hook = self.async_hook if isinstance(client, httpx.AsyncClient) else self.sync_hook
        hooks = client.event_hooks
        if hook not in hooks["response"]:
            hooks["response"].append(hook)
            client.event_hooks = hooks
        return client

    def report(self) -> None:
        """Raise (once) what was found so far."""
        found, self.found = self.found, []
        if found:
            more = f"\n… and {len(found) - 50} more" if len(found) > 50 else ""
            pytest.fail("answers a strict app would reject:\n" + "\n".join(found[:50]) + more, pytrace=False)
