-- A handle is not an identity in the fediverse (the actor id is): two actors of one server
-- can claim the same preferredUsername. Keep the index for look-ups, without uniqueness.
DROP INDEX accounts_handle;
CREATE INDEX accounts_handle ON accounts (lower(username), domain);
