-- Enqueue: send and send_batch, their options, idempotency, transactions,
-- and the errors a producer gets at once.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
SELECT count(*) FROM scribe.create_queue('send_q', consumer => 'clients');
SELECT count(*) FROM scribe.create_queue('send_w');

-- a job is ready at once, or later with delay or run_at
SELECT scribe.send('send_q', '{"n": 1}') AS first \gset
SELECT state, attempts, priority, payload FROM scribe.job_status(:first);
SELECT state, priority FROM scribe.job_status(scribe.send('send_q', '{"n": 2}', delay => '1 hour', priority => 5));
SELECT state, run_at = '2100-01-01 00:00+00' AS at_given_time
FROM scribe.job_status(scribe.send('send_q', '{"n": 3}', run_at => '2100-01-01 00:00+00'));
SELECT state FROM scribe.job_status(scribe.send('send_q'));

-- an idempotency key returns the unfinished job's id
SELECT scribe.send('send_q', '{"n": 4}', idempotency_key => 'order-42') AS keyed \gset
SELECT scribe.send('send_q', '{"n": 5}', idempotency_key => 'order-42') = :keyed AS same_job;
SELECT payload FROM scribe.job_status(:keyed);
-- the same key in another queue is another job
SELECT scribe.send('send_q', '{}', idempotency_key => 'order-43')
     <> scribe.send('send_w', '{"function": "pg_catalog.jsonb_typeof"}', kind => 'sql', idempotency_key => 'order-43') AS other_queue_other_job;

-- send_batch returns ids in the order of the payloads; keys deduplicate
SELECT scribe.purge('send_q', 'all') AS purged;
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

SELECT scribe.drop_queue('send_q', force => true);
SELECT scribe.drop_queue('send_w', force => true);
