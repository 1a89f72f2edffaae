"""The SQLite database: one writer connection, one reader connection, numbered migrations.

WAL lets the reader see every committed write while a write is in progress. Writes go
through `transaction()`, which holds a lock so two coroutines never interleave statements in
one transaction. `synchronous=FULL` makes a commit durable before it returns: a power cut
loses no write the server has acknowledged.

Group commit: transactions that queue up while another holds the writer join one SQLite
transaction (each in its own SAVEPOINT, so a failing one rolls back alone) and share its
COMMIT, and so its fsync. Every `transaction()` still returns only once its writes are
committed and durable, so nothing is acknowledged early; under load (an inbox storm, a
delivery fan-out) the disk sees one sync per batch instead of one per write.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator, Iterable

import aiosqlite

log = logging.getLogger("smallfedi.db")

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


def utcnow() -> str:
    """The current time as stored: ISO 8601, UTC, milliseconds, 'Z'."""
    return format_time(datetime.now(timezone.utc))


def format_time(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def page_bounds(column: str, max_id: int | None, since_id: int | None,
                min_id: int | None) -> tuple[list[str], list, str]:
    """Mastodon's paging on `column`: (conditions, their parameters, the order to read in).

    max_id and since_id bound a newest-first page; min_id alone asks for the page just above
    it, read oldest first (then turned round with `newest_first`).
    """
    where, params = [], []
    for op, value in (("<", max_id), (">", since_id), (">", min_id)):
        if value is not None:
            where.append(f"{column} {op} ?")
            params.append(value)
    return where, params, "ASC" if (min_id is not None and max_id is None) else "DESC"


def newest_first(rows: list, order: str) -> list:
    return rows if order == "DESC" else rows[::-1]


def split_statements(script: str) -> list[str]:
    """Split a migration into statements, so each runs inside our own transaction.

    (sqlite3's executescript would COMMIT first, which defeats one transaction per migration.)
    """
    statements, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip() and not all(l.strip().startswith("--") or not l.strip() for l in buf.splitlines()):
        raise ValueError("migration ends with an incomplete statement")
    return statements


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every numbered file in store/migrations, in order."""
    found = []
    for entry in resources.files("smallfedi.store").joinpath("migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    return found


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._after_commit: list = []
        self._batch: _Batch | None = None  # the open SQLite transaction that queued writes join
        self.commits = 0  # bumped by every commit: a cheap key for caches of derived figures
        # Bumped by every commit that may change what strangers see (the owner's profile and
        # posts, counts, collections): the key of the rendered public documents' cache. A
        # transaction opened with public=False (an inbound post from someone else, a delivery
        # done) leaves it alone, so an inbox storm doesn't empty that cache.
        self.public_generation = 0

    async def open(self) -> None:
        self._writer = await self._connect()
        await self.migrate()
        self._reader = await self._connect()

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            await conn.execute(pragma)
        return conn

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    async def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction; returns the names applied."""
        assert self._writer is not None
        await self._writer.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = {row[0] async for row in await self._writer.execute("SELECT version FROM schema_migrations")}
        done = []
        for version, name, sql in migrations():
            if version in applied:
                continue
            async with self.transaction() as tx:
                for statement in split_statements(sql):
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, utcnow()),
                )
            done.append(name)
        return done

    async def pending_migrations(self) -> list[str]:
        rows = await self.fetchall("SELECT version FROM schema_migrations")
        applied = {r[0] for r in rows}
        return [name for version, name, _ in migrations() if version not in applied]

    @asynccontextmanager
    async def transaction(self, public: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """A transaction on the writer, rolled back if the block raises; returns once committed.

        `public=False` promises the writes change nothing a stranger can see (see
        `public_generation`); when unsure, leave it True.
        """
        assert self._writer is not None, "database is not open"
        async with self._lock:
            batch = self._batch
            first = batch is None
            if first:
                await self._writer.execute("BEGIN IMMEDIATE")
                batch = self._batch = _Batch()
            else:
                await self._writer.execute("SAVEPOINT tx")
            mark = len(self._after_commit)
            try:
                yield self._writer
            except BaseException:
                del self._after_commit[mark:]
                if first:
                    # Nobody else joined while we held the lock: drop the whole transaction.
                    self._batch = None
                    await self._writer.execute("ROLLBACK")
                    batch.done.set_result(None)
                else:
                    await self._writer.execute("ROLLBACK TO tx")
                    await self._writer.execute("RELEASE tx")
                raise
            if not first:
                await self._writer.execute("RELEASE tx")
            batch.public = batch.public or public
            if not batch.committing:
                # The commit queues behind the transactions already waiting, which join this one.
                batch.committing = asyncio.get_running_loop().create_task(self._commit(batch))
        # Shielded: a caller cancelled while waiting must not cancel the others' commit.
        await asyncio.shield(batch.done)

    async def _commit(self, batch: _Batch) -> None:
        async with self._lock:
            self._batch = None
            try:
                await self._writer.execute("COMMIT")
            except BaseException as exc:
                self._after_commit.clear()
                try:
                    await self._writer.execute("ROLLBACK")
                finally:
                    batch.done.set_exception(exc)
                    batch.done.exception()  # mark retrieved: a lone caller may have been cancelled
                return
            self.commits += 1
            if batch.public:
                self.public_generation += 1
            callbacks, self._after_commit = self._after_commit, []
            batch.done.set_result(None)
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - the writes are committed; a waker must not undo that
                log.exception("after-commit callback failed")

    def after_commit(self, callback) -> None:
        """Run `callback()` once the current transaction has committed (e.g. wake the delivery
        worker only when its rows are visible); dropped on rollback."""
        self._after_commit.append(callback)

    # Reads run statement, fetch and close as one call on the reader's thread. A statement
    # left open across an await would hold its read snapshot while other coroutines read
    # through the same connection, and they would miss writes committed meanwhile.

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        assert self._reader is not None, "database is not open"
        return list(await self._reader.execute_fetchall(sql, tuple(params)))

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class _Batch:
    """One SQLite transaction shared by the writes that queued for it."""

    __slots__ = ("done", "committing", "public")

    def __init__(self) -> None:
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.committing: asyncio.Task | None = None
        self.public = False
