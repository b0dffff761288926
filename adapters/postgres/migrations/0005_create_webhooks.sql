-- Webhook endpoints, their delivery queues and the delivery log (runtime::WebhookStore).
-- The dispatcher's checkpoint is a row of projection_checkpoints, so it commits with the
-- deliveries it queued.

-- `position` orders listings (newest first); `disabled_reason` is NULL while enabled.
CREATE TABLE webhook_endpoints
(
    position        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              uuid        NOT NULL UNIQUE,
    url             text        NOT NULL,
    description     text        NOT NULL,
    event_types     text[]      NOT NULL,
    secret          text        NOT NULL,
    disabled_reason text,
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK ((disabled_reason IS NULL) = (disabled_at IS NULL))
);

-- One row per (endpoint, event) queued, plus manual redeliveries. `position` is the queue
-- order: the single leased dispatcher inserts each batch in feed order, one transaction after
-- the other, so each endpoint's queued events in position order are in feed order. `payload`
-- is text, not json(b): it is the exact body that is signed and sent.
CREATE TABLE webhook_deliveries
(
    position        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              uuid        NOT NULL UNIQUE,
    endpoint_id     uuid        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id      text        NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    payload         text        NOT NULL,
    state           text        NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz,
    redelivery_of   uuid,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    CHECK ((state = 'pending') = (next_attempt_at IS NOT NULL)),
    CHECK ((state = 'pending') = (finished_at IS NULL))
);

-- The head of each endpoint's queue, and its log newest first.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, position)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, position);

CREATE TABLE webhook_attempts
(
    delivery_id     uuid        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number          integer     NOT NULL CHECK (number >= 1),
    attempted_at    timestamptz NOT NULL,
    duration_ms     bigint      NOT NULL CHECK (duration_ms >= 0),
    response_status integer,
    error           text,
    PRIMARY KEY (delivery_id, number)
);
