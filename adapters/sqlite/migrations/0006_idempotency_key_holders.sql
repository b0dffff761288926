-- Which process holds an in-flight idempotency claim. One process serves the file, so a claim
-- held by any other (an earlier run that died) is taken over at once. NULL for claims made
-- before holders were recorded.
ALTER TABLE idempotency_keys ADD COLUMN holder TEXT;
