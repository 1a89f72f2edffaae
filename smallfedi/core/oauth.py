"""OAuth 2 for the apps: registration, authorisation codes (with PKCE), tokens and scopes.

Secrets, codes and tokens are random and only their SHA-256 is stored. Tokens never expire
(as in Mastodon); the owner revokes them from the web page or an app logs out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from smallfedi.core import secrets
from smallfedi.core.errors import DomainError, Invalid
from smallfedi.core.instance import Instance
from smallfedi.store import oauth as oauth_store
from smallfedi.store.db import format_time, utcnow

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = 600  # seconds
MAX_NAME = 200
MAX_REDIRECT_URIS = 10
MAX_URI = 2000
TOUCH_EVERY = timedelta(hours=1)  # how often "last used" is written; not on every call
GRANTS_KEPT = 64  # checked tokens kept in memory (one person: a handful of apps)
# Schemes a browser would run rather than hand to an app.
_SCRIPT_SCHEMES = frozenset(["javascript", "data", "vbscript", "blob", "about", "file"])

_READ = ["accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
         "notifications", "search", "statuses"]
_WRITE = ["accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows", "lists",
          "media", "mutes", "notifications", "reports", "statuses"]
SCOPES = frozenset(["read", "write", "follow", "push", "profile", "admin:read", "admin:write",
                    *(f"read:{s}" for s in _READ), *(f"write:{s}" for s in _WRITE)])
# "follow" is Mastodon's old bundle of these.
FOLLOW_BUNDLE = frozenset(["read:follows", "write:follows", "write:blocks", "write:mutes"])


class OAuthError(DomainError):
    """An error in RFC 6749's vocabulary: `code` is the `error` field."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def parse_scopes(raw: str | list | None, default: str = "read") -> list[str]:
    if isinstance(raw, list):
        raw = " ".join(str(s) for s in raw)
    words = (raw or "").replace("+", " ").replace(",", " ").split() or default.split()
    unknown = [w for w in words if w not in SCOPES and not w.startswith("admin:")]
    if unknown:
        raise OAuthError("invalid_scope", f"Unknown scope: {' '.join(unknown)}")
    return list(dict.fromkeys(words))


def scope_allows(granted: list[str] | str, needed: str) -> bool:
    """Does a token with `granted` scopes allow a route needing `needed` (e.g. read:statuses)?"""
    have = set(granted.split() if isinstance(granted, str) else granted)
    # "profile" (Mastodon 4.3) is enough to learn who the owner is (verify_credentials).
    return _implies(have, needed) or (needed == "read:accounts" and "profile" in have)


def _implies(have: set[str], needed: str) -> bool:
    """The scope hierarchy: read ⊃ read:*, write ⊃ write:*, follow ⊃ its bundle."""
    if needed in have:
        return True
    top = needed.split(":", 1)[0]
    if top in have and top in ("read", "write"):
        return True
    if needed.startswith("admin:") and any(needed.startswith(h + ":") for h in have if h.startswith("admin:")):
        return True
    return "follow" in have and needed in FOLLOW_BUNDLE


def _valid_redirect(uri: str) -> bool:
    if uri == OOB:
        return True
    if len(uri) > MAX_URI or any(c.isspace() for c in uri):
        return False
    parts = urlsplit(uri)
    # Any scheme (apps use their own: icecubesapp://, com.tapbots.Ivory.1:/...), no fragment.
    return bool(parts.scheme) and not parts.fragment and parts.scheme.lower() not in _SCRIPT_SCHEMES


@dataclass(frozen=True)
class App:
    id: int
    client_id: str
    name: str
    website: str | None
    redirect_uris: list[str]
    scopes: list[str]

    @classmethod
    def from_row(cls, row) -> "App":
        return cls(row["id"], row["client_id"], row["name"], row["website"], row["redirect_uris"].split("\n"),
                   row["scopes"].split())


@dataclass(frozen=True)
class Grant:
    """Who a bearer token speaks for: the owner (through an app) or an app alone."""
    token_id: int
    app_id: int
    app_name: str
    app_website: str | None
    scopes: list[str]
    for_owner: bool

    def allows(self, needed: str) -> bool:
        return scope_allows(self.scopes, needed)


