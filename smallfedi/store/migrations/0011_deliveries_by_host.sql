-- The worker reads due deliveries grouped by host (a post's deliveries to one server go out
-- over one connection): the index gives that order without sorting the queue on every pass.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, host);
