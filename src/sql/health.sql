-- pg_scribe functions: health(), the one report of how this node is,
-- with its verdict (ok, degraded, failing) and the reasons for it.

-- How far ahead each partitions policy's table has partitions, on the clock policies see
CREATE OR REPLACE FUNCTION scribe._partition_runway(
    OUT policy text, OUT target text, OUT premake integer, OUT newest_end timestamp,
    OUT runway interval, OUT alert text)
    RETURNS SETOF record
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT p.name, p.target, (p.settings->>'premake')::integer, b.newest_end,
           b.newest_end - (scribe._policy_clock() AT TIME ZONE 'UTC'), s.alert
    FROM scribe.policies p
    JOIN scribe.policy_status() s USING (policy_id)
    CROSS JOIN LATERAL (SELECT max(x.hi) AS newest_end
                        FROM scribe._partition_bounds(to_regclass(p.target)) x
                        WHERE NOT x.is_default) b
    WHERE p.kind = 'partitions' AND p.enabled AND to_regclass(p.target) IS NOT NULL
    ORDER BY p.name
$$;
COMMENT ON FUNCTION scribe._partition_runway() IS 'Internal: for each enabled partitions policy, the end of its table''s newest partition and how long until the policy clock reaches it (runway), with the policy''s alert';

-- Why this node is not ok: one row per reason, worst first (empty: ok).
-- Thresholds are fixed (see docs/reference.md, health): a DBA tunes the
-- scaling advice with its arguments; health answers one question, "act now?".
CREATE OR REPLACE FUNCTION scribe._health_reasons(
    OUT code text, OUT severity text, OUT message text, OUT evidence jsonb, OUT hint text)
    RETURNS SETOF record
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    lib record;
    l record;
    r record;
    pool record;
    beat timestamptz;
    -- pg_settings shows the raw seconds (current_setting says '10s')
    beat_every integer := COALESCE((SELECT setting::integer FROM pg_settings WHERE name = 'scribe.heartbeat_interval'), 0);
    stale_after interval := scribe._heartbeat_stale_after();
    -- the launcher and its workers serve scribe.database only
    served boolean := current_database() = current_setting('scribe.database', true);
    -- new dead letters within this window make the node degraded
    dead_window constant text := '15 minutes';
    -- a partitions policy with less runway than this is degraded (none left: failing)
    runway_min constant interval := '1 day';
