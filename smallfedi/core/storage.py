"""The disk budget: what the database, the owner's media and the remote cache use, and pruning
of remote posts nobody here interacted with.

Pruning never touches the owner's own posts, nor a remote post the owner liked, boosted,
bookmarked, pinned, replied to or voted on, one that mentions the owner or that a
notification points at. It forgets: the posts live on at their servers, so no Delete goes out
and no tombstone is kept.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from smallfedi.core import media
from smallfedi.core.errors import Invalid
from smallfedi.core.instance import Instance
from smallfedi.store import media as media_store
from smallfedi.store import pruning as pruning_store
from smallfedi.store.db import format_time

log = logging.getLogger("smallfedi.storage")

BATCH = 500  # posts deleted per transaction, so other writers wait milliseconds, not seconds


@dataclass(frozen=True)
class Usage:
    database_bytes: int  # the file and its write-ahead log
    database_free_bytes: int  # inside the file, left by deleted rows and reused first
    media_files: int
    media_bytes: int
    cache_files: int
    cache_bytes: int
    cache_budget_bytes: int
    local_statuses: int
    remote_statuses: int
    prune_after_days: int  # 0: never
    prunable: int | None  # what pruning with that setting would remove now


@dataclass(frozen=True)
class PruneResult:
    statuses: int
    files: int
    bytes: int


def _database_bytes(inst: Instance) -> int:
    path = inst.config.db_path
    total = 0
    for suffix in ("", "-wal"):
        try:
            total += path.with_name(path.name + suffix).stat().st_size
        except FileNotFoundError:
            pass
    return total


def _cutoff(days: int) -> str:
    return format_time(datetime.now(timezone.utc) - timedelta(days=days))


async def usage(inst: Instance) -> Usage:
    media_files, media_bytes = await asyncio.to_thread(media.folder_usage, inst.config.media_dir)
    cache_files, cache_bytes = await media_store.cache_total(inst.db)
    local, remote = await pruning_store.status_counts(inst.db)
    days = inst.config.storage.prune_remote_after_days
    prunable = await pruning_store.count_prunable(inst.db, inst.owner.id, _cutoff(days)) if days else None
    return Usage(
        database_bytes=await asyncio.to_thread(_database_bytes, inst),
        database_free_bytes=await pruning_store.free_bytes(inst.db),
        media_files=media_files, media_bytes=media_bytes, cache_files=cache_files, cache_bytes=cache_bytes,
        cache_budget_bytes=inst.config.storage.cache_mb * 1024 * 1024, local_statuses=local,
        remote_statuses=remote, prune_after_days=days, prunable=prunable)


async def prune(inst: Instance, days: int, dry_run: bool = False) -> PruneResult:
    """Forget remote posts older than `days` that the owner never interacted with, with their
    attachments; then let go of files nothing names any more."""
    if days < 1:
        raise Invalid("Prune posts older than at least one day.")
    cutoff = _cutoff(days)
    if dry_run:
        return PruneResult(await pruning_store.count_prunable(inst.db, inst.owner.id, cutoff), 0, 0)
    deleted, after = 0, 0
    while ids := await pruning_store.prunable_ids(inst.db, inst.owner.id, cutoff, after, BATCH):
        async with inst.db.transaction() as tx:
            await pruning_store.delete_statuses(tx, ids)
        deleted += len(ids)
        after = ids[-1]
        await asyncio.sleep(0)  # let requests in between batches
    files, freed = await media.collect_garbage(inst)
    log.info("pruned %d remote posts older than %d days; %d files (%d bytes) removed", deleted, days, files, freed)
    return PruneResult(deleted, files, freed)
