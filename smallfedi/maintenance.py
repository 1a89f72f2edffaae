"""Operator tasks outside the server: `check` and `backup`."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import stat
from pathlib import Path

from smallfedi.config import Config
from smallfedi.store.db import migrations

DB_FILES = {"smallfedi.db", "smallfedi.db-wal", "smallfedi.db-shm"}


def _check_sync(config: Config) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    facts = [f"url: {config.url}", f"data_dir: {config.data_dir}"]
    mode = stat.S_IMODE(config.db_path.stat().st_mode)
    if mode & 0o077:
        problems.append(f"{config.db_path} is readable by other users (mode {mode:o}); run chmod 600 on it")
    if not os.access(config.data_dir, os.W_OK):
        problems.append(f"{config.data_dir} is not writable by this user")
    conn = sqlite3.connect(f"file:{config.db_path}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA quick_check").fetchone()[0]
        if result != "ok":
            problems.append(f"database integrity check failed: {result}")
        try:
            applied = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        except sqlite3.DatabaseError:
            applied = set()
        pending = [name for version, name, _ in migrations() if version not in applied]
        facts.append(f"schema: {len(applied)} migrations applied"
                     + (f", {len(pending)} pending (applied at the next start)" if pending else ""))
        try:
            owner = conn.execute("SELECT username FROM accounts WHERE local = 1").fetchone()
            statuses = conn.execute("SELECT count(*) FROM statuses").fetchone()[0]
        except sqlite3.DatabaseError:
            owner, statuses = None, 0
        if owner is None:
            problems.append("the database has no owner; was `smallfedi init` interrupted?")
        else:
            facts.append(f"owner: @{owner[0]}@{config.domain}, {statuses} posts stored")
    except sqlite3.DatabaseError as exc:
        problems.append(f"the database can't be read: {exc}")
    finally:
        conn.close()
    return problems, facts


async def check(config: Config) -> tuple[list[str], list[str]]:
    return await asyncio.to_thread(_check_sync, config)


def _backup_sync(config: Config, dest: Path) -> str:
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = dest / "smallfedi.db"
    fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)  # the key is in there
    os.close(fd)
    source = sqlite3.connect(f"file:{config.db_path}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        # One step (pages=-1) reads a single consistent snapshot, even while the server writes.
        source.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode=WAL")
    finally:
        copy.close()
        source.close()
    files = 0
    for entry in config.data_dir.iterdir():
        if entry.name in DB_FILES or entry.name == "cache":  # the cache refills itself from the origins
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name, dirs_exist_ok=True)
            files += sum(1 for p in (dest / entry.name).rglob("*") if p.is_file())
        elif entry.is_file():
            shutil.copy2(entry, dest / entry.name)
            files += 1
    size = target.stat().st_size
    return (f"backed up the database ({size // 1024} KiB) and {files} other files to {dest}; "
            f"to restore, point data_dir at it")


async def backup(config: Config, dest: Path) -> str:
    return await asyncio.to_thread(_backup_sync, config, dest)
