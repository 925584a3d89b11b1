-- pg_scribe functions, last part: privileges.
--
-- Functions reach other roles' jobs, the network (http jobs) or shared
-- state: none is for PUBLIC but scribe.version() and read-your-writes (at
-- the end).  Grant what each role
-- needs, for example:
--   GRANT EXECUTE ON FUNCTION scribe.send(text, jsonb, text, interval, timestamptz, integer, text, integer) TO app;
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'scribe'::regnamespace AND p.proname <> 'version'
    LOOP
        EXECUTE format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', f);
    END LOOP;
END
$$;

-- monitoring roles may watch
GRANT EXECUTE ON FUNCTION scribe.queue_stats(text, interval) TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.worker_status() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.queue_list() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.rate_limit_stats() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.redis_stats() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.cache_stats() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.cache_namespace_stats() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe.policy_status() TO pg_monitor;

-- read-your-writes: every application role needs them, and they reveal no
-- more than PUBLIC reads already (pg_current_wal_insert_lsn(),
-- pg_stat_subscription); a wait holds only the caller's own session
GRANT EXECUTE ON FUNCTION scribe.replication_commit_lsn() TO PUBLIC;
GRANT EXECUTE ON FUNCTION scribe.replication_wait_lsn(pg_lsn, interval, name, boolean) TO PUBLIC;

-- ---------------------------------------------------------------------------
-- STUB (branch i17-cache, until the roles of issue 17 land): scribe_app is
-- created if missing so that the grants of the cache section below apply.
-- The lead's role creation replaces this block.
-- ---------------------------------------------------------------------------
DO $stub$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'scribe_app') THEN
        CREATE ROLE scribe_app NOLOGIN;
    END IF;
END
$stub$;

-- ---------------------------------------------------------------------------
-- Cache and rate limiter (issue 17): what an application calls.  One
-- keyspace for every role granted these (docs/reference.md, "Cache", "Who
-- shares the keys"); cache_clear and cache_warm stay with the admin role,
-- the statistics with the monitoring role.  The trigger function is granted
-- because CREATE TRIGGER, run by cache_invalidate_on as its caller, needs
-- EXECUTE on it; whoever later writes the table needs nothing of scribe
-- (PostgreSQL checks a trigger function's EXECUTE when the trigger is made,
-- not when it fires).
-- ---------------------------------------------------------------------------
GRANT EXECUTE ON FUNCTION
    scribe.cache_get(text), scribe.cache_get_bytea(text), scribe.cache_get_jsonb(text),
    scribe.cache_get_many(text[]),
    scribe.cache_set(text, text, interval), scribe.cache_set_bytea(text, bytea, interval),
    scribe.cache_set_jsonb(text, jsonb, interval),
    scribe.cache_delete(text), scribe.cache_invalidate(text),
    scribe.cache_fetch(text, text, interval), scribe.cache_fetch(text, text, interval, "any"),
    scribe.cache_fetch_jsonb(text, text, interval), scribe.cache_fetch_jsonb(text, text, interval, "any"),
    scribe.cache_invalidate_on(regclass, text[]), scribe.cache_invalidate_trigger(),
    scribe.rate_limit_take(text, integer, interval, integer, integer), scribe.rate_limit_reset(text)
    TO scribe_app;
