-- Which server instance holds an in-flight idempotency claim. A claim whose holder is no
-- longer alive (its session-level advisory lock is gone) is taken over at once instead of
-- after the staleness timeout. NULL for claims made before holders were recorded.
ALTER TABLE idempotency_keys ADD COLUMN holder uuid;
