"""Plain dataclasses the core hands to the faces; each face renders them in its own vocabulary."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

VISIBILITIES = ("public", "unlisted", "private", "direct")


@dataclass(frozen=True)
class ProfileField:
    name: str
    value: str  # HTML (links made clickable)
    value_source: str


@dataclass(frozen=True)
class Account:
    id: int
    local: bool
    username: str
    domain: str | None
    uri: str
    url: str | None
    display_name: str
    note: str  # HTML
    note_source: str
    fields: tuple[ProfileField, ...]
    locked: bool
    bot: bool
    discoverable: bool
    avatar_url: str | None
    header_url: str | None
    inbox_url: str | None
    shared_inbox_url: str | None
    key_id: str | None
    public_key_pem: str | None
    created_at: str
    updated_at: str
    followers_url: str | None = None
    blocked: bool = False  # by the owner
    blocks_owner: bool = False  # they sent the owner a Block

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Account":
        fields = tuple(ProfileField(f.get("name", ""), f.get("value", ""), f.get("value_source", ""))
                       for f in json.loads(row["fields_json"] or "[]"))
        return cls(
            id=row["id"], local=bool(row["local"]), username=row["username"], domain=row["domain"],
            uri=row["uri"], url=row["url"], display_name=row["display_name"], note=row["note"],
            note_source=row["note_source"], fields=fields, locked=bool(row["locked"]), bot=bool(row["bot"]),
            discoverable=bool(row["discoverable"]), avatar_url=row["avatar_url"], header_url=row["header_url"],
            inbox_url=row["inbox_url"], shared_inbox_url=row["shared_inbox_url"], key_id=row["key_id"],
            public_key_pem=row["public_key_pem"], created_at=row["created_at"], updated_at=row["updated_at"],
            followers_url=row["followers_url"] if "followers_url" in row.keys() else None,
            blocked=bool(row["blocked"]) if "blocked" in row.keys() else False,
            blocks_owner=bool(row["blocks_owner"]) if "blocks_owner" in row.keys() else False,
        )

    @property
    def name(self) -> str:
        """What to show: the display name, or the username when there is none."""
        return self.display_name or self.username

    def acct(self, own_domain: str) -> str:
        return f"{self.username}@{self.domain or own_domain}"


@dataclass(frozen=True)
class Status:
    id: int
    uri: str
    url: str | None
    account_id: int
    local: bool
    in_reply_to_id: int | None
    in_reply_to_uri: str | None
    reblog_of_id: int | None
    content: str  # sanitised HTML
    source: str | None
    spoiler_text: str
    visibility: str
    sensitive: bool
    language: str | None
    created_at: str
    edited_at: str | None
    mentions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    in_reply_to_account_id: int | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row, mentions=(), tags=()) -> "Status":
        return cls(
            id=row["id"], uri=row["uri"], url=row["url"], account_id=row["account_id"], local=bool(row["local"]),
            in_reply_to_id=row["in_reply_to_id"], in_reply_to_uri=row["in_reply_to_uri"],
            reblog_of_id=row["reblog_of_id"], content=row["content"], source=row["source"],
            spoiler_text=row["spoiler_text"], visibility=row["visibility"], sensitive=bool(row["sensitive"]),
            language=row["language"], created_at=row["created_at"], edited_at=row["edited_at"],
            mentions=tuple(mentions), tags=tuple(tags), in_reply_to_account_id=row["in_reply_to_account_id"],
        )


@dataclass(frozen=True)
class StatusEdit:
    """One version of a post, as shown in its history."""
    content: str
    source: str | None
    spoiler_text: str
    sensitive: bool
    language: str | None
    created_at: str


@dataclass(frozen=True)
class Page:
    """One page of a list, newest first, with the bounds to ask for the next and previous."""
    items: list = field(default_factory=list)
    next_max_id: int | None = None  # older items: ask with max_id=this
    prev_min_id: int | None = None  # newer items: ask with min_id=this


@dataclass(frozen=True)
class ActorInfo:
    """What federation learned about a remote actor, already checked and sanitised."""
    uri: str
    username: str
    domain: str
    inbox_url: str
    public_key_pem: str | None = None
    key_id: str | None = None
    url: str | None = None
    display_name: str = ""
    note: str = ""  # sanitised HTML
    fields: tuple[tuple[str, str], ...] = ()  # (name, sanitised HTML value)
    locked: bool = False
    bot: bool = False
    discoverable: bool = False
    avatar_url: str | None = None
    header_url: str | None = None
    shared_inbox_url: str | None = None
    outbox_url: str | None = None
    followers_url: str | None = None
    following_url: str | None = None
    featured_url: str | None = None
    actor_type: str = "Person"
    also_known_as: tuple[str, ...] = ()
    moved_to_uri: str | None = None
    published: str | None = None


@dataclass(frozen=True)
class NoteInfo:
    """A remote post as federation parsed it: plain values, HTML already sanitised."""
    uri: str
    author_uri: str
    content: str
    published: str  # stored time format
    visibility: str
    url: str | None = None
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = None
    updated: str | None = None
    in_reply_to_uri: str | None = None
    mentions: tuple[str, ...] = ()  # actor uris
    tags: tuple[str, ...] = ()
    poll: PollInfo | None = None  # a Question's options
    attachments: tuple[AttachmentInfo, ...] = ()


@dataclass(frozen=True)
class AttachmentInfo:
    """A remote post's attachment as federation parsed it (a link to its origin, never copied)."""
    url: str
    type: str  # image, gifv, video, audio or unknown
    mime: str = ""
    description: str = ""
    blurhash: str | None = None
    width: int | None = None
    height: int | None = None
    focus: tuple[float, float] = (0.0, 0.0)
    preview_url: str | None = None


@dataclass(frozen=True)
class MediaAttachment:
    """An attachment as stored: the owner's file in media/, or a link to a remote original."""
    id: int
    account_id: int
    status_id: int | None
    type: str  # image, gifv, video, audio, unknown (Mastodon's words)
    mime: str
    file: str | None
    preview_file: str | None
    remote_url: str | None
    preview_remote_url: str | None
    size: int | None
    width: int | None
    height: int | None
    preview_width: int | None
    preview_height: int | None
    blurhash: str | None
    description: str
    focus_x: float
    focus_y: float
    created_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "MediaAttachment":
        return cls(**{k: row[k] for k in row.keys() if k != "position"})

    @property
    def local(self) -> bool:
        return self.file is not None


@dataclass(frozen=True)
class PollOption:
    title: str
    votes_count: int = 0


@dataclass(frozen=True)
class PollInfo:
    """A remote Question's poll as federation parsed it (its counts as its server last said)."""
    options: tuple[PollOption, ...]
    multiple: bool = False
    expires_at: str | None = None  # stored time format
    closed_at: str | None = None
    voters_count: int | None = None


@dataclass(frozen=True)
class Poll:
    """A post's poll as shown; `expired` was worked out when it was read."""
    status_id: int
    options: tuple[PollOption, ...]
    multiple: bool
    expires_at: str | None
    expired: bool
    voters_count: int | None
    hide_totals: bool = False
    mine: bool = False  # the owner's own poll
    own_votes: tuple[int, ...] = ()  # the owner's choices on someone else's poll

    @property
    def votes_count(self) -> int:
        return sum(o.votes_count for o in self.options)

    @property
    def voted(self) -> bool:
        """As Mastodon says it: the author counts as having voted in their own poll."""
        return self.mine or bool(self.own_votes)


@dataclass(frozen=True)
class Notification:
    id: int
    type: str
    account: Account
    status: Status | None
    created_at: str
    emoji: str | None = None
