"""Blocking a whole domain: its accounts' posts and notifications leave every list, the owner's
follows with it end both ways (they are told: Reject of their Follow, Undo of the owner's), and
from then on nothing is fetched from it, nothing delivered to it, and its activities are dropped
before their signature is checked.

A block covers its subdomains ("example.com" covers "social.example.com"). Accounts are named
by their actor's host[:port]; a block without a port covers every port of the host.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from smallfedi.core.errors import Invalid
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, Page
from smallfedi.store import accounts as accounts_store
from smallfedi.store import domain_blocks as store
from smallfedi.store import follows as follows_store
from smallfedi.store import interactions as interactions_store
from smallfedi.store.db import utcnow

MAX_DOMAIN = 253
_PORT = re.compile(r":\d{1,5}$")
_HOST = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?|\[[0-9a-f:.]+\]")


def normalise(raw: str | None) -> str:
    """A domain as given (a host, host:port, @host, *.host or a URL) as it is stored."""
    text = (raw or "").strip().lower()
    if not text:
        raise Invalid("Validation failed: Domain can't be blank")
    if "://" in text:
        text = urlsplit(text).netloc.rpartition("@")[2]
    text = text.lstrip("@")
    text = text[2:] if text.startswith("*.") else text
    text = text.split("/", 1)[0].strip(".")
    port = _PORT.search(text)
    host = text[:port.start()] if port else text
    try:
        host = host.encode("idna").decode("ascii") if host and not host.isascii() else host
    except UnicodeError:
        raise Invalid("Validation failed: Domain is not a valid domain name") from None
    if not host or len(host) > MAX_DOMAIN or not _HOST.fullmatch(host):
        raise Invalid("Validation failed: Domain is not a valid domain name")
    return host + (port.group(0) if port else "")


def covers(domain: str, host: str | None) -> bool:
    """Whether a block of `domain` covers `host` (an account's domain, a URL's netloc)."""
    if not host:
        return False
    host = host.lower()
    for name in {host, _PORT.sub("", host)}:
        if name == domain or name.endswith("." + domain):
            return True
    return False


async def domains(inst: Instance) -> list[str]:
    return await store.domains(inst.db)


async def is_blocked(inst: Instance, host_or_url: str | None) -> bool:
    """Whether a host (or the host of a URL) is on a blocked domain."""
    if not host_or_url:
        return False
    host = urlsplit(host_or_url).netloc if "://" in host_or_url else host_or_url
    return any(covers(d, host) for d in await store.domains(inst.db))


async def block(inst: Instance, raw: str | None) -> str:
    domain = normalise(raw)
    if covers(domain, inst.config.domain) or covers(domain, urlsplit(inst.base_url).netloc):
        raise Invalid("You can't block your own domain.")
    owner = inst.owner
    async with inst.db.transaction() as tx:
        follows = await store.follows_on_domain(tx, owner.id, domain)
        accounts = {r["id"]: Account.from_row(r)
                    for r in await accounts_store.get_many(inst.db, [f["other_id"] for f in follows])}
        # Told before the block is recorded: from then on nothing is queued for that domain.
        for follow in follows:
            account = accounts.get(follow["other_id"])
            if account is None:
                continue
            if follow["follower_id"] == owner.id:
                await follows_store.delete(tx, owner.id, account.id)
                await inst.federation.publish_undo_follow(tx, follow["uri"], account)
            else:
                await follows_store.delete(tx, account.id, owner.id)
                await interactions_store.remove_notifications(tx, "follow_request", account.id)
                await inst.federation.publish_reject(tx, follow["uri"], account)
        await store.add(tx, inst.ids.next(), domain, utcnow())
    return domain


async def unblock(inst: Instance, raw: str | None) -> None:
    domain = normalise(raw)
    async with inst.db.transaction() as tx:
        await store.remove(tx, domain)


async def page(inst: Instance, *, max_id: int | None = None, since_id: int | None = None,
               min_id: int | None = None, limit: int = 100) -> Page:
    """(cursor, domain) pairs, the newest block first."""
    rows = await store.page(inst.db, max_id=max_id, since_id=since_id, min_id=min_id, limit=limit)
    items = [(r["id"], r["domain"]) for r in rows]
    return Page(items=items, next_max_id=items[-1][0] if items and len(items) == limit else None,
                prev_min_id=items[0][0] if items else None)
