"""Search: accounts by handle or name, posts by address, hashtags by prefix. With `resolve`,
a handle or an address we don't know yet is fetched through federation."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from smallfedi.core.errors import DomainError
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, Status
from smallfedi.store import accounts as accounts_store
from smallfedi.store import statuses as statuses_store

log = logging.getLogger("smallfedi.search")

HANDLE_RE = re.compile(r"^@?[\w.-]+@[\w.-]+(:\d+)?$")
MAX_QUERY = 500


@dataclass
class Results:
    accounts: list[Account] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)


async def search(inst: Instance, q: str, *, kinds: set[str], resolve: bool, limit: int, offset: int = 0,
                 following_only: bool = False) -> Results:
    q = (q or "").strip()[:MAX_QUERY]
    found = Results()
    if not q:
        return found
    is_url = q.startswith(("https://", "http://"))
    if "accounts" in kinds:
        if resolve and (HANDLE_RE.match(q) or is_url):
            try:
                found.accounts.append(await inst.federation.resolve_account(q))
            except DomainError as exc:
                log.info("search: %s did not resolve to an account: %s", q, exc.message)
        if not found.accounts:
            rows = await accounts_store.search(inst.db, q.lstrip("@"), limit=limit, offset=offset,
                                               following_of=inst.owner.id if following_only else None)
            found.accounts.extend(Account.from_row(r) for r in rows)
    if "statuses" in kinds and is_url and resolve:
        try:
            status = await inst.federation.resolve_status(q)
        except DomainError as exc:
            log.info("search: %s did not resolve to a post: %s", q, exc.message)
            status = None
        if status is not None:
            found.statuses.append(status)
    if "hashtags" in kinds and not is_url:
        name = q.lstrip("#").lower()
        if name and re.match(r"^\w+$", name):
            found.hashtags = await statuses_store.tags_starting(inst.db, name, limit, offset)
    return found
