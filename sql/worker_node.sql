-- The primary's side of worker nodes: the queue's verbs on the ocr queue
-- (claim, ack, nack, release), called here as a node calls them; the ocr
-- kind's queue hooks write the document in the verb's transaction.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/outcome.sql
\set word :abs_srcdir '/test/fixtures/word.tif'
-- an outcome that names a job, whatever its id
CREATE FUNCTION pg_temp.job_outcome(statement text) RETURNS text
LANGUAGE sql AS $$ SELECT regexp_replace(pg_temp.outcome(statement), 'job \d+', 'job N') $$;

-- bad arguments of release
SELECT pg_temp.outcome($$SELECT scribe.release(NULL, gen_random_uuid())$$);
SELECT pg_temp.outcome($$SELECT scribe.release(1, NULL)$$);
-- a job that is not in flight: nothing to release
SELECT scribe.release(-1, gen_random_uuid()) AS released;
-- the old verbs of worker nodes are gone
SELECT count(*) AS old_verbs FROM pg_proc
WHERE pronamespace = 'scribe'::regnamespace AND proname IN ('claim_ocr', 'finish_ocr', 'fail_ocr', 'release_ocr');

-- the pool of this server must not take the job: clients consume the ocr queue for now
SELECT count(*) FROM scribe.queue_alter('ocr', consumer => 'clients', backoff_base => '0', backoff_cap => '0');
SELECT scribe.document_submit(pg_read_binary_file(:'word'), owner => 'node-test', priority => 100) AS document_id \gset
-- a node's claim: the job, with its document's image, language and tier, in one statement
SELECT c.job_id, c.lease, c.attempt, c.kind, (c.payload->>'document_id')::bigint = :document_id AS the_document,
       length(scribe.document_get_image((c.payload->>'document_id')::bigint)) > 0 AS has_image,
       c.payload->>'lang' AS lang, c.payload->>'tier' AS tier
FROM scribe.claim('ocr', 1) c \gset claimed_
SELECT :claimed_attempt AS attempt, :'claimed_kind' AS kind, :'claimed_the_document' AS the_document,
       :'claimed_has_image' AS has_image, :'claimed_lang' AS lang, :'claimed_tier' AS tier,
       (SELECT lease = :'claimed_lease' FROM scribe.jobs WHERE job_id = :claimed_job_id) AS the_jobs_token;
-- the primary shows the document processing while a node holds it
SELECT status, progress FROM scribe.document_get(:document_id);
-- a token that is not the job's writes nothing, fails nothing, releases nothing
SELECT pg_temp.job_outcome(format($$SELECT scribe.ack(%s, gen_random_uuid(), '{"pages": []}')$$, :claimed_job_id));
SELECT pg_temp.job_outcome(format($$SELECT scribe.nack(%s, '00000000-0000-0000-0000-000000000001', 'guessed')$$,
                              :claimed_job_id));
SELECT pg_temp.job_outcome(format($$SELECT scribe.release(%s, '00000000-0000-0000-0000-000000000000')$$,
                              :claimed_job_id));
SELECT attempts, lease = :'claimed_lease' AS same_token, errors FROM scribe.jobs WHERE job_id = :claimed_job_id;
-- a result that is not the engine's: refused, the job still held
SELECT pg_temp.outcome(format($$SELECT scribe.ack(%s, %L, '{"text": "no pages", "method": "local"}')$$,
                              :claimed_job_id, :'claimed_lease'));
SELECT pg_temp.outcome(format($$SELECT scribe.ack(%s, %L, '[]')$$, :claimed_job_id, :'claimed_lease'));
SELECT pg_temp.outcome(format($$SELECT scribe.ack(%s, %L)$$, :claimed_job_id, :'claimed_lease'));
SELECT pg_temp.outcome(format($$SELECT scribe.ack(%s, %L, '{"pages": [], "method": "gpu"}')$$,
                              :claimed_job_id, :'claimed_lease'));
SELECT pg_temp.outcome(format($$SELECT scribe.ack(%s, %L, '{"pages": [], "method": "local", "fallback": "no"}')$$,
                              :claimed_job_id, :'claimed_lease'));
SELECT lease = :'claimed_lease' AS still_held, lease_until IS NOT NULL AS in_flight
FROM scribe.jobs WHERE job_id = :claimed_job_id;
-- a node's failure: nacked, recorded on the document (cut at 8 kB), which stays queued
SELECT scribe.nack(:claimed_job_id, :'claimed_lease', 'engine crashed on the node: ' || repeat('x', 10000)) AS state;
SELECT status, octet_length(error) <= 8192 AS capped, left(error, 26) AS error, right(error, 43) AS note
FROM scribe.documents WHERE document_id = :document_id;
SELECT octet_length(errors->0->>'error') = octet_length(d.error) AS same_on_the_job
FROM scribe.jobs j, scribe.documents d WHERE j.job_id = :claimed_job_id AND d.document_id = :document_id;
-- claimed again (attempt 2), then given back by a stopping node: the attempt does not count
SELECT lease, attempt FROM scribe.claim('ocr', 1) \gset again_
SELECT :again_attempt AS attempt,
       pg_temp.job_outcome(format('SELECT scribe.release(%s, %L)', :claimed_job_id, :'claimed_lease'))
         AS released_with_old_token,
       scribe.release(:claimed_job_id, :'again_lease') AS released;
