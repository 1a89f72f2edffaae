"""Web Push on the wire: an encrypted body and the headers that go with it.

Encryption is http_ece's (RFC 8188 records; RFC 8291 `aes128gcm` for standard subscriptions, the
older draft-04 `aesgcm` with Encryption/Crypto-Key headers for the rest, which Mastodon's iOS
apps and their relays still decrypt). The VAPID token (RFC 8292) is an ES256 JWT signed with
`cryptography`. Nothing here touches the database or the network; both libraries are imported
when a push is first built.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from smallfedi.core.push import b64url, public_point

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

TTL = 48 * 3600             # how long the push service may hold a push for an offline device (Mastodon's)
JWT_LIFETIME = 12 * 3600    # RFC 8292 allows at most 24 hours
RECORD_SIZE = 4096          # one record: every payload we send is far smaller
MAX_PLAINTEXT = RECORD_SIZE - 17 - 86  # what fits one aes128gcm record and its header


def origin(url: str) -> str:
    """scheme://host[:port], the port only when it is not the scheme's own."""
    parts = urlsplit(url)
    scheme, netloc = parts.scheme.lower(), parts.netloc.lower().rpartition("@")[2]
    default = {"https": ":443", "http": ":80"}.get(scheme)
    if default and netloc.endswith(default):
        netloc = netloc[: -len(default)]
    return f"{scheme}://{netloc}"


def vapid_jwt(key: ec.EllipticCurvePrivateKey, endpoint: str, subject: str, now: float | None = None) -> str:
    """RFC 8292 §2: aud is the push service's origin, exp at most a day ahead, sub a contact."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    claims = {"aud": origin(endpoint),
              "exp": int((time.time() if now is None else now) + JWT_LIFETIME), "sub": subject}
    header = {"typ": "JWT", "alg": "ES256"}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64url(json.dumps(claims, separators=(",", ":")).encode()))
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
    # JWS wants the raw r || s, 32 bytes each, not DER.
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


@dataclass(frozen=True)
class PushRequest:
    body: bytes
    headers: dict[str, str]


def encrypt(payload: bytes, p256dh: bytes, auth: bytes, *, standard: bool,
            salt: bytes | None = None, ephemeral: ec.EllipticCurvePrivateKey | None = None) -> tuple[bytes, dict]:
    """The encrypted body and its encoding headers. `salt` and `ephemeral` are for test vectors;
    otherwise both are fresh for every push, as they must be."""
    import http_ece
    from cryptography.hazmat.primitives.asymmetric import ec

    if len(payload) > MAX_PLAINTEXT:
        raise ValueError("push payload too large")
    salt = os.urandom(16) if salt is None else salt
    ephemeral = ec.generate_private_key(ec.SECP256R1()) if ephemeral is None else ephemeral
    if standard:
        # RFC 8291: salt, record size and our public key travel in the body's header.
        body = http_ece.encrypt(payload, salt=salt, private_key=ephemeral, dh=p256dh, auth_secret=auth,
                                rs=RECORD_SIZE, version="aes128gcm")
        return body, {"Content-Encoding": "aes128gcm"}
    body = http_ece.encrypt(payload, salt=salt, private_key=ephemeral, dh=p256dh, auth_secret=auth,
                            rs=RECORD_SIZE, version="aesgcm")
    return body, {"Content-Encoding": "aesgcm", "Encryption": f"salt={b64url(salt)}",
                  "Crypto-Key": f"dh={b64url(public_point(ephemeral))}"}


def build_request(payload: dict, *, endpoint: str, p256dh: bytes, auth: bytes, standard: bool,
                  vapid_key: ec.EllipticCurvePrivateKey, vapid_public: str, subject: str,
                  ttl: int = TTL) -> PushRequest:
    plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    body, headers = encrypt(plaintext, p256dh, auth, standard=standard)
    token = vapid_jwt(vapid_key, endpoint, subject)
    headers = {"Content-Type": "application/octet-stream", "TTL": str(ttl), "Urgency": "normal", **headers}
    if standard:
        headers["Authorization"] = f"vapid t={token}, k={vapid_public}"
    else:
        # The draft VAPID form the legacy encoding goes with: the key rides in Crypto-Key.
        headers["Authorization"] = f"WebPush {token}"
        headers["Crypto-Key"] = f"{headers['Crypto-Key']};p256ecdsa={vapid_public}"
    return PushRequest(body, headers)
