-- Short order numbers for people (`#1042`), the orders context's `OrderNumbers` port
-- (ADR 0036). One row per order: AUTOINCREMENT never reuses a number, and the unique order
-- id makes allocation idempotent (a retried placement finds its number). Numbers start at
-- 1001.
CREATE TABLE order_numbers
(
    number   INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT    NOT NULL UNIQUE
);

INSERT INTO sqlite_sequence (name, seq) VALUES ('order_numbers', 1000);
