"""The federation face's side of the core's `Federation` port: finding remote accounts and
posts, and turning the owner's actions into queued activities.

What only finding or publishing needs (fetching with httpx, parsing, the core's remote and
poll logic) is imported there, so making the service at start-up loads little.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from smallfedi.core import domain_blocks
from smallfedi.core.errors import DomainError, Invalid, NotFound
from smallfedi.core.instance import Instance
from smallfedi.core.models import Account, MediaAttachment, Status
from smallfedi.federation import documents as docs
from smallfedi.store import accounts as accounts_store
from smallfedi.store import domain_blocks as domain_blocks_store
from smallfedi.store import follows as follows_store
from smallfedi.store import media as media_store
from smallfedi.store import polls as polls_store
from smallfedi.store import queue as queue_store
from smallfedi.store import statuses as statuses_store
from smallfedi.store.db import Transaction, utcnow

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("smallfedi.federation")

HANDLE_RE = re.compile(r"^@?([A-Za-z0-9_.~-]{1,100})@([A-Za-z0-9.-]+(?::\d{1,5})?)$")
ACTOR_REFRESH = timedelta(days=1)
MAX_PARENT_DEPTH = 8  # how far up a reply chain we fetch to show a thread whole
AP_TYPES = ("application/activity+json", 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"')


class RemoteError(DomainError):
    status = 422


class FederationService:
    def __init__(self, inst: Instance, client: Callable[[], httpx.AsyncClient], auth: Callable[[], httpx.Auth],
                 wake_delivery=lambda: None) -> None:
        """`client` and `auth` give the shared HTTP client and the owner's signer; they are asked
        for on first use, so an instance that fetches nothing never makes them."""
        self.inst = inst
        self._client = client
        self._auth = auth
        self.wake_delivery = wake_delivery

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client()

    @property
    def auth(self) -> httpx.Auth:
        return self._auth()

    # Finding things ---------------------------------------------------------------------

    async def resolve_account(self, query: str) -> Account:
        query = query.strip()
        m = HANDLE_RE.match(query)
        if m:
            user, host = m.group(1), m.group(2).lower()
            if host == self.inst.config.domain:
                if user.lower() == self.inst.owner.username.lower():
                    return self.inst.owner
                raise NotFound(f"There is nobody called {user} here.")
            await self._refuse_blocked(host)
            known = await accounts_store.get_by_handle(self.inst.db, user, host)
            if known is not None and not _stale(known["fetched_at"]):
                return Account.from_row(known)
            return await self.fetch_actor(await self._webfinger(user, host))
        if query.startswith(("http://", "https://")):
            from smallfedi.federation.parse import same_origin

            if same_origin(query, self.inst.base_url):
                if query.rstrip("/") in (self.inst.actor_uri(), self.inst.profile_url()):
                    return self.inst.owner
                raise NotFound("That address is not an account here.")
            await self._refuse_blocked(query)
            known = await accounts_store.get_by_uri(self.inst.db, query)
            if known is not None and not _stale(known["fetched_at"]):
                return Account.from_row(known)
            return await self.fetch_actor(query)
        raise Invalid("Give a handle such as @name@example.social or an https:// address.")

    async def _webfinger(self, user: str, host: str) -> str:
        # An http:// instance (local testing) looks its peers up over http too.
        scheme = "https" if self.inst.config.https else "http"
        url = f"{scheme}://{host}/.well-known/webfinger?resource={quote(f'acct:{user}@{host}', safe=':@')}"
        from smallfedi.federation.fetch import FetchError, fetch_json

        try:
            _, doc = await fetch_json(self.client, url, auth=None, accept="application/jrd+json, application/json")
        except FetchError as exc:
            raise RemoteError(f"Could not look up @{user}@{host}: {exc.message}") from None
        links = doc.get("links") if isinstance(doc.get("links"), list) else []
        for link in links:
            if (isinstance(link, dict) and link.get("rel") == "self" and isinstance(link.get("href"), str)
                    and link.get("type", AP_TYPES[0]) in AP_TYPES):
                return link["href"]
        raise RemoteError(f"@{user}@{host} has no ActivityPub actor.")

    async def _refuse_blocked(self, url_or_host: str) -> None:
        """Nothing is fetched from a blocked domain."""
        if await domain_blocks.is_blocked(self.inst, url_or_host):
            host = urlsplit(url_or_host).netloc if "://" in url_or_host else url_or_host
            raise RemoteError(f"{host} is on a blocked domain.")

    async def fetch_actor(self, uri: str) -> Account:
        from smallfedi.core import remote
        from smallfedi.federation.fetch import FetchError, fetch_object
        from smallfedi.federation.parse import ParseError, actor_info

        await self._refuse_blocked(uri)
        try:
            doc = await fetch_object(self.client, uri, auth=self.auth)
            info = actor_info(doc)
        except FetchError as exc:
            raise RemoteError(f"Could not fetch {uri}: {exc.message}") from None
        except ParseError as exc:
            raise RemoteError(f"{uri} is not a usable account: {exc.message}") from None
        return await remote.remember_actor(self.inst, info)

    async def account_for_key(self, key_id: str, refresh: bool = False) -> Account:
        """The account that owns a signature's keyId, fetched when unknown or when asked to refresh."""
        if not refresh:
            row = await accounts_store.get_by_key_id(self.inst.db, key_id)
            if row is not None:
                return Account.from_row(row)
        from smallfedi.core import remote
        from smallfedi.federation.fetch import FetchError, fetch_object
        from smallfedi.federation.parse import ParseError, actor_info, same_origin, types_of

        await self._refuse_blocked(key_id)
        url = key_id.split("#", 1)[0]
        try:
            doc = await fetch_object(self.client, url, auth=self.auth)
        except FetchError as exc:
            raise RemoteError(f"could not fetch the key {key_id}: {exc.message}") from None
        actor_uri = doc["id"]
        if not types_of(doc) & {"Person", "Service", "Application", "Group", "Organization"}:
            owner = doc.get("owner")  # a bare key document points at its actor
            if not isinstance(owner, str) or not same_origin(owner, url):
                raise RemoteError(f"{key_id} is not a key of an actor")
            actor_uri = owner
            doc = await fetch_object(self.client, actor_uri, auth=self.auth)
        elif not doc.get("inbox"):
            # GoToSocial answers a key id with a stub of the actor (id, key, no inbox):
            # the whole actor lives at its id.
            key = doc.get("publicKey")
            owner = key.get("owner") if isinstance(key, dict) else None
            actor_uri = owner if isinstance(owner, str) else actor_uri
            if not same_origin(actor_uri, url):
                raise RemoteError(f"{key_id} is not a key of an actor")
            doc = await fetch_object(self.client, actor_uri, auth=self.auth)
        try:
            account = await remote.remember_actor(self.inst, actor_info(doc))
        except ParseError as exc:
            raise RemoteError(f"{actor_uri} is not a usable account: {exc.message}") from None
        if account.key_id != key_id:
            raise RemoteError(f"{actor_uri} does not publish the key {key_id}")
        return account

    async def resolve_status(self, uri: str, depth: int = 0) -> Status | None:
        if await domain_blocks.is_blocked(self.inst, uri):
            log.info("not resolving %s: a blocked domain", uri)
            return None
        row = await statuses_store.get_by_uri(self.inst.db, uri)
        if row is not None:
            return Status.from_row(row)
        from smallfedi.core import remote
        from smallfedi.federation.fetch import FetchError, fetch_object
        from smallfedi.federation.parse import ParseError, note_info, same_origin

        if same_origin(uri, self.inst.base_url):
            return None
        try:
            doc = await fetch_object(self.client, uri, auth=self.auth)
            author = await self.resolve_account(_attributed_to(doc))
            note = note_info(doc, author.followers_url)
        except (FetchError, ParseError, DomainError) as exc:
            log.info("could not fetch post %s: %s", uri, getattr(exc, "message", exc))
            return None
        if note.author_uri != author.uri:
            return None
        if note.in_reply_to_uri and depth < MAX_PARENT_DEPTH:
            await self.resolve_status(note.in_reply_to_uri, depth + 1)
        return await remote.receive_note(self.inst, note, author)

    # Publishing -----------------------------------------------------------------------

    async def fetch_media(self, url: str, max_bytes: int) -> tuple[bytes, str]:
        from smallfedi.federation.fetch import FetchError, fetch_bytes

        await self._refuse_blocked(url)
        try:
            return await fetch_bytes(self.client, url, max_bytes=max_bytes)
        except FetchError as exc:
            raise RemoteError(f"Could not fetch {url}: {exc}") from None

    def new_activity_uri(self) -> str:
        return f"{self.inst.base_url}/activities/{self.inst.ids.next()}"

    async def _queue(self, tx: Transaction, doc: dict, inboxes) -> None:
        from smallfedi.federation.parse import origin

        targets = []
        blocked = await domain_blocks_store.domains_in(tx)
        ours = origin(self.inst.base_url)
        for inbox in dict.fromkeys(i for i in inboxes if i):
            if origin(inbox) == ours:
                continue  # never deliver to ourselves
            host = urlsplit(inbox).netloc.lower()
            if any(domain_blocks.covers(d, host) for d in blocked):
                continue  # nor to a blocked domain
            targets.append((inbox, host))
        activity_id = await queue_store.insert_activity(tx, self.inst.ids.next(), doc["id"], doc["type"],
                                                        json.dumps(doc, ensure_ascii=False), utcnow())
        if targets:
            await queue_store.enqueue(tx, activity_id, targets, utcnow(), time.time())
            self.inst.db.after_commit(self.wake_delivery)

    async def _status_inboxes(self, tx, status: Status, mentioned: list[Account]) -> list[str]:
        inboxes = []
        if status.visibility != "direct":
            inboxes += await follows_store.follower_inboxes_in(tx, self.inst.owner.id)
        # The shared inbox when there is one (Mastodon's preferred_inbox_url): a mentioned account's
        # server that also hosts followers then gets the activity once, not once per inbox.
        # Someone who blocked the owner gets nothing more from the owner, mentioned or not.
        inboxes += [a.shared_inbox_url or a.inbox_url for a in mentioned if not a.local and not a.blocks_owner]
        return inboxes

    async def publish_status(self, tx, status: Status, mentioned: list[Account]) -> None:
        from smallfedi.core import polls

        poll = await polls.get_in(tx, self.inst, status.id)
        await self._queue(tx, docs.create(self.inst, status, mentioned, poll, await _media_in(tx, status.id)),
                          await self._status_inboxes(tx, status, mentioned))

    async def publish_edit(self, tx, status: Status, mentioned: list[Account]) -> None:
        await self._queue(tx, await self._update_in(tx, status, mentioned),
                          await self._status_inboxes(tx, status, mentioned))

    async def publish_poll_update(self, tx, status: Status, mentioned: list[Account]) -> None:
        """The owner's poll with its new figures: to its readers, and to everyone who voted."""
        doc = await self._update_in(tx, status, mentioned)
        inboxes = await self._status_inboxes(tx, status, mentioned)
        await self._queue(tx, doc, inboxes + await polls_store.voter_inboxes_in(tx, status.id))

    async def _update_in(self, tx, status: Status, mentioned: list[Account]) -> dict:
        """The Update of a post as it stands in `tx`: an Update carries the whole Note, attachments too."""
        from smallfedi.core import polls

        poll = await polls.get_in(tx, self.inst, status.id)
        return docs.update_note(self.inst, status, mentioned, f"{status.uri}#updates/{self.inst.ids.next()}", poll,
                                await _media_in(tx, status.id))

    async def publish_vote(self, tx, vote_uri: str, status: Status, author: Account, choice_title: str) -> None:
        await self._queue(tx, docs.vote(self.inst, vote_uri, status, author, choice_title), [author.inbox_url])

    async def publish_delete(self, tx, status: Status, mentioned: list[Account]) -> None:
        doc = docs.delete_note(self.inst, status, mentioned, f"{status.uri}#delete")
        await self._queue(tx, doc, await self._status_inboxes(tx, status, mentioned))

    async def publish_follow(self, tx, follow_uri: str, target: Account) -> None:
        await self._queue(tx, docs.activity(self.inst, "Follow", follow_uri, target.uri), [target.inbox_url])

    async def publish_undo_follow(self, tx, follow_uri: str, target: Account) -> None:
        follow = {"id": follow_uri, "type": "Follow", "actor": self.inst.actor_uri(), "object": target.uri}
        doc = docs.activity(self.inst, "Undo", f"{follow_uri}/undo/{self.inst.ids.next()}", follow)
        await self._queue(tx, doc, [target.inbox_url])

    async def _answer_follow(self, tx, kind: str, follow_uri: str, follower: Account) -> None:
        follow = {"id": follow_uri, "type": "Follow", "actor": follower.uri, "object": self.inst.actor_uri()}
        doc = docs.activity(self.inst, kind, self.new_activity_uri(), follow)
        await self._queue(tx, doc, [follower.inbox_url])

    async def publish_accept(self, tx, follow_uri: str, follower: Account) -> None:
        await self._answer_follow(tx, "Accept", follow_uri, follower)

    async def publish_reject(self, tx, follow_uri: str, follower: Account) -> None:
        await self._answer_follow(tx, "Reject", follow_uri, follower)

    async def publish_like(self, tx, like_uri: str, status: Status, author: Account) -> None:
        await self._queue(tx, docs.activity(self.inst, "Like", like_uri, status.uri), [author.inbox_url])

    async def publish_undo_like(self, tx, like_uri: str, status: Status, author: Account) -> None:
        like = {"id": like_uri, "type": "Like", "actor": self.inst.actor_uri(), "object": status.uri}
        doc = docs.activity(self.inst, "Undo", f"{like_uri}/undo", like)
        await self._queue(tx, doc, [author.inbox_url])

    async def publish_announce(self, tx, boost: Status, original: Status, author: Account) -> None:
        inboxes = await follows_store.follower_inboxes_in(tx, self.inst.owner.id)
        if not author.local:
            inboxes.append(author.shared_inbox_url or author.inbox_url)  # one delivery per server
        await self._queue(tx, docs.announce(self.inst, boost, original, author), inboxes)

    async def publish_undo_announce(self, tx, boost: Status, original: Status, author: Account) -> None:
        announce = docs.announce(self.inst, boost, original, author)
        announce.pop("@context")
        doc = docs.activity(self.inst, "Undo", self.new_activity_uri(), announce, to=announce["to"], cc=announce["cc"])
        inboxes = await follows_store.follower_inboxes_in(tx, self.inst.owner.id)
        if not author.local:
            inboxes.append(author.shared_inbox_url or author.inbox_url)
        await self._queue(tx, doc, inboxes)

    async def publish_block(self, tx, block_uri: str, target: Account) -> None:
        await self._queue(tx, docs.activity(self.inst, "Block", block_uri, target.uri), [target.inbox_url])

    async def publish_undo_block(self, tx, block_uri: str, target: Account) -> None:
        block = {"id": block_uri, "type": "Block", "actor": self.inst.actor_uri(), "object": target.uri}
        doc = docs.activity(self.inst, "Undo", f"{block_uri}/undo/{self.inst.ids.next()}", block)
        await self._queue(tx, doc, [target.inbox_url])

    async def publish_profile(self, tx) -> None:
        followers, following = 0, 0
        person = docs.person(self.inst, followers, following)
        person.pop("@context")
        doc = docs.activity(self.inst, "Update", f"{self.inst.actor_uri()}#updates/{self.inst.ids.next()}", person,
                            to=[docs.PUBLIC], cc=[f"{self.inst.actor_uri()}/followers"])
        await self._queue(tx, doc, await follows_store.follower_inboxes_in(tx, self.inst.owner.id))


async def _media_in(tx, status_id: int) -> list[MediaAttachment]:
    """A post's attachments as this transaction (which may just have attached them) sees them."""
    return [MediaAttachment.from_row(r) for r in await media_store.for_status_in(tx, status_id)]


def _stale(fetched_at: str | None) -> bool:
    if not fetched_at:
        return True
    when = datetime.fromisoformat(fetched_at.replace("Z", "+00:00"))
    return datetime.now(timezone.utc) - when > ACTOR_REFRESH


def _attributed_to(doc: dict) -> str:
    from smallfedi.federation.parse import ParseError, as_list, id_of

    for value in as_list(doc.get("attributedTo")):
        found = id_of(value)
        if found:
            return found
    raise ParseError("post has no attributedTo")

