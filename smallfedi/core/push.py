"""Web Push: the apps' subscriptions, and which notifications become pushes.

Each access token may hold one subscription (as in Mastodon): where to push (the endpoint of
the phone's push service or the app's relay), the app's keys, which kinds of notification it
wants and from whom (the policy). When a notification is made, `enqueue_for_notification`
adds a row to the push queue in the same transaction, so a push is never lost to a crash and
never sent for a notification that was rolled back. The federation face's push worker sends
the rows; `payload_for` says what each carries.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit

from smallfedi.core.errors import Invalid, NotFound
from smallfedi.store import push as push_store
from smallfedi.store.db import utcnow

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

    from smallfedi.core.instance import Instance

log = logging.getLogger("smallfedi.push")

# The alerts of Mastodon's WebPushSubscription; apps expect every key in the answer.
ALERTS = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
          "admin.sign_up", "admin.report")
POLICIES = ("all", "followed", "follower", "none")
# Stored notification types that answer to another alert (an emoji reaction is a favourite).
ALERT_OF = {"reaction": "favourite"}
MAX_ENDPOINT = 2048
BODY_CHARS = 140       # Mastodon's length for the text under the title
NAME_CHARS = 100
LOCALE = "en"

# ------------------------------------------------------------------------------------ keys
# cryptography is imported where a key is made, loaded or checked: an instance that has its
# key and no subscriptions never loads it.


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """base64url or standard base64, padded or not (apps send all four). ValueError if neither."""
    cleaned = "".join(text.split()).replace("+", "-").replace("/", "_").rstrip("=")
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64") from exc


def public_point(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """A P-256 public key as its uncompressed point (65 bytes: 0x04, X, Y)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def new_vapid_key() -> tuple[str, str]:
    """A VAPID key pair: (private key as PKCS#8 PEM, public key as base64url uncompressed point)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode("ascii")
    return pem, b64url(public_point(key))


async def add_vapid_key(tx) -> None:
    """Inside `smallfedi init`'s transaction: the new instance's key."""
    pem, public = new_vapid_key()
    await push_store.insert_vapid_key(tx, pem, public, utcnow())


async def ensure_vapid_key(db) -> str:
    """The instance's VAPID public key, made now for a database from before Web Push."""
    row = await push_store.get_vapid_key(db)
    if row is None:
        async with db.transaction() as tx:
            await add_vapid_key(tx)
        row = await push_store.get_vapid_key(db)
        log.info("created the instance's Web Push (VAPID) key")
    return row["public_key"]


