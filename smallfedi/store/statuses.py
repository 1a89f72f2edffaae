"""Queries on statuses, their edit history, mentions, hashtags and tombstones.

Every list is a range scan on the primary key bounded by `limit`, so a page costs the same
however many posts the database holds.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Iterable, Sequence

from smallfedi.store import domain_blocks
from smallfedi.store.db import Database, Transaction, page_bounds
from smallfedi.store.media import MEDIA_COLUMNS

STATUS_COLUMNS = (
    "id", "uri", "url", "account_id", "local", "in_reply_to_id", "in_reply_to_uri",
    "in_reply_to_account_id", "reblog_of_id", "content", "source", "spoiler_text", "visibility",
    "sensitive", "language", "created_at", "edited_at",
)


async def insert(tx: Transaction, values: dict) -> None:
    columns = [c for c in STATUS_COLUMNS if c in values]
    placeholders = ", ".join("?" for _ in columns)
    # Column names come from the fixed tuple above, never from input.
    await tx.execute(
        f"INSERT INTO statuses ({', '.join(columns)}) VALUES ({placeholders})",
        tuple(values[c] for c in columns),
    )


async def get(db: Database, status_id: int) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM statuses WHERE id = ?", (status_id,))


async def get_in(tx: Transaction, status_id: int) -> sqlite3.Row | None:
    """Read inside a write transaction (sees its own uncommitted changes)."""
    async with tx.execute("SELECT * FROM statuses WHERE id = ?", (status_id,)) as cur:
        return await cur.fetchone()


async def get_by_uri(db: Database, uri: str) -> sqlite3.Row | None:
    return await db.fetchone("SELECT * FROM statuses WHERE uri = ?", (uri,))


async def list_by_account(db: Database, account_id: int, visibilities: Sequence[str], *,
                          max_id: int | None = None, min_id: int | None = None,
                          limit: int = 20) -> list[sqlite3.Row]:
    """Newest first, ids strictly between min_id and max_id; with only min_id, the page just
    above it (still returned newest first), as Mastodon pages."""
    marks = ", ".join("?" for _ in visibilities)
    params: list = [account_id, *visibilities]
    bounds = ""
    if max_id is not None:
        bounds += " AND id < ?"
        params.append(max_id)
    if min_id is not None:
        bounds += " AND id > ?"
        params.append(min_id)
    order = "ASC" if (min_id is not None and max_id is None) else "DESC"
    params.append(limit)
    rows = await db.fetchall(
        f"SELECT * FROM statuses WHERE account_id = ? AND visibility IN ({marks}){bounds}"
        f" ORDER BY id {order} LIMIT ?",
        params,
    )
    return rows if order == "DESC" else rows[::-1]


async def count_by_account(db: Database, account_id: int, visibilities: Sequence[str]) -> int:
    if set(visibilities) >= {"public", "unlisted", "private", "direct"}:
        # Every post: counted from the account index alone, without reading the rows.
        return await db.fetchval("SELECT count(*) FROM statuses WHERE account_id = ?", (account_id,))
    marks = ", ".join("?" for _ in visibilities)
    return await db.fetchval(
        f"SELECT count(*) FROM statuses WHERE account_id = ? AND visibility IN ({marks})",
        (account_id, *visibilities),
    )


async def last_created_at(db: Database, account_id: int) -> str | None:
    """When the account last posted or boosted (the stored time), or None."""
    return await db.fetchval("SELECT created_at FROM statuses WHERE account_id = ? ORDER BY id DESC LIMIT 1",
                             (account_id,))


async def max_id(db: Database) -> int:
    return await db.fetchval("SELECT coalesce(max(id), 0) FROM statuses")


async def update_content(tx: Transaction, status_id: int, *, content: str, source: str | None,
                         spoiler_text: str, sensitive: bool, language: str | None, edited_at: str) -> None:
    await tx.execute(
        "UPDATE statuses SET content = ?, source = ?, spoiler_text = ?, sensitive = ?, language = ?,"
        " edited_at = ? WHERE id = ?",
        (content, source, spoiler_text, int(sensitive), language, edited_at, status_id),
    )


async def insert_edit(tx: Transaction, edit_id: int, row: sqlite3.Row) -> None:
    """Keep `row` (the version about to be replaced) in the history."""
    await tx.execute(
        "INSERT INTO status_edits (id, status_id, content, source, spoiler_text, sensitive, language, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (edit_id, row["id"], row["content"], row["source"], row["spoiler_text"], row["sensitive"],
         row["language"], row["edited_at"] or row["created_at"]),
    )


async def list_edits(db: Database, status_id: int) -> list[sqlite3.Row]:
    return await db.fetchall("SELECT * FROM status_edits WHERE status_id = ? ORDER BY id", (status_id,))


async def replace_mentions(tx: Transaction, status_id: int,
                           mentions: Iterable[tuple[str, int | None]]) -> None:
    """(acct, account_id) pairs; account_id is None for a handle not resolved."""
    await tx.execute("DELETE FROM mentions WHERE status_id = ?", (status_id,))
    await tx.executemany("INSERT OR IGNORE INTO mentions (status_id, acct, account_id) VALUES (?, ?, ?)",
                         [(status_id, acct, account_id) for acct, account_id in mentions])


async def mentioned_account_ids(db: Database, status_id: int) -> list[int]:
    rows = await db.fetchall("SELECT account_id FROM mentions WHERE status_id = ? AND account_id IS NOT NULL",
                             (status_id,))
    return [r[0] for r in rows]


async def replace_tags(tx: Transaction, status_id: int, names: Iterable[str]) -> None:
    await tx.execute("DELETE FROM status_tags WHERE status_id = ?", (status_id,))
    await tx.executemany("INSERT OR IGNORE INTO status_tags (name, status_id) VALUES (?, ?)",
                         [(n, status_id) for n in names])


async def mentions_of(db: Database, status_id: int) -> list[str]:
    return [r[0] for r in await db.fetchall("SELECT acct FROM mentions WHERE status_id = ? ORDER BY acct",
                                            (status_id,))]


async def tags_of(db: Database, status_id: int) -> list[str]:
    return [r[0] for r in await db.fetchall("SELECT name FROM status_tags WHERE status_id = ? ORDER BY name",
                                            (status_id,))]


async def delete(tx: Transaction, status_id: int, uri: str, now: str) -> None:
    await tx.execute("DELETE FROM statuses WHERE id = ?", (status_id,))
    await tx.execute("INSERT OR REPLACE INTO tombstones (uri, deleted_at) VALUES (?, ?)", (uri, now))


async def is_tombstoned(db: Database, uri: str) -> bool:
    return await db.fetchone("SELECT 1 FROM tombstones WHERE uri = ?", (uri,)) is not None


async def list_by_tag(db: Database, name: str, account_id: int, visibilities: Sequence[str], *,
                      max_id: int | None = None, limit: int = 20) -> list[sqlite3.Row]:
    marks = ", ".join("?" for _ in visibilities)
    params: list = [name]
    bound = ""
    if max_id is not None:
        bound = " AND t.status_id < ?"
        params.append(max_id)
    params += [account_id, *visibilities, limit]
    return await db.fetchall(
        "SELECT s.* FROM status_tags t JOIN statuses s ON s.id = t.status_id"
        f" WHERE t.name = ?{bound} AND s.account_id = ? AND s.visibility IN ({marks})"
        " ORDER BY t.status_id DESC LIMIT ?",
        params,
    )


# A boost whose boosted post's author is hidden (blocked, or on a blocked domain) is hidden too.
# Correlated on the boost alone: primary-key look-ups per boost reached, nothing for other posts.
_BOOST_SHOWN = ("(s.reblog_of_id IS NULL OR NOT EXISTS (SELECT 1 FROM statuses r WHERE r.id = s.reblog_of_id"
                f" AND {domain_blocks.hidden('r.account_id')}))")
# With no domain blocked (the first term, evaluated once per statement) no row pays for the
# look-up of its author.
_NOT_ON_BLOCKED_DOMAIN = (f"(NOT EXISTS (SELECT 1 FROM domain_blocks)"
                          f" OR NOT {domain_blocks.on_blocked_domain('s.account_id')})")

# The home timeline: the owner's posts and boosts, those of the accounts the owner follows, and
# public posts with a hashtag the owner follows; without members of exclusive lists and
# accounts on blocked domains. Every term is a condition on the row being walked (the unary +
# keeps SQLite off the account index), none a join, so the plan stays a walk down the primary key.
_HOME = (
    "(+s.account_id = :owner OR +s.account_id IN"
    " (SELECT f.target_id FROM follows f JOIN accounts a ON a.id = f.target_id"
    "  WHERE f.follower_id = :owner AND f.accepted = 1 AND a.blocked = 0)"
    " OR (s.visibility = 'public' AND EXISTS (SELECT 1 FROM followed_tags)"
    "  AND EXISTS (SELECT 1 FROM status_tags t JOIN followed_tags ft ON ft.name = t.name WHERE t.status_id = s.id)"
    "  AND NOT EXISTS (SELECT 1 FROM accounts ba WHERE ba.id = s.account_id AND ba.blocked = 1)))"
    " AND +s.account_id NOT IN (SELECT la.account_id FROM list_accounts la JOIN lists l ON l.id = la.list_id"
    "  WHERE l.exclusive = 1)"
    f" AND {_NOT_ON_BLOCKED_DOMAIN}"
    f" AND {_BOOST_SHOWN}"
)


def _named(where: list[str], params: list) -> tuple[str, dict]:
    """Positional bounds (from _bounds) as named parameters, to join a query using names."""
    named, values = [], {}
    for i, (w, v) in enumerate(zip(where, params)):
        named.append(w.replace("?", f":b{i}"))
        values[f"b{i}"] = v
    return "".join(f" AND {w}" for w in named), values


def _numbered(sql: str, values: dict) -> tuple[str, list]:
    """Named parameters as numbered ones (?1, ?2…, each usable many times), for the reader,
    which takes a sequence."""
    names = sorted(values, key=len, reverse=True)  # :b10 before :b1
    order = list(values)
    for name in names:
        sql = sql.replace(f":{name}", f"?{order.index(name) + 1}")
    return sql, [values[n] for n in order]


_HOME_SQL: dict[tuple, str] = {}  # by paging bounds: a handful of texts, each built once
# Pages select STATUS_COLUMNS in their order, so a row can be read by position.
_S_COLUMNS = ", ".join(f"s.{c}" for c in STATUS_COLUMNS)


async def list_home(db: Database, owner_id: int, *, max_id: int | None = None, min_id: int | None = None,
                    since_id: int | None = None, limit: int = 20) -> list[sqlite3.Row]:
    """The home timeline (see _HOME), newest first."""
    where, params, order = _bounds(max_id, since_id, min_id)
    key = (tuple(where), order)
    sql = _HOME_SQL.get(key)
    if sql is None:
        bounds, values = _named(where, params)
        # Walking the primary key newest first and stopping at `limit` stays constant as the
        # table grows, where gathering every post of every followed account and sorting them
        # grew with it (0.3 ms against 350 ms at 1M rows).
        sql = _HOME_SQL[key] = _numbered(
            f"SELECT {_S_COLUMNS} FROM statuses s WHERE {_HOME}{bounds} ORDER BY s.id {order} LIMIT :limit",
            {"owner": owner_id, **values, "limit": limit})[0]
    # The parameters in the order _numbered gave them: the owner, the bounds, the limit.
    rows = await db.fetchall(sql, [owner_id, *params, limit])
    return rows if order == "DESC" else rows[::-1]


async def in_home(db: Database, owner_id: int, status_id: int) -> bool:
    """Whether a post belongs on the home timeline, by the timeline's own rule."""
    return bool(await db.fetchval(*_numbered(f"SELECT 1 FROM statuses s WHERE s.id = :id AND {_HOME}",
                                             {"id": status_id, "owner": owner_id})))


