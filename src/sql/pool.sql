-- pg_scribe functions: the worker pool.

CREATE OR REPLACE FUNCTION scribe._worker_slots(
    OUT slot integer, OUT pid integer, OUT state text, OUT state_since timestamptz,
    OUT started_at timestamptz, OUT jobs_done bigint, OUT jobs_failed bigint,
    OUT job_id bigint, OUT queue_id integer, OUT kind text, OUT job_started timestamptz,
    OUT progress integer)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_worker_slots';
COMMENT ON FUNCTION scribe._worker_slots() IS 'Internal: the worker pool''s slots in shared memory';

CREATE OR REPLACE FUNCTION scribe.worker_status()
    RETURNS TABLE(pid integer, state text, state_since timestamptz, started_at timestamptz,
                  queue text, kind text, job_id bigint, document_id bigint,
                  job_started timestamptz, running_for interval, progress integer,
                  jobs_done bigint, jobs_failed bigint)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT s.pid, s.state, s.state_since, s.started_at, q.name, s.kind, s.job_id,
           CASE WHEN s.kind = 'ocr' THEN (j.payload->>'document_id')::bigint END,
           s.job_started, clock_timestamp() - s.job_started, s.progress,
           s.jobs_done, s.jobs_failed
    FROM scribe._worker_slots() s
    CROSS JOIN LATERAL (SELECT scribe._queue_name(s.queue_id) AS name) q
    -- a worker node's job is the primary's: its id means nothing here
    LEFT JOIN LATERAL (SELECT x.payload FROM scribe._job_state(s.job_id) x
                       WHERE x.queue = q.name) j ON true
    ORDER BY s.slot
$$;
COMMENT ON FUNCTION scribe.worker_status() IS 'The workers of this node''s pool: state, jobs done and failed, and the job each runs now (queue, kind, the document of an ocr job, progress percent, time running)';

CREATE OR REPLACE FUNCTION scribe._pool_start_status(
    OUT short_since timestamptz, OUT last_short_at timestamptz, OUT wanted integer,
    OUT running integer, OUT shortfalls bigint, OUT max_worker_processes integer)
    RETURNS record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_pool_start_status';
COMMENT ON FUNCTION scribe._pool_start_status() IS 'Internal: whether the pool could start the workers it wanted: since when it falls short (NULL: not now), its last shortfall with the workers wanted and running then, how many of the launcher''s looks fell short since the server started, and max_worker_processes';
