-- Queue statistics: counts by state, throughput and percentiles.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/outcome.sql
SELECT count(*) FROM scribe.queue_create('stats_q', consumer => 'clients');

SELECT queue, consumer, ready, delayed, in_flight, dead, oldest_ready_age IS NULL AS no_oldest,
       completed_per_minute, wait_p50 IS NULL AS no_percentiles
FROM scribe.queue_stats('stats_q');

SELECT count(*) FROM scribe.send_batch('stats_q', array_fill('{}'::jsonb, ARRAY[10]));
SELECT count(*) FROM scribe.send_batch('stats_q', array_fill('{}'::jsonb, ARRAY[3]), delay => '1 hour');
SELECT count(*) FROM (SELECT scribe.ack(job_id, lease) FROM scribe.claim('stats_q', 4)) a;
SELECT count(*) FROM scribe.claim('stats_q', 2);
SELECT count(*) FROM (SELECT scribe.nack(job_id, lease, 'no', retry => false) FROM scribe.claim('stats_q', 1)) n;

-- 10 ready + 3 delayed; 4 acked, 2 in flight, 1 dead
SELECT ready, delayed, in_flight, dead, oldest_ready_age >= '0' AS has_oldest,
       completed_per_minute * 5 AS completed_in_window, failed_per_minute * 5 AS failed_in_window,
       wait_p50 <= wait_p95 AND wait_p95 <= wait_p99 AS wait_ordered,
       run_p50 <= run_p95 AND run_p95 <= run_p99 AS run_ordered
FROM scribe.queue_stats('stats_q');
-- a rolled-back ack counts nothing
BEGIN;
SELECT count(*) FROM (SELECT scribe.ack(job_id, lease) FROM scribe.jobs WHERE lease_until IS NOT NULL) a;
ROLLBACK;
SELECT in_flight, completed_per_minute * 5 AS completed_in_window FROM scribe.queue_stats('stats_q');
-- a purge is recounted
SELECT scribe.queue_purge('stats_q', 'all');
SELECT ready, delayed, in_flight, dead FROM scribe.queue_stats('stats_q');

-- no job's times can break the statistics: rows with extreme times (restored,
-- or written by a superuser) give saturated ages and waits, never an error
SELECT queue_id AS stats_q_id FROM scribe.queues WHERE name = 'stats_q' \gset
SELECT pg_temp.outcome(format(
    'INSERT INTO scribe.jobs (run_at, enqueued_at, queue_id, max_attempts, enqueued_by, payload) '
    'VALUES (%L, now(), %s, 5, current_user::regrole, ''{}'')', '-infinity', :stats_q_id));
SELECT pg_temp.outcome(format(
    'INSERT INTO scribe.jobs (run_at, enqueued_at, queue_id, max_attempts, enqueued_by, payload) '
    'VALUES (now(), %L, %s, 5, current_user::regrole, ''{}'')', 'infinity', :stats_q_id));
INSERT INTO scribe.jobs (run_at, enqueued_at, queue_id, max_attempts, enqueued_by, payload)
VALUES ('4713-01-01 00:00+00 BC', '4713-01-01 00:00+00 BC', :stats_q_id, 5, current_user::regrole, '{"n": "ancient"}'),
       ('4713-01-01 00:00+00 BC', now(), :stats_q_id, 5, current_user::regrole, '{"n": "ancient too"}'),
       ('294276-12-31 00:00+00', now(), :stats_q_id, 5, current_user::regrole, '{"n": "far"}');
SELECT delayed, oldest_ready_age > interval '6000 years' AS ancient_oldest
FROM scribe.queue_stats('stats_q');
-- the ancient jobs waited 6700 years; one's claim time is then set to
-- -infinity, so that its run time overflows: both fill the top buckets
CREATE TEMP TABLE ancient AS SELECT job_id, lease FROM scribe.claim('stats_q', 2);
UPDATE scribe.jobs SET claimed_at = '-infinity' WHERE job_id = (SELECT max(job_id) FROM ancient);
SELECT bool_and(scribe.ack(job_id, lease)) AS acked FROM ancient;
SELECT wait_p99 >= interval '3 days' AS wait_saturated, run_p99 >= interval '3 days' AS run_saturated
FROM scribe.queue_stats('stats_q');
SELECT queue, delayed, oldest_ready_age IS NULL AS none_ready, wait_p95 >= interval '3 days' AS wait_saturated,
       run_p95 >= interval '3 days' AS run_saturated
FROM scribe.queue_status() WHERE queue = 'stats_q';
SELECT split_part(line, ' ', 1) AS sample,
       CASE WHEN line LIKE 'scribe_job_%_seconds_sum%' THEN split_part(line, ' ', 2)::float8 > 1e11
            ELSE split_part(line, ' ', 2)::float8 >= 0 END AS sane
FROM regexp_split_to_table(scribe.metrics(), E'\n') AS line
WHERE line ~ '^scribe_(queue_jobs|queue_oldest_ready_seconds|job_run_seconds_sum|job_wait_seconds_sum)\{queue="stats_q"'
ORDER BY 1;
-- a row older than the check (restored from a dump) with an infinite run_at
BEGIN;
ALTER TABLE scribe.jobs DROP CONSTRAINT jobs_times_finite;
INSERT INTO scribe.jobs (run_at, enqueued_at, queue_id, max_attempts, enqueued_by, payload)
VALUES ('-infinity', '-infinity', :stats_q_id, 5, current_user::regrole, '{"n": "-infinity"}');
SELECT oldest_ready_age > interval '290000 years' AS saturated_oldest FROM scribe.queue_stats('stats_q');
SELECT oldest_ready_age > interval '290000 years' AS saturated_oldest FROM scribe.queue_status() WHERE queue = 'stats_q';
SELECT split_part(line, ' ', 2)::float8 > 9e12 AS saturated_seconds
FROM regexp_split_to_table(scribe.metrics(), E'\n') AS line
WHERE line LIKE 'scribe_queue_oldest_ready_seconds{queue="stats_q"}%';
ROLLBACK;
SELECT scribe.queue_purge('stats_q', 'all');

SELECT * FROM scribe.queue_stats('stats_nowhere');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM scribe.queue_stats('stats_q', '2 hours');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_drop('stats_q');
