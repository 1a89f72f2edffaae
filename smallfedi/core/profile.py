"""The owner's profile and password."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

from smallfedi.core import secrets
from smallfedi.core.errors import Invalid, Unauthorized
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account
from smallfedi.store import accounts as accounts_store
from smallfedi.store import sessions as sessions_store
from smallfedi.store.db import utcnow
from smallfedi.text import URL_RE, render_markdown, sanitize_html

MAX_DISPLAY_NAME = 30
MAX_BIO = 500
MAX_FIELD = 255  # Mastodon's limit for a field's name and value


@dataclass(frozen=True)
class ProfileUpdate:
    display_name: str
    bio: str  # Markdown
    fields: list[tuple[str, str]]
    locked: bool
    # New pictures in the same change (one Update to followers): None keeps, "" resets.
    avatar_url: str | None = None
    header_url: str | None = None


def _field_value_html(value: str) -> str:
    """A field's value with its links made clickable (as Mastodon shows them)."""
    out, last = [], 0
    for m in URL_RE.finditer(value):
        out.append(html.escape(value[last:m.start()]))
        url = html.escape(m.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        last = m.end()
    out.append(html.escape(value[last:]))
    return sanitize_html("".join(out))


async def update_profile(inst: Instance, update: ProfileUpdate) -> Account:
    display_name = update.display_name.strip()
    if len(display_name) > MAX_DISPLAY_NAME:
        raise Invalid(f"The display name can have at most {MAX_DISPLAY_NAME} characters.")
    bio = update.bio.replace("\r\n", "\n").strip()
    if len(bio) > MAX_BIO:
        raise Invalid(f"The bio can have at most {MAX_BIO} characters.")
    fields = [(n.strip(), v.strip()) for n, v in update.fields if n.strip() or v.strip()]
    limit = inst.config.limits.max_profile_fields
    if len(fields) > limit:
        raise Invalid(f"A profile can have at most {limit} fields.")
    for name, value in fields:
        if not name or not value:
            raise Invalid("Each profile field needs both a label and a value.")
        if len(name) > MAX_FIELD or len(value) > MAX_FIELD:
            raise Invalid(f"Profile field labels and values can have at most {MAX_FIELD} characters.")
    note = render_markdown(bio, base_url=inst.base_url, own_domain=inst.config.domain).html if bio else ""
    fields_json = json.dumps([{"name": n, "value": _field_value_html(v), "value_source": v} for n, v in fields])
    async with inst.db.transaction() as tx:
        await accounts_store.update_profile(tx, inst.owner.id, display_name=display_name, note=note,
                                            note_source=bio, fields_json=fields_json, locked=update.locked,
                                            now=utcnow())
        if update.avatar_url is not None or update.header_url is not None:
            await _store_images(tx, inst, update.avatar_url, update.header_url)
        await inst.refresh_owner_in(tx)
        await inst.federation.publish_profile(tx)  # followers' copies of the profile stay current
    return inst.owner


async def change_password(inst: Instance, current: str, new: str, confirm: str | None = None) -> None:
    """Set a new password after checking the current one; every other session ends."""
    stored = await accounts_store.get_owner_secrets(inst.db)
    if not secrets.verify_password(current, stored["password_hash"]):
        raise Unauthorized("The current password is wrong.")
    await set_password(inst, new, confirm)


async def set_password(inst: Instance, new: str, confirm: str | None = None) -> None:
    """Set the password without the old one (the command line, where the operator is trusted)."""
    if confirm is not None and new != confirm:
        raise Invalid("The two new passwords differ.")
    problem = secrets.check_new_password(new)
    if problem:
        raise Invalid(problem)
    async with inst.db.transaction() as tx:
        await accounts_store.set_password_hash(tx, secrets.hash_password(new), utcnow())
        await sessions_store.delete_all(tx)


async def set_images(inst: Instance, avatar_url: str | None = None, header_url: str | None = None) -> Account:
    """Change the avatar or header: None leaves one as it is, "" goes back to the default image."""
    async with inst.db.transaction() as tx:
        await _store_images(tx, inst, avatar_url, header_url)
        await inst.refresh_owner_in(tx)
        await inst.federation.publish_profile(tx)
    return inst.owner


async def _store_images(tx, inst: Instance, avatar_url: str | None, header_url: str | None) -> None:
    owner = inst.owner
    avatar = owner.avatar_url if avatar_url is None else (avatar_url or None)
    header = owner.header_url if header_url is None else (header_url or None)
    await accounts_store.update_images(tx, owner.id, avatar_url=avatar, header_url=header, now=utcnow())
