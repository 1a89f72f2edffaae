"""HTTP signatures: sign outgoing requests (draft-cavage) and verify incoming ones (draft-cavage
and RFC 9421), with the strength and time rules Mastodon applies, so we accept what it accepts.

Verification is two steps so the caller can fetch the signer's key in between:
`parse_request_signature` (checks form, coverage and body digests), then `verify_parsed`.
Pure functions: no I/O; all cryptography goes through pyca/cryptography, imported where a
key is used (parsing a request's signature needs none). HttpSignatureAuth, which signs an httpx
client's requests, lives with that client in fetch.py.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timezone
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import SplitResult, urlsplit

from smallfedi.federation import structured_fields as sf

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

CLOCK_SKEW = 3600             # Mastodon's margin on both sides of the validity period
DEFAULT_LIFETIME = 300        # validity when the signer gives no expiry
MAX_LIFETIME = 12 * 3600      # an expiry further away than this is capped
_DEFAULT_PORTS = {"http": 80, "https": 443}


class SignatureError(Exception):
    """The request's signature is missing, malformed, too weak or wrong (answer 401).
    The message is safe to show to the remote peer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ParsedSignature:
    """A signature that passed every check but the key and the clock (see verify_parsed)."""

    scheme: Literal["cavage", "rfc9421"]
    key_id: str
    algorithm: str | None       # as declared; None when an RFC 9421 signature names none
    signature: bytes
    messages: tuple[bytes, ...]  # signed strings to try, in order: one must verify
    created: float              # Unix time
    expires: float | None


# ------------------------------------------------------------------------------------ digests