# Replies a list shows besides its members' own posts and their replies to themselves or to the
# owner: to any account the owner follows ("followed"), to members ("list"), or none.
_LIST_REPLIES = {
    "followed": " OR s.in_reply_to_account_id IN (SELECT target_id FROM follows"
                " WHERE follower_id = :owner AND accepted = 1)",
    "list": " OR s.in_reply_to_account_id IN (SELECT account_id FROM list_accounts WHERE list_id = :list)",
    "none": "",
}


def _list_where(replies_policy: str) -> str:
    return (
        "s.account_id IN (SELECT account_id FROM list_accounts WHERE list_id = :list)"
        f" AND {_NOT_ON_BLOCKED_DOMAIN}"
        f" AND {_BOOST_SHOWN}"
        " AND (s.in_reply_to_account_id IS NULL OR s.in_reply_to_account_id = s.account_id"
        f" OR s.in_reply_to_account_id = :owner{_LIST_REPLIES[replies_policy]})"
    )


async def list_timeline(db: Database, owner_id: int, list_id: int, replies_policy: str, *,
                        max_id: int | None = None, min_id: int | None = None, since_id: int | None = None,
                        limit: int = 20) -> list[sqlite3.Row]:
    """A list's timeline, newest first: its members' posts and boosts. A list has few members,
    so SQLite gathers their posts from the account index."""
    where, params, order = _bounds(max_id, since_id, min_id)
    bounds, values = _named(where, params)
    rows = await db.fetchall(*_numbered(
        f"SELECT s.* FROM statuses s WHERE {_list_where(replies_policy)}{bounds} ORDER BY s.id {order} LIMIT :limit",
        {"owner": owner_id, "list": list_id, **values, "limit": limit}))
    return rows if order == "DESC" else rows[::-1]