async def vapid_private_key(inst: "Instance") -> ec.EllipticCurvePrivateKey:
    row = await push_store.get_vapid_key(inst.db)
    if row is None:
        raise RuntimeError("the instance has no VAPID key")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(row["private_key_pem"].encode("ascii"), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise RuntimeError("the instance's VAPID key is not a P-256 key")
    return key


# --------------------------------------------------------------------------- subscriptions

@dataclass(frozen=True)
class Subscription:
    id: int
    endpoint: str
    standard: bool
    alerts: dict[str, bool]
    policy: str

    @classmethod
    def from_row(cls, row) -> "Subscription":
        stored = json.loads(row["alerts_json"] or "{}")
        return cls(id=row["id"], endpoint=row["endpoint"], standard=bool(row["standard"]),
                   alerts={name: bool(stored.get(name, False)) for name in ALERTS}, policy=row["policy"])


def _check_endpoint(inst: "Instance", endpoint: str | None) -> str:
    endpoint = (endpoint or "").strip()
    if not endpoint:
        raise Invalid("Validation failed: Endpoint can't be blank")
    if len(endpoint) > MAX_ENDPOINT or any(c.isspace() for c in endpoint):
        raise Invalid("Validation failed: Endpoint is invalid")
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise Invalid("Validation failed: Endpoint is invalid") from None
    schemes = ("https", "http") if inst.config.federation.allow_private_addresses else ("https",)
    if parts.scheme.lower() not in schemes or not parts.hostname or parts.username or parts.password:
        raise Invalid("Validation failed: Endpoint must be an https URL")
    return endpoint


def _check_keys(p256dh: str | None, auth: str | None) -> tuple[str, str]:
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        point = b64url_decode(p256dh or "")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        if len(point) != 65:
            raise ValueError("not an uncompressed point")
    except (ValueError, TypeError):
        raise Invalid("Validation failed: Keys p256dh must be a P-256 public key (65 bytes, base64url)") from None
    try:
        secret = b64url_decode(auth or "")
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise Invalid("Validation failed: Keys auth must be 16 bytes (base64url)")
    return b64url(point), b64url(secret)


def _check_policy(policy: str | None, default: str) -> str:
    if policy is None or policy == "":
        return default
    if policy not in POLICIES:
        raise Invalid(f"Validation failed: Policy must be one of {', '.join(POLICIES)}")
    return policy


def _alerts(given: dict[str, bool] | None, base: dict[str, bool] | None = None) -> dict[str, bool]:
    alerts = {name: False for name in ALERTS} if base is None else dict(base)
    for name, value in (given or {}).items():
        if name in alerts:
            alerts[name] = bool(value)
    return alerts


async def subscribe(inst: "Instance", token_id: int, access_token: str, *, endpoint: str | None,
                    p256dh: str | None, auth: str | None, standard: bool = False,
                    alerts: dict[str, bool] | None = None, policy: str | None = None) -> Subscription:
    """Subscribe the token, replacing any subscription it had. Alerts not named are off."""
    endpoint = _check_endpoint(inst, endpoint)
    p256dh, auth = _check_keys(p256dh, auth)
    now = utcnow()
    values = {
        "token_id": token_id, "access_token": access_token, "endpoint": endpoint, "p256dh": p256dh,
        "auth": auth, "standard": int(bool(standard)), "alerts_json": json.dumps(_alerts(alerts)),
        "policy": _check_policy(policy, "all"), "created_at": now, "updated_at": now,
    }
    async with inst.db.transaction() as tx:
        await push_store.replace_subscription(tx, values)
    return await get(inst, token_id)


async def get(inst: "Instance", token_id: int) -> Subscription:
    row = await push_store.subscription_for_token(inst.db, token_id)
    if row is None:
        raise NotFound("Record not found")
    return Subscription.from_row(row)


async def update(inst: "Instance", token_id: int, *, alerts: dict[str, bool] | None = None,
                 policy: str | None = None) -> Subscription:
    """Change alerts (those named; the rest stay) and the policy (if given)."""
    current = await get(inst, token_id)
    merged = _alerts(alerts, current.alerts)
    async with inst.db.transaction() as tx:
        changed = await push_store.update_subscription(tx, token_id, json.dumps(merged),
                                                       _check_policy(policy, current.policy), utcnow())
    if not changed:
        raise NotFound("Record not found")
    return await get(inst, token_id)


async def unsubscribe(inst: "Instance", token_id: int) -> None:
    async with inst.db.transaction() as tx:
        await push_store.delete_subscription_for_token(tx, token_id)


# ---------------------------------------------------------------------------------- queueing

# Per instance: how to wake its push worker once a transaction with new rows has committed.
_wakers: "weakref.WeakKeyDictionary[Instance, Callable[[], None]]" = weakref.WeakKeyDictionary()


def set_waker(inst: "Instance", wake: Callable[[], None] | None) -> None:
    if wake is None:
        _wakers.pop(inst, None)
    else:
        _wakers[inst] = wake


def wake(inst: "Instance") -> None:
    """Have the push worker look at the queue now (after a change to it made elsewhere)."""
    waker = _wakers.get(inst)
    if waker is not None:
        waker()


def _wanted(sub, alert: str, relation) -> bool:
    try:
        alerts = json.loads(sub["alerts_json"] or "{}")
    except ValueError:
        return False
    if not alerts.get(alert):
        return False
    policy = sub["policy"]
    if policy == "followed":
        return bool(relation["owner_follows"])
    if policy == "follower":
        return bool(relation["follows_owner"])
    return policy == "all"


async def enqueue_for_notification(tx, inst: "Instance", notification_id: int, type_: str,
                                   account_id: int) -> int:
    """Inside the transaction that made the notification: queue a push for every subscription
    that wants it (its alert is on, its policy lets the account through). Returns how many.

    A fault here is logged, never raised: the notification matters more than its push."""
    try:
        subscriptions = await push_store.subscriptions_in(tx)
        if not subscriptions:
            return 0
        relation = await push_store.relation_in(tx, inst.owner.id, account_id)
        if relation["silenced"]:
            return 0
        alert = ALERT_OF.get(type_, type_)
        wanted = [sub["id"] for sub in subscriptions if _wanted(sub, alert, relation)]
        if not wanted:
            return 0
        count = await push_store.enqueue(tx, wanted, notification_id, time.time())
    except Exception:  # noqa: BLE001
        log.exception("could not queue the pushes of notification %s", notification_id)
        return 0
    waker = _wakers.get(inst)
    if waker is not None:
        inst.db.after_commit(waker)
    return count


# ----------------------------------------------------------------------------------- payload

TITLES = {
    "mention": "{name} mentioned you",
    "status": "New post by {name}",
    "reblog": "{name} boosted your post",
    "follow": "{name} is now following you",
    "follow_request": "Pending follower: {name}",
    "favourite": "{name} favorited your post",
    "poll": "A poll has ended",
    "update": "{name} edited a post",
}


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def payload_for(inst: "Instance", notification_id: int, access_token: str) -> dict | None:
    """What a push carries, as Mastodon sends it; None when the notification is gone."""
    from smallfedi.text import plain_text

    row = await push_store.notification_for_push(inst.db, notification_id)
    if row is None:
        return None
    type_ = ALERT_OF.get(row["type"], row["type"])
    name = _shorten(row["display_name"] or row["username"], NAME_CHARS)
    if type_ == "favourite" and row["emoji"]:
        title = f"{name} reacted with {_shorten(row['emoji'], 40)} to your post"
    else:
        title = TITLES.get(type_, "{name}").format(name=name)
    source = row["status_spoiler"] or row["status_content"] or row["note"] or ""
    body = _shorten(plain_text(source), BODY_CHARS)
    icon = row["avatar_url"] or f"{inst.base_url}/static/avatar.png"
    return {
        "access_token": access_token,
        "preferred_locale": LOCALE,
        "notification_id": int(row["id"]),
        "notification_type": type_,
        "icon": icon,
        "title": title,
        "body": body,
    }
