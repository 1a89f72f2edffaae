"""The `smallfedi` command: init, serve, passwd, check, backup, storage, prune.

Every failure is one line on stderr and a non-zero exit; no traceback reaches the operator.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from smallfedi import __version__
from smallfedi.config import Config, ConfigError, load_config, normalise_url, render_config

EXIT_ERROR = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A problem to report in one line."""


def _read_password_file(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"--password-file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CommandError(f"--password-file {path}: not UTF-8 text") from None
    password = text.rstrip("\r\n")
    if not password:
        raise CommandError(f"--password-file {path}: the file is empty")
    return password


def _obtain_password(password_file: str | None) -> tuple[str, bool]:
    """(password, generated?): from the file, else asked on a terminal, else generated."""
    from smallfedi.core.secrets import generate_password

    if password_file:
        return _read_password_file(password_file), False
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("New password for the owner: ")
        if first != getpass.getpass("Same password again: "):
            raise CommandError("the two passwords differ; nothing was changed")
        return first, False
    return generate_password(), True


def cmd_init(args: argparse.Namespace) -> int:
    from smallfedi.core.setup import initialise

    config_path = Path(args.config)
    if config_path.exists():
        config = load_config(config_path)
        if args.data_dir:
            raise CommandError(f"--data-dir: {config_path} exists and already sets data_dir = {config.data_dir}")
        if args.url and normalise_url(args.url) != config.url:
            raise CommandError(f"{config_path} already sets url = {config.url!r}, not {args.url!r}")
        wrote_config = False
    else:
        url = normalise_url(args.url, "--url")
        data_dir = args.data_dir or "data"
        config_path.parent.mkdir(parents=True, exist_ok=True)
        text = render_config(url, data_dir, port=_port_of(url))
        wrote_config = True
        config_path.write_text(text, encoding="utf-8")
        try:
            config = load_config(config_path)
        except ConfigError:
            config_path.unlink()
            raise
    if config.db_path.exists():
        if wrote_config:
            config_path.unlink()
        raise CommandError(f"an instance already exists at {config.db_path}; nothing was changed")
    try:
        password, generated = _obtain_password(args.password_file)
        asyncio.run(initialise(config, args.username, password))
    except BaseException:
        if wrote_config:
            config_path.unlink(missing_ok=True)
        raise
    print(f"created @{args.username}@{config.domain} in {config.data_dir}")
    if wrote_config:
        print(f"wrote {config_path}")
    if generated:
        print(f"owner password (shown once, write it down): {password}")
    return 0


def _port_of(url: str) -> int:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    # Behind a proxy the public port is not ours; only a local http URL tells us where to listen.
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1") and parts.port:
        return parts.port
    return 8080


def cmd_serve(args: argparse.Namespace) -> int:
    from smallfedi.serve import serve

    config = load_config(args.config)
    _require_instance(config)
    serve(config, host=args.host, port=args.port)
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    from smallfedi.core.instance import Instance
    from smallfedi.core.profile import set_password

    config = load_config(args.config)
    _require_instance(config)
    password, generated = _obtain_password(args.password_file)

    async def run() -> None:
        inst = Instance(config)
        await inst.open()
        try:
            await set_password(inst, password)
        finally:
            await inst.close()

    asyncio.run(run())
    print("password changed; every browser session was signed out")
    if generated:
        print(f"new owner password (shown once, write it down): {password}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from smallfedi.maintenance import check

    config = load_config(args.config)
    _require_instance(config)
    problems, facts = asyncio.run(check(config))
    for line in facts:
        print(line)
    if problems:
        for line in problems:
            print(f"problem: {line}", file=sys.stderr)
        return EXIT_ERROR
    print("ok")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from smallfedi.maintenance import backup

    config = load_config(args.config)
    _require_instance(config)
    dest = Path(args.dest)
    if dest.resolve().is_relative_to(config.data_dir.resolve()):
        raise CommandError(f"{dest} is inside the data folder; back up to another folder (another disk is best)")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise CommandError(f"{dest} exists and is not an empty folder; choose a new one")
    summary = asyncio.run(backup(config, dest))
    print(summary)
    return 0


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _on_instance(config: Config, work):
    """Run `work(inst)` on the opened instance (the server may be running beside it: SQLite's
    WAL lets both in, and each write waits its turn)."""
    from smallfedi.core.instance import Instance

    async def run():
        inst = Instance(config)
        await inst.open()
        try:
            return await work(inst)
        finally:
            await inst.close()

    return asyncio.run(run())


def cmd_storage(args: argparse.Namespace) -> int:
    from smallfedi.core.storage import usage

    config = load_config(args.config)
    _require_instance(config)
    u = _on_instance(config, usage)
    print(f"database: {_size(u.database_bytes)} ({_size(u.database_free_bytes)} of it free for reuse); "
          f"{u.local_statuses} own posts, {u.remote_statuses} remote posts")
    print(f"media: {u.media_files} files, {_size(u.media_bytes)}")
    print(f"remote image cache: {u.cache_files} files, {_size(u.cache_bytes)} of a {_size(u.cache_budget_bytes)} budget")
    if u.prune_after_days:
        print(f"pruning: remote posts nobody here interacted with go after {u.prune_after_days} days; "
              f"{u.prunable} would go now")
    else:
        print("pruning: off (storage.prune_remote_after_days = 0); `smallfedi prune --days N` prunes by hand")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from smallfedi.core.storage import prune

    config = load_config(args.config)
    _require_instance(config)
    days = args.days if args.days is not None else config.storage.prune_remote_after_days
    if days < 1:
        raise CommandError("--days: give a number of days of at least 1 (or set storage.prune_remote_after_days)")
    result = _on_instance(config, lambda inst: prune(inst, days, dry_run=args.dry_run))
    if args.dry_run:
        print(f"{result.statuses} remote posts older than {days} days would be pruned")
    else:
        print(f"pruned {result.statuses} remote posts older than {days} days; "
              f"removed {result.files} files ({_size(result.bytes)})")
    return 0


def _require_instance(config: Config) -> None:
    if not config.db_path.exists():
        raise CommandError(f"no instance at {config.data_dir}: run `smallfedi init --config {config.path}` first")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smallfedi", description="Your own single-user fediverse server.")
    parser.add_argument("--version", action="version", version=f"smallfedi {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create a new instance (config, database, owner, keys)")
    p.add_argument("--config", required=True, help="the config file to create or use")
    p.add_argument("--url", required=True, help="public base URL, e.g. https://social.example.org")
    p.add_argument("--username", required=True, help="the owner's user name (letters, digits, _)")
    p.add_argument("--password-file", help="read the owner's password from this file")
    p.add_argument("--data-dir", help="where a new config puts the data (default: data/ beside the config)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="serve the instance until SIGTERM or SIGINT")
    p.add_argument("--config", required=True)
    p.add_argument("--host", help="listen address (default: the config's server.host)")
    p.add_argument("--port", type=int, help="listen port (default: the config's server.port)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("passwd", help="set the owner's password")
    p.add_argument("--config", required=True)
    p.add_argument("--password-file", help="read the new password from this file")
    p.set_defaults(func=cmd_passwd)

    p = sub.add_parser("check", help="validate the config and the database")
    p.add_argument("--config", required=True)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("backup", help="copy the database (online, consistent) and media to DEST")
    p.add_argument("--config", required=True)
    p.add_argument("dest", metavar="DEST", help="a new or empty folder")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("storage", help="show what the database, media and remote cache use")
    p.add_argument("--config", required=True)
    p.set_defaults(func=cmd_storage)

    p = sub.add_parser("prune", help="forget old remote posts nobody here interacted with")
    p.add_argument("--config", required=True)
    p.add_argument("--days", type=int, help="older than this many days (default: storage.prune_remote_after_days)")
    p.add_argument("--dry-run", action="store_true", help="only count what would be pruned")
    p.set_defaults(func=cmd_prune)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, CommandError) as exc:
        print(f"smallfedi: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("smallfedi: interrupted", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - the contract: one line, never a traceback
        from smallfedi.core.errors import DomainError

        message = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        print(f"smallfedi: {message}", file=sys.stderr)
        if os.environ.get("SMALLFEDI_DEBUG"):
            raise
    return EXIT_ERROR
