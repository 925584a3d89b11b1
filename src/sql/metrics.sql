-- pg_scribe functions: monitoring.  scribe.metrics() for Prometheus,
-- and a status function per area for people.

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

CREATE OR REPLACE FUNCTION scribe.queue_status()
    RETURNS TABLE(queue text, consumer text, ready bigint, delayed bigint, in_flight bigint,
                  dead bigint, oldest_ready_age interval, completed_per_minute double precision,
                  failed_per_minute double precision, wait_p95 interval, run_p95 interval,
                  completed_since_start bigint, failed_since_start bigint,
                  dead_lettered_since_start bigint)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT s.queue, s.consumer, s.ready, s.delayed, s.in_flight, s.dead, s.oldest_ready_age,
           s.completed_per_minute, s.failed_per_minute, s.wait_p95, s.run_p95,
           COALESCE(t.completed, 0), COALESCE(t.failed, 0), COALESCE(t.dead_lettered, 0)
    FROM scribe.queue_stats() s
    LEFT JOIN (SELECT q.queue, sum(q.completed)::bigint AS completed, sum(q.failed)::bigint AS failed,
                      sum(q.dead_lettered)::bigint AS dead_lettered
               FROM scribe._queue_totals() q GROUP BY q.queue) t ON t.queue = s.queue
$$;
COMMENT ON FUNCTION scribe.queue_status() IS 'Per queue: jobs ready, delayed, in flight and dead, oldest ready age, rates and p95 wait and run times of the last 5 minutes, and totals since server start';

CREATE OR REPLACE FUNCTION scribe.cache_status()
    RETURNS TABLE(tier text, hits bigint, misses bigint, hit_rate double precision,
                  evictions bigint, expirations bigint, entries bigint, used_bytes bigint,
                  capacity_bytes bigint, used_percent numeric, errors bigint, breaker text)
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT c.tier, c.hits, c.misses, c.hit_rate, c.evictions, c.expirations, c.entries,
           c.used_bytes, c.capacity_bytes,
           round(100.0 * c.used_bytes / NULLIF(c.capacity_bytes, 0), 1),
           c.errors,
           CASE c.tier WHEN 'l2' THEN CASE WHEN r.configured THEN r.state ELSE 'not configured' END END
    FROM scribe.cache_stats() c, scribe.redis_stats() r
$$;
COMMENT ON FUNCTION scribe.cache_status() IS 'Per cache tier (l1 shared memory, l2 Redis): hits, misses, hit rate, evictions, memory used, and the Redis breaker''s state';

-- monitoring roles scrape and watch; the internal functions behind these are
-- granted to nobody (SECURITY DEFINER reaches them)
REVOKE ALL ON FUNCTION scribe.metrics() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe._queue_totals() FROM PUBLIC;