async def in_list(db: Database, owner_id: int, list_id: int, replies_policy: str, status_id: int) -> bool:
    return bool(await db.fetchval(*_numbered(
        f"SELECT 1 FROM statuses s WHERE s.id = :id AND {_list_where(replies_policy)}",
        {"id": status_id, "owner": owner_id, "list": list_id})))


async def list_direct(db: Database, limit: int) -> list[sqlite3.Row]:
    """Direct posts, newest first, without hidden accounts'. They are the owner's and those
    addressed to the owner: another server delivers (or lets us fetch) a direct post only then."""
    return await db.fetchall(
        "SELECT s.* FROM statuses s WHERE s.visibility = 'direct'"
        f" AND NOT {domain_blocks.hidden('s.account_id')} ORDER BY s.id DESC LIMIT ?", (limit,))


async def mentioned_ids(db: Database, status_ids: Sequence[int]) -> dict[int, list[int]]:
    """The resolved accounts each post mentions."""
    if not status_ids:
        return {}
    marks = ", ".join("?" for _ in status_ids)
    found: dict[int, list[int]] = {}
    for row in await db.fetchall(f"SELECT status_id, account_id FROM mentions WHERE status_id IN ({marks})"
                                 f" AND account_id IS NOT NULL", tuple(status_ids)):
        found.setdefault(row[0], []).append(row[1])
    return found


