-- pg_scribe functions: lifecycle policies.
--
-- A policy keeps a table (or a materialized view, or a procedure's work) in
-- shape on a schedule: partitions made ahead and retired, old rows purged or
-- archived, orphans deleted, a view refreshed, a procedure called.  The
-- launcher turns due policies into runs: a run is a chain of jobs on the
-- built-in 'lifecycle' queue, one action per job (one partition, one batch
-- of rows), so each action is its own short transaction with the queue's
-- retries, backoff and dead letters, and at most one run of a policy is
-- under way at a time.  Everything a policy does to its target runs as the
-- role that created it.

-- Comments of the tables in schema/lifecycle.sql
COMMENT ON TABLE scribe.policies IS 'Lifecycle policies (change them with scribe.policy_create / policy_alter / policy_drop)';
COMMENT ON TABLE scribe.policy_runs IS 'Every run of a policy: times, status, rows, partitions and bytes affected, what was done, the error';

-- The time a policy sees: now(), moved by scribe.policy_clock_offset (tests, rehearsals)
CREATE OR REPLACE FUNCTION scribe._policy_clock()
    RETURNS timestamptz
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    -- pg_settings shows the raw seconds; without the library preloaded there is no setting
    SELECT now() + make_interval(secs => COALESCE(
        (SELECT setting::double precision FROM pg_settings WHERE name = 'scribe.policy_clock_offset'), 0))
$$;
COMMENT ON FUNCTION scribe._policy_clock() IS 'Internal: the time a policy sees: now(), moved by scribe.policy_clock_offset (tests, rehearsals)';

-- Whether a schedule is a cron expression (else an interval)
CREATE OR REPLACE FUNCTION scribe._schedule_is_cron(schedule text)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT btrim(schedule) LIKE '@%' OR cardinality(regexp_split_to_array(btrim(schedule), '\s+')) = 5 $$;
COMMENT ON FUNCTION scribe._schedule_is_cron(text) IS 'Internal: whether a schedule is a cron expression (else an interval)';

-- When a schedule next fires after a time; ERROR if it is neither a positive interval nor a cron expression
CREATE OR REPLACE FUNCTION scribe._schedule_next(schedule text, after timestamptz)
    RETURNS timestamptz
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    every interval;
BEGIN
    IF scribe._schedule_is_cron(schedule) THEN
        RETURN scribe.cron_next(schedule, after);
    END IF;
    BEGIN
        every := schedule::interval;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
        RAISE EXCEPTION 'schedule "%" is neither an interval nor a cron expression', schedule
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Write an interval (''15 minutes'', ''1 day'') or five cron fields (''30 3 * * *'': 03:30 UTC every day).';
    END;
    IF every < '1 second' THEN
        RAISE EXCEPTION 'schedule "%" is shorter than a second', schedule
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Run a policy at most once a second; its actions are jobs of the lifecycle queue.';
    END IF;
    RETURN after + every;
END
$$;
COMMENT ON FUNCTION scribe._schedule_next(text, timestamptz) IS 'Internal: when a schedule next fires after a time; ERROR if it is neither a positive interval nor a cron expression';
