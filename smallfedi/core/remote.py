"""What the world does to the owner: the core side of every inbound activity.

The federation face has already verified the signature, checked origins and parsed the JSON
into plain values; these functions only change the database. Each is idempotent, so a
repeated delivery changes nothing.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import replace
from datetime import datetime, timezone

from smallfedi.core import media, polls, push
from smallfedi.core.errors import NotFound
from smallfedi.core.events import emit
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, ActorInfo, AttachmentInfo, NoteInfo, Status
from smallfedi.core.reading import load_status
from smallfedi.ids import id_for_time
from smallfedi.store import accounts as accounts_store
from smallfedi.store import follows as follows_store
from smallfedi.store import interactions as interactions_store
from smallfedi.store import media as media_store
from smallfedi.store import statuses as statuses_store
from smallfedi.store.db import utcnow

log = logging.getLogger("smallfedi.remote")


async def remember_actor(inst: Instance, info: ActorInfo) -> Account:
    fields = json.dumps([{"name": n, "value": v, "value_source": ""} for n, v in info.fields])
    values = {
        "username": info.username, "domain": info.domain.lower(), "uri": info.uri, "url": info.url,
        "display_name": info.display_name, "note": info.note, "fields_json": fields, "locked": int(info.locked),
        "bot": int(info.bot), "discoverable": int(info.discoverable), "avatar_url": info.avatar_url,
        "header_url": info.header_url, "inbox_url": info.inbox_url, "shared_inbox_url": info.shared_inbox_url,
        "outbox_url": info.outbox_url, "followers_url": info.followers_url, "following_url": info.following_url,
        "featured_url": info.featured_url, "public_key_pem": info.public_key_pem, "key_id": info.key_id,
        "actor_type": info.actor_type, "also_known_as_json": json.dumps(list(info.also_known_as)),
        "moved_to_uri": info.moved_to_uri, "created_at": info.published or utcnow(), "fetched_at": utcnow(),
    }
    async with inst.db.transaction() as tx:
        account_id = await accounts_store.upsert_remote(tx, inst.ids.next(), values, utcnow())
    return Account.from_row(await accounts_store.get(inst.db, account_id))


async def account_by_uri(inst: Instance, uri: str) -> Account | None:
    row = await accounts_store.get_by_uri(inst.db, uri)
    return Account.from_row(row) if row else None


async def _notify(tx, inst: Instance, type_: str, account: Account, status_id: int | None = None,
                  emoji: str | None = None) -> None:
    notification_id = inst.ids.next()
    await interactions_store.add_notification(tx, notification_id, type_, account.id, status_id, utcnow(), emoji)
    emit(inst, "notification", notification_id)
    # Web Push: queued in this transaction, sent once it commits.
    await push.enqueue_for_notification(tx, inst, notification_id, type_, account.id)


# Follows

async def receive_follow(inst: Instance, actor: Account, follow_uri: str) -> None:
    """Someone follows the owner: accepted at once, or a request when the account is locked."""
    owner = inst.owner
    if actor.id == owner.id:
        return
    existing = await follows_store.get(inst.db, actor.id, owner.id)
    async with inst.db.transaction() as tx:
        if existing and existing["accepted"]:
            # Already following (their Accept may have been lost): accept again, no new notification.
            await follows_store.upsert(tx, existing["id"], actor.id, owner.id, follow_uri, True, utcnow())
            await inst.federation.publish_accept(tx, follow_uri, actor)
            return
        accepted = not owner.locked
        await follows_store.upsert(tx, inst.ids.next(), actor.id, owner.id, follow_uri, accepted, utcnow())
        if existing is None:
            await _notify(tx, inst, "follow" if accepted else "follow_request", actor)
        if accepted:
            await inst.federation.publish_accept(tx, follow_uri, actor)


async def receive_undo_follow(inst: Instance, actor: Account) -> None:
    async with inst.db.transaction() as tx:
        await follows_store.delete(tx, actor.id, inst.owner.id)
        await interactions_store.remove_notifications(tx, "follow_request", actor.id)


async def receive_accept(inst: Instance, actor: Account) -> None:
    async with inst.db.transaction() as tx:
        await follows_store.accept(tx, inst.owner.id, actor.id)


async def receive_reject(inst: Instance, actor: Account) -> None:
    """A Reject of our Follow, or their removing the owner from their followers."""
    async with inst.db.transaction() as tx:
        await follows_store.delete(tx, inst.owner.id, actor.id)


async def receive_block(inst: Instance, actor: Account) -> None:
    """They blocked the owner: the follows end both ways and they get none of the owner's posts."""
    async with inst.db.transaction() as tx:
        await accounts_store.set_blocks_owner(tx, actor.id, True)
        await follows_store.delete(tx, actor.id, inst.owner.id)
        await follows_store.delete(tx, inst.owner.id, actor.id)