async def register_app(inst: Instance, name: str, redirect_uris: str | list, scopes: str | list | None,
                       website: str | None) -> tuple[App, str]:
    """A new app and its client secret (shown only now)."""
    name = (name or "").strip()
    if not name:
        raise Invalid("Validation failed: Application name can't be blank")
    if len(name) > MAX_NAME:
        raise Invalid(f"Validation failed: Application name is too long (max {MAX_NAME})")
    if isinstance(redirect_uris, str):
        uris = redirect_uris.split()
    else:
        uris = [str(u).strip() for u in redirect_uris or [] if str(u).strip()]
    if not uris:
        raise Invalid("Validation failed: Redirect URI can't be blank")
    if len(uris) > MAX_REDIRECT_URIS or not all(_valid_redirect(u) for u in uris):
        # Mastodon's words; Tusky and others show `error` as it is.
        raise Invalid("Validation failed: Redirect URI must be an absolute URI.")
    granted = parse_scopes(scopes)
    website = (website or "").strip()[:MAX_URI] or None
    client_id, client_secret = secrets.new_token(), secrets.new_token()
    app_id = inst.ids.next()
    async with inst.db.transaction() as tx:
        await oauth_store.insert_app(tx, {
            "id": app_id, "client_id": client_id, "client_secret_hash": secrets.token_hash(client_secret),
            "name": name, "website": website, "redirect_uris": "\n".join(dict.fromkeys(uris)),
            "scopes": " ".join(granted), "created_at": utcnow(),
        })
    return App(app_id, client_id, name, website, list(dict.fromkeys(uris)), granted), client_secret


async def find_app(inst: Instance, client_id: str | None) -> App:
    row = await oauth_store.app_by_client_id(inst.db, client_id or "") if client_id else None
    if row is None:
        raise OAuthError("invalid_client", "Client authentication failed due to unknown client.", 401)
    return App.from_row(row)


async def authenticate_client(inst: Instance, client_id: str | None, client_secret: str | None) -> App:
    row = await oauth_store.app_by_client_id(inst.db, client_id or "") if client_id else None
    if row is None or not client_secret or not hmac.compare_digest(
            row["client_secret_hash"], secrets.token_hash(client_secret)):
        raise OAuthError("invalid_client", "Client authentication failed due to unknown client, no client "
                                           "authentication included, or unsupported authentication method.", 401)
    return App.from_row(row)


async def check_authorization_request(inst: Instance, client_id: str | None, redirect_uri: str | None,
                                      scope: str | None, response_type: str | None,
                                      code_challenge_method: str | None) -> tuple[App, list[str]]:
    """Validate what the authorise page was opened with, before showing anything."""
    app = await find_app(inst, client_id)
    if not redirect_uri or redirect_uri not in app.redirect_uris:
        raise OAuthError("invalid_request", "The redirect URI is not one this app registered.")
    if (response_type or "code") != "code":
        raise OAuthError("unsupported_response_type", "Only response_type=code is supported.")
    if code_challenge_method not in (None, "", "S256"):
        raise OAuthError("invalid_request", "Only the S256 code challenge method is supported.")
    return app, _within_registration(app, parse_scopes(scope))


def _within_registration(app: App, requested: list[str]) -> list[str]:
    """An app gets at most what it registered for (granular parts of it are fine)."""
    if not all(_implies(set(app.scopes), s) for s in requested):
        raise OAuthError("invalid_scope", "The requested scope is more than the app registered.")
    return requested


async def issue_code(inst: Instance, app: App, redirect_uri: str, scopes: list[str],
                     code_challenge: str | None) -> str:
    code = secrets.new_token()
    async with inst.db.transaction() as tx:
        await oauth_store.delete_expired_codes(tx, time.time())
        await oauth_store.insert_code(tx, secrets.token_hash(code), app.id, redirect_uri, " ".join(scopes),
                                      code_challenge or None, time.time() + CODE_LIFETIME)
    return code


