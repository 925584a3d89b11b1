-- Enqueue: send and send_batch, their options, idempotency, transactions,
-- and the errors a producer gets at once.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/outcome.sql
SELECT count(*) FROM scribe.queue_create('send_q', consumer => 'clients');
SELECT count(*) FROM scribe.queue_create('send_w');

-- a job is ready at once, or later with delay or run_at
SELECT scribe.send('send_q', '{"n": 1}') AS first \gset
SELECT state, attempts, priority, payload FROM scribe.job_get(:first);
SELECT state, priority FROM scribe.job_get(scribe.send('send_q', '{"n": 2}', delay => '1 hour', priority => 5));
SELECT state, run_at = '2100-01-01 00:00+00' AS at_given_time
FROM scribe.job_get(scribe.send('send_q', '{"n": 3}', run_at => '2100-01-01 00:00+00'));
SELECT state FROM scribe.job_get(scribe.send('send_q'));

-- an idempotency key returns the unfinished job's id
SELECT scribe.send('send_q', '{"n": 4}', idempotency_key => 'order-42') AS keyed \gset
SELECT scribe.send('send_q', '{"n": 5}', idempotency_key => 'order-42') = :keyed AS same_job;
SELECT payload FROM scribe.job_get(:keyed);
-- the same key in another queue is another job
SELECT scribe.send('send_q', '{}', idempotency_key => 'order-43')
     <> scribe.send('send_w', '{"function": "pg_catalog.jsonb_typeof"}', kind => 'sql', idempotency_key => 'order-43') AS other_queue_other_job;

-- run_at: a time in the past means ready now, behind the jobs already
-- ready; an infinite time, or one more than 100 years ahead, is refused
SELECT count(*) FROM scribe.queue_create('send_when', consumer => 'clients');
SELECT scribe.send('send_when', '{"n": "older"}') > 0 AS sent;
BEGIN;
SELECT state, run_at = now() AS ready_now
FROM scribe.job_get(scribe.send('send_when', '{"n": "past"}', run_at => '1970-01-01 00:00+00'));
SELECT id AS past_batch FROM scribe.send_batch('send_when', ARRAY['{"n": "past batch"}']::jsonb[],
                                               run_at => '4000-01-01 00:00+00 BC') AS b(id) \gset
SELECT state, run_at = now() AS ready_now FROM scribe.job_get(:past_batch);
COMMIT;
SELECT payload FROM scribe.claim('send_when', 3);
SELECT state FROM scribe.job_get(scribe.send('send_when', delay => '99 years'));
SELECT pg_temp.outcome('SELECT scribe.send(''send_when'', run_at => ''-infinity'')');
SELECT pg_temp.outcome('SELECT scribe.send(''send_when'', run_at => ''infinity'')');
SELECT pg_temp.outcome('SELECT scribe.send(''send_when'', run_at => now() + interval ''100 years 1 day'')');
SELECT pg_temp.outcome('SELECT scribe.send(''send_when'', delay => ''100 years 1 day'')');
SELECT pg_temp.outcome('SELECT scribe.send(''send_when'', delay => ''2000000 days'')');
SELECT pg_temp.outcome('SELECT scribe.send_batch(''send_when'', ARRAY[''{}''::jsonb], run_at => ''-infinity'')');
SELECT pg_temp.outcome('SELECT scribe.send_batch(''send_when'', ARRAY[''{}''::jsonb], delay => ''1000 years'')');
SELECT scribe.queue_drop('send_when', force => true);

-- an idempotency key is unique per queue and sending role: another role's
-- key neither finds nor blocks one's own job
CREATE ROLE regress_scribe_alice;
CREATE ROLE regress_scribe_bob;
GRANT EXECUTE ON FUNCTION scribe.send(text, jsonb, text, interval, timestamptz, integer, text, integer),
                          scribe.send_batch(text, jsonb[], text, interval, timestamptz, integer, text[], integer),
                          scribe.job_get(bigint)
    TO regress_scribe_alice, regress_scribe_bob;
SELECT scribe.queue_grant('send_q', 'regress_scribe_alice', '{send}');
SELECT scribe.queue_grant('send_q', 'regress_scribe_bob', '{send}');
SET ROLE regress_scribe_alice;
SELECT scribe.send('send_q', '{"from": "alice"}', idempotency_key => 'shared') AS alice_job \gset
RESET ROLE;
SET ROLE regress_scribe_bob;
SELECT scribe.send('send_q', '{"from": "bob"}', idempotency_key => 'shared') AS bob_job \gset
SELECT :bob_job <> :alice_job AS his_own_job;
SELECT payload, enqueued_by FROM scribe.job_get(:bob_job);
SELECT scribe.send('send_q', '{"from": "bob, again"}', idempotency_key => 'shared') = :bob_job AS his_key_finds_his_job;
SELECT array_agg(id = :bob_job ORDER BY ord) AS his_job, count(DISTINCT id) AS jobs
FROM scribe.send_batch('send_q', ARRAY['{"from": "bob"}', '{"from": "bob"}']::jsonb[],
                       idempotency_keys => ARRAY['shared', 'alice-only']) WITH ORDINALITY AS b(id, ord);
