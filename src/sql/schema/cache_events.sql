-- pg_scribe schema: the table of cache events (run once, by CREATE EXTENSION;
-- the trigger and its function are in src/sql/cache_events.sql, the built-in
-- policy that purges it in post_install.sql).

CREATE TABLE scribe.cache_events (
    event_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    operation   text NOT NULL CHECK (operation IN ('delete', 'invalidate', 'clear')),
    argument    text CHECK ((argument IS NULL) = (operation = 'clear'))
);
