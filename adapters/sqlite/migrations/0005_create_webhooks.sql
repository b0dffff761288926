-- Webhook endpoints, their delivery queues and the delivery log (runtime::WebhookStore).
-- Times are UTC text in one fixed-width format, so text order is time order. The dispatcher's
-- checkpoint is a row of projection_checkpoints, so it commits with the deliveries it queued.

-- `position` orders listings (newest first); `disabled_reason` is NULL while enabled.
CREATE TABLE webhook_endpoints
(
    position        integer PRIMARY KEY AUTOINCREMENT,
    id              text    NOT NULL UNIQUE,
    url             text    NOT NULL,
    description     text    NOT NULL,
    event_types     text    NOT NULL, -- a JSON array of strings
    secret          text    NOT NULL,
    disabled_reason text,
    disabled_at     text,
    created_at      text    NOT NULL,
    updated_at      text    NOT NULL,
    CHECK ((disabled_reason IS NULL) = (disabled_at IS NULL))
) STRICT;

-- One row per (endpoint, event) queued, plus manual redeliveries. `position` is the queue
-- order: one dispatcher transaction inserts a batch in feed order, and AUTOINCREMENT never
-- reuses a value, so each endpoint's pending rows in position order are its feed order.
CREATE TABLE webhook_deliveries
(
    position        integer PRIMARY KEY AUTOINCREMENT,
    id              text    NOT NULL UNIQUE,
    endpoint_id     text    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id      text    NOT NULL,
    event_id        text    NOT NULL,
    event_type      text    NOT NULL,
    payload         text    NOT NULL,
    state           text    NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at text,
    redelivery_of   text,
    created_at      text    NOT NULL,
    finished_at     text,
    CHECK ((state = 'pending') = (next_attempt_at IS NOT NULL)),
    CHECK ((state = 'pending') = (finished_at IS NULL))
) STRICT;

-- The head of each endpoint's queue, and its log newest first.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, position)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, position);

CREATE TABLE webhook_attempts
(
    delivery_id     text    NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    number          integer NOT NULL CHECK (number >= 1),
    attempted_at    text    NOT NULL,
    duration_ms     integer NOT NULL CHECK (duration_ms >= 0),
    response_status integer,
    error           text,
    PRIMARY KEY (delivery_id, number)
) STRICT;
