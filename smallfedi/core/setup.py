"""Creating a new instance: the database, the owner, their keys and password."""

from __future__ import annotations

import os

from smallfedi.config import Config
from smallfedi.core import push, secrets
from smallfedi.core.errors import Conflict, Invalid
from smallfedi.config import USERNAME_RE
from smallfedi.ids import IdGenerator
from smallfedi.store import accounts as accounts_store
from smallfedi.store.db import Database, utcnow


def prepare_data_dir(config: Config) -> None:
    """The data folder, readable by the service user alone (it holds the private key)."""
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    config.media_dir.mkdir(exist_ok=True, mode=0o711)  # public files; a proxy may serve them (docs/media.md)


async def initialise(config: Config, username: str, password: str) -> None:
    if not USERNAME_RE.match(username):
        raise Invalid("username: use 1 to 30 letters, digits or underscores")
    problem = secrets.check_new_password(password)
    if problem:
        raise Invalid(problem)
    if config.db_path.exists():
        raise Conflict(f"an instance already exists at {config.db_path}; nothing was changed")
    prepare_data_dir(config)
    # Create the file first with 0600, so the key is never readable by others, not even briefly.
    fd = os.open(config.db_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    private_pem, public_pem = secrets.generate_rsa_keypair()
    db = Database(config.db_path)
    try:
        await db.open()
        actor = f"{config.url}/users/{username}"
        async with db.transaction() as tx:
            await accounts_store.insert_owner(
                tx, account_id=IdGenerator().next(), username=username, uri=actor, url=f"{config.url}/@{username}",
                inbox_url=f"{actor}/inbox", shared_inbox_url=f"{config.url}/inbox", key_id=f"{actor}#main-key",
                public_key_pem=public_pem, private_key_pem=private_pem,
                password_hash=secrets.hash_password(password), secret_key=secrets.new_token(), now=utcnow(),
            )
            await accounts_store.set_collection_urls(tx, actor)
            await push.add_vapid_key(tx)  # Web Push's signing key (VAPID)
    except BaseException:
        await db.close()
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(f"{config.db_path}{suffix}")
            except FileNotFoundError:
                pass
        raise
    await db.close()
