"""Polls: the owner's polls on their posts, the owner's votes on other people's polls, and
other people's votes on the owner's.

A poll shares its post's id. Expiry is worked out whenever a poll is read (no timers): a poll
is over once its `expires_at` has passed, or when its server said it closed. Votes from
afar are counted once per voter (once per voter and option on a multiple-choice poll), and
not at all after the end; each counted vote sends the poll's new figures to its readers.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from smallfedi.core.errors import Invalid, NotFound
from smallfedi.core.events import emit
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, Poll, PollInfo, PollOption
from smallfedi.core.reading import load_status
from smallfedi.store import accounts as accounts_store
from smallfedi.store import polls as polls_store
from smallfedi.store import statuses as statuses_store
from smallfedi.store.db import Transaction, format_time, utcnow

log = logging.getLogger("smallfedi.polls")

# What the instance announces (configuration.polls), as Mastodon's defaults.
MIN_OPTIONS = 2
MAX_OPTIONS = 4
MAX_OPTION_CHARS = 50
MIN_EXPIRATION = 300  # five minutes
MAX_EXPIRATION = 2_629_746  # a month (30.44 days)


@dataclass(frozen=True)
class PollDraft:
    """A poll as the owner asks for it, with a new post."""
    options: tuple[str, ...]
    expires_in: int | None  # seconds
    multiple: bool = False
    hide_totals: bool = False


def validate(draft: PollDraft) -> PollDraft:
    options = tuple(o.replace("\r\n", "\n").strip() for o in draft.options)
    if len(options) < MIN_OPTIONS:
        raise Invalid(f"A poll needs at least {MIN_OPTIONS} options.")
    if len(options) > MAX_OPTIONS:
        raise Invalid(f"A poll can have at most {MAX_OPTIONS} options.")
    if not all(options):
        raise Invalid("A poll option can't be empty.")
    if any(len(o) > MAX_OPTION_CHARS for o in options):
        raise Invalid(f"A poll option can be at most {MAX_OPTION_CHARS} characters long.")
    if len(set(options)) != len(options):
        raise Invalid("Each poll option must be different.")
    if draft.expires_in is None:
        raise Invalid("Say how long the poll runs (poll[expires_in], in seconds).")
    if not MIN_EXPIRATION <= draft.expires_in <= MAX_EXPIRATION:
        raise Invalid(f"A poll runs from {MIN_EXPIRATION} seconds (five minutes) to {MAX_EXPIRATION} seconds "
                      "(a month).")
    return PollDraft(options, draft.expires_in, bool(draft.multiple), bool(draft.hide_totals))


def _options_json(options) -> str:
    return json.dumps([{"title": o.title, "votes_count": o.votes_count} for o in options], ensure_ascii=False)


def _from_row(row) -> Poll:
    options = tuple(PollOption(str(o.get("title", "")), int(o.get("votes_count") or 0))
                    for o in json.loads(row["options_json"] or "[]"))
    now = utcnow()
    expired = any(t is not None and t <= now for t in (row["closed_at"], row["expires_at"]))
    own = json.loads(row["own_votes"] or "[]") if "own_votes" in row.keys() else []
    return Poll(status_id=row["status_id"], options=options, multiple=bool(row["multiple"]),
                expires_at=row["expires_at"], expired=expired, voters_count=row["voters_count"],
                hide_totals=bool(row["hide_totals"]), mine=bool(row["mine"]) if "mine" in row.keys() else False,
                own_votes=tuple(sorted(own)))


# Reading

async def get(inst: Instance, status_id: int) -> Poll | None:
    row = await polls_store.get(inst.db, status_id, inst.owner.id)
    return _from_row(row) if row else None


async def get_in(tx: Transaction, inst: Instance, status_id: int) -> Poll | None:
    """Inside a write transaction: the poll as it is about to be committed (for the activity)."""
    row = await polls_store.get_in(tx, status_id, inst.owner.id)
    return _from_row(row) if row else None


async def for_statuses(inst: Instance, status_ids: list[int]) -> dict[int, Poll]:
    """The polls of a page of posts, by post id: one query."""
    return {r["status_id"]: _from_row(r) for r in await polls_store.for_statuses(inst.db, status_ids, inst.owner.id)}


# The owner's polls

async def create_in(tx: Transaction, status_id: int, draft: PollDraft) -> None:
    """Store a validated poll with its new post, in the post's transaction."""
    expires_at = format_time(datetime.now(timezone.utc) + timedelta(seconds=draft.expires_in or MIN_EXPIRATION))
    await polls_store.insert(tx, status_id, options_json=_options_json(PollOption(t) for t in draft.options),
                             multiple=draft.multiple, hide_totals=draft.hide_totals, expires_at=expires_at,
                             voters_count=0, now=utcnow())


