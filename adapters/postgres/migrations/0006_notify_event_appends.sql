-- Wakes feed readers on every instance when events commit (ADR 0015). PostgreSQL delivers a
-- notification only when its transaction commits, and folds identical ones of a transaction
-- into one. Readers still poll: a notification only cuts latency, it is never the authority.
CREATE FUNCTION notify_events_appended() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('commerce_events', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_notify_appended
    AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION notify_events_appended();
