"""The disk budget: what is reported, and what pruning keeps."""

from __future__ import annotations

import io

import pytest

from smallfedi.core import media, posting, storage
from smallfedi.core.errors import Invalid
from smallfedi.core.models import AttachmentInfo
from smallfedi.store.db import utcnow
from tests import media_samples as samples
from tests.conftest import run_cli, running_instance

pytestmark = pytest.mark.anyio

OLD = "2020-01-01T00:00:00.000Z"


async def _remote_world(inst) -> dict[str, int]:
    """A remote account with old posts, one for each reason to keep it, and one to prune."""
    now = utcnow()
    async with inst.db.transaction() as tx:
        await tx.execute("INSERT INTO accounts (id, local, username, domain, uri, created_at, updated_at)"
                         " VALUES (900, 0, 'far', 'far.example', 'https://far.example/u/far', ?, ?)", (now, now))
        names = ["plain", "liked", "boosted", "bookmarked", "replied", "notified", "mentions_owner",
                 "recent", "with_media"]
        ids = {}
        for n, name in enumerate(names, start=1):
            ids[name] = 1000 + n
            await tx.execute(
                "INSERT INTO statuses (id, uri, account_id, local, content, visibility, created_at)"
                " VALUES (?, ?, 900, 0, ?, 'public', ?)",
                (ids[name], f"https://far.example/s/{name}", name, now if name == "recent" else OLD))
        owner = inst.owner.id
        await tx.execute("INSERT INTO favourites (id, account_id, status_id, created_at) VALUES (1, ?, ?, ?)",
                         (owner, ids["liked"], now))
        await tx.execute("INSERT INTO bookmarks (id, status_id, created_at) VALUES (1, ?, ?)",
                         (ids["bookmarked"], now))
        await tx.execute("INSERT INTO notifications (id, type, account_id, status_id, created_at)"
                         " VALUES (1, 'favourite', 900, ?, ?)", (ids["notified"], now))
        await tx.execute("INSERT INTO mentions (status_id, acct, account_id) VALUES (?, 'admin@x', ?)",
                         (ids["mentions_owner"], owner))
        await media.store_remote_in(inst, tx, ids["with_media"], 900,
                                    [AttachmentInfo(url="https://far.example/a.jpg", type="image")])
    await posting.publish(inst, posting.Draft("a reply", in_reply_to_id=ids["replied"]))
    async with inst.db.transaction() as tx:  # the owner's boost, made directly (no federation needed)
        await tx.execute("INSERT INTO statuses (id, uri, account_id, local, reblog_of_id, visibility, created_at)"
                         " VALUES (5000, 'http://127.0.0.1:8080/boost', ?, 1, ?, 'public', ?)",
                         (owner, ids["boosted"], now))
    return ids


async def test_prune_forgets_only_untouched_old_remote_posts(tmp_path):
    async with running_instance(tmp_path) as client:
        inst = client.app.state.instance
        ids = await _remote_world(inst)
        mine = await posting.publish(inst, posting.Draft("my own post, kept whatever its age"))
        assert (await storage.prune(inst, 30, dry_run=True)).statuses == 2
        result = await storage.prune(inst, 30)
        assert result.statuses == 2
        left = {r[0] for r in await inst.db.fetchall("SELECT id FROM statuses")}
        assert ids["plain"] not in left and ids["with_media"] not in left
        for name in ("liked", "boosted", "bookmarked", "replied", "notified", "mentions_owner", "recent"):
            assert ids[name] in left, name
        assert mine.id in left
        assert await inst.db.fetchval("SELECT count(*) FROM media WHERE status_id = ?", (ids["with_media"],)) == 0
        with pytest.raises(Invalid):
            await storage.prune(inst, 0)


async def test_usage_counts_database_media_and_cache(tmp_path):
    async with running_instance(tmp_path, extra="\n[storage]\nprune_remote_after_days = 30\ncache_mb = 5\n") as client:
        inst = client.app.state.instance
        await _remote_world(inst)
        await media.upload(inst, media.Upload(io.BytesIO(samples.jpeg(1200, 900))))
        u = await storage.usage(inst)
        assert u.database_bytes > 0 and u.media_files == 2 and u.media_bytes > 1000  # the image and its preview
        assert u.remote_statuses == 9 and u.local_statuses == 2
        assert u.prune_after_days == 30 and u.prunable == 2
        assert u.cache_budget_bytes == 5 * 1024 * 1024 and u.cache_files == 0


def test_storage_and_prune_commands(tmp_path):
    config = tmp_path / "smallfedi.toml"
    assert run_cli("init", "--config", str(config), "--url", "http://127.0.0.1:8080", "--username", "admin",
                   check=True).returncode == 0
    out = run_cli("storage", "--config", str(config), check=True).stdout
    assert "database:" in out and "media: 0 files" in out and "pruning: off" in out
    refused = run_cli("prune", "--config", str(config))
    assert refused.returncode == 1 and "--days" in refused.stderr and "Traceback" not in refused.stderr
    dry = run_cli("prune", "--config", str(config), "--days", "30", "--dry-run", check=True).stdout
    assert "0 remote posts older than 30 days would be pruned" in dry
    done = run_cli("prune", "--config", str(config), "--days", "30", check=True).stdout
    assert done.startswith("pruned 0 remote posts")
