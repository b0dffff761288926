-- Durable timers polled by the saga runner (runtime::Deadlines). Times are RFC 3339 UTC with
-- a fixed number of fractional digits, so text order is time order.
CREATE TABLE deadlines
(
    key    text PRIMARY KEY,
    due_at text NOT NULL
) STRICT;

CREATE INDEX deadlines_by_due_at ON deadlines (due_at);
