-- Customer accounts and the refresh tokens of their sessions (ADR 0025). Credentials, not
-- history: never in an event. The email (fully lowercased) is unique: the table enforces it.
CREATE TABLE customers
(
    id            text NOT NULL PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL,
    password_hash text NOT NULL,
    created_at    text NOT NULL
) STRICT;

-- Only a hash of each refresh token. A token is spent once; its successors share its family,
-- and replaying a spent one revokes the whole family.
CREATE TABLE refresh_tokens
(
    token_hash  text NOT NULL PRIMARY KEY,
    customer_id text NOT NULL REFERENCES customers (id),
    family_id   text NOT NULL,
    issued_at   text NOT NULL,
    expires_at  text NOT NULL,
    spent_at    text,
    revoked_at  text
) STRICT;

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
