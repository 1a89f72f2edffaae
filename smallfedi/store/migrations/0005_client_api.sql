-- The Mastodon client API: OAuth apps, codes and tokens, and the owner's own marks on posts
-- and accounts that apps show (bookmarks, pins, mutes, notes, read markers).

CREATE TABLE oauth_apps (
    id              INTEGER PRIMARY KEY,
    client_id       TEXT    NOT NULL UNIQUE,
    client_secret_hash TEXT NOT NULL,           -- SHA-256; the secret is shown once, at registration
    name            TEXT    NOT NULL,
    website         TEXT,
    redirect_uris   TEXT    NOT NULL,           -- newline-separated, as registered
    scopes          TEXT    NOT NULL,           -- space-separated
    created_at      TEXT    NOT NULL
);
-- Apps are kept forever: web clients cache their client_id for days.

CREATE TABLE oauth_codes (
    code_hash       TEXT    PRIMARY KEY,
    app_id          INTEGER NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    redirect_uri    TEXT    NOT NULL,
    scopes          TEXT    NOT NULL,
    code_challenge  TEXT,                       -- PKCE S256, when the app sent one
    expires_at      REAL    NOT NULL            -- unix seconds
) WITHOUT ROWID;

CREATE TABLE oauth_tokens (
    id              INTEGER PRIMARY KEY,
    token_hash      TEXT    NOT NULL UNIQUE,    -- SHA-256 of the bearer token
    app_id          INTEGER NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    scopes          TEXT    NOT NULL,
    for_owner       INTEGER NOT NULL CHECK (for_owner IN (0, 1)),  -- 0: an app-only token
    created_at      TEXT    NOT NULL,
    last_used_at    TEXT
);
CREATE INDEX oauth_tokens_app ON oauth_tokens (app_id);

CREATE TABLE bookmarks (
    id              INTEGER PRIMARY KEY,        -- paging cursor
    status_id       INTEGER NOT NULL UNIQUE REFERENCES statuses (id) ON DELETE CASCADE,
    created_at      TEXT    NOT NULL
);

CREATE TABLE pins (
    id              INTEGER PRIMARY KEY,
    status_id       INTEGER NOT NULL UNIQUE REFERENCES statuses (id) ON DELETE CASCADE,
    created_at      TEXT    NOT NULL
);

CREATE TABLE status_mutes (
    status_id       INTEGER PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE
);

CREATE TABLE account_mutes (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    notifications   INTEGER NOT NULL DEFAULT 1 CHECK (notifications IN (0, 1)),
    created_at      TEXT    NOT NULL
);

CREATE TABLE account_notes (
    account_id      INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    note            TEXT    NOT NULL
);

CREATE TABLE markers (
    timeline        TEXT    PRIMARY KEY CHECK (timeline IN ('home', 'notifications')),
    last_read_id    INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    updated_at      TEXT    NOT NULL
) WITHOUT ROWID;

-- Idempotency-Key of POST /api/v1/statuses: a retried post over a slow link is posted once.
CREATE TABLE idempotency_keys (
    key             TEXT    PRIMARY KEY,
    status_id       INTEGER NOT NULL,
    created_at      REAL    NOT NULL
) WITHOUT ROWID;
