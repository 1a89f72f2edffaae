"""The storage page: what the database, the owner's media and the remote cache take up, and
pruning old remote posts by hand."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from smallfedi.core import storage
from smallfedi.web.auth import owner_only
from smallfedi.web.owner import read_form, text_field
from smallfedi.web.render import render

DEFAULT_PRUNE_DAYS = 90  # offered when no automatic pruning is set
MAX_PRUNE_DAYS = 36_500


def _default_days(usage) -> int:
    return usage.prune_after_days or DEFAULT_PRUNE_DAYS


@owner_only
async def storage_page(request: Request) -> Response:
    usage = await storage.usage(request.app.state.instance)
    return render(request, "settings_storage.html", {"usage": usage, "days": _default_days(usage)})


@owner_only
async def storage_prune(request: Request) -> Response:
    inst = request.app.state.instance
    form = await read_form(request)
    raw = text_field(form, "days").strip()
    dry_run = text_field(form, "action") == "preview"
    if not raw.isdigit() or len(raw) > 6 or not 1 <= int(raw) <= MAX_PRUNE_DAYS:
        usage = await storage.usage(inst)
        return render(request, "settings_storage.html", {
            "usage": usage, "days": raw[:10],
            "error": f"Days must be a whole number from 1 to {MAX_PRUNE_DAYS}."}, status_code=422)
    days = int(raw)
    result = await storage.prune(inst, days, dry_run=dry_run)
    usage = await storage.usage(inst)  # after pruning: the figures it changed
    return render(request, "settings_storage.html", {"usage": usage, "days": days, "result": result,
                                                     "dry_run": dry_run})
