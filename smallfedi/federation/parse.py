"""Incoming ActivityStreams documents to the core's plain values, checked and sanitised.

Remote JSON is untrusted and shapes vary (a value, an object, a list of either); every
accessor here tolerates that and a `ParseError` says what was wrong, never a KeyError.
"""

from __future__ import annotations

import html
import math
import re
from datetime import datetime, timezone
from urllib.parse import urlsplit

from smallfedi.core.media import MAX_DESCRIPTION, MAX_REMOTE_ATTACHMENTS
from smallfedi.core.models import ActorInfo, AttachmentInfo, NoteInfo, PollInfo, PollOption
from smallfedi.store.db import format_time
from smallfedi.text import sanitize_html

PUBLIC_IDS = {"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"}
ACTOR_TYPES = {"Person", "Service", "Application", "Group", "Organization"}
NOTE_TYPES = {"Note", "Article", "Question", "Page"}
MAX_TEXT = 100_000  # characters of content we keep from one post
MAX_POLL_OPTIONS = 20  # of a remote Question (Mastodon allows 4 of its own)
MAX_COUNT = 1_000_000_000


class ParseError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def id_of(value) -> str | None:
    """The id of a reference that may be a string or an embedded object."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def first_url(value) -> str | None:
    for item in as_list(value):
        if isinstance(item, str) and item.startswith(("http://", "https://")):
            return item
        if isinstance(item, dict):
            href = item.get("href") or item.get("url")
            if isinstance(href, str) and href.startswith(("http://", "https://")):
                return href
            nested = first_url(href) if isinstance(href, (list, dict)) else None
            if nested:
                return nested
    return None


def types_of(doc: dict) -> set[str]:
    return {t for t in as_list(doc.get("type")) if isinstance(t, str)}


def text(value, limit: int = 5000) -> str:
    return value[:limit] if isinstance(value, str) else ""


def parse_time(value) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return format_time(when)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(a: str, b: str) -> bool:
    return origin(a) == origin(b)


def _public_key(doc: dict, actor_id: str) -> tuple[str | None, str | None]:
    for key in as_list(doc.get("publicKey")):
        if isinstance(key, dict) and isinstance(key.get("publicKeyPem"), str):
            owner = key.get("owner", actor_id)
            if owner == actor_id and isinstance(key.get("id"), str):
                return key["id"], key["publicKeyPem"]
    return None, None


def _name_from_id(actor_id: str) -> str:
    segments = [s for s in urlsplit(actor_id).path.split("/") if s]
    name = re.sub(r"[^A-Za-z0-9_.-]", "", segments[-1] if segments else "")[:100]
    return name or "actor"


def actor_info(doc: dict) -> ActorInfo:
    actor_id = doc.get("id")
    if not isinstance(actor_id, str) or not actor_id.startswith(("http://", "https://")):
        raise ParseError("actor has no valid id")
    if not types_of(doc) & ACTOR_TYPES:
        raise ParseError("document is not an actor")
    username = doc.get("preferredUsername")
    if not isinstance(username, str) or not username or len(username) > 200:
        # preferredUsername is optional in ActivityPub (pasture's emily and frank have none):
        # name such an actor after the last segment of its id rather than refuse it.
        username = _name_from_id(actor_id)
    inbox = doc.get("inbox")
    if not isinstance(inbox, str) or not same_origin(inbox, actor_id):
        raise ParseError("actor has no inbox on its own server")
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    shared = endpoints.get("sharedInbox")
    shared = shared if isinstance(shared, str) and same_origin(shared, actor_id) else None
    key_id, key_pem = _public_key(doc, actor_id)
    fields = tuple(
        (html.unescape(text(a.get("name"), 255)), sanitize_html(text(a.get("value"), 2000)))
        for a in as_list(doc.get("attachment"))[:16]
        if isinstance(a, dict) and a.get("type") == "PropertyValue"
    )

    def same_origin_url(key: str) -> str | None:
        value = doc.get(key)
        return value if isinstance(value, str) and same_origin(value, actor_id) else None

    return ActorInfo(
        uri=actor_id, username=username, domain=urlsplit(actor_id).netloc.lower(), inbox_url=inbox,
        shared_inbox_url=shared, public_key_pem=key_pem, key_id=key_id, url=first_url(doc.get("url")) or actor_id,
        display_name=html.unescape(text(doc.get("name"), 200)), note=sanitize_html(text(doc.get("summary"), 10_000)),
        fields=fields, locked=doc.get("manuallyApprovesFollowers") is True, bot=bool(types_of(doc) - {"Person"}),
        discoverable=doc.get("discoverable") is True, avatar_url=first_url(doc.get("icon")),
        header_url=first_url(doc.get("image")), outbox_url=same_origin_url("outbox"),
        followers_url=same_origin_url("followers"), following_url=same_origin_url("following"),
        featured_url=same_origin_url("featured"), actor_type=sorted(types_of(doc) & ACTOR_TYPES)[0],
        also_known_as=tuple(u for u in as_list(doc.get("alsoKnownAs"))[:20] if isinstance(u, str)),
        moved_to_uri=doc.get("movedTo") if isinstance(doc.get("movedTo"), str) else None,
        published=parse_time(doc.get("published")),
    )


def visibility_of(doc: dict, followers_url: str | None) -> str:
    to = {id_of(x) for x in as_list(doc.get("to"))}
    cc = {id_of(x) for x in as_list(doc.get("cc"))}
    if to & PUBLIC_IDS:
        return "public"
    if cc & PUBLIC_IDS:
        return "unlisted"
    if followers_url and followers_url in (to | cc):
        return "private"
    return "direct"


def note_info(doc: dict, followers_url: str | None = None) -> NoteInfo:
    note_id = doc.get("id")
    if not isinstance(note_id, str) or not note_id.startswith(("http://", "https://")):
        raise ParseError("object has no valid id")
    if not types_of(doc) & NOTE_TYPES:
        raise ParseError(f"object type {doc.get('type')!r} is not a post")
    authors = [id_of(a) for a in as_list(doc.get("attributedTo"))]
    author = next((a for a in authors if a), None)
    if author is None:
        raise ParseError("post has no attributedTo")
    if not same_origin(note_id, author):
        raise ParseError("post id and author are on different servers")
    content = doc.get("content")
    if not isinstance(content, str):
        content_map = doc.get("contentMap")
        content = next((v for v in content_map.values() if isinstance(v, str)), "") \
            if isinstance(content_map, dict) else ""
    language = None
    if isinstance(doc.get("contentMap"), dict) and doc["contentMap"]:
        candidate = next(iter(doc["contentMap"]))
        language = candidate.split("-")[0].lower() if isinstance(candidate, str) and len(candidate) <= 10 else None
    body = sanitize_html(content[:MAX_TEXT])
    if "Article" in types_of(doc) or "Page" in types_of(doc):
        # Mastodon shows an article as its title and a link, not the whole text.
        title = html.escape(text(doc.get("name"), 500))
        link = html.escape(first_url(doc.get("url")) or note_id)
        body = sanitize_html(f'<p><strong>{title}</strong></p><p><a href="{link}">{link}</a></p>') if title else body
    published = parse_time(doc.get("published")) or format_time(datetime.now(timezone.utc))
    mentions = tuple(t["href"] for t in as_list(doc.get("tag"))[:100]
                     if isinstance(t, dict) and t.get("type") == "Mention" and isinstance(t.get("href"), str))
    tags = tuple(dict.fromkeys(
        t["name"].lstrip("#").lower()[:100] for t in as_list(doc.get("tag"))[:100]
        if isinstance(t, dict) and t.get("type") == "Hashtag" and isinstance(t.get("name"), str)
        and t["name"].lstrip("#")))
    return NoteInfo(
        uri=note_id, author_uri=author, content=body, published=published,
        visibility=visibility_of(doc, followers_url), url=first_url(doc.get("url")),
        spoiler_text=html.unescape(text(doc.get("summary"), 1000)) if isinstance(doc.get("summary"), str) else "",
        sensitive=doc.get("sensitive") is True, language=language, updated=parse_time(doc.get("updated")),
        in_reply_to_uri=id_of(doc.get("inReplyTo")), mentions=mentions, tags=tags,
        poll=poll_info(doc) if "Question" in types_of(doc) else None, attachments=attachments(doc),
    )


def _count(value) -> int:
    """A count from afar: a non-negative integer, capped (SQLite's integers end at 2**63)."""
    return min(value, MAX_COUNT) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def poll_info(doc: dict) -> PollInfo | None:
    """A Question's choices (`oneOf`, or `anyOf` for several) with their counts
    (`replies.totalItems`), `endTime`, `closed` and `votersCount`; None for an open question."""
    multiple = bool(as_list(doc.get("anyOf"))) and not as_list(doc.get("oneOf"))
    options = []
    for item in as_list(doc.get("anyOf" if multiple else "oneOf"))[:MAX_POLL_OPTIONS]:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"].strip():
            replies = item.get("replies") if isinstance(item.get("replies"), dict) else {}
            options.append(PollOption(text(item["name"], 500), _count(replies.get("totalItems"))))
    if not options:
        return None
    closed = doc.get("closed")
    closed_at = (parse_time(closed) or format_time(datetime.now(timezone.utc))) if closed not in (None, False) \
        else None
    voters = doc.get("votersCount")
    return PollInfo(options=tuple(options), multiple=multiple, expires_at=parse_time(doc.get("endTime")),
                    closed_at=closed_at, voters_count=_count(voters) if voters is not None else None)


# ------------------------------------------------------------------------------------ attachments

MAX_URL = 2048
MAX_SIDE = 100_000  # pixels; larger is a lie, not a picture
MEDIA_TYPE_RE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")
BLURHASH_RE = re.compile(r"[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]{6,100}")
BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
AS_MEDIA = {"Image": "image", "Video": "video", "Audio": "audio"}
TAG_RE = re.compile(r"<[^>]*>")
BREAK_RE = re.compile(r"<br\s*/?>|</p>\s*<p[^>]*>", re.IGNORECASE)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def attachments(doc: dict) -> tuple[AttachmentInfo, ...]:
    """A post's media, as links to their origin: Mastodon's Documents, GoToSocial's Image/Video/Audio,
    the url lists of PeerTube and Misskey. Entries without a usable http(s) URL are left out, and so
    are profile fields (PropertyValue) and link previews (Link), which are no media."""
    found = []
    for item in as_list(doc.get("attachment"))[:MAX_REMOTE_ATTACHMENTS * 4]:
        if not isinstance(item, dict) or types_of(item) & {"PropertyValue", "Link", "Hashtag", "Mention"}:
            continue
        info = attachment_info(item)
        if info is not None:
            found.append(info)
            if len(found) == MAX_REMOTE_ATTACHMENTS:
                break
    return tuple(found)


def attachment_info(item: dict) -> AttachmentInfo | None:
    url, link_type = _media_link(item.get("url"))
    if url is None:
        return None
    mime = _media_type(item.get("mediaType")) or link_type
    return AttachmentInfo(
        url=url, type=_kind(mime, types_of(item)), mime=mime, description=_description(item),
        blurhash=_blurhash(item.get("blurhash")), width=_side(item.get("width")), height=_side(item.get("height")),
        focus=_focus(item.get("focalPoint")), preview_url=_media_link(item.get("icon"))[0])


def _safe_url(value) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_URL or not value.startswith(("https://", "http://")):
        return None
    if any(c <= " " or c == "\x7f" for c in value):
        return None
    try:
        return value if urlsplit(value).hostname else None
    except ValueError:
        return None


def _media_link(value, depth: int = 0) -> tuple[str | None, str]:
    """(URL, its mediaType if the link says) from a string, a Link or Image object, or a list of
    them; a link to an image, video or audio file wins over one to a web page."""
    candidates: list[tuple[str, str]] = []
    for item in as_list(value)[:20]:
        if isinstance(item, str):
            url, kind = _safe_url(item), ""
        elif isinstance(item, dict):
            href = item.get("href") or item.get("url")
            url, kind = _safe_url(href), _media_type(item.get("mediaType"))
            if url is None and isinstance(href, (list, dict)) and depth < 2:
                url, nested = _media_link(href, depth + 1)
                kind = kind or nested
        else:
            continue
        if url is not None:
            candidates.append((url, kind))
    for url, kind in candidates:
        if kind.split("/")[0] in ("image", "video", "audio"):
            return url, kind
    return candidates[0] if candidates else (None, "")


def _media_type(value) -> str:
    value = value.split(";")[0].strip().lower() if isinstance(value, str) else ""
    return value if MEDIA_TYPE_RE.fullmatch(value) else ""


def _kind(mime: str, types: set[str]) -> str:
    """Mastodon's words. A remote GIF stays an image: whether it moves is known only once decoded."""
    major = mime.split("/")[0]
    if major in ("image", "video", "audio"):
        return major
    return next((AS_MEDIA[t] for t in sorted(types) if t in AS_MEDIA), "unknown")


def _description(item: dict) -> str:
    """Alt text as plain text: `name` (plain by definition), else `summary` (HTML, as GoToSocial
    may send it)."""
    name, summary = item.get("name"), item.get("summary")
    if isinstance(name, str) and name.strip():
        value = name
    elif isinstance(summary, str) and summary.strip():
        value = html.unescape(TAG_RE.sub("", BREAK_RE.sub("\n", summary[:MAX_DESCRIPTION * 4])))
    else:
        return ""
    return CONTROL_RE.sub("", value.replace("\r\n", "\n")).strip()[:MAX_DESCRIPTION]


def _blurhash(value) -> str | None:
    """Kept only when it decodes: base83, and as long as its size byte says."""
    if not isinstance(value, str) or not BLURHASH_RE.fullmatch(value):
        return None
    size = BASE83.index(value[0])
    return value if len(value) == 4 + 2 * (size % 9 + 1) * (size // 9 + 1) else None


def _side(value) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_SIDE:
        return value
    return None


def _focus(value) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        return 0.0, 0.0
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return 0.0, 0.0
    x, y = (max(-1.0, min(1.0, float(v))) for v in value)
    return x, y