async def receive_undo_block(inst: Instance, actor: Account) -> None:
    async with inst.db.transaction() as tx:
        await accounts_store.set_blocks_owner(tx, actor.id, False)


async def receive_move(inst: Instance, actor: Account, target: Account) -> bool:
    """The account moved: if the owner followed it and the new one confirms (alsoKnownAs), follow
    the new one instead. Returns whether the follow moved."""
    follow = await follows_store.get(inst.db, inst.owner.id, actor.id)
    target_row = await accounts_store.get(inst.db, target.id)
    also_known_as = json.loads(target_row["also_known_as_json"] or "[]")
    if follow is None or actor.uri not in also_known_as:
        return False
    from smallfedi.core.following import follow_account  # following imports this module

    await follow_account(inst, target)
    async with inst.db.transaction() as tx:
        await follows_store.delete(tx, inst.owner.id, actor.id)
        await _notify(tx, inst, "move", actor)
    return True


async def receive_actor_delete(inst: Instance, actor: Account) -> None:
    async with inst.db.transaction() as tx:
        await accounts_store.delete_remote(tx, actor.id)


# Posts

def _status_id_for(published: str) -> int:
    when = datetime.fromisoformat(published.replace("Z", "+00:00"))
    now = datetime.now(timezone.utc)
    return id_for_time(min(when, now))  # a date in the future must not jump ahead of new posts


async def receive_note(inst: Instance, note: NoteInfo, author: Account) -> Status | None:
    """Store a remote post (once); replies attach to their parent; the owner is told of
    mentions and replies."""
    existing = await statuses_store.get_by_uri(inst.db, note.uri)
    if existing is not None:
        return Status.from_row(existing)
    parent = await statuses_store.get_by_uri(inst.db, note.in_reply_to_uri) if note.in_reply_to_uri else None
    mentions_owner = inst.owner.uri in note.mentions
    mentioned = await _known_mentions(inst, note.mentions)
    # A new post that replies to nothing we hold shows on none of the public pages (those show
    # the owner's posts, boosts and threads), so it leaves their cache alone.
    public = parent is not None
    for attempt in range(5):
        status_id = _status_id_for(note.published)
        try:
            async with inst.db.transaction(public=public) as tx:
                await statuses_store.insert(tx, {
                    "id": status_id, "uri": note.uri, "url": note.url or note.uri, "account_id": author.id,
                    "local": 0, "in_reply_to_id": parent["id"] if parent else None,
                    "in_reply_to_uri": note.in_reply_to_uri,
                    "in_reply_to_account_id": parent["account_id"] if parent else None,
                    "content": note.content, "spoiler_text": note.spoiler_text, "visibility": note.visibility,
                    "sensitive": int(note.sensitive), "language": note.language, "created_at": note.published,
                    "edited_at": note.updated,
                })
                await statuses_store.replace_tags(tx, status_id, note.tags)
                await statuses_store.replace_mentions(tx, status_id, mentioned)
                if note.poll is not None:
                    await polls.store_remote_in(tx, status_id, note.poll)
                if note.attachments:
                    await media.store_remote_in(inst, tx, status_id, author.id, note.attachments)
                emit(inst, "status", status_id)
                # Replies that came before this post now hang under it.
                await statuses_store.attach_orphan_replies(tx, status_id, note.uri, author.id)
                if mentions_owner or (parent is not None and parent["account_id"] == inst.owner.id):
                    await _notify(tx, inst, "mention", author, status_id)
            return await load_status(inst, status_id)
        except sqlite3.IntegrityError:
            if await statuses_store.get_by_uri(inst.db, note.uri) is not None:
                return Status.from_row(await statuses_store.get_by_uri(inst.db, note.uri))
            continue  # an id collision within one millisecond: draw another
    raise RuntimeError("could not allocate a status id")


async def _known_mentions(inst: Instance, uris) -> list[tuple[str, int]]:
    """(acct, account id) of the mentioned accounts we know (who takes part in a direct
    conversation, and the Status's mentions)."""
    found = []
    for uri in list(dict.fromkeys(uris))[:100]:
        row = await accounts_store.get_by_uri(inst.db, uri)
        if row is not None:
            account = Account.from_row(row)
            found.append((account.acct(inst.config.domain), account.id))
    return found


async def receive_note_update(inst: Instance, note: NoteInfo, author: Account) -> bool:
    row = await statuses_store.get_by_uri(inst.db, note.uri)
    if row is None or row["account_id"] != author.id:
        return False
    if note.poll is not None and polls.same_text(row, note):
        # Mastodon sends an Update of a Question as votes come in: new figures, not an edit.
        async with inst.db.transaction() as tx:
            await polls.store_remote_in(tx, row["id"], note.poll)
            emit(inst, "status.update", row["id"])
        return True
    async with inst.db.transaction() as tx:
        if row["edited_at"] is None:
            await statuses_store.insert_edit(tx, inst.ids.next(), row)
        await statuses_store.update_content(
            tx, row["id"], content=note.content, source=None, spoiler_text=note.spoiler_text,
            sensitive=note.sensitive, language=note.language, edited_at=note.updated or utcnow())
        await statuses_store.insert_edit(tx, inst.ids.next(), await statuses_store.get_in(tx, row["id"]))
        await statuses_store.replace_tags(tx, row["id"], note.tags)
        if note.poll is not None:
            await polls.store_remote_in(tx, row["id"], note.poll)
        await _update_attachments_in(tx, inst, row["id"], author.id, note)
        emit(inst, "status.update", row["id"])
    return True


