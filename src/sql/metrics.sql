-- pg_scribe functions: monitoring.  scribe.metrics() for Prometheus,
-- and a view per area for people.

CREATE OR REPLACE FUNCTION scribe.metrics() RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_metrics';
COMMENT ON FUNCTION scribe.metrics() IS 'Every metric family in the Prometheus text exposition format 0.0.4 (counters since server start, gauges, histograms of job wait and run time and OCR seconds per page); cheap enough to scrape every 15 s';

CREATE OR REPLACE FUNCTION scribe._queue_totals(
    OUT queue text, OUT kind text, OUT completed bigint, OUT failed bigint, OUT dead_lettered bigint)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_queue_totals';
COMMENT ON FUNCTION scribe._queue_totals() IS 'Internal: per queue and job kind, jobs acked, failed attempts and jobs dead-lettered since server start (shared memory)';

CREATE OR REPLACE VIEW scribe.queue_status AS
SELECT s.queue, s.consumer, s.ready, s.delayed, s.in_flight, s.dead, s.oldest_ready_age,
       s.completed_per_minute, s.failed_per_minute, s.wait_p95, s.run_p95,
       COALESCE(t.completed, 0) AS completed_since_start,
       COALESCE(t.failed, 0) AS failed_since_start,
       COALESCE(t.dead_lettered, 0) AS dead_lettered_since_start
FROM scribe.queue_stats() s
LEFT JOIN (SELECT queue, sum(completed)::bigint AS completed, sum(failed)::bigint AS failed,
                  sum(dead_lettered)::bigint AS dead_lettered
           FROM scribe._queue_totals() GROUP BY queue) t USING (queue);
COMMENT ON VIEW scribe.queue_status IS 'Per queue: jobs ready, delayed, in flight and dead, oldest ready age, rates and p95 wait and run times of the last 5 minutes, and totals since server start';

CREATE OR REPLACE VIEW scribe.cache_status AS
SELECT c.tier, c.hits, c.misses, c.hit_rate, c.evictions, c.expirations, c.entries,
       c.used_bytes, c.capacity_bytes,
       round(100.0 * c.used_bytes / NULLIF(c.capacity_bytes, 0), 1) AS used_percent,
       c.errors,
       CASE c.tier WHEN 'l2' THEN CASE WHEN r.configured THEN r.state ELSE 'not configured' END END AS breaker
FROM scribe.cache_stats() c, scribe.redis_status() r;
COMMENT ON VIEW scribe.cache_status IS 'Per cache tier (l1 shared memory, l2 Redis): hits, misses, hit rate, evictions, memory used, and the Redis breaker''s state';

CREATE OR REPLACE VIEW scribe.worker_jobs AS
SELECT w.pid, w.state, q.name AS queue, w.kind, w.job_id,
       CASE WHEN w.kind = 'ocr' THEN (j.payload->>'document_id')::bigint END AS document_id,
       w.progress, clock_timestamp() - w.job_started AS running_for, w.jobs_done, w.jobs_failed
FROM scribe._worker_slots() w
LEFT JOIN scribe.queues q ON q.queue_id = w.queue_id
LEFT JOIN scribe.jobs j ON j.job_id = w.job_id
ORDER BY w.slot;
COMMENT ON VIEW scribe.worker_jobs IS 'The workers of this node''s pool with the job each runs now: queue, kind, the document of an ocr job, progress percent and time running';

REVOKE ALL ON scribe.queue_status, scribe.cache_status, scribe.worker_jobs FROM PUBLIC;
GRANT SELECT ON scribe.queue_status, scribe.cache_status, scribe.worker_jobs TO pg_monitor;

-- monitoring roles scrape; the views call functions as their reader does
REVOKE ALL ON FUNCTION scribe.metrics() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe._queue_totals() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION scribe.metrics() TO pg_monitor;
GRANT EXECUTE ON FUNCTION scribe._queue_totals() TO pg_monitor;
