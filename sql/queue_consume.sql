-- Consume: claim, ack, nack, extend a lease, dead letters, requeue, purge.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/outcome.sql
SELECT count(*) FROM scribe.queue_create('eat', consumer => 'clients', max_attempts => 2,
                                         backoff_base => '10 seconds', backoff_cap => '1 minute');

-- claim: highest priority first, then oldest; never a delayed job
SELECT count(*) FROM scribe.send_batch('eat', ARRAY['{"n": 1}', '{"n": 2}']::jsonb[]);
SELECT scribe.send('eat', '{"n": 3}', priority => 9) > 0 AS sent;
SELECT scribe.send('eat', '{"n": 4}', delay => '1 hour') > 0 AS sent;
SELECT payload, attempt, max_attempts, lease_until > now() + interval '4 minutes' AS leased_for_the_queue_lease,
       lease IS NOT NULL AS has_lease
FROM scribe.claim('eat', 10);
-- in flight: nothing left to claim
SELECT count(*) AS claimable FROM scribe.claim('eat', 10);

-- ack: true once, then false (idempotent); the result is kept
CREATE TEMP TABLE c AS SELECT * FROM scribe.jobs WHERE lease_until IS NOT NULL ORDER BY job_id;
SELECT count(DISTINCT lease) AS tokens FROM c;
SELECT scribe.ack(job_id, lease, '{"ok": true}') FROM c WHERE payload->>'n' = '1';
SELECT scribe.ack(job_id, lease, '{"ok": true}') FROM c WHERE payload->>'n' = '1';
SELECT s.state, s.result FROM c, scribe.job_get(c.job_id) AS s WHERE c.payload->>'n' = '1';

-- nack: a retry after exponential backoff with jitter (base 10 s: 5 to 10 s
-- after the failure it records, however long ago that was)
SELECT scribe.nack(job_id, lease, 'first failure') FROM c WHERE payload->>'n' = '2';
SELECT s.state, s.run_at - (s.errors->0->>'at')::timestamptz BETWEEN interval '4.9 seconds' AND interval '10.1 seconds' AS backed_off,
       s.errors->0->>'error' AS error
FROM c, scribe.job_get(c.job_id) AS s WHERE c.payload->>'n' = '2';
-- the same nack again changes nothing
SELECT scribe.nack(job_id, lease, 'first failure') FROM c WHERE payload->>'n' = '2';
SELECT jsonb_array_length(s.errors) AS errors FROM c, scribe.job_get(c.job_id) AS s WHERE c.payload->>'n' = '2';
-- an ack after a nack is refused
SELECT scribe.ack(job_id, lease) FROM c WHERE payload->>'n' = '2';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- retry_in: retry at once; the second failure is the last attempt: dead letters
SELECT scribe.nack(job_id, lease, 'x', retry_in => '0') FROM c WHERE payload->>'n' = '3';
SELECT job_id, lease, attempt FROM scribe.claim('eat') \gset
SELECT :attempt AS attempt, :'lease' <> (SELECT lease::text FROM c WHERE payload->>'n' = '3') AS new_token;
SELECT scribe.nack(:job_id, :'lease', 'second failure');
SELECT state, attempts, jsonb_path_query_array(errors, '$[*].error') AS errors
FROM scribe.job_get(:job_id);
-- retry => false: straight to the dead letters
SELECT scribe.send('eat', '{"n": 5}', max_attempts => 5) AS five \gset
SELECT job_id, lease FROM scribe.claim('eat') \gset
SELECT scribe.nack(:job_id, :'lease', 'will never work', retry => false);
SELECT state, attempts FROM scribe.job_get(:five);

