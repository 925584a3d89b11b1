-- pg_scribe functions: cron schedules (of lifecycle policies).

-- IMMUTABLE: the answer depends on the arguments only; the expression is
-- read in UTC, never in the session's time zone
CREATE OR REPLACE FUNCTION scribe.cron_next(schedule text, after timestamptz DEFAULT now())
    RETURNS timestamptz
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'scribe_cron_next';
COMMENT ON FUNCTION scribe.cron_next(text, timestamptz) IS
    'The first run of a cron expression (5 fields or a macro such as @daily, read in UTC) strictly after a time, now by default';