RESET ROLE;
SET ROLE regress_scribe_alice;
SELECT scribe.send('send_q', '{"from": "alice, again"}', idempotency_key => 'shared') = :alice_job AS her_key_finds_her_job;
SELECT payload FROM scribe.job_get(:alice_job);
RESET ROLE;
-- requeue keeps a dead letter's key while only another role's job has it,
-- and gives it to the newest of the role's dead letters that share it
SELECT scribe.nack(job_id, lease, 'gone', retry => false) FROM scribe.claim('send_q', 10)
WHERE job_id = :alice_job;
SET ROLE regress_scribe_alice;
SELECT scribe.send('send_q', '{"from": "alice, after"}', idempotency_key => 'shared') AS alice_next \gset
RESET ROLE;
SELECT scribe.nack(job_id, lease, 'gone', retry => false) FROM scribe.claim('send_q', 10)
WHERE job_id = :alice_next;
SELECT scribe.requeue('send_q', ARRAY[:alice_job, :alice_next]::bigint[]) AS requeued;
SELECT job_id = :alice_next AS newest, idempotency_key FROM scribe.jobs
WHERE job_id IN (:alice_job, :alice_next) ORDER BY job_id;
REVOKE ALL ON FUNCTION scribe.send(text, jsonb, text, interval, timestamptz, integer, text, integer),
                       scribe.send_batch(text, jsonb[], text, interval, timestamptz, integer, text[], integer),
                       scribe.job_get(bigint)
    FROM regress_scribe_alice, regress_scribe_bob;

-- send_batch returns ids in the order of the payloads; keys deduplicate
SELECT scribe.queue_purge('send_q', 'all') AS purged;
SELECT array_agg(id ORDER BY ord) = array_agg(id ORDER BY id) AS in_order, count(*)
FROM scribe.send_batch('send_q', ARRAY['{"i": 1}', '{"i": 2}', '{"i": 3}']::jsonb[])
     WITH ORDINALITY AS b(id, ord);
SELECT scribe.send('send_q', '{"i": 0}', idempotency_key => 'c') AS c_job \gset
SELECT ids[1] = ids[3] AS repeated_key_same_job,
       ids[5] = :c_job AS existing_key_existing_job,
       cardinality(ARRAY(SELECT DISTINCT unnest(ids))) AS distinct_jobs
FROM (SELECT array_agg(id ORDER BY ord) AS ids
      FROM scribe.send_batch('send_q', ARRAY['{"i": 1}', '{"i": 2}', '{"i": 3}', '{"i": 4}', '{"i": 5}']::jsonb[],
                             idempotency_keys => ARRAY['a', NULL, 'a', 'b', 'c'])
           WITH ORDINALITY AS b(id, ord)) x;
SELECT count(*) AS batch_of_none FROM scribe.send_batch('send_q', ARRAY[]::jsonb[]);
-- large batches: every id is its payload's, in order
CREATE TEMP TABLE big AS
SELECT * FROM scribe.send_batch('send_q', ARRAY(SELECT jsonb_build_object('i', g) FROM generate_series(1, 5000) g))
     WITH ORDINALITY AS b(id, ord);
SELECT count(*) FILTER (WHERE j.payload->>'i' = big.ord::text) AS matching, count(*)
FROM big JOIN scribe.jobs j ON j.job_id = big.id;
DO $$ BEGIN FOR i IN 1..3 LOOP PERFORM count(*) FROM scribe.send_batch('send_q', ARRAY(SELECT jsonb_build_object('i', g) FROM generate_series(1, 10000) g)); END LOOP; END $$;

-- enqueue is transactional: a rolled-back job never existed
SELECT count(*) AS before FROM scribe.jobs j JOIN scribe.queues q USING (queue_id) WHERE q.name = 'send_q' \gset
BEGIN;
SELECT scribe.send('send_q', '{"rolled": "back"}') > 0 AS sent;
SELECT count(*) FROM scribe.send_batch('send_q', ARRAY['{}', '{}']::jsonb[]);
ROLLBACK;
SELECT count(*) - :before AS added_by_rollback FROM scribe.jobs j JOIN scribe.queues q USING (queue_id) WHERE q.name = 'send_q';
BEGIN;
SAVEPOINT s;
SELECT scribe.send('send_q', '{"savepoint": "rolled back"}') > 0 AS sent;
ROLLBACK TO SAVEPOINT s;
SELECT scribe.send('send_q', '{"savepoint": "kept"}') > 0 AS sent;
COMMIT;
SELECT payload FROM scribe.jobs WHERE payload ? 'savepoint';

-- errors, each with its SQLSTATE
SELECT scribe.send(NULL, '{}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_nowhere', '{}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_q', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_q', jsonb_build_object('big', repeat('x', 1100000)));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_q', '{}', delay => '-1 second');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_q', '{}', delay => '1 second', run_at => now());
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_q', '{}', priority => 40000);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_q', '{}', max_attempts => 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_q', '{}', idempotency_key => repeat('k', 2000));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_w', '{"n": 1}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_w', '{}', kind => 'telepathy');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_w', '[1, 2]', kind => 'sql');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_w', '{"function": "public.no_such_function"}', kind => 'sql');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_w', '{"function": "public.f", "argz": {}}', kind => 'sql');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_w', '{"function": "jsonb_typeof"}', kind => 'sql');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_w', '{"url": "https://example.com/hook"}', kind => 'http');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_w', '{"url": "file:///etc/passwd"}', kind => 'http');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send('send_w', '{"method": "GET"}', kind => 'http');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send_batch('send_q', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send_batch('send_q', ARRAY['{}', NULL]::jsonb[]);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.send_batch('send_q', ARRAY['{}', '{}']::jsonb[], idempotency_keys => ARRAY['one']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

SELECT scribe.queue_drop('send_q', force => true);
SELECT scribe.queue_drop('send_w', force => true);
DROP ROLE regress_scribe_alice, regress_scribe_bob;
