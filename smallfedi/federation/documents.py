"""ActivityStreams documents of the owner's things: the actor, notes, activities, collections.

Shapes follow what Mastodon sends, since every other server is tested against Mastodon.
"""

from __future__ import annotations

from typing import Sequence
from urllib.parse import urlsplit

from smallfedi.core import media as core_media
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, MediaAttachment, Poll, Status

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
# The extension terms Mastodon uses, so JSON-LD processors read our documents the same way.
EXTENSIONS = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    "votersCount": "toot:votersCount",
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
}
CONTEXT = [AS_CONTEXT, SECURITY_CONTEXT, EXTENSIONS]
COLLECTION_PAGE_SIZE = 20
# The types of the files this server writes, by extension (the owner's avatar, header, previews).
IMAGE_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
               "gif": "image/gif", "avif": "image/avif"}


def _day(value: str) -> str:
    """Stored times carry milliseconds; AS2 readers all accept plain seconds."""
    return value[:19] + "Z"


def person(inst: Instance, followers_count: int, following_count: int) -> dict:
    owner = inst.owner
    actor = inst.actor_uri()
    doc = {
        "@context": CONTEXT,
        "id": actor,
        "type": "Person",
        "preferredUsername": owner.username,
        "name": owner.display_name,
        "summary": owner.note,
        "url": inst.profile_url(),
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "followers": f"{actor}/followers",
        "following": f"{actor}/following",
        "featured": f"{actor}/collections/featured",
        "endpoints": {"sharedInbox": f"{inst.base_url}/inbox"},
        "manuallyApprovesFollowers": owner.locked,
        "discoverable": owner.discoverable,
        "indexable": owner.discoverable,
        "published": _day(owner.created_at),
        "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": owner.public_key_pem},
        "attachment": [{"type": "PropertyValue", "name": f.name, "value": f.value} for f in owner.fields],
        "tag": [],
    }
    if owner.avatar_url:
        doc["icon"] = image(owner.avatar_url)
    if owner.header_url:
        doc["image"] = image(owner.header_url)
    return doc


def image(url: str) -> dict:
    """An Image link with its mediaType when the file's extension tells it (as Mastodon sends)."""
    doc = {"type": "Image", "url": url}
    ext = urlsplit(url).path.rsplit("/", 1)[-1].rpartition(".")[2].lower()
    if ext in IMAGE_TYPES:
        doc["mediaType"] = IMAGE_TYPES[ext]
    return doc


def attachment(inst: Instance, m: MediaAttachment) -> dict:
    """One attachment as Mastodon sends it: a Document with its type, size, alt text, blurhash and focus."""
    doc = {"type": "Document", "mediaType": m.mime, "url": core_media.url(inst, m),
           "name": m.description or None, "blurhash": m.blurhash}
    if m.width and m.height:
        doc.update(width=m.width, height=m.height)
    if m.type in ("image", "gifv", "video"):
        doc["focalPoint"] = [m.focus_x, m.focus_y]
    if m.type != "image" and m.preview_file:
        # A video's or audio file's still (Mastodon's thumbnail): readers show it as the preview.
        doc["icon"] = image(core_media.file_url(inst, m.preview_file))
    return doc


def addressing(inst: Instance, visibility: str, mentioned: list[Account]) -> tuple[list[str], list[str]]:
    """(to, cc) by visibility, as Mastodon addresses them."""
    followers = f"{inst.actor_uri()}/followers"
    mentions = [a.uri for a in mentioned]
    if visibility == "public":
        return [PUBLIC], [followers, *mentions]
    if visibility == "unlisted":
        return [followers], [PUBLIC, *mentions]
    if visibility == "private":
        return [followers], mentions
    return mentions, []


