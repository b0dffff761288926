-- Wakes shoppers long-polling a checkout on any instance when another instance appends to it
-- (ADR 0041): one notification per checkout a statement appended to, carrying its id.
-- PostgreSQL delivers it only at commit and folds identical ones of a transaction into one.
-- The waiters still recheck on their own: a notification only cuts latency.
CREATE FUNCTION notify_checkouts_appended() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('commerce_checkouts', checkouts.aggregate_id)
    FROM (SELECT DISTINCT aggregate_id FROM appended WHERE aggregate_type = 'checkout') AS checkouts;
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_notify_checkouts
    AFTER INSERT ON events
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION notify_checkouts_appended();