async def replies_to(db: Database, status_ids: Sequence[int], limit: int) -> list[sqlite3.Row]:
    marks = ", ".join("?" for _ in status_ids)
    return await db.fetchall(
        f"SELECT * FROM statuses WHERE in_reply_to_id IN ({marks}) ORDER BY id LIMIT ?", (*status_ids, limit))


async def get_many(db: Database, status_ids: Sequence[int]) -> list[sqlite3.Row]:
    if not status_ids:
        return []
    marks = ", ".join("?" for _ in status_ids)
    return await db.fetchall(f"SELECT * FROM statuses WHERE id IN ({marks})", tuple(status_ids))


async def attach_orphan_replies(tx: Transaction, parent_id: int, parent_uri: str, parent_account: int) -> None:
    """Replies that arrived before their parent point at it once it is stored."""
    await tx.execute(
        "UPDATE statuses SET in_reply_to_id = ?, in_reply_to_account_id = ? WHERE in_reply_to_uri = ?"
        " AND in_reply_to_id IS NULL", (parent_id, parent_account, parent_uri))


def _bounds(max_id: int | None, since_id: int | None, min_id: int | None) -> tuple[list[str], list, str]:
    return page_bounds("s.id", max_id, since_id, min_id)


async def query(db: Database, *, visibilities: Sequence[str], account_id: int | None = None,
                local: bool | None = None, tag: str | None = None, exclude_replies: bool = False,
                exclude_reblogs: bool = False, only_media: bool = False, max_id: int | None = None,
                since_id: int | None = None, min_id: int | None = None, limit: int = 20) -> list[sqlite3.Row]:
    """Posts matching the filters, newest first, skipping accounts the owner blocked (one by one
    or by domain)."""
    where, params, order = _bounds(max_id, since_id, min_id)
    where.append(f"s.visibility IN ({', '.join('?' for _ in visibilities)})")
    params.extend(visibilities)
    if account_id is not None:
        where.append("s.account_id = ?")
        params.append(account_id)
    else:
        where.append("s.account_id NOT IN (SELECT id FROM accounts WHERE blocked = 1)")
    where.append(_NOT_ON_BLOCKED_DOMAIN)
    if local is not None:
        where.append("s.local = ?")
        params.append(int(local))
    if tag is not None:
        where.append("s.id IN (SELECT status_id FROM status_tags WHERE name = ?)")
        params.append(tag.lower())
    if exclude_replies:
        # Mastodon keeps an author's replies to themselves (threads) in the list.
        where.append("(s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id)")
    if only_media:  # a boost has no attachments of its own, so boosts drop out too
        where.append("EXISTS (SELECT 1 FROM media m WHERE m.status_id = s.id)")
    if exclude_reblogs:
        where.append("s.reblog_of_id IS NULL")
    else:
        where.append(_BOOST_SHOWN)
    rows = await db.fetchall(
        f"SELECT {_S_COLUMNS} FROM statuses s WHERE {' AND '.join(where)} ORDER BY s.id {order} LIMIT ?",
        (*params, limit))
    return rows if order == "DESC" else rows[::-1]


