"""The SQLite database: one writer connection, readers, numbered migrations.

Statements run on the event loop's own thread: an indexed SQLite read or insert takes a few
microseconds, far less than handing it to a worker thread and back (what a thread per
connection costs on every statement, ~25 µs of CPU, was most of the database time). Only
what may take long leaves the loop: COMMIT, whose fsync waits for the disk, runs in a worker
thread, and the few reads marked `slow` (whole-table counts for the storage page) in another.

WAL lets the readers see every committed write while a write is in progress. Writes go
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
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator, Iterable

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
        self._writer: sqlite3.Connection | None = None
        self._tx: Transaction | None = None
        self._reader: sqlite3.Connection | None = None  # quick reads, on the loop's thread
        self._slow_reader: sqlite3.Connection | None = None  # slow reads, in the worker thread
        self._worker: ThreadPoolExecutor | None = None  # COMMITs
        self._slow: ThreadPoolExecutor | None = None  # slow reads, so they never hold up a COMMIT
        self._lock = asyncio.Lock()
        self._after_commit: list = []
        self._batch: _Batch | None = None  # the open SQLite transaction that queued writes join
        self._soon: list[tuple[str, tuple]] = []  # see write_soon
        self.commits = 0  # bumped by every commit: a cheap key for caches of derived figures
        # Bumped by every commit that may change what strangers see (the owner's profile and
        # posts, counts, collections): the key of the rendered public documents' cache. A
        # transaction opened with public=False (an inbound post from someone else, a delivery
        # done) leaves it alone, so an inbox storm doesn't empty that cache.
        self.public_generation = 0

    async def open(self) -> None:
        # A thread each, so no connection is ever used by two threads at once.
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="smallfedi-commit")
        self._slow = ThreadPoolExecutor(1, thread_name_prefix="smallfedi-slow-read")
        self._writer = self._connect()
        self._tx = Transaction(self._writer)
        await self.migrate()
        self._reader = self._connect()
        self._slow_reader = self._connect()

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread off: a worker thread COMMITs on the writer, another reads on the slow
        # reader, always while the loop's thread leaves that connection alone.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            conn.execute(pragma)
        return conn

    async def close(self) -> None:
        async with self._lock:  # a commit in flight finishes first
            for pool in (self._worker, self._slow):
                if pool is not None:
                    pool.shutdown(wait=True)  # …even one whose waiting task was cancelled
            writer = self._writer
            if writer is not None and (self._soon or self._batch is not None):
                # A batch whose commit had not yet run, and what write_soon kept: committed now.
                if not writer.in_transaction:
                    writer.execute("BEGIN IMMEDIATE")
                for sql, params in self._soon:
                    writer.execute(sql, params)
                writer.execute("COMMIT")
                self._soon = []
                if self._batch is not None and not self._batch.done.done():
                    self._batch.done.set_result(None)
                self._batch = None
            for conn in (self._reader, self._slow_reader, self._writer):
                if conn is not None:
                    conn.close()
            self._reader = self._slow_reader = self._writer = self._tx = None

    async def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own transaction; returns the names applied."""
        assert self._writer is not None
        self._writer.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = {row[0] for row in self._writer.execute("SELECT version FROM schema_migrations")}
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
    async def transaction(self, public: bool = True) -> AsyncIterator[Transaction]:
        """A transaction on the writer, rolled back if the block raises; returns once committed.

        `public=False` promises the writes change nothing a stranger can see (see
        `public_generation`); when unsure, leave it True.
        """
        assert self._writer is not None, "database is not open"
        writer = self._writer
        async with self._lock:
            batch = self._batch
            first = batch is None
            if first:
                writer.execute("BEGIN IMMEDIATE")
                batch = self._batch = _Batch()
            else:
                writer.execute("SAVEPOINT tx")
            mark = len(self._after_commit)
            try:
                yield self._tx
            except BaseException:
                del self._after_commit[mark:]
                if first:
                    # Nobody else joined while we held the lock: drop the whole transaction.
                    self._batch = None
                    writer.execute("ROLLBACK")
                    batch.done.set_result(None)
                else:
                    writer.execute("ROLLBACK TO tx")
                    writer.execute("RELEASE tx")
                raise
            if not first:
                writer.execute("RELEASE tx")
            batch.public = batch.public or public
            if not batch.committing:
                # The commit queues behind the transactions already waiting, which join this one.
                batch.committing = asyncio.get_running_loop().create_task(self._commit(batch))
        # Shielded: a caller cancelled while waiting must not cancel the others' commit.
        await asyncio.shield(batch.done)

    def write_soon(self, sql: str, params: tuple = ()) -> None:
        """A write nobody waits for: it joins the next commit (within milliseconds; one is
        started if none is on its way). Only for what a crash may lose at the cost of repeated
        work, never of data: the inbox's record of activities already handled, whose loss
        means a redelivered activity is handled again, which every handler absorbs."""
        self._soon.append((sql, params))
        if self._batch is None and len(self._soon) == 1:
            asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        if self._soon and self._writer is not None:  # else a commit (or close) took them already
            async with self.transaction(public=False):
                pass  # the commit writes them

    async def _commit(self, batch: _Batch) -> None:
        async with self._lock:
            self._batch = None
            writer = self._writer
            if self._soon:
                soon, self._soon = self._soon, []
                for sql, params in soon:
                    try:
                        writer.execute(sql, params)
                    except sqlite3.Error:
                        log.exception("a deferred write failed: %s", sql)
            try:
                # The fsync waits for the disk: in the worker thread, the loop serves meanwhile.
                await asyncio.get_running_loop().run_in_executor(self._worker, writer.execute, "COMMIT")
            except BaseException as exc:
                self._after_commit.clear()
                try:
                    if writer.in_transaction:
                        writer.execute("ROLLBACK")
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

    # A read runs its statement and fetches every row in one synchronous call, so no read keeps
    # a snapshot open across an await (others would then miss writes committed meanwhile).

    async def fetchone(self, sql: str, params: Iterable[Any] = (), *, slow: bool = False) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params, slow=slow)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = (), *, slow: bool = False) -> list[sqlite3.Row]:
        """Rows of a read. `slow=True` for what may scan a large table (it runs in the worker
        thread, so the loop keeps serving); every other read is indexed and runs here."""
        assert self._reader is not None, "database is not open"
        if slow:
            return await asyncio.get_running_loop().run_in_executor(self._slow, _fetch, self._slow_reader, sql,
                                                                    tuple(params))
        rows = self._reader.execute(sql, tuple(params)).fetchall()
        # Still a point where other tasks run, as a read in a thread was: a loop that polls the
        # database (a worker waiting for rows, a shutdown waiting for a queue) must not spin.
        await asyncio.sleep(0)
        return rows

    async def fetchval(self, sql: str, params: Iterable[Any] = (), *, slow: bool = False) -> Any:
        row = await self.fetchone(sql, params, slow=slow)
        return None if row is None else row[0]


def _fetch(conn: sqlite3.Connection, sql: str, params: tuple) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


class _Cursor:
    """A finished statement's rows, behind the async cursor methods the store's code awaits."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> sqlite3.Row | None:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[sqlite3.Row]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _Statement:
    """What `tx.execute` returns: awaited for its cursor, or used as `async with … as cur`."""

    __slots__ = ("cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = _Cursor(cursor)

    def __await__(self):
        return self.cursor
        yield  # a generator that finishes at once: awaiting costs no trip through the loop

    async def __aenter__(self) -> _Cursor:
        return self.cursor

    async def __aexit__(self, *exc) -> None:
        self.cursor._cursor.close()


class Transaction:
    """The writer inside `Database.transaction()`: statements run at once, on this thread."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Iterable[Any] | dict = ()) -> _Statement:
        return _Statement(self._conn.execute(sql, params))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> _Statement:
        return _Statement(self._conn.executemany(sql, rows))

    async def execute_fetchall(self, sql: str, params: Iterable[Any] | dict = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, params).fetchall()


class _Batch:
    """One SQLite transaction shared by the writes that queued for it."""

    __slots__ = ("done", "committing", "public")

    def __init__(self) -> None:
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.committing: asyncio.Task | None = None
        self.public = False
