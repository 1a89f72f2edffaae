import sqlite3

import pytest

from smallfedi.store.db import Database, migrations, split_statements

pytestmark = pytest.mark.anyio


async def test_migrations_apply_to_an_empty_database_once(tmp_path):
    db = Database(tmp_path / "x.db")
    await db.open()
    try:
        versions = [v for v, _, _ in migrations()]
        assert versions == sorted(versions) and versions[0] == 1
        rows = await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == versions
        assert await db.pending_migrations() == []
        assert await db.migrate() == []  # a second run applies nothing
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"accounts", "owner", "statuses", "status_edits", "mentions", "status_tags", "tombstones"} <= tables
    finally:
        await db.close()


async def test_a_failed_transaction_leaves_nothing(tmp_path):
    db = Database(tmp_path / "x.db")
    await db.open()
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO tombstones (uri, deleted_at) VALUES ('u', 'now')")
                raise RuntimeError("boom")
        assert await db.fetchval("SELECT count(*) FROM tombstones") == 0
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO tombstones (uri, deleted_at) VALUES ('u', 'now')")
        assert await db.fetchval("SELECT count(*) FROM tombstones") == 1
    finally:
        await db.close()


async def test_committed_writes_are_on_disk(tmp_path):
    path = tmp_path / "x.db"
    db = Database(path)
    await db.open()
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO tombstones (uri, deleted_at) VALUES ('durable', 'now')")
    # Another connection (another process after a crash would be the same) sees it at once.
    other = sqlite3.connect(path)
    assert other.execute("SELECT count(*) FROM tombstones").fetchone()[0] == 1
    other.close()
    await db.close()


def test_statement_splitting_keeps_semicolons_in_strings():
    sql = "-- a comment; with a semicolon\nCREATE TABLE t (x TEXT DEFAULT ';');\nINSERT INTO t VALUES ('a;b');\n"
    assert split_statements(sql) == ["-- a comment; with a semicolon\nCREATE TABLE t (x TEXT DEFAULT ';');",
                                     "INSERT INTO t VALUES ('a;b');"]
    with pytest.raises(ValueError):
        split_statements("CREATE TABLE t (x")


async def test_a_write_is_visible_to_the_next_read_under_concurrent_reads(tmp_path):
    """Reads share one connection; none may keep an old snapshot open across an await."""
    import asyncio

    db = Database(tmp_path / "x.db")
    await db.open()
    try:
        async with db.transaction() as tx:
            await tx.executemany("INSERT INTO tombstones (uri, deleted_at) VALUES (?, 'x')",
                                 [(f"filler{i}",) for i in range(2000)])

        async def busy_reader():
            for _ in range(50):
                await db.fetchall("SELECT * FROM tombstones")

        async def write_then_read(n):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO tombstones (uri, deleted_at) VALUES (?, 'x')", (f"new{n}",))
            assert await db.fetchone("SELECT uri FROM tombstones WHERE uri = ?", (f"new{n}",)) is not None

        await asyncio.gather(*(busy_reader() for _ in range(4)), *(write_then_read(n) for n in range(300)))
    finally:
        await db.close()


async def _insert(db, uri: str, fail: bool = False, public: bool = True) -> str:
    async with db.transaction(public=public) as tx:
        await tx.execute("INSERT INTO tombstones (uri, deleted_at) VALUES (?, 'now')", (uri,))
        if fail:
            raise RuntimeError("boom")
    # Back from the block means committed: another connection sees the row at once.
    other = sqlite3.connect(db.path)
    try:
        assert other.execute("SELECT count(*) FROM tombstones WHERE uri = ?", (uri,)).fetchone()[0] == 1
    finally:
        other.close()
    return uri


async def test_concurrent_transactions_share_commits_and_fail_alone(tmp_path):
    import asyncio

    db = Database(tmp_path / "x.db")
    await db.open()
    try:
        before = db.commits
        results = await asyncio.gather(*(_insert(db, f"u{n}", fail=(n % 7 == 3)) for n in range(50)),
                                       return_exceptions=True)
        failed = [r for r in results if isinstance(r, Exception)]
        assert len(failed) == 7 and all(isinstance(r, RuntimeError) for r in failed)
        stored = {r[0] for r in await db.fetchall("SELECT uri FROM tombstones")}
        assert stored == {f"u{n}" for n in range(50) if n % 7 != 3}
        # Queued writes joined one transaction: far fewer commits (and syncs) than writes.
        assert db.commits - before < 10
    finally:
        await db.close()


async def test_public_generation_moves_only_for_public_writes(tmp_path):
    db = Database(tmp_path / "x.db")
    await db.open()
    try:
        generation = db.public_generation
        await _insert(db, "private", public=False)
        assert db.public_generation == generation
        await _insert(db, "public")
        assert db.public_generation == generation + 1
        with pytest.raises(RuntimeError):
            await _insert(db, "failed", fail=True)
        assert db.public_generation == generation + 1
    finally:
        await db.close()


async def test_hot_queries_use_an_index_not_a_scan(tmp_path):
    """Reads and writes every inbound post or page makes must not read a whole table: at a
    million statuses a scan costs tens of milliseconds each time."""
    db = Database(tmp_path / "x.db")
    await db.open()
    try:
        hot = [
            "UPDATE statuses SET in_reply_to_id = 1, in_reply_to_account_id = 2"
            " WHERE in_reply_to_uri = 'u' AND in_reply_to_id IS NULL",
            "SELECT * FROM statuses WHERE uri = 'u'",
            "SELECT * FROM accounts WHERE key_id = 'k'",
            "SELECT 1 FROM inbox_seen WHERE activity_uri = 'a'",
        ]
        for sql in hot:
            plan = " ".join(r[3] for r in await db.fetchall("EXPLAIN QUERY PLAN " + sql))
            assert "SCAN" not in plan, (sql, plan)
    finally:
        await db.close()


async def test_a_write_soon_is_committed_without_being_waited_for(tmp_path):
    import asyncio

    db = Database(tmp_path / "x.db")
    await db.open()
    db.write_soon("INSERT INTO tombstones (uri, deleted_at) VALUES (?, 'now')", ("alone",))
    for _ in range(100):  # committed by a transaction of its own, within moments
        if await db.fetchval("SELECT count(*) FROM tombstones WHERE uri = 'alone'"):
            break
        await asyncio.sleep(0.01)
    assert await db.fetchval("SELECT count(*) FROM tombstones WHERE uri = 'alone'") == 1
    # Joined to a transaction already on its way, and kept even if that one fails.
    db.write_soon("INSERT INTO tombstones (uri, deleted_at) VALUES (?, 'now')", ("joined",))
    with pytest.raises(RuntimeError):
        await _insert(db, "failed", fail=True)
    await _insert(db, "next")
    assert await db.fetchval("SELECT count(*) FROM tombstones WHERE uri = 'joined'") == 1
    # What is still pending at close is written then.
    db.write_soon("INSERT INTO tombstones (uri, deleted_at) VALUES (?, 'now')", ("at close",))
    await db.close()
    assert sqlite3.connect(db.path).execute("SELECT count(*) FROM tombstones WHERE uri = 'at close'").fetchone()[0] == 1