async def tags_starting(db: Database, prefix: str, limit: int, offset: int = 0) -> list[str]:
    """Hashtags in use that start with `prefix`, the most used first."""
    rows = await db.fetchall(
        "SELECT name FROM status_tags WHERE name >= ? AND name < ? GROUP BY name ORDER BY count(*) DESC, name"
        " LIMIT ? OFFSET ?", (prefix, prefix + "\uffff", limit, offset))
    return [r[0] for r in rows]


# Everything a page's posts show ---------------------------------------------------------
#
# One statement answers for a page: the boosted posts, the accounts (authors, boosted authors,
# mentioned), and for each shown post (the boosted one for a boost) its counts, the owner's
# marks, hashtags, mentions, attachments and poll; a dozen queries did before. The parts differ
# in shape, so they share one UNION ALL: each row starts with its kind and the columns below
# follow, padded with NULLs. Each part walks the ids it is given (JSON arrays, one text however
# long the page) and looks rows up by index: no temporary tables, which cost SQLite more than
# the look-ups.

BOOSTED, ACCOUNT, SHOWN, TAG, MENTION, MEDIA, POLL = range(1, 8)
ACCOUNT_COLUMNS = (
    "id", "local", "username", "domain", "uri", "url", "display_name", "note", "note_source", "fields_json",
    "locked", "bot", "discoverable", "avatar_url", "header_url", "inbox_url", "shared_inbox_url", "key_id",
    "public_key_pem", "created_at", "updated_at", "followers_url", "blocked", "blocks_owner",
)
# BOOSTED: STATUS_COLUMNS. ACCOUNT: ACCOUNT_COLUMNS. SHOWN: the post's id, its counts and the
# owner's marks on it, as SHOWN_COLUMNS. TAG: (status_id, name). MENTION: (status_id, acct,
# then the account's ACCOUNT_COLUMNS). MEDIA: MEDIA_COLUMNS. POLL: POLL_COLUMNS.
SHOWN_COLUMNS = ("id", "replies_count", "reblogs_count", "favourites_count", "favourited", "reblogged",
                 "bookmarked", "pinned", "muted")
