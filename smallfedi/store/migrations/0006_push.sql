-- Web Push: the instance's VAPID key, the apps' push subscriptions (one per access token, as in
-- Mastodon) and the durable queue of pushes to send.

-- The key the instance signs its pushes with (RFC 8292). One row, like the owner's signing key.
CREATE TABLE vapid_key (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    private_key_pem TEXT    NOT NULL,           -- P-256, PKCS#8 PEM
    public_key      TEXT    NOT NULL,           -- uncompressed point, base64url without padding
    created_at      TEXT    NOT NULL
);

CREATE TABLE push_subscriptions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- small: apps read it as a JSON number
    token_id        INTEGER NOT NULL UNIQUE REFERENCES oauth_tokens (id) ON DELETE CASCADE,
    -- The bearer token itself: Mastodon's push payload carries it, and apps (Mastodon for iOS,
    -- Ice Cubes) pick the account by it. oauth_tokens keeps only its hash, so the subscription
    -- keeps a copy, which goes with the token when it is revoked.
    access_token    TEXT    NOT NULL,
    endpoint        TEXT    NOT NULL,
    p256dh          TEXT    NOT NULL,           -- the app's P-256 public key, base64url
    auth            TEXT    NOT NULL,           -- the app's 16-byte auth secret, base64url
    standard        INTEGER NOT NULL DEFAULT 0 CHECK (standard IN (0, 1)),  -- 1: RFC 8291 aes128gcm
    alerts_json     TEXT    NOT NULL,           -- {"mention": true, ...}
    policy          TEXT    NOT NULL DEFAULT 'all' CHECK (policy IN ('all', 'followed', 'follower', 'none')),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);

-- A push to send: written in the transaction that made the notification, deleted once the push
-- service has taken it (or refused it for good, or a day has passed).
CREATE TABLE push_queue (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES push_subscriptions (id) ON DELETE CASCADE,
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL    NOT NULL,           -- unix seconds
    last_error      TEXT,
    created_at      REAL    NOT NULL,           -- unix seconds
    UNIQUE (subscription_id, notification_id)
);
CREATE INDEX push_queue_due ON push_queue (next_attempt_at);
CREATE INDEX push_queue_notification ON push_queue (notification_id);
