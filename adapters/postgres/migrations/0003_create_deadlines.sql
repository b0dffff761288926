-- Durable timers polled by the saga runner (runtime::Deadlines).
CREATE TABLE deadlines
(
    key    text PRIMARY KEY,
    due_at timestamptz NOT NULL
);

CREATE INDEX deadlines_by_due_at ON deadlines (due_at);