async def receive_vote(inst: Instance, voter: Account, poll_uri: str, choice_name: str, vote_uri: str | None) -> bool:
    """A vote from afar: a Note named after an option, in reply to the owner's poll.

    Returns False when `poll_uri` is not one of the owner's polls (the Note is then an ordinary
    reply); True when it was a vote, counted or ignored (after the end, an unknown option, a
    second vote on a single-choice poll, the same option twice).
    """
    row = await statuses_store.get_by_uri(inst.db, poll_uri)
    if row is None or row["account_id"] != inst.owner.id:
        return False
    poll = await get(inst, row["id"])
    if poll is None:
        return False
    if voter.id == inst.owner.id:
        return True
    if poll.expired:
        log.info("vote from %s on an ended poll ignored", voter.uri)
        return True
    choice = next((i for i, o in enumerate(poll.options) if o.title == choice_name), None)
    if choice is None:
        log.info("vote from %s for an option the poll does not have ignored", voter.uri)
        return True
    status = await load_status(inst, row["id"])
    mentioned = await _mentioned(inst, status.id)
    async with inst.db.transaction() as tx:
        if not poll.multiple and await polls_store.has_voted(tx, status.id, voter.id):
            return True
        if not await polls_store.add_vote(tx, inst.ids.next(), status.id, voter.id, choice, vote_uri, utcnow()):
            return True
        await _recount(tx, poll)
        await inst.federation.publish_poll_update(tx, status, mentioned)
        emit(inst, "status.update", status.id)
    return True


async def _recount(tx: Transaction, poll: Poll) -> None:
    counts, voters = await polls_store.tally(tx, poll.status_id)
    options = [PollOption(o.title, counts.get(i, 0)) for i, o in enumerate(poll.options)]
    await polls_store.set_counts(tx, poll.status_id, _options_json(options), voters, utcnow())


async def _mentioned(inst: Instance, status_id: int) -> list[Account]:
    """Everyone the post mentioned: they got the poll, so they get its new figures."""
    ids = await statuses_store.mentioned_account_ids(inst.db, status_id)
    return [Account.from_row(r) for r in await accounts_store.get_many(inst.db, ids)]


# The owner votes

async def vote(inst: Instance, status_id: int, choices: list[int]) -> Poll:
    """The owner votes on someone else's poll: one `Create` of a Note per choice, to its author."""
    status = await load_status(inst, status_id)
    if status.reblog_of_id is not None:  # voting through a boost votes on the boosted post
        status = await load_status(inst, status.reblog_of_id)
    poll = await get(inst, status.id)
    if poll is None:
        raise NotFound("This post has no poll.")
    if status.account_id == inst.owner.id:
        raise Invalid("You can't vote in your own poll.")
    if poll.expired:
        raise Invalid("This poll has ended.")
    choices = list(dict.fromkeys(choices))
    if not choices:
        raise Invalid("Choose at least one option.")
    if any(c < 0 or c >= len(poll.options) for c in choices):
        raise Invalid("That choice is not one of the poll's options.")
    if len(choices) > 1 and not poll.multiple:
        raise Invalid("This poll takes one choice only.")
    author = Account.from_row(await accounts_store.get(inst.db, status.account_id))
    async with inst.db.transaction() as tx:
        if await polls_store.has_voted(tx, status.id, inst.owner.id):
            raise Invalid("You have already voted in this poll.")
        for choice in choices:
            vote_id = inst.ids.next()
            vote_uri = f"{inst.actor_uri()}#votes/{vote_id}"
            await polls_store.add_vote(tx, vote_id, status.id, inst.owner.id, choice, vote_uri, utcnow())
            await inst.federation.publish_vote(tx, vote_uri, status, author, poll.options[choice].title)
        # Counted here at once, as Mastodon does; the author's next Update brings the true figures.
        options = [PollOption(o.title, o.votes_count + (1 if i in choices else 0)) for i, o in enumerate(poll.options)]
        voters = poll.voters_count + 1 if poll.voters_count is not None else None
        await polls_store.set_counts(tx, status.id, _options_json(options), voters, utcnow())
        emit(inst, "status.update", status.id)
    return await get(inst, status.id)


# Remote polls

async def store_remote_in(tx: Transaction, status_id: int, info: PollInfo) -> None:
    """A remote Question's poll, on arrival or when an Update brings new figures. Changed options
    make the owner's earlier choices meaningless, so they go."""
    before = await polls_store.get_in(tx, status_id, 0)
    if before is not None:
        titles = [o.get("title") for o in json.loads(before["options_json"] or "[]")]
        if titles != [o.title for o in info.options]:
            await polls_store.clear_votes(tx, status_id)
    await polls_store.upsert_remote(tx, status_id, options_json=_options_json(info.options),
                                    multiple=info.multiple, expires_at=info.expires_at,
                                    closed_at=info.closed_at, voters_count=info.voters_count, now=utcnow())


def same_text(row, info) -> bool:
    """Is an Update's post the same as the stored one, apart from its poll? (Mastodon sends an
    Update of a Question after votes; that is no edit.)"""
    return (row["content"] == info.content and row["spoiler_text"] == info.spoiler_text
            and bool(row["sensitive"]) == info.sensitive and info.updated in (None, row["edited_at"]))

