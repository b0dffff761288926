-- Payment method tokens wait here, never in an event, while a checkout or an authorization
-- with an unknown outcome may still need them (ADR 0016). Rows are deleted when the checkout
-- ends and purged when old; the table is the only place a token is ever written.
CREATE TABLE payment_method_tokens
(
    payment_id text NOT NULL PRIMARY KEY,
    token      text NOT NULL,
    kept_at    text NOT NULL
) STRICT;

CREATE INDEX payment_method_tokens_kept_at ON payment_method_tokens (kept_at);