def _sha256_b64(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def digest_header(body: bytes) -> str:
    """The draft-cavage era `Digest` header value."""
    return "SHA-256=" + _sha256_b64(body)


def content_digest_header(body: bytes) -> str:
    """The RFC 9530 `Content-Digest` header value."""
    return f"sha-256=:{_sha256_b64(body)}:"


# ----------------------------------------------------------------------------------- signing

def sign_headers(method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                 key_id: str, private_key: rsa.RSAPrivateKey, *, now: float | None = None) -> dict[str, str]:
    """The headers to add to a request so that Mastodon, GoToSocial, Fedify… accept it:
    Host, Date, Digest (unless GET/HEAD) and a draft-cavage rsa-sha256 Signature.

    `headers` are the request's other headers; Content-Type (or Accept for GET) is signed
    when present.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    if '"' in key_id:
        raise ValueError("key_id must not contain a double quote")
    parts = urlsplit(url)
    added = {"Host": _host(parts), "Date": formatdate(now, usegmt=True)}
    # The path only, without the query: what Mastodon and Fedify rebuild when they verify.
    values = {**_lowercase(headers), "(request-target)": f"{method.lower()} {parts.path or '/'}",
              "host": added["Host"], "date": added["Date"]}
    names = ["(request-target)", "host", "date"]
    if method.upper() in ("GET", "HEAD"):
        optional = "accept"
    else:
        added["Digest"] = values["digest"] = digest_header(body or b"")
        names.append("digest")
        optional = "content-type"
    if optional in values:
        names.append(optional)
    signing_string = "\n".join(f"{name}: {values[name]}" for name in names).encode("latin-1")
    signature = private_key.sign(signing_string, padding.PKCS1v15(), hashes.SHA256())
    added["Signature"] = (f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
                          f'signature="{base64.b64encode(signature).decode("ascii")}"')
    return added


def _host(parts: SplitResult) -> str:
    """The Host header for a URL: with the port unless it is the scheme's default."""
    if not parts.hostname:
        raise ValueError("URL has no host")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host += f":{parts.port}"
    return host


# ------------------------------------------------------------------------------------ parsing

@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    scheme: str
    authority: str

    def header(self, name: str) -> str:
        if name not in self.headers:
            raise SignatureError(f"signed header {name} is missing")
        return self.headers[name]


def _lowercase(headers: Mapping[str, str]) -> dict[str, str]:
    """Lowercase names; repeated fields (multi-dicts list them once each) joined with ", "."""
    joined: dict[str, str] = {}
    for name, value in headers.items():
        name, value = name.lower(), value.strip()
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return joined


def _request(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
             scheme: str, authority: str | None) -> _Request:
    lowered = _lowercase(headers)
    return _Request(method, path or "/", query or "", lowered, body, scheme.lower(),
                    _normalise_authority(scheme, lowered.get("host", "") if authority is None else authority))


def _normalise_authority(scheme: str, authority: str) -> str:
    """Lowercase, without the scheme's default port, as in a normalised target URI."""
    port = _DEFAULT_PORTS.get(scheme.lower())
    return authority.lower().removesuffix(f":{port}") if port else authority.lower()


def parse_request_signature(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
                            *, scheme: str = "https", authority: str | None = None) -> ParsedSignature:
    """Read and check an incoming request's signature (RFC 9421 when Signature-Input is present,
    else draft-cavage). `path` is the raw, still percent-encoded path and `query` the raw query
    without "?". `scheme` and `authority` (host[:port], default: the Host header) rebuild the
    target URI for RFC 9421. Checks body digests here; the key and the clock come in
    `verify_parsed`."""
    request = _request(method, path, query, headers, body, scheme, authority)
    if "signature-input" in request.headers:
        return _parse_rfc9421(request)
    if "signature" in request.headers:
        return _parse_cavage(request)
    raise SignatureError("request is not signed")


def _encode(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        raise SignatureError("signed values contain unsupported characters") from None


# ------------------------------------------------------------------------------ draft-cavage

_CAVAGE_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^",\s]+))\s*(?:,|\Z)')
_NUMBER = re.compile(r"\d{1,15}(?:\.\d{1,9})?")


def _parse_cavage(request: _Request) -> ParsedSignature:
    params = _cavage_params(request.header("signature"))
    key_id, signature = params.get("keyId"), params.get("signature")
    if not key_id or not signature:
        raise SignatureError("keyId and signature are required")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except ValueError:
        raise SignatureError("the signature is not valid base64") from None
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in ("rsa-sha256", "hs2019"):
        raise SignatureError("unsupported algorithm; use rsa-sha256 or hs2019")
    names = params.get("headers", "(created)" if algorithm == "hs2019" else "date").lower().split()
    _check_cavage_strength(names, request.method.upper())
    if "digest" in names:
        _check_digest(request.header("digest"), request.body)
    created = _number(params, "created") if "(created)" in names else _http_date(request.header("date"))
    # An expiry counts only when signed: an unsigned one could stretch a captured signature.
    expires = _number(params, "expires") if "(expires)" in names else None
    return ParsedSignature("cavage", key_id, algorithm, raw_signature,
                           _cavage_signing_strings(names, params, request), created, expires)


def _cavage_params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    position = 0
    while position < len(value):
        found = _CAVAGE_PARAM.match(value, position)
        if not found or found.group(1) in params:
            raise SignatureError("malformed Signature header")
        params[found.group(1)] = found.group(2) if found.group(2) is not None else found.group(3)
        position = found.end()
    return params


def _check_cavage_strength(names: list[str], method: str) -> None:
    if "date" not in names and "(created)" not in names:
        raise SignatureError("the signature must cover date or (created)")
    if "(request-target)" not in names and "digest" not in names:
        raise SignatureError("the signature must cover (request-target) or digest")
    if method in ("GET", "HEAD") and "host" not in names:
        raise SignatureError("a GET signature must cover host")
    if method == "POST" and "digest" not in names:
        raise SignatureError("a POST signature must cover digest")


def _check_digest(header: str, body: bytes) -> None:
    """A Digest header may list several algorithms; the SHA-256 one must match the body."""
    offered = {}
    for part in header.split(","):
        algorithm, _, value = part.strip().partition("=")
        offered[algorithm.lower()] = value.strip()
    if "sha-256" not in offered:
        raise SignatureError("the Digest header must include SHA-256")
    if offered["sha-256"] != _sha256_b64(body):
        raise SignatureError("the Digest header does not match the body (SHA-256)")


def _number(params: dict[str, str], name: str) -> float:
    value = params.get(name, "")
    if not _NUMBER.fullmatch(value):
        raise SignatureError(f"the {name} parameter must be a Unix timestamp")
    return float(value)


def _http_date(value: str) -> float:
    try:
        date = parsedate_to_datetime(value)
        # A "-0000" zone gives a naive datetime, which timestamp() would read as local time.
        return (date if date.tzinfo else date.replace(tzinfo=timezone.utc)).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        raise SignatureError("the Date header is not a valid HTTP date") from None


def _cavage_signing_strings(names: list[str], params: dict[str, str], request: _Request) -> tuple[bytes, ...]:
    # (request-target) with the query first, then with the path only (Mastodon's and Fedify's signers).
    targets = [f"{request.method.lower()} {request.path}"]
    if request.query and "(request-target)" in names:
        targets.insert(0, f"{request.method.lower()} {request.path}?{request.query}")
    return tuple(_cavage_signing_string(names, params, request, target) for target in targets)


def _cavage_signing_string(names: list[str], params: dict[str, str], request: _Request, target: str) -> bytes:
    lines = []
    for name in names:
        if name == "(request-target)":
            value = target
        elif name in ("(created)", "(expires)"):
            value = params.get(name[1:-1], "")
        elif name.startswith("("):
            raise SignatureError(f"unsupported pseudo-header {name}")
        else:
            value = request.header(name)
        lines.append(f"{name}: {value}")
    # ASGI servers decode header bytes as latin-1, so this re-creates the bytes as received.
    return _encode("\n".join(lines), "latin-1")


# ---------------------------------------------------------------------------------- RFC 9421

_RFC9421_ALGORITHMS = ("rsa-v1_5-sha256", "rsa-pss-sha512", "ed25519", "ecdsa-p256-sha256")


def _parse_rfc9421(request: _Request) -> ParsedSignature:
    inputs = _sf_dictionary(request.headers["signature-input"])
    signatures = _sf_dictionary(request.headers.get("signature", ""))
    label = "sig1" if "sig1" in inputs else next(iter(inputs), "")
    signature_input, signature = inputs.get(label), signatures.get(label)
    if not isinstance(signature_input, sf.InnerList) or not (
            isinstance(signature, sf.Item) and isinstance(signature.value, bytes)):
        raise SignatureError("Signature-Input and Signature must hold a matching signature")
    params = signature_input.params
    key_id, created, expires, algorithm = (params.get(key) for key in ("keyid", "created", "expires", "alg"))
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError("the keyid parameter is required")
    if type(created) is not int or (expires is not None and type(expires) is not int):
        raise SignatureError("created (required) and expires must be integers")
    if algorithm is not None and algorithm not in _RFC9421_ALGORITHMS:
        raise SignatureError("unsupported alg; use " + ", ".join(_RFC9421_ALGORITHMS))
    covered = [item.value for item in signature_input.items]
    for required in ("@method", "@target-uri"):
        if required not in covered:
            raise SignatureError(f"the signature must cover {required}")
    if request.method.upper() == "POST" and "content-digest" not in covered:
        raise SignatureError("a POST signature must cover content-digest")
    if "content-digest" in covered:
        _check_content_digest(request.header("content-digest"), request.body)
    return ParsedSignature("rfc9421", key_id, algorithm, signature.value,
                           (_rfc9421_base(request, signature_input),), created, expires)


def _sf_dictionary(value: str) -> dict[str, sf.Item | sf.InnerList]:
    try:
        return sf.parse_dictionary(value)
    except sf.ParseError as error:
        raise SignatureError(f"malformed structured field: {error}") from None


def _check_content_digest(header: str, body: bytes) -> None:
    member = _sf_dictionary(header).get("sha-256")
    if not (isinstance(member, sf.Item) and isinstance(member.value, bytes)):
        raise SignatureError("the Content-Digest header must include sha-256")
    if member.value != hashlib.sha256(body).digest():
        raise SignatureError("the Content-Digest header does not match the body (sha-256)")


def _rfc9421_base(request: _Request, signature_input: sf.InnerList) -> bytes:
    """The signature base of RFC 9421 §2.5."""
    lines, seen = [], set()
    for component in signature_input.items:
        name = component.value
        if not isinstance(name, str) or isinstance(name, sf.Token) or component.params:
            raise SignatureError("unsupported covered component")
        if name in seen:
            raise SignatureError(f"component {name} is covered twice")
        seen.add(name)
        lines.append(f"{sf.serialize_item(component)}: {_component_value(request, name)}")
    lines.append('"@signature-params": ' + sf.serialize_inner_list(signature_input))
    return _encode("\n".join(lines), "ascii")  # §2.5: a base with non-ASCII characters fails


def _component_value(request: _Request, name: str) -> str:
    if not name.startswith("@"):
        return request.header(name)
    if name in ("@authority", "@target-uri") and not request.authority:
        raise SignatureError("the request has no Host header")
    target = request.path + (f"?{request.query}" if request.query else "")
    derived = {
        "@method": request.method,
        "@scheme": request.scheme,
        "@authority": request.authority,
        "@target-uri": f"{request.scheme}://{request.authority}{target}",
        "@request-target": target,
        "@path": request.path,
        "@query": f"?{request.query}",
    }
    if name not in derived:
        raise SignatureError(f"unsupported derived component {name}")
    return derived[name]


# ------------------------------------------------------------------------------- verification

def verify_parsed(parsed: ParsedSignature, public_key: PublicKey, now: float | None = None) -> None:
    """Raise SignatureError unless the signature is current and verifies with `public_key`."""
    from cryptography.exceptions import InvalidSignature

    _check_time_window(parsed.created, parsed.expires, time.time() if now is None else now)
    verify = _verifier(parsed.algorithm, public_key)
    for message in parsed.messages:
        try:
            verify(public_key, parsed.signature, message)
            return
        except (InvalidSignature, ValueError):
            continue
    raise SignatureError("the signature does not verify")


def verify_request(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
                   public_key: PublicKey, now: float | None = None, scheme: str = "https",
                   authority: str | None = None) -> ParsedSignature:
    """Parse and verify in one step, for callers that already hold the key."""
    parsed = parse_request_signature(method, path, query, headers, body, scheme=scheme, authority=authority)
    verify_parsed(parsed, public_key, now)
    return parsed


def _check_time_window(created: float, expires: float | None, now: float) -> None:
    """Mastodon's window: about 1 h into the future, and 1 h past the (capped) expiry."""
    expires = min(created + DEFAULT_LIFETIME if expires is None else expires, created + MAX_LIFETIME)
    if created > now + CLOCK_SKEW:
        raise SignatureError("the signature was created in the future")
    if now > expires + CLOCK_SKEW:
        raise SignatureError("the signature has expired")


def _verify_ecdsa_p256_sha256(key: ec.EllipticCurvePublicKey, signature: bytes, message: bytes) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    # RFC 9421 §3.3.4: the signature is r and s as two 32-byte big-endian integers, not DER.
    if not isinstance(key.curve, ec.SECP256R1) or len(signature) != 64:
        raise InvalidSignature()
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    key.verify(der, message, ec.ECDSA(hashes.SHA256()))


@functools.cache
def _verifiers() -> dict[str, tuple[type, Callable[[Any, bytes, bytes], None]]]:
    """algorithm → (the key type it needs, verify(key, signature, message) raising InvalidSignature)"""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    return {
        "rsa-v1_5-sha256": (rsa.RSAPublicKey, lambda key, signature, message: key.verify(
            signature, message, padding.PKCS1v15(), hashes.SHA256())),
        "rsa-pss-sha512": (rsa.RSAPublicKey, lambda key, signature, message: key.verify(
            signature, message, padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64), hashes.SHA512())),
        "ed25519": (ed25519.Ed25519PublicKey, lambda key, signature, message: key.verify(signature, message)),
        "ecdsa-p256-sha256": (ec.EllipticCurvePublicKey, _verify_ecdsa_p256_sha256),
    }


def _verifier(algorithm: str | None, key: PublicKey) -> Callable[[Any, bytes, bytes], None]:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if algorithm == "rsa-sha256":
        algorithm = "rsa-v1_5-sha256"
    elif algorithm in (None, "hs2019"):  # both mean "whatever the key is"
        if isinstance(key, rsa.RSAPublicKey):
            algorithm = "rsa-v1_5-sha256"
        elif isinstance(key, ed25519.Ed25519PublicKey):
            algorithm = "ed25519"
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is None:
            algorithm = "ecdsa-p256-sha256"
    entry = _verifiers().get(algorithm) if algorithm else None
    if entry is None or not isinstance(key, entry[0]):
        raise SignatureError("the key does not match the signature algorithm")
    return entry[1]


# --------------------------------------------------------------------------------------- keys

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_MULTICODEC_ED25519 = b"\xed\x01"
_MULTICODEC_RSA = b"\x85\x24"  # 0x1205 as a varint; the key is PKCS#1 DER (Fedify's RSA multikeys)


@functools.lru_cache(maxsize=512)
def load_public_key(pem_or_multibase: str) -> PublicKey:
    """A public key from an SPKI or PKCS#1 PEM (`publicKeyPem`) or a base58btc multikey
    (`publicKeyMultibase`, "z…"). Raises SignatureError for anything unusable.

    Kept for the last 512 texts (well under a MiB): the same few hundred servers sign most of
    what arrives, and parsing a key cost as much as checking the signature with it."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    text = pem_or_multibase.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
        elif text.startswith("z"):
            key = _load_multikey(_base58_decode(text[1:]))
        else:
            raise SignatureError("unsupported public key format")
    except (ValueError, UnsupportedAlgorithm):
        raise SignatureError("unusable public key") from None
    if not isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey, ec.EllipticCurvePublicKey)):
        raise SignatureError("unsupported public key type")
    return key


def _load_multikey(data: bytes) -> PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    if data.startswith(_MULTICODEC_ED25519):
        return ed25519.Ed25519PublicKey.from_public_bytes(data[len(_MULTICODEC_ED25519):])
    if data.startswith(_MULTICODEC_RSA):
        return serialization.load_der_public_key(data[len(_MULTICODEC_RSA):])
    raise SignatureError("unsupported multikey type")


def _base58_decode(text: str) -> bytes:
    if len(text) > 2048:  # bigger than any RSA-8192 key; keeps the quadratic loop cheap
        raise ValueError("too long for a key")
    number = 0
    for char in text:
        digit = _BASE58.find(char)
        if digit < 0:
            raise ValueError("not base58")
        number = number * 58 + digit
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * leading_zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")
