-- A customer's address book (ADR 0027). Personal data, so a table whose rows can be deleted,
-- never events: erasing a customer deletes their rows (and deleting the account cascades).
CREATE TABLE customer_addresses
(
    id          uuid        NOT NULL PRIMARY KEY,
    customer_id uuid        NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name        text        NOT NULL,
    line1       text        NOT NULL,
    line2       text,
    city        text        NOT NULL,
    postal_code text        NOT NULL,
    region      text,
    country     text        NOT NULL,
    phone       text,
    created_at  timestamptz NOT NULL
);

CREATE INDEX customer_addresses_customer ON customer_addresses (customer_id, id);
