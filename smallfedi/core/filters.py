"""Filters, as Mastodon 4 has them: a filter has a title, the contexts it applies in (home,
notifications, public, thread, account), an action (warn, hide, blur), an optional expiry,
keywords and single posts. A post matches a keyword as Mastodon matches it: case-insensitively,
anywhere in its content warning and text (HTML stripped), or as a whole word when the keyword
asks for word boundaries. Expired filters apply nowhere.

The v1 API's filters are keywords: each keyword shown with its filter's context and expiry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from smallfedi.core.errors import Invalid, NotFound
from smallfedi.core.instance import Instance
from smallfedi.core.timelines import StatusView
from smallfedi.store import filters as store
from smallfedi.store import statuses as statuses_store
from smallfedi.store.db import format_time, utcnow
from smallfedi.text import plain_text

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide", "blur")
ACTION_ALIASES = {"blur_media": "blur"}
MAX_FILTERS = 100
MAX_KEYWORDS = 100
MAX_TITLE = 256
MAX_KEYWORD = 512
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600
UNSET = object()  # "not given" for an update, where None means "clear"


@dataclass(frozen=True)
class Keyword:
    id: int
    filter_id: int
    keyword: str
    whole_word: bool

    def pattern(self) -> re.Pattern:
        escaped = re.escape(self.keyword)
        if not self.whole_word:
            return re.compile(escaped, re.IGNORECASE)
        start = r"\b" if re.match(r"\w", self.keyword) else ""
        end = r"\b" if re.search(r"\w$", self.keyword) else ""
        return re.compile(f"{start}{escaped}{end}", re.IGNORECASE)


@dataclass(frozen=True)
class FilteredStatus:
    id: int
    filter_id: int
    status_id: int


@dataclass(frozen=True)
class Filter:
    id: int
    title: str
    context: tuple[str, ...]
    action: str
    expires_at: str | None
    keywords: tuple[Keyword, ...] = ()
    statuses: tuple[FilteredStatus, ...] = ()

    def expired(self, now: str) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class Match:
    """A filter a post matched: the keywords it matched, the filtered post ids it is."""
    filter: Filter
    keyword_matches: tuple[str, ...] | None
    status_matches: tuple[int, ...] | None


# Reading ---------------------------------------------------------------------------------

async def _build(inst: Instance, rows) -> list[Filter]:
    ids = [r["id"] for r in rows]
    keywords: dict[int, list[Keyword]] = {}
    for k in await store.keywords(inst.db, ids):
        keywords.setdefault(k["filter_id"], []).append(Keyword(k["id"], k["filter_id"], k["keyword"],
                                                               bool(k["whole_word"])))
    statuses: dict[int, list[FilteredStatus]] = {}
    for s in await store.statuses(inst.db, ids):
        statuses.setdefault(s["filter_id"], []).append(FilteredStatus(s["id"], s["filter_id"], s["status_id"]))
    return [Filter(r["id"], r["title"], tuple(r["context"].split()), r["action"], r["expires_at"],
                   tuple(keywords.get(r["id"], ())), tuple(statuses.get(r["id"], ()))) for r in rows]


async def all_filters(inst: Instance) -> list[Filter]:
    return await _build(inst, await store.all_filters(inst.db))


async def get(inst: Instance, filter_id: int) -> Filter:
    row = await store.get(inst.db, filter_id)
    if row is None:
        raise NotFound("Record not found")
    return (await _build(inst, [row]))[0]


# Validation ------------------------------------------------------------------------------

def _title(raw) -> str:
    title = str(raw or "").strip()
    if not title:
        raise Invalid("Validation failed: Title can't be blank")
    if len(title) > MAX_TITLE:
        raise Invalid(f"Validation failed: Title is too long (maximum is {MAX_TITLE} characters)")
    return title


def _context(raw) -> str:
    values = [str(c).strip() for c in (raw or []) if str(c).strip()]
    if not values:
        raise Invalid("Validation failed: Context can't be blank")
    if any(c not in CONTEXTS for c in values):
        raise Invalid("Validation failed: Context None or invalid context supplied")
    return " ".join(dict.fromkeys(values))


def _action(raw) -> str:
    action = ACTION_ALIASES.get(str(raw), str(raw))
    if action not in ACTIONS:
        raise Invalid(f"Validation failed: Filter action must be one of {', '.join(ACTIONS)}")
    return action


def _expires_at(expires_in) -> str | None:
    """Seconds from now (None or "" for never) as the stored time."""
    if expires_in is None or str(expires_in).strip() == "":
        return None
    try:
        seconds = int(str(expires_in).strip())
    except ValueError:
        raise Invalid("Validation failed: Expires in must be a number of seconds") from None
    if seconds <= 0 or seconds > MAX_EXPIRES_IN:
        raise Invalid("Validation failed: Expires in is out of range")
    return format_time(datetime.now(timezone.utc) + timedelta(seconds=seconds))


def _keyword(raw) -> str:
    keyword = str(raw or "").strip()
    if not keyword:
        raise Invalid("Validation failed: Keyword can't be blank")
    if len(keyword) > MAX_KEYWORD:
        raise Invalid(f"Validation failed: Keyword is too long (maximum is {MAX_KEYWORD} characters)")
    return keyword


@dataclass
class KeywordChange:
    """One item of keywords_attributes: a new keyword (no id), a change, or a removal."""
    id: int | None = None
    keyword: str | None = None
    whole_word: bool | None = None
    destroy: bool = False


# Filters ---------------------------------------------------------------------------------

async def create(inst: Instance, *, title, context, action="warn", expires_in=None,
                 keywords: list[KeywordChange] = (), status_ids: list[int] = ()) -> Filter:
    title, contexts, action, expires_at = _title(title), _context(context), _action(action or "warn"), \
        _expires_at(expires_in)
    wanted = [k for k in keywords if not k.destroy]
    if any(k.id is not None for k in wanted):
        raise NotFound("Record not found")  # as Mastodon: there is no keyword to change yet
    new = [(_keyword(k.keyword), True if k.whole_word is None else k.whole_word) for k in wanted]
    if len(new) > MAX_KEYWORDS:
        raise Invalid(f"A filter can have at most {MAX_KEYWORDS} keywords.")
    if await store.count(inst.db) >= MAX_FILTERS:
        raise Invalid(f"You can have at most {MAX_FILTERS} filters.")
    filter_id = inst.ids.next()
    async with inst.db.transaction() as tx:
        await store.insert(tx, filter_id, title, contexts, action, expires_at, utcnow())
        for keyword, whole_word in new:
            await store.insert_keyword(tx, inst.ids.next(), filter_id, keyword, whole_word)
        for status_id in status_ids:
            await store.insert_status(tx, inst.ids.next(), filter_id, status_id)
    return await get(inst, filter_id)


async def update(inst: Instance, filter_id: int, *, title=None, context=None, action=None, expires_in=UNSET,
                 keywords: list[KeywordChange] = ()) -> Filter:
    current = await get(inst, filter_id)
    title = _title(title) if title is not None else current.title
    contexts = _context(context) if context is not None else " ".join(current.context)
    action = _action(action) if action is not None else current.action
    expires_at = current.expires_at if expires_in is UNSET else _expires_at(expires_in)
    own = {k.id: k for k in current.keywords}
    for change in keywords:
        if change.id is not None and change.id not in own:
            raise NotFound("Record not found")
        if not change.destroy and (change.id is None or change.keyword is not None):
            _keyword(change.keyword)
    added = sum(1 for k in keywords if k.id is None and not k.destroy)
    removed = sum(1 for k in keywords if k.id is not None and k.destroy)
    if len(own) + added - removed > MAX_KEYWORDS:
        raise Invalid(f"A filter can have at most {MAX_KEYWORDS} keywords.")
    async with inst.db.transaction() as tx:
        await store.update(tx, filter_id, title, contexts, action, expires_at)
        for change in keywords:
            if change.id is None:
                if not change.destroy:
                    await store.insert_keyword(tx, inst.ids.next(), filter_id, _keyword(change.keyword),
                                               True if change.whole_word is None else change.whole_word)
            elif change.destroy:
                await store.delete_keyword(tx, change.id)
            else:
                old = own[change.id]
                await store.update_keyword(
                    tx, change.id, _keyword(change.keyword) if change.keyword is not None else old.keyword,
                    old.whole_word if change.whole_word is None else change.whole_word)
    return await get(inst, filter_id)


async def delete(inst: Instance, filter_id: int) -> None:
    await get(inst, filter_id)
    async with inst.db.transaction() as tx:
        await store.delete(tx, filter_id)


# Keywords --------------------------------------------------------------------------------

async def get_keyword(inst: Instance, keyword_id: int) -> Keyword:
    row = await store.get_keyword(inst.db, keyword_id)
    if row is None:
        raise NotFound("Record not found")
    return Keyword(row["id"], row["filter_id"], row["keyword"], bool(row["whole_word"]))


async def add_keyword(inst: Instance, filter_id: int, keyword, whole_word: bool | None) -> Keyword:
    current = await get(inst, filter_id)
    keyword = _keyword(keyword)
    if len(current.keywords) >= MAX_KEYWORDS:
        raise Invalid(f"A filter can have at most {MAX_KEYWORDS} keywords.")
    keyword_id = inst.ids.next()
    async with inst.db.transaction() as tx:
        await store.insert_keyword(tx, keyword_id, filter_id, keyword, True if whole_word is None else whole_word)
    return await get_keyword(inst, keyword_id)


async def update_keyword(inst: Instance, keyword_id: int, keyword, whole_word: bool | None) -> Keyword:
    current = await get_keyword(inst, keyword_id)
    keyword = _keyword(keyword) if keyword is not None else current.keyword
    async with inst.db.transaction() as tx:
        await store.update_keyword(tx, keyword_id, keyword, current.whole_word if whole_word is None else whole_word)
    return await get_keyword(inst, keyword_id)


async def delete_keyword(inst: Instance, keyword_id: int) -> None:
    await get_keyword(inst, keyword_id)
    async with inst.db.transaction() as tx:
        await store.delete_keyword(tx, keyword_id)


# Single posts ----------------------------------------------------------------------------

async def get_status(inst: Instance, row_id: int) -> FilteredStatus:
    row = await store.get_status(inst.db, row_id)
    if row is None:
        raise NotFound("Record not found")
    return FilteredStatus(row["id"], row["filter_id"], row["status_id"])


async def add_status(inst: Instance, filter_id: int, status_id: int | None) -> FilteredStatus:
    await get(inst, filter_id)
    if status_id is None or await statuses_store.get(inst.db, status_id) is None:
        raise NotFound("Record not found")
    existing = await store.find_status(inst.db, filter_id, status_id)
    if existing is not None:
        raise Invalid("Validation failed: Status has already been taken")
    row_id = inst.ids.next()
    async with inst.db.transaction() as tx:
        await store.insert_status(tx, row_id, filter_id, status_id)
    return await get_status(inst, row_id)


async def delete_status(inst: Instance, row_id: int) -> None:
    await get_status(inst, row_id)
    async with inst.db.transaction() as tx:
        await store.delete_status(tx, row_id)


# The v1 API: one filter per keyword ------------------------------------------------------

@dataclass(frozen=True)
class V1Filter:
    keyword: Keyword
    filter: Filter


async def v1_all(inst: Instance) -> list[V1Filter]:
    by_id = {f.id: f for f in await all_filters(inst)}
    return [V1Filter(k, by_id[k.filter_id]) for f in by_id.values() for k in f.keywords]


async def v1_get(inst: Instance, keyword_id: int) -> V1Filter:
    keyword = await get_keyword(inst, keyword_id)
    return V1Filter(keyword, await get(inst, keyword.filter_id))


async def v1_create(inst: Instance, *, phrase, context, irreversible: bool, whole_word: bool,
                    expires_in=None) -> V1Filter:
    """A filter titled with the phrase, holding it as its one keyword (as Mastodon does)."""
    phrase = _keyword(phrase)
    created = await create(inst, title=phrase[:MAX_TITLE], context=context,
                           action="hide" if irreversible else "warn", expires_in=expires_in,
                           keywords=[KeywordChange(keyword=phrase, whole_word=whole_word)])
    return V1Filter(created.keywords[0], created)


async def v1_update(inst: Instance, keyword_id: int, *, phrase=None, context=None, irreversible: bool | None = None,
                    whole_word: bool | None = None, expires_in=UNSET) -> V1Filter:
    """The phrase and whole_word change the keyword; context, irreversible and expires_in change
    its filter, which is refused when the filter holds other keywords too."""
    found = await v1_get(inst, keyword_id)
    current = found.filter
    new_context = _context(context) if context is not None else " ".join(current.context)
    new_action = current.action if irreversible is None else ("hide" if irreversible else
                                                              ("warn" if current.action == "hide" else current.action))
    new_expiry = current.expires_at if expires_in is UNSET else _expires_at(expires_in)
    changes_filter = (new_context != " ".join(current.context) or new_action != current.action
                      or (expires_in is not UNSET and new_expiry != current.expires_at))
    if changes_filter and len(current.keywords) > 1:
        raise Invalid("This filter has several keywords: change its context, action or expiry "
                      "through the v2 API.")
    new_phrase = _keyword(phrase) if phrase is not None else found.keyword.keyword
    async with inst.db.transaction() as tx:
        await store.update_keyword(tx, keyword_id, new_phrase,
                                   found.keyword.whole_word if whole_word is None else whole_word)
        if changes_filter:
            await store.update(tx, current.id, current.title, new_context, new_action, new_expiry)
    return await v1_get(inst, keyword_id)


async def v1_delete(inst: Instance, keyword_id: int) -> None:
    """Only the keyword goes (as in Mastodon); its filter stays for the v2 API."""
    await delete_keyword(inst, keyword_id)


# Applying --------------------------------------------------------------------------------

@dataclass
class Matcher:
    """The filters in force in one context, ready to test posts against."""
    filters: list[Filter]
    _patterns: dict[int, list[tuple[str, re.Pattern]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in self.filters:
            self._patterns[f.id] = [(k.keyword, k.pattern()) for k in f.keywords]

    def __bool__(self) -> bool:
        return bool(self.filters)

    def match(self, view: StatusView) -> list[Match]:
        if not self.filters:
            return []
        shown = view.shown
        text = f"{shown.spoiler_text}\n\n{plain_text(shown.content)}"
        poll = getattr(view, "poll", None)
        if poll is not None:  # Mastodon searches a poll's options too
            text += "\n\n" + "\n\n".join(getattr(o, "title", "") for o in getattr(poll, "options", ()))
        ids = {view.status.id, shown.id}
        found = []
        for f in self.filters:
            keywords = tuple(word for word, pattern in self._patterns[f.id] if pattern.search(text))
            statuses = tuple(s.status_id for s in f.statuses if s.status_id in ids)
            if keywords or statuses:
                found.append(Match(f, keywords or None, statuses or None))
        return found


async def matcher(inst: Instance, context: str) -> Matcher:
    rows = [r for r in await store.active(inst.db, utcnow()) if context in r["context"].split()]
    return Matcher(await _build(inst, rows) if rows else [])


def hides(matches: list[Match]) -> bool:
    return any(m.filter.action == "hide" for m in matches)
