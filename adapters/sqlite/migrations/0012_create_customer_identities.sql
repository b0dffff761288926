-- External identities (an OpenID Connect issuer and subject) tied to customer accounts
-- (ADR 0028). An identity names one account for good; deleting the account (erasure)
-- deletes its identities.
CREATE TABLE customer_identities
(
    issuer      text NOT NULL,
    subject     text NOT NULL,
    customer_id text NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    linked_at   text NOT NULL,
    PRIMARY KEY (issuer, subject)
) STRICT;
