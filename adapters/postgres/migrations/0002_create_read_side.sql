-- Everything consumers of the feed keep, in the same database as the events so that a
-- read-model change commits together with the checkpoint that produced it.

-- The feed cursor (transaction id, global position) after the last batch each projector
-- committed. `tx` holds an xid8 value; xid8 values stay far below 2^63.
CREATE TABLE projection_checkpoints
(
    projector  text        NOT NULL PRIMARY KEY,
    tx         bigint      NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Read-model documents: one JSON body per (view, id). Ids sort bytewise ("C"), as on SQLite,
-- so that list pages are the same on both stores.
CREATE TABLE read_documents
(
    view       text        NOT NULL,
    id         text        COLLATE "C" NOT NULL,
    body       json        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (view, id)
);

-- Idempotency keys of mutating requests; `response` is set once the request completed.
CREATE TABLE idempotency_keys
(
    key         text        NOT NULL PRIMARY KEY,
    fingerprint text        NOT NULL,
    state       text        NOT NULL CHECK (state IN ('in_flight', 'completed')),
    response    json,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CHECK ((state = 'completed') = (response IS NOT NULL))
);

CREATE INDEX idempotency_keys_updated_at ON idempotency_keys (updated_at);
