"""The owner publishes, edits and deletes posts.

Each change is one transaction: the post, its mentions and hashtags, its history (and, once
federation delivers, the queue rows) commit together before the caller gets an answer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from smallfedi.core import media, polls
from smallfedi.core.errors import DomainError, Forbidden, Invalid, NotFound
from smallfedi.core.events import emit
from smallfedi.core.instance import Instance
from smallfedi.core.models import VISIBILITIES, Account, Status
from smallfedi.core.reading import load_status
from smallfedi.store import accounts as accounts_store
from smallfedi.store import statuses as statuses_store
from smallfedi.store.db import utcnow
from smallfedi.text import count_characters, render_markdown

log = logging.getLogger("smallfedi.posting")

LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")
# Mastodon and the apps call followers-only "private"; accept the web form's word too.
VISIBILITY_ALIASES = {"followers": "private", "followers-only": "private", "mentioned": "direct"}


@dataclass(frozen=True)
class Draft:
    text: str
    spoiler_text: str = ""
    visibility: str = "public"
    language: str | None = None
    sensitive: bool = False
    in_reply_to_id: int | None = None
    poll: polls.PollDraft | None = None  # new posts only
    # Uploaded attachments in order; on an edit, None leaves the post's attachments as they are.
    media_ids: tuple[int, ...] | None = None


def _validate(inst: Instance, draft: Draft) -> Draft:
    text = draft.text.replace("\r\n", "\n").strip()
    spoiler = draft.spoiler_text.replace("\r\n", "\n").strip()
    visibility = VISIBILITY_ALIASES.get(draft.visibility, draft.visibility)
    if visibility not in VISIBILITIES:
        raise Invalid(f"visibility must be one of {', '.join(VISIBILITIES)}")
    if not text and not draft.media_ids:
        raise Invalid("The post is empty: write something first.")
    limit = inst.config.limits.max_post_chars
    length = count_characters(text) + len(spoiler)
    if length > limit:
        raise Invalid(f"The post is {length} characters long; the limit is {limit}.")
    language = (draft.language or "").strip().lower() or None
    if language is not None and not LANGUAGE_RE.match(language):
        raise Invalid("language must be an ISO 639 code such as en or de")
    # A content warning hides the text, so the post counts as sensitive (as in Mastodon).
    return Draft(text=text, spoiler_text=spoiler, visibility=visibility, language=language,
                 sensitive=draft.sensitive or bool(spoiler), in_reply_to_id=draft.in_reply_to_id,
                 poll=polls.validate(draft.poll) if draft.poll is not None else None,
                 media_ids=tuple(draft.media_ids) if draft.media_ids is not None else None)


async def _resolve_mentions(inst: Instance, text: str) -> dict[str, Account]:
    """Look up every @user@host in the text (WebFinger through federation); unknown ones stay text."""
    found = render_markdown(text, base_url=inst.base_url, own_domain=inst.config.domain).mentions
    resolved: dict[str, Account] = {}
    for acct in found:
        if "@" not in acct:
            continue
        try:
            resolved[acct] = await inst.federation.resolve_account(acct)
        except DomainError as exc:
            log.info("mention @%s not resolved: %s", acct, exc.message)
    return resolved


def _render(inst: Instance, text: str, mentioned: dict[str, Account]):
    owner = inst.owner

    def resolve(user: str, host: str | None) -> str | None:
        if host is None:
            return inst.profile_url() if user.lower() == owner.username.lower() else None
        account = mentioned.get(f"{user}@{host}")
        return (account.url or account.uri) if account else None

    return render_markdown(text, base_url=inst.base_url, own_domain=inst.config.domain, resolve=resolve)


async def publish(inst: Instance, draft: Draft) -> Status:
    draft = _validate(inst, draft)
    parent = await load_status(inst, draft.in_reply_to_id) if draft.in_reply_to_id else None
    mentioned = await _resolve_mentions(inst, draft.text)
    rendered = _render(inst, draft.text, mentioned)
    recipients = list({a.id: a for a in mentioned.values()}.values())
    if parent is not None and parent.account_id != inst.owner.id:
        # The author of the post replied to hears of it, mentioned or not (as Mastodon does).
        parent_author = Account.from_row(await accounts_store.get(inst.db, parent.account_id))
        if all(a.id != parent_author.id for a in recipients):
            recipients.append(parent_author)
    if draft.poll is not None and draft.media_ids:
        raise Invalid("A post can't have both a poll and attachments.")
    status_id = inst.ids.next()
    now = utcnow()
    async with inst.db.transaction() as tx:
        media_ids = await media.check_attachable(inst, tx, draft.media_ids or ())
        await statuses_store.insert(tx, {
            "id": status_id, "uri": inst.status_uri(status_id), "url": inst.status_url(status_id),
            "account_id": inst.owner.id, "local": 1, "content": rendered.html, "source": draft.text,
            "spoiler_text": draft.spoiler_text, "visibility": draft.visibility, "sensitive": int(draft.sensitive),
            "language": draft.language, "created_at": now,
            "in_reply_to_id": parent.id if parent else None, "in_reply_to_uri": parent.uri if parent else None,
            "in_reply_to_account_id": parent.account_id if parent else None,
        })
        await statuses_store.replace_mentions(tx, status_id, [(a.acct(inst.config.domain), a.id) for a in recipients])
        await statuses_store.replace_tags(tx, status_id, rendered.tags)
        await media.attach_in(tx, status_id, media_ids)
        if draft.poll is not None:
            await polls.create_in(tx, status_id, draft.poll)  # before publishing: the Create is a Question
        # With its hashtags: the Create carries them, or other servers file the post under none.
        status = Status.from_row(await statuses_store.get_in(tx, status_id), tags=dict.fromkeys(rendered.tags))
        await inst.federation.publish_status(tx, status, recipients)
        emit(inst, "status", status_id)
    return await load_status(inst, status_id)


async def _own_status(inst: Instance, status_id: int):
    row = await statuses_store.get(inst.db, status_id)
    if row is None:
        raise NotFound("This post does not exist.")
    if row["account_id"] != inst.owner.id:
        raise Forbidden("Only your own posts can be changed.")
    return row


async def edit(inst: Instance, status_id: int, draft: Draft) -> Status:
    """Change a post's text, content warning or language; the earlier version joins its history.

    Visibility can't change after posting (as in Mastodon): the post has already gone out.
    """
    row = await _own_status(inst, status_id)
    media_ids = draft.media_ids
    if media_ids and (await polls.for_statuses(inst, [status_id])).get(status_id):
        raise Invalid("A post can't have both a poll and attachments.")
    if media_ids is None:
        media_ids = tuple(m.id for m in (await media.for_statuses(inst, [status_id])).get(status_id, ()))
    draft = _validate(inst, Draft(draft.text, draft.spoiler_text, row["visibility"], draft.language,
                                  draft.sensitive, media_ids=media_ids))
    mentioned = await _resolve_mentions(inst, draft.text)
    rendered = _render(inst, draft.text, mentioned)
    recipients = await _previous_recipients(inst, status_id)
    recipients += [a for a in mentioned.values() if all(a.id != r.id for r in recipients)]
    now = utcnow()
    async with inst.db.transaction() as tx:
        await media.attach_in(tx, status_id, await media.check_attachable(inst, tx, media_ids, status_id))
        if row["edited_at"] is None:
            # Mastodon's history starts with the original; keep it once, before the first edit.
            await statuses_store.insert_edit(tx, inst.ids.next(), row)
        await statuses_store.update_content(
            tx, status_id, content=rendered.html, source=draft.text, spoiler_text=draft.spoiler_text,
            sensitive=draft.sensitive, language=draft.language, edited_at=now)
        updated = await statuses_store.get_in(tx, status_id)
        await statuses_store.insert_edit(tx, inst.ids.next(), updated)
        await statuses_store.replace_mentions(tx, status_id, [(a.acct(inst.config.domain), a.id) for a in recipients])
        await statuses_store.replace_tags(tx, status_id, rendered.tags)
        await inst.federation.publish_edit(tx, Status.from_row(updated, tags=dict.fromkeys(rendered.tags)), recipients)
        emit(inst, "status.update", status_id)
    return await load_status(inst, status_id)


async def _previous_recipients(inst: Instance, status_id: int) -> list[Account]:
    """Everyone mentioned before: they got the post, so they get its edits and its deletion."""
    ids = await statuses_store.mentioned_account_ids(inst.db, status_id)
    return [Account.from_row(r) for r in await accounts_store.get_many(inst.db, ids)]


async def delete(inst: Instance, status_id: int) -> Status:
    """Delete one of the owner's posts; its address then answers 410 Gone. Returns what it was."""
    status = await load_status(inst, status_id)
    await _own_status(inst, status_id)
    recipients = await _previous_recipients(inst, status_id)
    async with inst.db.transaction() as tx:
        await statuses_store.delete(tx, status_id, status.uri, utcnow())
        emit(inst, "delete", status_id)
        if status.reblog_of_id is None:
            await inst.federation.publish_delete(tx, status, recipients)
        else:
            original = await load_status(inst, status.reblog_of_id)
            author = Account.from_row(await accounts_store.get(inst.db, original.account_id))
            await inst.federation.publish_undo_announce(tx, status, original, author)
    return status
