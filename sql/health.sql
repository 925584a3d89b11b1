-- scribe.health() reports versions, the preload, the launcher and heartbeats.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;

-- the commit of CREATE EXTENSION wakes the launcher; wait for it (3 minutes
-- at most: a bound for a hang, not for a slow machine)
DO $$
BEGIN
    FOR i IN 1..1800 LOOP
        EXIT WHEN (SELECT state FROM scribe._launcher_status()) = 'running'
              AND EXISTS (SELECT FROM scribe.heartbeat);
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;

SELECT jsonb_object_keys(scribe.health()) AS key ORDER BY 1;

-- the verdict: nothing is wrong on a fresh server
SELECT h->>'status' AS status, h->'reasons' AS reasons FROM scribe.health() AS h;

-- a reason: code, severity, message, evidence and hint (a dead letter of the
-- last 15 minutes, written directly so that no job or queue id moves)
INSERT INTO scribe.jobs_dead (job_id, died_at, run_at, enqueued_at, queue_id, attempts, max_attempts,
                              enqueued_by, priority, payload, errors)
SELECT -1, now(), now(), now(), queue_id, 1, 1, current_user::regrole, 0, '{}', '[{"error": "broken"}]'
FROM scribe.queues WHERE name = 'ocr';
SELECT h->>'status' AS status, r->>'code' AS code, r->>'severity' AS severity, r->>'message' AS message,
       (r->'evidence') - 'last_died_at' AS evidence, r->>'hint' AS hint,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(r) k) AS keys
FROM scribe.health() AS h, jsonb_array_elements(h->'reasons') AS r;
DELETE FROM scribe.jobs_dead WHERE job_id = -1;
SELECT scribe.health()->>'status' AS status_after_delete;

SELECT h->>'library_version' AS library_version,
       h->>'extension_version' AS extension_version,
       h->'preloaded' AS preloaded,
       h->>'database' AS database,
       h->'launcher'->>'state' AS launcher_state,
       h->'launcher'->>'restarts' AS launcher_restarts
FROM scribe.health() AS h;

-- the launcher in health() is the one process of that type, in this database
SELECT (h->'launcher'->>'pid')::int = a.pid AS same_pid,
       a.datname = current_database() AS in_this_database,
       a.query AS launcher_activity
FROM scribe.health() AS h
JOIN pg_stat_activity AS a ON a.backend_type = 'pg_scribe launcher';

-- without scribe.node_name the node is named by the system identifier
SELECT scribe.health()->>'node_name' = system_identifier::text AS named_by_system_identifier
FROM pg_control_system();

-- the launcher keeps this node's heartbeat fresh (it beats every 10 s; 60 s
-- is a bound for a launcher that stopped beating, not for a slow machine)
SELECT jsonb_array_length(h->'heartbeats') AS heartbeats,
       (h->'heartbeats'->0->'local')::bool AS local,
       (h->'heartbeats'->0->>'age_seconds')::numeric < 60 AS fresh
FROM scribe.health() AS h;

-- health() is for monitoring roles, not PUBLIC
CREATE ROLE regress_scribe_nobody;
CREATE ROLE regress_scribe_monitor IN ROLE pg_monitor;
SET ROLE regress_scribe_nobody;
SELECT scribe.health();
RESET ROLE;
SET ROLE regress_scribe_monitor;
SELECT scribe.health()->'launcher'->>'state' AS monitor_sees_launcher;
RESET ROLE;
DROP ROLE regress_scribe_nobody, regress_scribe_monitor;
