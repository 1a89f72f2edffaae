-- Polls: one per post (the owner's, or a remote Question), and the votes we know of one by one:
-- the owner's own votes on any poll, and remote accounts' votes on the owner's polls.

CREATE TABLE polls (
    status_id       INTEGER PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    multiple        INTEGER NOT NULL DEFAULT 0 CHECK (multiple IN (0, 1)),
    hide_totals     INTEGER NOT NULL DEFAULT 0 CHECK (hide_totals IN (0, 1)),
    expires_at      TEXT,                       -- NULL: open-ended (some remote polls)
    closed_at       TEXT,                       -- a remote poll its author closed (Question `closed`)
    -- [{"title": …, "votes_count": n}, …] in the poll's order. The owner's polls are recounted
    -- from poll_votes on every vote; remote ones hold what their server last said.
    options_json    TEXT    NOT NULL,
    voters_count    INTEGER,                    -- NULL when a remote server does not say
    updated_at      TEXT    NOT NULL
);

CREATE TABLE poll_votes (
    id              INTEGER PRIMARY KEY,
    status_id       INTEGER NOT NULL REFERENCES polls (status_id) ON DELETE CASCADE,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    choice          INTEGER NOT NULL CHECK (choice >= 0),  -- the option's index
    uri             TEXT,                       -- the vote Note's id, sent or received
    created_at      TEXT    NOT NULL,
    UNIQUE (status_id, account_id, choice)
);
-- The owner's own choices on a page of polls.
CREATE INDEX poll_votes_account ON poll_votes (account_id, status_id);
