"""RSS 2.0 and Atom feeds of the owner's public posts."""

from __future__ import annotations

import html
from datetime import datetime
from email.utils import format_datetime

from starlette.responses import Response

from smallfedi.core import media as media_core
from smallfedi.core.instance import Instance
from smallfedi.core.models import MediaAttachment, Status
from smallfedi.text import plain_text
from smallfedi.web.render import environment

TITLE_LENGTH = 80


def _title(status: Status) -> str:
    if status.spoiler_text:
        return status.spoiler_text
    text = " ".join(plain_text(status.content).split())
    return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1] + "…"


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _media_html(inst: Instance, items: tuple[MediaAttachment, ...]) -> str:
    """The attachments as HTML after the text: feed readers show an entry's HTML, rarely its enclosures."""
    parts = []
    for m in items:
        url = html.escape(media_core.url(inst, m))
        alt = html.escape(m.description)
        if m.type == "image":
            src = html.escape(media_core.preview_url(inst, m) or media_core.url(inst, m))
            parts.append(f'<p><a href="{url}"><img src="{src}" alt="{alt}"></a></p>')
        else:
            parts.append(f'<p><a href="{url}">{html.escape(m.type.capitalize())}{": " + alt if alt else ""}</a></p>')
    return "".join(parts)


def _entries(inst: Instance, statuses: list[Status], media: dict[int, tuple[MediaAttachment, ...]]) -> list[dict]:
    return [{
        "status": s,
        "title": _title(s),
        "rfc822": format_datetime(_parse(s.created_at), usegmt=True),
        "updated": s.edited_at or s.created_at,
        "media": media.get(s.id, ()),
        "media_html": _media_html(inst, media.get(s.id, ())),
    } for s in statuses]


async def rss_feed(inst: Instance, statuses: list[Status]) -> Response:
    entries = _entries(inst, statuses, await media_core.for_statuses(inst, [s.id for s in statuses]))
    body = environment().get_template("feed.rss.xml").render(inst=inst, owner=inst.owner, entries=entries)
    return Response(body, media_type="application/rss+xml; charset=utf-8")


async def atom_feed(inst: Instance, statuses: list[Status]) -> Response:
    entries = _entries(inst, statuses, await media_core.for_statuses(inst, [s.id for s in statuses]))
    updated = max((e["updated"] for e in entries), default=inst.owner.updated_at)
    body = environment().get_template("feed.atom.xml").render(inst=inst, owner=inst.owner, entries=entries,
                                                            updated=updated)
    return Response(body, media_type="application/atom+xml; charset=utf-8")
