"""What a handle or an address points at: a post or an account, fetched through federation
when it is new to us. Used when another server sends the owner here to act on something
(the WebFinger subscribe template, `/authorize_interaction?uri=…`)."""

from __future__ import annotations

from smallfedi.core.errors import DomainError, Invalid
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, Status

MAX_QUERY = 2000


async def lookup(inst: Instance, query: str) -> Account | Status:
    query = (query or "").strip()
    if query.startswith("acct:"):
        query = query[5:]
    if not query or len(query) > MAX_QUERY:
        raise Invalid("Give a handle such as @name@example.social or an https:// address.")
    if query.startswith(("https://", "http://")):
        status = await inst.federation.resolve_status(query)
        if status is not None:
            return status
    try:
        return await inst.federation.resolve_account(query)
    except DomainError:
        raise Invalid(f"Nothing could be found at {query}.") from None
