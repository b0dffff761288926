-- The sandbox payment gateway's ledger, shared by every instance on this database (ADR 0041):
-- what it answered per idempotency key (`authorize`, `capture`, `void`, `refund`), the keys
-- whose simulated outage already happened (`outage`), and what each authorization holds
-- (`hold`, keyed by authorization id). Each request locks its records (transaction-scoped
-- advisory locks) before reading them, so two instances acting on one authorization at once
-- are decided one after the other: no double capture, no capture above the hold.
CREATE TABLE sandbox_ledger
(
    kind   text  NOT NULL CHECK (kind IN ('authorize', 'outage', 'hold', 'capture', 'void', 'refund')),
    key    text  NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (kind, key)
);
