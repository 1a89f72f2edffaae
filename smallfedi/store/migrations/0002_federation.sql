-- Federation: follows both ways, likes, notifications, the inbox's memory of what it has
-- processed, the owner's activities (so every id we send can be fetched), and the durable
-- delivery queue.

ALTER TABLE accounts ADD COLUMN outbox_url TEXT;
ALTER TABLE accounts ADD COLUMN followers_url TEXT;
ALTER TABLE accounts ADD COLUMN following_url TEXT;
ALTER TABLE accounts ADD COLUMN featured_url TEXT;
ALTER TABLE accounts ADD COLUMN actor_type TEXT NOT NULL DEFAULT 'Person';
ALTER TABLE accounts ADD COLUMN also_known_as_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE accounts ADD COLUMN moved_to_uri TEXT;
ALTER TABLE accounts ADD COLUMN blocks_owner INTEGER NOT NULL DEFAULT 0;  -- they sent us a Block
CREATE INDEX accounts_key_id ON accounts (key_id);

-- follower_id follows target_id; one side is always the owner.
CREATE TABLE follows (
    id              INTEGER PRIMARY KEY,
    follower_id     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_id       INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    uri             TEXT    NOT NULL,              -- the Follow activity's id
    accepted        INTEGER NOT NULL DEFAULT 0 CHECK (accepted IN (0, 1)),  -- 0: a pending request
    created_at      TEXT    NOT NULL,
    UNIQUE (follower_id, target_id)
);
CREATE INDEX follows_target ON follows (target_id, accepted, id);
CREATE INDEX follows_follower ON follows (follower_id, accepted, id);
CREATE INDEX follows_uri ON follows (uri);

CREATE TABLE favourites (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id       INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    uri             TEXT,                           -- the Like activity's id
    created_at      TEXT    NOT NULL,
    UNIQUE (account_id, status_id)
);
CREATE INDEX favourites_status ON favourites (status_id);
CREATE INDEX favourites_uri ON favourites (uri);

-- Reblogs are statuses with reblog_of_id; remote Announce ids are their uri.

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    type            TEXT    NOT NULL CHECK (type IN ('follow', 'follow_request', 'mention', 'favourite',
                                                     'reblog', 'status', 'update', 'reaction', 'move')),
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id       INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    emoji           TEXT,
    created_at      TEXT    NOT NULL
);
CREATE INDEX notifications_account ON notifications (account_id);

-- Every inbound activity id we processed, so a repeated delivery is a no-op.
CREATE TABLE inbox_seen (
    activity_uri    TEXT    PRIMARY KEY,
    received_at     TEXT    NOT NULL
) WITHOUT ROWID;

-- The owner's outgoing activities, served at their id and referenced by deliveries.
CREATE TABLE activities (
    id              INTEGER PRIMARY KEY,
    uri             TEXT    NOT NULL UNIQUE,
    type            TEXT    NOT NULL,
    json            TEXT    NOT NULL,
    created_at      TEXT    NOT NULL
);

-- One row per (activity, target inbox). Signed at send time, so a key rotation or a restart
-- never leaves stale signatures in the queue.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    activity_id     INTEGER NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    inbox_url       TEXT    NOT NULL,
    host            TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL    NOT NULL,                -- unix seconds
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    UNIQUE (activity_id, inbox_url)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at);

-- Hosts that keep failing rest a while instead of being hammered.
CREATE TABLE host_health (
    host            TEXT    PRIMARY KEY,
    failures        INTEGER NOT NULL DEFAULT 0,
    paused_until    REAL    NOT NULL DEFAULT 0
) WITHOUT ROWID;

UPDATE accounts SET outbox_url = uri || '/outbox', followers_url = uri || '/followers',
    following_url = uri || '/following', featured_url = uri || '/collections/featured'
WHERE local = 1;