-- leases: an expired lease passes the job to the next claim; the old
-- consumer's ack is refused, and the expiry is recorded
SELECT scribe.send('eat', '{"n": 6}') AS six \gset
SELECT lease AS first_lease FROM scribe.claim('eat', lease_for => '10 milliseconds') \gset
SELECT pg_sleep(0.05);
SELECT lease AS second_lease, attempt AS attempt_now FROM scribe.claim('eat') \gset
SELECT :attempt_now AS attempt_now;
SELECT scribe.ack(:six, :'first_lease');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.nack(:six, :'first_lease', 'too late');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT errors->0->>'error' AS recorded FROM scribe.job_get(:six);
-- a token is needed, not an attempt number: every guess is refused the same
-- way, and the job stays as it was
SELECT lease_until AS six_until FROM scribe.jobs WHERE job_id = :six \gset
SELECT pg_temp.outcome(format('SELECT scribe.ack(%s, %L)', :six, '00000000-0000-0000-0000-000000000002'));
SELECT pg_temp.outcome(format('SELECT scribe.nack(%s, %L, ''guess'')', :six, '00000000-0000-0000-0000-000000000000'));
SELECT pg_temp.outcome(format('SELECT scribe.extend_lease(%s, %L)', :six, gen_random_uuid()));
SELECT pg_temp.outcome(format('SELECT scribe.extend_lease(%s, %L)', :six, :'first_lease'));
SELECT pg_temp.outcome(format('SELECT scribe.nack(%s, %L, ''x'')', :six, :'lease'));
SELECT attempts, lease = :'second_lease' AS same_token, lease_until = :'six_until' AS same_lease,
       jsonb_array_length(errors) AS errors
FROM scribe.jobs WHERE job_id = :six;
-- extend_lease keeps a job ours; the new consumer can still ack
SELECT scribe.extend_lease(:six, :'second_lease', '1 hour') > now() + interval '59 minutes' AS extended;
SELECT scribe.ack(:six, :'second_lease');

-- dead letters go back with requeue, with a fresh allowance of attempts
SELECT scribe.requeue('eat');
SELECT state, max_attempts - attempts AS attempts_left FROM scribe.job_get(:five);
SELECT count(*) AS dead FROM scribe.jobs_dead d JOIN scribe.queues q USING (queue_id) WHERE q.name = 'eat';

-- purge
SELECT scribe.queue_purge('eat', 'ready');
SELECT scribe.queue_purge('eat', 'archive') > 0 AS archive_purged;
SELECT scribe.queue_purge('eat', 'everything');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- the error of a failed attempt is kept up to 8 kB, cut on a character
-- boundary with a note of its length
SELECT scribe.send('eat', '{"n": 7}') AS seven \gset
SELECT lease FROM scribe.claim('eat') \gset
SELECT scribe.nack(:seven, :'lease', repeat('é', 3000000), retry_in => '0');
SELECT octet_length(e) AS bytes, octet_length(e) <= 8192 AS capped, left(e, 3) AS starts,
       right(e, 45) AS ends
FROM (SELECT errors->0->>'error' AS e FROM scribe.job_get(:seven)) s;
-- an error under the cap is kept whole
SELECT lease FROM scribe.claim('eat') \gset
SELECT scribe.nack(:seven, :'lease', repeat('x', 8192), retry => false);
SELECT octet_length(errors->1->>'error') AS bytes FROM scribe.job_get(:seven);

-- errors
SELECT * FROM scribe.claim('nowhere');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM scribe.claim('eat', 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM scribe.claim('eat', 1, lease_for => '0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.ack(NULL, gen_random_uuid());
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.ack(1, NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.ack(-1, gen_random_uuid()) AS acked_nothing;
SELECT scribe.nack(-1, gen_random_uuid(), 'x');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.nack(:six, gen_random_uuid(), 'x', retry_in => '-1 second');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.extend_lease(-1, gen_random_uuid());
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.extend_lease(:six, gen_random_uuid(), lease_for => '-1 second');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the old signatures are gone
SELECT scribe.ack(1, 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM scribe.job_get(-1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

SELECT scribe.queue_drop('eat', force => true);
