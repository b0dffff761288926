-- API keys of staff tools and internal services (ADR 0023). Only a hash of each secret is
-- kept; `prefix` is its first characters, shown so people can tell keys apart. Keys are
-- credentials, not history: they never enter an event. Revoked keys stay listed.
CREATE TABLE api_keys
(
    id          text NOT NULL PRIMARY KEY,
    name        text NOT NULL,
    prefix      text NOT NULL,
    secret_hash text NOT NULL UNIQUE,
    scopes      text NOT NULL,
    created_at  text NOT NULL,
    revoked_at  text
) STRICT;