BEGIN
    SELECT * INTO lib FROM scribe._library_status();
    SELECT * INTO l FROM scribe._launcher_status();

    IF NOT lib.preloaded THEN
        RETURN QUERY SELECT 'not_preloaded', 'failing',
            'pg_scribe is not in shared_preload_libraries: no launcher, no workers, no cache',
            jsonb_build_object('shared_preload_libraries', current_setting('shared_preload_libraries')),
            'Add pg_scribe to shared_preload_libraries and restart the server.';
        RETURN;
    END IF;

    -- the extension left behind where scribe.database used to point: the
    -- launcher (running or not) is elsewhere, so no reason of its is ours
    IF NOT served THEN
        RETURN QUERY SELECT 'not_served_database', 'failing',
            format('this database is not scribe.database (%s): no launcher or worker serves it, so jobs for workers, '
                   'documents, policies and heartbeats never run here', current_setting('scribe.database', true)),
            jsonb_build_object('database', current_database(), 'scribe.database', current_setting('scribe.database', true)),
            format('Use pg_scribe in database %s (sending to a queue of workers is refused here), or set '
                   'scribe.database = %L in postgresql.conf and restart the server; then DROP EXTENSION pg_scribe '
                   'where it is no longer used.', current_setting('scribe.database', true), current_database());
    END IF;

    IF served AND l.state <> 'running' THEN
        RETURN QUERY SELECT 'launcher_down', 'failing',
            format('the launcher is %s: no jobs are started, no policies run', l.state),
            jsonb_build_object('state', l.state, 'state_since', l.state_since, 'restarts', l.restarts,
                               'database', current_setting('scribe.database', true)),
            'The server log says why; the postmaster restarts a launcher that exited. '
            'Check that scribe.database names this database.';
    END IF;

    SELECT * INTO pool FROM scribe._pool_start_status();
    IF served AND pool.short_since IS NOT NULL THEN
        RETURN QUERY SELECT 'workers_cannot_start',
            CASE WHEN pool.running = 0 THEN 'failing' ELSE 'degraded' END,
            format('the pool runs %s of the %s workers it needs: the server has no free background worker slots',
                   pool.running, pool.wanted),
            jsonb_build_object('wanted', pool.wanted, 'running', pool.running,
                               'short_since', pool.short_since,
                               'max_worker_processes', pool.max_worker_processes,
                               'scribe.max_workers', current_setting('scribe.max_workers')::integer),
            'Raise max_worker_processes (a restart is needed), or lower scribe.max_workers.';
    END IF;

    FOR r IN
        SELECT d.queue AS name, d.dead AS n, d.last_died_at AS last_died
        FROM scribe._queue_dead_letters(dead_window::interval) d
        ORDER BY d.queue
    LOOP
        RETURN QUERY SELECT 'dead_letters_rising', 'degraded',
            format('%s job(s) of queue %s died in the last %s', r.n, r.name, dead_window),
            jsonb_build_object('queue', r.name, 'dead', r.n, 'window', dead_window, 'last_died_at', r.last_died),
            format('Read their errors (scribe.capacity_advice() names the commonest), fix the cause, then scribe.requeue(%L).', r.name);
    END LOOP;

    SELECT * INTO r FROM scribe.redis_stats();
    IF r.configured AND r.state <> 'closed' THEN
        RETURN QUERY SELECT 'redis_breaker_open', 'degraded',
            format('the Redis circuit breaker is %s: the cache serves from shared memory (L1) only', r.state),
            jsonb_build_object('state', r.state, 'state_since', r.state_since, 'failures', r.failures,
                               'opened', r.opened, 'last_error', r.last_error),
            'Check that Redis runs and scribe.redis_url reaches it; the breaker closes at the first cache call after '
            'scribe.redis_breaker_cooldown that finds Redis answering.';
    END IF;

    FOR r IN SELECT * FROM scribe.replication_status() s WHERE s.problem IS NOT NULL LOOP
        RETURN QUERY SELECT 'replication_broken',
            CASE WHEN r.side = 'subscriber' AND r.state = 'disabled' THEN 'failing' ELSE 'degraded' END,
            format('%s %s is %s', CASE r.side WHEN 'subscriber' THEN 'subscription' ELSE 'replication slot' END,
                   r.name, r.state),
            jsonb_build_object('side', r.side, 'name', r.name, 'state', r.state, 'lag_bytes', r.lag_bytes,
                               'errors', r.errors),
            r.problem;
    END LOOP;

    FOR r IN SELECT * FROM scribe._partition_runway() p WHERE p.runway < runway_min LOOP
        RETURN QUERY SELECT 'partitions_running_out',
            CASE WHEN r.runway IS NULL OR r.runway <= interval '0' THEN 'failing' ELSE 'degraded' END,
            CASE WHEN r.newest_end IS NULL THEN format('%s has no partitions', r.target)
                 WHEN r.runway <= interval '0' THEN format('the newest partition of %s ended at %s UTC: new rows have no partition', r.target, r.newest_end)
                 ELSE format('the newest partition of %s ends in %s', r.target, justify_interval(date_trunc('minute', r.runway))) END,
            jsonb_build_object('policy', r.policy, 'target', r.target, 'newest_partition_ends', r.newest_end,
                               'runway', r.runway, 'premake', r.premake),
            format('Run it now (SELECT scribe.policy_run(%L)) and look at its runs in scribe.policy_status(); '
                   'raise its premake to keep more partitions ahead.', r.policy);
    END LOOP;

    FOR r IN SELECT s.name, s.alert, s.last_error, s.consecutive_failures, s.last_success_at
             FROM scribe.policy_status() s WHERE s.alert IS NOT NULL ORDER BY s.name LOOP
        RETURN QUERY SELECT 'policy_failing', 'degraded',
            format('policy %s: %s', r.name, r.alert),
            jsonb_build_object('policy', r.name, 'alert', r.alert, 'consecutive_failures', r.consecutive_failures,
                               'last_success_at', r.last_success_at, 'last_error', r.last_error),
            'SELECT * FROM scribe.policy_status() shows its last error; fix it, then scribe.policy_run().';
    END LOOP;

    -- the launcher writes this node's row every scribe.heartbeat_interval (0: never)
    IF served AND beat_every > 0 AND l.state = 'running' AND l.state_since < now() - stale_after THEN
        SELECT h.beat_at INTO beat FROM scribe.heartbeat h WHERE h.node_name = lib.node_name;
        IF beat IS NULL OR beat < now() - stale_after THEN
            RETURN QUERY SELECT 'heartbeat_stale', 'degraded',
                CASE WHEN beat IS NULL THEN 'this node has no heartbeat'
                     ELSE format('this node''s heartbeat is %s old', date_trunc('second', now() - beat)) END,
                jsonb_build_object('node_name', lib.node_name, 'beat_at', beat,
                                   'heartbeat_interval', beat_every),
                'The launcher is busy or stuck: pg_stat_activity shows what it waits for; the server log why.';
        END IF;
    END IF;

    -- other nodes' rows: a node renamed (scribe.node_name) or retired leaves
    -- its row behind, which nothing but node_forget() removes
    IF served THEN
        FOR r IN SELECT h.node_name, h.beat_at FROM scribe.heartbeat h
                 WHERE h.node_name <> lib.node_name AND h.beat_at < clock_timestamp() - stale_after
                 ORDER BY h.node_name LOOP
            RETURN QUERY SELECT 'node_stale', 'degraded',
                format('node %s has not beaten for %s', r.node_name, date_trunc('second', clock_timestamp() - r.beat_at)),
                jsonb_build_object('node_name', r.node_name, 'beat_at', r.beat_at, 'stale_after', stale_after),
                format('If %1$s was renamed (scribe.node_name) or retired, forget it on the primary: '
                       'SELECT scribe.node_forget(%1$L). If it should be running, its launcher is down, '
                       'or replication from it has stopped.', r.node_name);
        END LOOP;
    END IF;
