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

-- queues: a queue's owner grants and revokes the rights on its own queues
-- (scribe_app's members create queues, which they then own); the functions
-- check inside that the caller owns the queue, or is scribe_admin's
-- (src/queue/queue_rights.c, src/sql/queue_rights.sql).  Until the roles of
-- issue 17 are merged into this branch, only where scribe_app exists.
DO $queue_grants$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'scribe_app') THEN
        GRANT EXECUTE ON FUNCTION scribe.queue_grant(text, regrole, text[]),
                                  scribe.queue_revoke(text, regrole, text[]) TO scribe_app;
    END IF;
END
$queue_grants$;

-- read-your-writes: every application role needs them, and they reveal no
-- more than PUBLIC reads already (pg_current_wal_insert_lsn(),
-- pg_stat_subscription); a wait holds only the caller's own session
GRANT EXECUTE ON FUNCTION scribe.replication_commit_lsn() TO PUBLIC;
GRANT EXECUTE ON FUNCTION scribe.replication_wait_lsn(pg_lsn, interval, name, boolean) TO PUBLIC;
