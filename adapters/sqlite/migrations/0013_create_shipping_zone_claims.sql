-- Which shipping zone each destination country belongs to: at most one, because the country
-- is the primary key, so the database serializes competing claims (the `ZoneDirectory` port
-- of the shipping context). A zone claims its countries before the command that lists them
-- is recorded and releases them after; `claimed_at` lets a repair leave a claim of a command
-- still in flight alone.
CREATE TABLE shipping_zone_claims
(
    country    text NOT NULL PRIMARY KEY,
    zone_id    text NOT NULL,
    claimed_at text NOT NULL
) STRICT;

CREATE INDEX shipping_zone_claims_by_zone ON shipping_zone_claims (zone_id);
