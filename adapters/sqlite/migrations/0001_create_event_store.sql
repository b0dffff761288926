-- The event store as sqlite-es 0.5 reads and writes it.
--
-- sqlite-es reports a write conflict only for SQLITE_CONSTRAINT_PRIMARYKEY (extended code
-- 1555), so the stream identity must stay the PRIMARY KEY: a UNIQUE constraint would fail
-- with 2067 and turn every conflict into an infrastructure error.
--
-- The global feed position lives in `event_positions`, filled by a trigger in the same
-- transaction as each insert. Its INTEGER PRIMARY KEY AUTOINCREMENT never reuses or renumbers
-- a value (VACUUM keeps it too, unlike an implicit rowid), and SQLite has one writer at a time,
-- so position order is commit order.
CREATE TABLE events
(
    aggregate_type text                          NOT NULL,
    aggregate_id   text                          NOT NULL,
    sequence       integer CHECK (sequence >= 0) NOT NULL,
    event_type     text                          NOT NULL,
    event_version  text                          NOT NULL,
    payload        text                          NOT NULL,
    metadata       text                          NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;

CREATE TABLE event_positions
(
    position       integer PRIMARY KEY AUTOINCREMENT,
    aggregate_type text    NOT NULL,
    aggregate_id   text    NOT NULL,
    sequence       integer NOT NULL,
    UNIQUE (aggregate_type, aggregate_id, sequence)
) STRICT;

CREATE TRIGGER events_assign_position
    AFTER INSERT ON events
BEGIN
    INSERT INTO event_positions (aggregate_type, aggregate_id, sequence)
    VALUES (NEW.aggregate_type, NEW.aggregate_id, NEW.sequence);
END;

CREATE TRIGGER event_positions_refuse_update
    BEFORE UPDATE ON event_positions
BEGIN
    SELECT RAISE(ABORT, 'event positions are append-only: UPDATE refused');
END;

CREATE TRIGGER event_positions_refuse_delete
    BEFORE DELETE ON event_positions
BEGIN
    SELECT RAISE(ABORT, 'event positions are append-only: DELETE refused');
END;

CREATE TRIGGER events_refuse_update
    BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: UPDATE refused');
END;

CREATE TRIGGER events_refuse_delete
    BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: DELETE refused');
END;

-- Used by sqlite-es only when snapshots are on; they are off (ADR 0003).
CREATE TABLE snapshots
(
    aggregate_type   text                                  NOT NULL,
    aggregate_id     text                                  NOT NULL,
    last_sequence    integer CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot integer CHECK (current_snapshot >= 0) NOT NULL,
    payload          text                                  NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
) STRICT;
