-- Media: the owner's uploads (files in media/, named by the hash of their bytes) and remote
-- posts' attachments (links to their origin); the cache of remote images.

CREATE TABLE media (
    id              INTEGER PRIMARY KEY,            -- time-sortable, as statuses
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id       INTEGER REFERENCES statuses (id) ON DELETE CASCADE,  -- NULL until posted
    position        INTEGER NOT NULL DEFAULT 0,     -- order within the post
    type            TEXT    NOT NULL CHECK (type IN ('image', 'gifv', 'video', 'audio', 'unknown')),
    mime            TEXT    NOT NULL DEFAULT '',
    file            TEXT,                           -- local: file name in media/
    preview_file    TEXT,
    remote_url      TEXT,                           -- remote: the original's URL
    preview_remote_url TEXT,
    size            INTEGER,                        -- bytes of the stored file
    width           INTEGER,
    height          INTEGER,
    preview_width   INTEGER,
    preview_height  INTEGER,
    blurhash        TEXT,
    description     TEXT    NOT NULL DEFAULT '',    -- alt text
    focus_x         REAL    NOT NULL DEFAULT 0,     -- -1 (left) .. 1 (right)
    focus_y         REAL    NOT NULL DEFAULT 0,     -- -1 (bottom) .. 1 (top)
    created_at      TEXT    NOT NULL
);
CREATE INDEX media_status ON media (status_id, position) WHERE status_id IS NOT NULL;
CREATE INDEX media_unattached ON media (created_at) WHERE status_id IS NULL;
CREATE INDEX media_file ON media (file) WHERE file IS NOT NULL;
CREATE INDEX media_preview_file ON media (preview_file) WHERE preview_file IS NOT NULL;

-- Remote images we may copy: a row per URL seen (avatars, headers, attachment previews); the
-- file is fetched on first use and evicted least recently used when the cache is over budget.
CREATE TABLE media_cache (
    key             TEXT    PRIMARY KEY,            -- sha256 of the URL, hex
    url             TEXT    NOT NULL,
    file            TEXT,                           -- file name in cache/, NULL when not held
    mime            TEXT,
    size            INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    used_at         TEXT                            -- last served
) WITHOUT ROWID;
CREATE INDEX media_cache_used ON media_cache (used_at) WHERE file IS NOT NULL;

-- Pruning asks, for each old remote post, whether a notification still points at it.
CREATE INDEX notifications_status ON notifications (status_id) WHERE status_id IS NOT NULL;