END
$$;
COMMENT ON FUNCTION scribe._health_reasons() IS 'Internal: why this node is not ok, one row per reason (code, severity degraded or failing, message, evidence, hint), for health()';

CREATE OR REPLACE FUNCTION scribe.health() RETURNS jsonb
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH reasons AS (
        SELECT COALESCE(jsonb_agg(jsonb_build_object('code', r.code, 'severity', r.severity,
                                                     'message', r.message, 'evidence', r.evidence,
                                                     'hint', r.hint)
                                  ORDER BY r.severity = 'failing' DESC, r.code), '[]'::jsonb) AS list,
               CASE WHEN bool_or(r.severity = 'failing') THEN 'failing'
                    WHEN count(*) > 0 THEN 'degraded' ELSE 'ok' END AS status
        FROM scribe._health_reasons() r
    )
    SELECT jsonb_build_object(
        'status', reasons.status,
        'reasons', reasons.list,
        'library_version', scribe.version(),
        'extension_version', (SELECT extversion FROM pg_extension WHERE extname = 'pg_scribe'),
        'preloaded', lib.preloaded,
        'database', current_setting('scribe.database', true),
        'node_name', lib.node_name,
        'role', scribe._node_role(),
        'launcher', jsonb_build_object(
            'pid', l.pid,
            'state', l.state,
            'started_at', l.started_at,
            'state_since', l.state_since,
            'restarts', l.restarts),
        'heartbeats', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'node_name', h.node_name,
                       'local', h.node_name = lib.node_name,
                       'beat_at', h.beat_at,
                       'age_seconds', round(extract(epoch FROM clock_timestamp() - h.beat_at), 3),
                       'stale', h.beat_at < clock_timestamp() - scribe._heartbeat_stale_after(),
                       'library_version', h.library_version)
                   ORDER BY h.node_name)
            FROM scribe.heartbeat h), '[]'::jsonb),
        'replication', COALESCE((
            SELECT jsonb_agg(to_jsonb(r)) FROM scribe.replication_status() r), '[]'::jsonb))
    FROM reasons, scribe._library_status() AS lib, scribe._launcher_status() AS l
$$;
COMMENT ON FUNCTION scribe.health() IS 'This node''s verdict (status: ok, degraded or failing) and the reasons for it, with versions, preload status, role, launcher state, node heartbeats and replication, as jsonb';

REVOKE ALL ON FUNCTION scribe.health() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe._health_reasons() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe._partition_runway() FROM PUBLIC;
