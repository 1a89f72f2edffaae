"""Hourly tidying while the server runs: uploads never posted, files nothing names, the
remote image cache back within budget, and pruning when the owner set it."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smallfedi.core.instance import Instance

log = logging.getLogger("smallfedi.housekeeping")

FIRST_RUN_AFTER = 300.0  # seconds: start-up stays quick, and short test runs never see it
EVERY = 3600.0


async def tidy(inst: Instance) -> None:
    from smallfedi.core import media, media_cache, storage  # not needed before the first run

    await media.collect_garbage(inst)
    await media_cache.evict(inst)
    days = inst.config.storage.prune_remote_after_days
    if days:
        await storage.prune(inst, days)


async def run(inst: Instance) -> None:
    await asyncio.sleep(FIRST_RUN_AFTER)
    while True:
        try:
            await tidy(inst)
        except Exception:  # noqa: BLE001 - logged; the next hour tries again
            log.exception("housekeeping failed")
        await asyncio.sleep(EVERY)
