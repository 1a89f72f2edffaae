-- The owner's lists, followed hashtags, filters, the state of direct conversations, and
-- blocked domains.

CREATE TABLE lists (
    id              INTEGER PRIMARY KEY,
    title           TEXT    NOT NULL,
    replies_policy  TEXT    NOT NULL DEFAULT 'list' CHECK (replies_policy IN ('followed', 'list', 'none')),
    exclusive       INTEGER NOT NULL DEFAULT 0 CHECK (exclusive IN (0, 1)),  -- members leave the home timeline
    created_at      TEXT    NOT NULL
);

-- A member is an account the owner follows (or asked to follow): the row goes with the follow,
-- as in Mastodon, so unfollowing takes the account off every list.
CREATE TABLE list_accounts (
    id              INTEGER PRIMARY KEY,            -- paging cursor
    list_id         INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    follow_id       INTEGER NOT NULL REFERENCES follows (id) ON DELETE CASCADE,
    UNIQUE (list_id, account_id)
);
CREATE INDEX list_accounts_account ON list_accounts (account_id);
CREATE INDEX list_accounts_follow ON list_accounts (follow_id);

-- Public posts with a followed hashtag join the home timeline.
CREATE TABLE followed_tags (
    id              INTEGER PRIMARY KEY,            -- paging cursor
    name            TEXT    NOT NULL UNIQUE,        -- lower-cased, without '#'
    created_at      TEXT    NOT NULL
);

-- Filters (Mastodon's v2 "custom filters"): keywords and single posts, applied in the
-- contexts named, warning about (or hiding, or blurring) what matches until they expire.
CREATE TABLE filters (
    id              INTEGER PRIMARY KEY,
    title           TEXT    NOT NULL,
    context         TEXT    NOT NULL,               -- space-separated: home notifications public thread account
    action          TEXT    NOT NULL DEFAULT 'warn' CHECK (action IN ('warn', 'hide', 'blur')),
    expires_at      TEXT,                           -- stored time format; NULL: never
    created_at      TEXT    NOT NULL
);

CREATE TABLE filter_keywords (
    id              INTEGER PRIMARY KEY,
    filter_id       INTEGER NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    keyword         TEXT    NOT NULL,
    whole_word      INTEGER NOT NULL DEFAULT 1 CHECK (whole_word IN (0, 1))
);
CREATE INDEX filter_keywords_filter ON filter_keywords (filter_id, id);

CREATE TABLE filter_statuses (
    id              INTEGER PRIMARY KEY,
    filter_id       INTEGER NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    status_id       INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    UNIQUE (filter_id, status_id)
);
CREATE INDEX filter_statuses_status ON filter_statuses (status_id);

-- Conversations are derived from the direct posts stored; this keeps what the owner did to
-- each (one row per set of participants, made when the conversation is first listed).
CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY,
    participants    TEXT    NOT NULL UNIQUE,        -- the other accounts' ids, sorted, space-separated
    read_up_to      INTEGER NOT NULL DEFAULT 0,     -- the newest post the owner has marked read
    removed_up_to   INTEGER NOT NULL DEFAULT 0      -- removed up to this post; a newer one brings it back
);
-- Direct posts only, newest first, without reading the rest of the table.
CREATE INDEX statuses_direct ON statuses (id) WHERE visibility = 'direct';

-- Domains the owner blocked: the domain and its subdomains ("example.com" also blocks
-- "social.example.com"); with a port, only that port ("127.0.0.1:8080"). Which accounts a
-- block covers is worked out per query (store/domain_blocks.py), never stored.
CREATE TABLE domain_blocks (
    id              INTEGER PRIMARY KEY,            -- paging cursor
    domain          TEXT    NOT NULL UNIQUE,        -- lower-cased host, IDNA-encoded, maybe with a port
    created_at      TEXT    NOT NULL
);
