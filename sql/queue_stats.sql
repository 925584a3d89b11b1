-- Queue statistics: counts by state, throughput and percentiles.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
SELECT count(*) FROM scribe.create_queue('stats_q', consumer => 'clients');

SELECT queue, consumer, ready, delayed, in_flight, dead, oldest_ready_age IS NULL AS no_oldest,
       completed_per_minute, wait_p50 IS NULL AS no_percentiles
FROM scribe.queue_stats('stats_q');

SELECT count(*) FROM scribe.send_batch('stats_q', array_fill('{}'::jsonb, ARRAY[10]));
SELECT count(*) FROM scribe.send_batch('stats_q', array_fill('{}'::jsonb, ARRAY[3]), delay => '1 hour');
SELECT count(*) FROM (SELECT scribe.ack(job_id, attempt) FROM scribe.claim('stats_q', 4)) a;
SELECT count(*) FROM scribe.claim('stats_q', 2);
SELECT count(*) FROM (SELECT scribe.nack(job_id, attempt, 'no', retry => false) FROM scribe.claim('stats_q', 1)) n;

-- 10 ready + 3 delayed; 4 acked, 2 in flight, 1 dead
SELECT ready, delayed, in_flight, dead, oldest_ready_age >= '0' AS has_oldest,
       completed_per_minute * 5 AS completed_in_window, failed_per_minute * 5 AS failed_in_window,
       wait_p50 <= wait_p95 AND wait_p95 <= wait_p99 AS wait_ordered,
       run_p50 <= run_p95 AND run_p95 <= run_p99 AS run_ordered
FROM scribe.queue_stats('stats_q');
-- a rolled-back ack counts nothing
BEGIN;
SELECT count(*) FROM (SELECT scribe.ack(job_id, attempts) FROM scribe.jobs WHERE lease_until IS NOT NULL) a;
ROLLBACK;
SELECT in_flight, completed_per_minute * 5 AS completed_in_window FROM scribe.queue_stats('stats_q');
-- a purge is recounted
SELECT scribe.purge('stats_q', 'all');
SELECT ready, delayed, in_flight, dead FROM scribe.queue_stats('stats_q');

SELECT * FROM scribe.queue_stats('stats_nowhere');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM scribe.queue_stats('stats_q', '2 hours');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.drop_queue('stats_q');