async def _update_attachments_in(tx, inst: Instance, status_id: int, account_id: int, note: NoteInfo) -> None:
    """An Update carries the whole post: its attachments replace the old ones. Left alone when
    unchanged, so apps keep the attachment ids of a post whose text alone was edited."""
    stored = [_stored_as_info(r) for r in await media_store.for_status_in(tx, status_id)]
    wanted = list(note.attachments[:media.MAX_REMOTE_ATTACHMENTS])
    if stored != [replace(a, description=a.description[:media.MAX_DESCRIPTION]) for a in wanted]:
        await media.store_remote_in(inst, tx, status_id, account_id, wanted)


def _stored_as_info(row) -> AttachmentInfo:
    return AttachmentInfo(
        url=row["remote_url"] or "", type=row["type"], mime=row["mime"], description=row["description"],
        blurhash=row["blurhash"], width=row["width"], height=row["height"], focus=(row["focus_x"], row["focus_y"]),
        preview_url=row["preview_remote_url"])


async def receive_delete(inst: Instance, actor: Account, object_uri: str) -> bool:
    """Delete of a post (or a boost) by its author; returns whether anything went."""
    row = await statuses_store.get_by_uri(inst.db, object_uri)
    if row is None or row["account_id"] != actor.id:
        return False
    async with inst.db.transaction() as tx:
        await statuses_store.delete(tx, row["id"], row["uri"], utcnow())
        emit(inst, "delete", row["id"])
    return True


# Likes and boosts

async def _owner_status(inst: Instance, uri: str) -> Status | None:
    row = await statuses_store.get_by_uri(inst.db, uri)
    return Status.from_row(row) if row else None


async def receive_like(inst: Instance, actor: Account, object_uri: str, like_uri: str,
                       emoji: str | None = None) -> bool:
    status = await _owner_status(inst, object_uri)
    if status is None:
        return False
    async with inst.db.transaction() as tx:
        added = await interactions_store.add_favourite(tx, inst.ids.next(), actor.id, status.id, like_uri, utcnow())
        if added and status.account_id == inst.owner.id:
            await _notify(tx, inst, "favourite", actor, status.id, emoji)
    return added


async def receive_undo_like(inst: Instance, actor: Account, object_uri: str | None, like_uri: str | None) -> None:
    status_id = None
    if like_uri:
        fav = await interactions_store.favourite_by_uri(inst.db, like_uri)
        status_id = fav["status_id"] if fav and fav["account_id"] == actor.id else None
    if status_id is None and object_uri:
        status = await _owner_status(inst, object_uri)
        status_id = status.id if status else None
    if status_id is None:
        return
    async with inst.db.transaction() as tx:
        await interactions_store.remove_favourite(tx, actor.id, status_id)
        await interactions_store.remove_notifications(tx, "favourite", actor.id, status_id)


async def receive_announce(inst: Instance, actor: Account, original: Status, announce_uri: str,
                           published: str, visibility: str = "public") -> None:
    if await statuses_store.get_by_uri(inst.db, announce_uri) is not None:
        return
    if original.reblog_of_id is not None:  # a boost of a boost is a boost of the original
        original = await load_status(inst, original.reblog_of_id)
    async with inst.db.transaction() as tx:
        status_id = _status_id_for(published)
        await statuses_store.insert(tx, {
            "id": status_id, "uri": announce_uri, "url": announce_uri, "account_id": actor.id, "local": 0,
            "reblog_of_id": original.id, "visibility": visibility, "created_at": published,
        })
        emit(inst, "status", status_id)
        if original.account_id == inst.owner.id:
            await _notify(tx, inst, "reblog", actor, original.id)


async def receive_undo_announce(inst: Instance, actor: Account, announce_uri: str) -> None:
    row = await statuses_store.get_by_uri(inst.db, announce_uri)
    if row is None or row["account_id"] != actor.id or row["reblog_of_id"] is None:
        return
    async with inst.db.transaction() as tx:
        await interactions_store.remove_notifications(tx, "reblog", actor.id, row["reblog_of_id"])
        await statuses_store.delete(tx, row["id"], row["uri"], utcnow())
        emit(inst, "delete", row["id"])


async def status_by_uri(inst: Instance, uri: str) -> Status:
    row = await statuses_store.get_by_uri(inst.db, uri)
    if row is None:
        raise NotFound("unknown post")
    return Status.from_row(row)
