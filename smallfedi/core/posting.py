"""The owner publishes, edits and deletes posts.

Each change is one transaction: the post, its mentions and hashtags, its history (and, once
federation delivers, the queue rows) commit together before the caller gets an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from smallfedi.core.errors import Forbidden, Invalid, NotFound
from smallfedi.core.instance import Instance
from smallfedi.core.models import VISIBILITIES, Status
from smallfedi.core.reading import load_status
from smallfedi.store import statuses as statuses_store
from smallfedi.store.db import utcnow
from smallfedi.text import count_characters, render_markdown

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


def _validate(inst: Instance, draft: Draft) -> Draft:
    text = draft.text.replace("\r\n", "\n").strip()
    spoiler = draft.spoiler_text.replace("\r\n", "\n").strip()
    visibility = VISIBILITY_ALIASES.get(draft.visibility, draft.visibility)
    if visibility not in VISIBILITIES:
        raise Invalid(f"visibility must be one of {', '.join(VISIBILITIES)}")
    if not text:
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
                 sensitive=draft.sensitive or bool(spoiler))


def _render(inst: Instance, text: str):
    owner = inst.owner

    def resolve(user: str, host: str | None) -> str | None:
        # Only the owner is known before federation resolves remote handles.
        if host is None and user.lower() == owner.username.lower():
            return inst.profile_url()
        return None

    return render_markdown(text, base_url=inst.base_url, own_domain=inst.config.domain, resolve=resolve)


def _remote_mentions(rendered) -> list[str]:
    return [m for m in rendered.mentions if "@" in m]


async def publish(inst: Instance, draft: Draft) -> Status:
    draft = _validate(inst, draft)
    rendered = _render(inst, draft.text)
    status_id = inst.ids.next()
    now = utcnow()
    async with inst.db.transaction() as tx:
        await statuses_store.insert(tx, {
            "id": status_id, "uri": inst.status_uri(status_id), "url": inst.status_url(status_id),
            "account_id": inst.owner.id, "local": 1, "content": rendered.html, "source": draft.text,
            "spoiler_text": draft.spoiler_text, "visibility": draft.visibility, "sensitive": int(draft.sensitive),
            "language": draft.language, "created_at": now,
        })
        await statuses_store.replace_mentions(tx, status_id, _remote_mentions(rendered))
        await statuses_store.replace_tags(tx, status_id, rendered.tags)
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
    draft = _validate(inst, Draft(draft.text, draft.spoiler_text, row["visibility"], draft.language,
                                  draft.sensitive))
    rendered = _render(inst, draft.text)
    now = utcnow()
    async with inst.db.transaction() as tx:
        if row["edited_at"] is None:
            # Mastodon's history starts with the original; keep it once, before the first edit.
            await statuses_store.insert_edit(tx, inst.ids.next(), row)
        await statuses_store.update_content(
            tx, status_id, content=rendered.html, source=draft.text, spoiler_text=draft.spoiler_text,
            sensitive=draft.sensitive, language=draft.language, edited_at=now)
        await statuses_store.insert_edit(tx, inst.ids.next(), await statuses_store.get_in(tx, status_id))
        await statuses_store.replace_mentions(tx, status_id, _remote_mentions(rendered))
        await statuses_store.replace_tags(tx, status_id, rendered.tags)
    return await load_status(inst, status_id)


async def delete(inst: Instance, status_id: int) -> Status:
    """Delete one of the owner's posts; its address then answers 410 Gone. Returns what it was."""
    status = await load_status(inst, status_id)
    await _own_status(inst, status_id)
    async with inst.db.transaction() as tx:
        await statuses_store.delete(tx, status_id, status.uri, utcnow())
    return status