POLL_COLUMNS = ("status_id", "multiple", "hide_totals", "expires_at", "closed_at", "options_json", "voters_count",
                "mine", "own_votes")


def _hydrating() -> str:
    """?1: the boosted posts' ids, ?2: the posts' authors' ids, ?3: the shown posts' ids (JSON
    arrays); ?4: the owner's id."""
    accounts = [f"a.{c}" for c in ACCOUNT_COLUMNS]
    parts = [
        (BOOSTED, [f"b.{c}" for c in STATUS_COLUMNS], "FROM json_each(?1) j CROSS JOIN statuses b ON b.id = j.value"),
        (ACCOUNT, accounts, "FROM json_each(?2) j CROSS JOIN accounts a ON a.id = j.value"),
        (ACCOUNT, accounts, "FROM json_each(?1) j CROSS JOIN statuses b ON b.id = j.value"
                            " CROSS JOIN accounts a ON a.id = b.account_id"),
        # The marks are unique per post (and like per owner and post): joined, not subqueries,
        # which take SQLite half as long again.
        (SHOWN, [
            "s.id",
            "(SELECT count(*) FROM statuses r WHERE r.in_reply_to_id = s.id)",
            "(SELECT count(*) FROM statuses b WHERE b.reblog_of_id = s.id)",
            "(SELECT count(*) FROM favourites f WHERE f.status_id = s.id)",
            "o.status_id IS NOT NULL",
            # The + keeps SQLite on the boost index: the account index would walk all the owner's posts.
            "EXISTS (SELECT 1 FROM statuses b WHERE +b.account_id = ?4 AND b.reblog_of_id = s.id)",
            "k.status_id IS NOT NULL",
            "p.status_id IS NOT NULL",
            "m.status_id IS NOT NULL",
        ], "FROM json_each(?3) j CROSS JOIN statuses s ON s.id = j.value"
           " LEFT JOIN favourites o ON o.account_id = ?4 AND o.status_id = s.id"
           " LEFT JOIN bookmarks k ON k.status_id = s.id LEFT JOIN pins p ON p.status_id = s.id"
           " LEFT JOIN status_mutes m ON m.status_id = s.id"),
        (TAG, ["t.status_id", "t.name"], "FROM json_each(?3) j CROSS JOIN status_tags t ON t.status_id = j.value"),
        (MENTION, ["m.status_id", "m.acct", *accounts],
         "FROM json_each(?3) j CROSS JOIN mentions m ON m.status_id = j.value CROSS JOIN accounts a ON a.id = m.account_id"),
        (MEDIA, [f"d.{c}" for c in MEDIA_COLUMNS], "FROM json_each(?3) j CROSS JOIN media d ON d.status_id = j.value"),
        (POLL, ["p.status_id", "p.multiple", "p.hide_totals", "p.expires_at", "p.closed_at", "p.options_json",
                "p.voters_count", "s.account_id = ?4",
                "(SELECT json_group_array(v.choice) FROM poll_votes v WHERE v.status_id = p.status_id"
                " AND v.account_id = ?4)"],
         "FROM json_each(?3) j CROSS JOIN polls p ON p.status_id = j.value CROSS JOIN statuses s ON s.id = p.status_id"),
    ]
    width = max(len(columns) for _, columns, _ in parts)
    return " UNION ALL ".join(f"SELECT {kind}, {', '.join(columns)}{', NULL' * (width - len(columns))} {rest}"
                              for kind, columns, rest in parts)


_HYDRATING = _hydrating()


async def hydrated(db: Database, owner_id: int, boosted_ids: Iterable[int], author_ids: Iterable[int],
                   shown_ids: Iterable[int]) -> list[sqlite3.Row]:
    """Everything a page's posts show, as rows of the kinds above."""
    return await db.fetchall(_HYDRATING, (json.dumps(list(boosted_ids)), json.dumps(list(author_ids)),
                                          json.dumps(list(shown_ids)), owner_id))
