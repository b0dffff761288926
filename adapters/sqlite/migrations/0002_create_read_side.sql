-- Everything consumers of the feed keep, in the same database as the events so that a
-- read-model change commits together with the checkpoint that produced it.
-- Timestamps are UTC text in one fixed-width format (YYYY-MM-DDTHH:MM:SS.ffffffZ), so text
-- order is time order.

-- The feed cursor after the last batch each projector committed.
CREATE TABLE projection_checkpoints
(
    projector  text    NOT NULL PRIMARY KEY,
    tx         integer NOT NULL,
    position   integer NOT NULL,
    updated_at text    NOT NULL
) STRICT;

-- Read-model documents: one JSON body per (view, id).
CREATE TABLE read_documents
(
    view       text NOT NULL,
    id         text NOT NULL,
    body       text NOT NULL,
    updated_at text NOT NULL,
    PRIMARY KEY (view, id)
) STRICT;

-- Idempotency keys of mutating requests; `response` is set once the request completed.
CREATE TABLE idempotency_keys
(
    key         text NOT NULL PRIMARY KEY,
    fingerprint text NOT NULL,
    state       text NOT NULL CHECK (state IN ('in_flight', 'completed')),
    response    text,
    created_at  text NOT NULL,
    updated_at  text NOT NULL,
    CHECK ((state = 'completed') = (response IS NOT NULL))
) STRICT;

CREATE INDEX idempotency_keys_updated_at ON idempotency_keys (updated_at);
