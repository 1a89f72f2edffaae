"""Owner sign-in: password check with throttling, and sessions kept as hashed tokens.

Shared by the web page and (later) the OAuth authorize page, so both use one login.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

from smallfedi.core import secrets
from smallfedi.core.errors import TooManyRequests, Unauthorized
from smallfedi.core.instance import Instance
from smallfedi.store import accounts as accounts_store
from smallfedi.store import sessions as sessions_store
from smallfedi.store.db import format_time, utcnow

log = logging.getLogger("smallfedi.auth")

SESSION_LIFETIME = timedelta(days=30)  # since the last visit
_TOUCH_EVERY = timedelta(hours=1)      # don't write on every page view


async def login(inst: Instance, password: str, client: str, user_agent: str = "") -> str:
    """Check the password; returns a new session token. Raises after repeated failures."""
    wait = inst.login_throttle.retry_after(client)
    if wait:
        minutes = (wait + 59) // 60
        raise TooManyRequests(f"Too many failed sign-in attempts. Try again in {minutes} minute"
                              f"{'s' if minutes != 1 else ''}.", retry_after=wait)
    stored = await accounts_store.get_owner_secrets(inst.db)
    # scrypt takes tens of milliseconds of CPU; keep the event loop free meanwhile.
    ok = await asyncio.to_thread(secrets.verify_password, password, stored["password_hash"])
    if not ok:
        inst.login_throttle.hit(client)
        log.warning("failed sign-in from %s", client)
        raise Unauthorized("Wrong password.")
    inst.login_throttle.reset(client)
    return await start_session(inst, user_agent)


async def start_session(inst: Instance, user_agent: str = "") -> str:
    token = secrets.new_token()
    now = datetime.now(timezone.utc)
    async with inst.db.transaction() as tx:
        await sessions_store.delete_older_than(tx, format_time(now - SESSION_LIFETIME))
        await sessions_store.insert(tx, secrets.token_hash(token), user_agent, format_time(now))
    return token


async def session_is_valid(inst: Instance, token: str | None) -> bool:
    if not token or len(token) > 200:
        return False
    digest = secrets.token_hash(token)
    row = await sessions_store.get(inst.db, digest)
    if row is None:
        return False
    now = datetime.now(timezone.utc)
    last_seen = datetime.fromisoformat(row["last_seen_at"].replace("Z", "+00:00"))
    if now - last_seen > SESSION_LIFETIME:
        return False
    if now - last_seen > _TOUCH_EVERY:
        async with inst.db.transaction() as tx:
            await sessions_store.touch(tx, digest, utcnow())
    return True


async def logout(inst: Instance, token: str | None) -> None:
    if token:
        async with inst.db.transaction() as tx:
            await sessions_store.delete(tx, secrets.token_hash(token))