SELECT attempts, lease IS NULL AS token_void, lease_until IS NULL AS ready FROM scribe.jobs WHERE job_id = :claimed_job_id;
SELECT lease, attempt FROM scribe.claim('ocr', 1) \gset third_
SELECT :third_attempt AS attempt_after_release;

-- a node's result: the document, its pages and the ledger written, the job acked, at once;
-- the archive keeps what the pool's ocr jobs keep, not the text
SELECT scribe.ack(:claimed_job_id, :'third_lease',
    '{"text": "hello node", "confidence": 91.5, "engine": "tesseract test", "seconds": 0.5,
      "pages": [{"page": 1, "text": "hello node", "confidence": 91.5}],
      "method": "local", "fallback": false, "node": "regress-node"}') AS acked;
SELECT status, text, method, pages, error FROM scribe.documents WHERE document_id = :document_id;
SELECT page, text FROM scribe.document_pages WHERE document_id = :document_id;
SELECT owner, page, method FROM scribe.ocr_ledger WHERE document_id = :document_id;
SELECT result - 'document_id' AS result, attempts FROM scribe.jobs_archive WHERE job_id = :claimed_job_id;
-- a second ack of the same lease: the job is gone, nothing written twice
SELECT scribe.ack(:claimed_job_id, :'third_lease', '{"pages": [{"page": 1, "text": "again"}], "method": "local"}') AS acked;
SELECT count(*) AS ledger_rows FROM scribe.ocr_ledger WHERE document_id = :document_id;

-- a result larger than scribe.max_payload_size: the archive keeps the summary only
SELECT scribe.document_submit(pg_read_binary_file(:'word'), owner => 'node-test', priority => 100) AS big_id \gset
SELECT job_id, lease FROM scribe.claim('ocr', 1) \gset big_
SELECT scribe.ack(:big_job_id, :'big_lease',
    jsonb_build_object('text', repeat('word ', 150000), 'seconds', 1, 'engine', 'tesseract test',
                       'pages', jsonb_build_array(jsonb_build_object('page', 1, 'text', repeat('word ', 150000))),
                       'method', 'cloud', 'node', 'regress-node')) AS acked;
SELECT status, length(text), method FROM scribe.documents WHERE document_id = :big_id;
SELECT result - 'document_id' AS result FROM scribe.jobs_archive WHERE job_id = :big_job_id;

-- a deleted document's job: the node finds no image and acks it; nothing is written
SELECT scribe.document_submit(pg_read_binary_file(:'word'), owner => 'node-test', priority => 100) AS gone_id \gset
DELETE FROM scribe.documents WHERE document_id = :gone_id;
SELECT c.job_id, c.lease, scribe.document_get_image((c.payload->>'document_id')::bigint) IS NULL AS no_image
FROM scribe.claim('ocr', 1) c \gset gone_
SELECT :'gone_no_image' AS no_image, scribe.ack(:gone_job_id, :'gone_lease') AS acked;
SELECT result FROM scribe.jobs_archive WHERE job_id = :gone_job_id;

-- a plain job on the ocr queue: the ocr kind's hooks leave it alone
SELECT scribe.send('ocr', '{"plain": true}', priority => 1000) > 0 AS sent;
SELECT job_id, lease FROM scribe.claim('ocr') \gset plain_
SELECT scribe.ack(:plain_job_id, :'plain_lease', '{"anything": 1}');

-- who may claim ocr jobs: not a role granted EXECUTE on claim alone; a role
-- granted the claim right on the ocr queue (a worker node's) may
SELECT scribe.document_submit(pg_read_binary_file(:'word'), owner => 'node-test', priority => 100) AS held_id \gset
CREATE ROLE regress_scribe_consumer;
GRANT EXECUTE ON FUNCTION scribe.claim(text, integer, interval, interval) TO regress_scribe_consumer;
SET ROLE regress_scribe_consumer;
SELECT pg_temp.outcome($$SELECT count(*) FROM scribe.claim('ocr', 1)$$);
RESET ROLE;
SELECT j.attempts, j.lease_until IS NULL AS not_claimed
FROM scribe.documents d JOIN scribe.jobs j USING (job_id) WHERE d.document_id = :held_id;
SELECT scribe.queue_grant('ocr', 'regress_scribe_consumer', '{claim}');
SET ROLE regress_scribe_consumer;
SELECT kind, attempt FROM scribe.claim('ocr', 1);
RESET ROLE;
REVOKE ALL ON FUNCTION scribe.claim(text, integer, interval, interval) FROM regress_scribe_consumer;
SELECT scribe.queue_revoke('ocr', 'regress_scribe_consumer');
DROP ROLE regress_scribe_consumer;

SELECT count(*) FROM scribe.queue_alter('ocr', consumer => 'workers', backoff_base => '5 seconds', backoff_cap => '1 minute');
DELETE FROM scribe.documents WHERE owner = 'node-test';
