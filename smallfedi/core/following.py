"""The owner follows and unfollows, and answers follow requests."""

from __future__ import annotations

from smallfedi.core import domain_blocks
from smallfedi.core.errors import Invalid, NotFound
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account
from smallfedi.store import accounts as accounts_store
from smallfedi.store import follows as follows_store
from smallfedi.store import interactions as interactions_store
from smallfedi.store import marks as marks_store
from smallfedi.store.db import utcnow

MAX_RELATIONSHIPS = 100


async def follow(inst: Instance, query: str) -> Account:
    """Follow by handle or URL; resolved through federation (WebFinger, signed fetch)."""
    account = await inst.federation.resolve_account(query.strip())
    await follow_account(inst, account)
    return account


async def follow_account(inst: Instance, account: Account) -> None:
    if account.id == inst.owner.id:
        raise Invalid("You can't follow yourself.")
    if await domain_blocks.is_blocked(inst, account.domain):
        raise Invalid(f"{account.domain} is blocked: unblock the domain to follow its accounts.")
    existing = await follows_store.get(inst.db, inst.owner.id, account.id)
    follow_uri = existing["uri"] if existing else inst.federation.new_activity_uri()
    async with inst.db.transaction() as tx:
        await follows_store.upsert(tx, inst.ids.next(), inst.owner.id, account.id, follow_uri, False, utcnow())
        # Sent again when already pending or accepted: a lost Accept then arrives after all.
        await inst.federation.publish_follow(tx, follow_uri, account)


async def unfollow(inst: Instance, account_id: int) -> None:
    account = await _account(inst, account_id)
    existing = await follows_store.get(inst.db, inst.owner.id, account.id)
    if existing is None:
        return
    async with inst.db.transaction() as tx:
        await follows_store.delete(tx, inst.owner.id, account.id)
        await inst.federation.publish_undo_follow(tx, existing["uri"], account)


async def _account(inst: Instance, account_id: int) -> Account:
    row = await accounts_store.get(inst.db, account_id)
    if row is None:
        raise NotFound("There is no such account here.")
    return Account.from_row(row)


async def approve(inst: Instance, account_id: int) -> None:
    account = await _account(inst, account_id)
    request = await follows_store.get(inst.db, account.id, inst.owner.id)
    if request is None:
        raise NotFound("There is no follow request from this account.")
    async with inst.db.transaction() as tx:
        if await follows_store.accept(tx, account.id, inst.owner.id):
            await interactions_store.remove_notifications(tx, "follow_request", account.id)
            await interactions_store.add_notification(tx, inst.ids.next(), "follow", account.id, None, utcnow())
        await inst.federation.publish_accept(tx, request["uri"], account)


async def reject(inst: Instance, account_id: int) -> None:
    """Refuse a request, or remove an existing follower."""
    account = await _account(inst, account_id)
    request = await follows_store.get(inst.db, account.id, inst.owner.id)
    if request is None:
        raise NotFound("This account does not follow you.")
    async with inst.db.transaction() as tx:
        await follows_store.delete(tx, account.id, inst.owner.id)
        await interactions_store.remove_notifications(tx, "follow_request", account.id)
        await inst.federation.publish_reject(tx, request["uri"], account)


async def relationship(inst: Instance, account_id: int) -> dict:
    following = await follows_store.get(inst.db, inst.owner.id, account_id)
    followed_by = await follows_store.get(inst.db, account_id, inst.owner.id)
    return {
        "following": bool(following and following["accepted"]),
        "requested": bool(following and not following["accepted"]),
        "followed_by": bool(followed_by and followed_by["accepted"]),
        "requested_by": bool(followed_by and not followed_by["accepted"]),
    }


async def list_followers(inst: Instance, accepted: bool = True, max_id: int | None = None, limit: int = 40):
    rows = await follows_store.list_accounts(inst.db, target_id=inst.owner.id, accepted=accepted, max_id=max_id,
                                             limit=limit)
    return [(r["follow_id"], Account.from_row(r)) for r in rows]


async def list_following(inst: Instance, max_id: int | None = None, limit: int = 40):
    rows = await follows_store.list_accounts(inst.db, follower_id=inst.owner.id, accepted=True, max_id=max_id,
                                             limit=limit)
    return [(r["follow_id"], Account.from_row(r)) for r in rows]


async def counts(inst: Instance) -> tuple[int, int]:
    """(followers, following)"""
    return (await follows_store.count(inst.db, target_id=inst.owner.id),
            await follows_store.count(inst.db, follower_id=inst.owner.id))


async def block(inst: Instance, account_id: int) -> None:
    """Block: follows end both ways, their posts and notifications are hidden, they are told."""
    account = await _account(inst, account_id)
    if account.local:
        raise Invalid("You can't block yourself.")
    block_uri = f"{inst.actor_uri()}#blocks/{account.id}"
    async with inst.db.transaction() as tx:
        await accounts_store.set_blocked(tx, account.id, True)
        mine = await follows_store.get_in(tx, inst.owner.id, account.id)
        await follows_store.delete(tx, account.id, inst.owner.id)
        await follows_store.delete(tx, inst.owner.id, account.id)
        if mine is not None:
            await inst.federation.publish_undo_follow(tx, mine["uri"], account)
        await inst.federation.publish_block(tx, block_uri, account)


async def unblock(inst: Instance, account_id: int) -> None:
    account = await _account(inst, account_id)
    async with inst.db.transaction() as tx:
        await accounts_store.set_blocked(tx, account.id, False)
        await inst.federation.publish_undo_block(tx, f"{inst.actor_uri()}#blocks/{account.id}", account)


async def relationships(inst: Instance, account_ids: list[int]) -> list[dict]:
    """Everything an app shows about the owner and each account, in the order asked."""
    out = []
    blocked_domains = await domain_blocks.domains(inst)
    for account_id in account_ids[:MAX_RELATIONSHIPS]:
        row = await accounts_store.get(inst.db, account_id)
        if row is None:
            continue
        rel = await relationship(inst, account_id)
        mute = await marks_store.account_mute(inst.db, account_id)
        rel.update(id=account_id, blocking=bool(row["blocked"]), blocked_by=bool(row["blocks_owner"]),
                   muting=mute is not None, muting_notifications=bool(mute and mute["notifications"]),
                   note=await marks_store.note(inst.db, account_id),
                   domain_blocking=any(domain_blocks.covers(d, row["domain"]) for d in blocked_domains))
        out.append(rel)
    return out


async def blocked(inst: Instance, max_id: int | None = None, limit: int = 40) -> list[tuple[int, Account]]:
    """Accounts the owner blocked; the cursor is the account id (blocks have no row of their own)."""
    rows = await accounts_store.list_blocked(inst.db, max_id=max_id, limit=limit)
    return [(r["id"], Account.from_row(r)) for r in rows]
