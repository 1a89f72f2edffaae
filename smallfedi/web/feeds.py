"""RSS 2.0 and Atom feeds of the owner's public posts."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

from starlette.responses import Response

from smallfedi.core.instance import Instance
from smallfedi.core.models import Status
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


def _entries(statuses: list[Status]) -> list[dict]:
    return [{
        "status": s,
        "title": _title(s),
        "rfc822": format_datetime(_parse(s.created_at), usegmt=True),
        "updated": s.edited_at or s.created_at,
    } for s in statuses]


def rss_feed(inst: Instance, statuses: list[Status]) -> Response:
    body = environment().get_template("feed.rss.xml").render(inst=inst, owner=inst.owner, entries=_entries(statuses))
    return Response(body, media_type="application/rss+xml; charset=utf-8")


def atom_feed(inst: Instance, statuses: list[Status]) -> Response:
    entries = _entries(statuses)
    updated = max((e["updated"] for e in entries), default=inst.owner.updated_at)
    body = environment().get_template("feed.atom.xml").render(inst=inst, owner=inst.owner, entries=entries,
                                                            updated=updated)
    return Response(body, media_type="application/atom+xml; charset=utf-8")
