-- The first schema: the owner, the accounts we know, posts (local and remote), their edit
-- history, mentions and hashtags, deleted posts' tombstones, and browser sessions.

-- Every account we know: the owner (local = 1, exactly one) and remote actors.
CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    local           INTEGER NOT NULL DEFAULT 0 CHECK (local IN (0, 1)),
    username        TEXT    NOT NULL,
    domain          TEXT,                       -- NULL for the owner
    uri             TEXT    NOT NULL UNIQUE,    -- the actor id
    url             TEXT,                       -- the profile page
    display_name    TEXT    NOT NULL DEFAULT '',
    note            TEXT    NOT NULL DEFAULT '',  -- bio as sanitised HTML
    note_source     TEXT    NOT NULL DEFAULT '',  -- the owner's Markdown
    fields_json     TEXT    NOT NULL DEFAULT '[]',
    locked          INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    bot             INTEGER NOT NULL DEFAULT 0 CHECK (bot IN (0, 1)),
    discoverable    INTEGER NOT NULL DEFAULT 1 CHECK (discoverable IN (0, 1)),
    avatar_url      TEXT,
    header_url      TEXT,
    inbox_url       TEXT,
    shared_inbox_url TEXT,
    public_key_pem  TEXT,
    key_id          TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    fetched_at      TEXT
);
CREATE UNIQUE INDEX accounts_handle ON accounts (username, coalesce(domain, ''));
CREATE UNIQUE INDEX accounts_one_owner ON accounts (local) WHERE local = 1;

-- The owner's secrets, one row. The file holding them is created with mode 0600.
CREATE TABLE owner (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    password_hash   TEXT    NOT NULL,
    private_key_pem TEXT    NOT NULL,
    secret_key      TEXT    NOT NULL,   -- HMAC key for CSRF tokens
    password_changed_at TEXT NOT NULL
);

-- Local and remote posts in one table; ids are time-sortable (see ids.py).
CREATE TABLE statuses (
    id              INTEGER PRIMARY KEY,
    uri             TEXT    NOT NULL UNIQUE,
    url             TEXT,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    local           INTEGER NOT NULL CHECK (local IN (0, 1)),
    in_reply_to_id  INTEGER REFERENCES statuses (id) ON DELETE SET NULL,
    in_reply_to_uri TEXT,
    in_reply_to_account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    reblog_of_id    INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    content         TEXT    NOT NULL DEFAULT '',  -- sanitised HTML
    source          TEXT,                         -- the owner's Markdown (local posts)
    spoiler_text    TEXT    NOT NULL DEFAULT '',
    visibility      TEXT    NOT NULL CHECK (visibility IN ('public', 'unlisted', 'private', 'direct')),
    sensitive       INTEGER NOT NULL DEFAULT 0 CHECK (sensitive IN (0, 1)),
    language        TEXT,
    created_at      TEXT    NOT NULL,
    edited_at       TEXT
);
CREATE INDEX statuses_account ON statuses (account_id, id);
CREATE INDEX statuses_reply ON statuses (in_reply_to_id) WHERE in_reply_to_id IS NOT NULL;
CREATE INDEX statuses_reblog ON statuses (reblog_of_id) WHERE reblog_of_id IS NOT NULL;

-- Earlier versions of an edited post, oldest first (Mastodon keeps the same).
CREATE TABLE status_edits (
    id              INTEGER PRIMARY KEY,
    status_id       INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    content         TEXT    NOT NULL,
    source          TEXT,
    spoiler_text    TEXT    NOT NULL DEFAULT '',
    sensitive       INTEGER NOT NULL DEFAULT 0,
    language        TEXT,
    created_at      TEXT    NOT NULL   -- when this version was written
);
CREATE INDEX status_edits_status ON status_edits (status_id, id);

-- @user@host mentions found in a post; account_id is filled once the handle is resolved.
CREATE TABLE mentions (
    status_id       INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    acct            TEXT    NOT NULL,  -- user@host, lower-cased host
    account_id      INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (status_id, acct)
) WITHOUT ROWID;
CREATE INDEX mentions_account ON mentions (account_id, status_id) WHERE account_id IS NOT NULL;

CREATE TABLE status_tags (
    name            TEXT    NOT NULL,  -- lower-cased, without '#'
    status_id       INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    PRIMARY KEY (name, status_id)
) WITHOUT ROWID;
CREATE INDEX status_tags_status ON status_tags (status_id);

-- Deleted posts' ids, so their URLs answer 410 Gone rather than 404.
CREATE TABLE tombstones (
    uri             TEXT    PRIMARY KEY,
    deleted_at      TEXT    NOT NULL
) WITHOUT ROWID;

-- Browser sessions of the owner; only a hash of the cookie's token is stored.
CREATE TABLE web_sessions (
    token_hash      TEXT    PRIMARY KEY,
    created_at      TEXT    NOT NULL,
    last_seen_at    TEXT    NOT NULL,
    user_agent      TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