def status_to_note(inst: Instance, status: Status, mentioned: list[Account], parent_uri: str | None = None,
                   poll: Poll | None = None, media: Sequence[MediaAttachment] = ()) -> dict:
    to, cc = addressing(inst, status.visibility, mentioned)
    tags = [{"type": "Mention", "href": a.uri, "name": f"@{a.acct(inst.config.domain)}"} for a in mentioned]
    tags += [{"type": "Hashtag", "href": inst.tag_url(t), "name": f"#{t}"} for t in status.tags]
    note = {
        "id": status.uri,
        "type": "Note",
        "attributedTo": inst.actor_uri(),
        "url": status.url,
        "published": _day(status.created_at),
        "to": to,
        "cc": cc,
        "inReplyTo": parent_uri or status.in_reply_to_uri,
        "summary": status.spoiler_text or None,
        "sensitive": status.sensitive,
        "content": status.content,
        "tag": tags,
        "attachment": [attachment(inst, m) for m in media],
    }
    if status.language:
        note["contentMap"] = {status.language: status.content}
    if status.edited_at:
        note["updated"] = _day(status.edited_at)
    if poll is not None:
        note.update(question(poll))
    return note


def question(poll: Poll) -> dict:
    """What makes a post a poll, as Mastodon sends it: `oneOf` (or `anyOf` for several choices)
    with each option's count as `replies.totalItems`, `endTime`, `closed` once over."""
    doc = {
        "type": "Question",
        "anyOf" if poll.multiple else "oneOf": [
            {"type": "Note", "name": o.title, "replies": {"type": "Collection", "totalItems": o.votes_count}}
            for o in poll.options],
        "votersCount": poll.voters_count or 0,
    }
    if poll.expires_at:
        doc["endTime"] = _day(poll.expires_at)
        if poll.expired:
            doc["closed"] = doc["endTime"]
    return doc


def vote(inst: Instance, uri: str, status: Status, author: Account, choice_title: str) -> dict:
    """The owner's vote on someone's poll: a Note named after the option, to the author alone."""
    note = {"id": uri, "type": "Note", "name": choice_title, "attributedTo": inst.actor_uri(),
            "to": [author.uri], "inReplyTo": status.uri}
    return activity(inst, "Create", f"{uri}/activity", note, to=[author.uri])


def with_context(doc: dict) -> dict:
    return {"@context": CONTEXT, **doc}


def activity(inst: Instance, kind: str, uri: str, obj, *, to=None, cc=None, published: str | None = None) -> dict:
    doc = {"@context": CONTEXT, "id": uri, "type": kind, "actor": inst.actor_uri(), "object": obj}
    if to is not None:
        doc["to"] = to
    if cc is not None:
        doc["cc"] = cc
    if published:
        doc["published"] = _day(published)
    return doc


def create(inst: Instance, status: Status, mentioned: list[Account], poll: Poll | None = None,
           media: Sequence[MediaAttachment] = ()) -> dict:
    note = status_to_note(inst, status, mentioned, poll=poll, media=media)
    return activity(inst, "Create", f"{status.uri}/activity", note, to=note["to"], cc=note["cc"],
                    published=status.created_at)


def update_note(inst: Instance, status: Status, mentioned: list[Account], uri: str,
                poll: Poll | None = None, media: Sequence[MediaAttachment] = ()) -> dict:
    note = status_to_note(inst, status, mentioned, poll=poll, media=media)
    return activity(inst, "Update", uri, note, to=note["to"], cc=note["cc"], published=status.edited_at)


def delete_note(inst: Instance, status: Status, mentioned: list[Account], uri: str) -> dict:
    to, cc = addressing(inst, status.visibility, mentioned)
    return activity(inst, "Delete", uri, {"id": status.uri, "type": "Tombstone", "atomUri": status.uri},
                    to=to, cc=cc)


def announce(inst: Instance, boost: Status, original: Status, author: Account) -> dict:
    to = [PUBLIC]
    cc = [author.uri, f"{inst.actor_uri()}/followers"]
    return activity(inst, "Announce", boost.uri, original.uri, to=to, cc=cc, published=boost.created_at)


def ordered_collection(uri: str, total: int, first: str | None) -> dict:
    doc = {"@context": CONTEXT, "id": uri, "type": "OrderedCollection", "totalItems": total}
    if first:
        doc["first"] = first
    return doc


def collection_page(uri: str, part_of: str, items: list, next_uri: str | None, prev_uri: str | None) -> dict:
    doc = {"@context": CONTEXT, "id": uri, "type": "OrderedCollectionPage", "partOf": part_of,
           "orderedItems": items}
    if next_uri:
        doc["next"] = next_uri
    if prev_uri:
        doc["prev"] = prev_uri
    return doc
