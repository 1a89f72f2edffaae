-- Accounts the owner blocked: their posts, notifications and activities are kept out.
ALTER TABLE accounts ADD COLUMN blocked INTEGER NOT NULL DEFAULT 0;