def _pkce_ok(verifier: str | None, challenge: str) -> bool:
    if not verifier or not 43 <= len(verifier) <= 128:
        return False
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii", "replace")).digest()).rstrip(b"=")
    return hmac.compare_digest(digest.decode("ascii"), challenge)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    scopes: list[str]
    created_at: int


async def _new_token(tx, inst: Instance, app_id: int, scopes: list[str], for_owner: bool) -> IssuedToken:
    token = secrets.new_token()
    await oauth_store.insert_token(tx, inst.ids.next(), secrets.token_hash(token), app_id, " ".join(scopes),
                                   for_owner, utcnow())
    return IssuedToken(token, scopes, int(time.time()))


async def exchange_code(inst: Instance, app: App, code: str | None, redirect_uri: str | None,
                        code_verifier: str | None) -> IssuedToken:
    if not code:
        raise OAuthError("invalid_request", "The code is missing.")
    async with inst.db.transaction() as tx:
        row = await oauth_store.take_code(tx, secrets.token_hash(code))
        if row is None or row["app_id"] != app.id or row["expires_at"] < time.time():
            raise OAuthError("invalid_grant", "The authorization code is invalid, expired or already used.")
        if redirect_uri is not None and redirect_uri != row["redirect_uri"]:
            raise OAuthError("invalid_grant", "The redirect URI does not match the one used to authorize.")
        if row["code_challenge"] and not _pkce_ok(code_verifier, row["code_challenge"]):
            raise OAuthError("invalid_grant", "The code verifier does not match the code challenge.")
        return await _new_token(tx, inst, app.id, row["scopes"].split(), True)


async def app_token(inst: Instance, app: App, scope: str | None) -> IssuedToken:
    """client_credentials: a token for the app itself, for the few calls that need no owner."""
    scopes = _within_registration(app, parse_scopes(scope))
    async with inst.db.transaction() as tx:
        return await _new_token(tx, inst, app.id, scopes, False)


async def revoke(inst: Instance, app: App, token: str | None) -> None:
    """Idempotent: revoking an unknown token succeeds; another app's token is refused."""
    if not token:
        return
    row = await oauth_store.token_by_hash(inst.db, secrets.token_hash(token))
    if row is None:
        return
    if row["app_id"] != app.id:
        raise OAuthError("unauthorized_client", "You are not authorized to revoke this token", 403)
    async with inst.db.transaction() as tx:
        await oauth_store.delete_token(tx, secrets.token_hash(token), app.id)


async def grant_for(inst: Instance, token: str | None) -> Grant | None:
    if not token or len(token) > 200:
        return None
    digest = secrets.token_hash(token)
    # An app sends its token with every request: what was found is kept until the next commit
    # (a revocation is one) or for a minute, whichever comes first.
    kept = inst.grants.get(digest)
    if kept is not None and kept[0] == inst.db.commits and time.monotonic() < kept[1]:
        return kept[2]
    row = await oauth_store.token_by_hash(inst.db, digest)
    if row is None:
        return None
    now = datetime.now(timezone.utc)
    if row["last_used_at"] is None or row["last_used_at"] < format_time(now - TOUCH_EVERY):
        # For the owner's list of apps ("last used …"); at most once an hour per token.
        async with inst.db.transaction(public=False) as tx:
            await oauth_store.touch_token(tx, row["id"], format_time(now))
    grant = Grant(row["id"], row["app_id"], row["app_name"], row["app_website"], row["scopes"].split(),
                  bool(row["for_owner"]))
    if len(inst.grants) >= GRANTS_KEPT:
        inst.grants.clear()
    inst.grants[digest] = (inst.db.commits, time.monotonic() + 60, grant)
    return grant


async def authorised_apps(inst: Instance) -> list:
    return await oauth_store.authorised_apps(inst.db)


async def revoke_app(inst: Instance, app_id: int) -> int:
    """Sign an app out: every token it holds for the owner stops working."""
    async with inst.db.transaction() as tx:
        return await oauth_store.delete_app_tokens(tx, app_id)


async def find_app_by_id(inst: Instance, app_id: int) -> App:
    row = await oauth_store.app_by_id(inst.db, app_id)
    if row is None:
        raise OAuthError("invalid_client", "The app no longer exists.", 401)
    return App.from_row(row)
