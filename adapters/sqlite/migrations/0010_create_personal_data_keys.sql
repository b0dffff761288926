-- One data key per person whose personal data events carry sealed (ADR 0026): a customer, or
-- a guest's checkout. Erasing the person deletes the row; their sealed fields then read as
-- erased. Never copied into events.
CREATE TABLE personal_data_keys (
    subject     TEXT PRIMARY KEY,
    data_key    BLOB NOT NULL,
    created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
) STRICT;
