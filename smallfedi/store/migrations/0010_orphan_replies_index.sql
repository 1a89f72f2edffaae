-- Every inbound post asks whether replies to it arrived before it did (statuses with its uri
-- as in_reply_to_uri and no parent yet). Without an index that question read the whole
-- statuses table: a full scan per inbound post, ruinous at a million statuses. Only the
-- orphans are indexed, so the index stays tiny.
CREATE INDEX statuses_orphan_replies ON statuses (in_reply_to_uri)
    WHERE in_reply_to_id IS NULL AND in_reply_to_uri IS NOT NULL;
