-- The primary's side of worker nodes: claim_ocr, finish_ocr, fail_ocr and
-- release_ocr, called here as a node would call them.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/outcome.sql
\set word :abs_srcdir '/test/fixtures/word.tif'

-- bad arguments
SELECT pg_temp.outcome('SELECT scribe.claim_ocr(0)');
SELECT pg_temp.outcome('SELECT scribe.claim_ocr(33)');
SELECT pg_temp.outcome($$SELECT scribe.finish_ocr(NULL, gen_random_uuid(), '{"pages": []}', 'local')$$);
SELECT pg_temp.outcome($$SELECT scribe.finish_ocr(1, NULL, '{"pages": []}', 'local')$$);
SELECT pg_temp.outcome($$SELECT scribe.finish_ocr(1, gen_random_uuid(), '{"text": "no pages"}', 'local')$$);
SELECT pg_temp.outcome($$SELECT scribe.finish_ocr(1, gen_random_uuid(), '[]', 'local')$$);
SELECT pg_temp.outcome($$SELECT scribe.finish_ocr(1, gen_random_uuid(), '{"pages": []}', 'gpu')$$);
SELECT pg_temp.outcome($$SELECT scribe.fail_ocr(NULL, gen_random_uuid(), 'x')$$);
SELECT pg_temp.outcome($$SELECT scribe.release_ocr(1, NULL)$$);
-- the attempt is no lease: the old signatures are gone
SELECT pg_temp.outcome($$SELECT scribe.release_ocr(1, 1)$$);

-- a job that is not in flight: nothing written
SELECT scribe.finish_ocr(-1, gen_random_uuid(), '{"pages": []}', 'local') AS finished,
       scribe.fail_ocr(-1, gen_random_uuid(), 'x') AS failed,
       scribe.release_ocr(-1, gen_random_uuid()) AS released;

-- the pool of this server must not take the job: clients consume the ocr queue for now
SELECT count(*) FROM scribe.alter_queue('ocr', consumer => 'clients', backoff_base => '0', backoff_cap => '0');
SELECT scribe.submit_document(pg_read_binary_file(:'word'), owner => 'node-test', priority => 100) AS document_id \gset
SELECT job_id, lease, attempt, document_id = :document_id AS the_document, length(image) > 0 AS has_image,
       lang, tier, lease_for, backlog >= 0 AS backlog
FROM scribe.claim_ocr(1) \gset claimed_
SELECT :claimed_attempt AS attempt, :'claimed_the_document' AS the_document, :'claimed_has_image' AS has_image,
       :'claimed_lang' AS lang, :'claimed_tier' AS tier, :'claimed_lease_for' AS lease_for,
       :'claimed_backlog' AS backlog_counted,
       (SELECT lease = :'claimed_lease' FROM scribe.jobs WHERE job_id = :claimed_job_id) AS the_jobs_token;
-- the primary shows the document processing while a node holds it
SELECT status, progress FROM scribe.document_status(:document_id);
-- a token that is not the job's writes nothing, fails nothing, releases nothing
SELECT scribe.finish_ocr(:claimed_job_id, gen_random_uuid(), '{"pages": []}', 'local') AS finished,
       scribe.fail_ocr(:claimed_job_id, '00000000-0000-0000-0000-000000000001', 'guessed') AS failed,
       scribe.release_ocr(:claimed_job_id, '00000000-0000-0000-0000-000000000000') AS released;
SELECT attempts, lease = :'claimed_lease' AS same_token, errors FROM scribe.jobs WHERE job_id = :claimed_job_id;
-- a node's failure: nacked, recorded on the document (cut at 8 kB), which stays queued
SELECT scribe.fail_ocr(:claimed_job_id, :'claimed_lease', 'engine crashed on the node: ' || repeat('x', 10000)) AS state;
SELECT status, octet_length(error) <= 8192 AS capped, left(error, 26) AS error, right(error, 43) AS note
FROM scribe.documents WHERE document_id = :document_id;
SELECT octet_length(errors->0->>'error') = octet_length(d.error) AS same_on_the_job
FROM scribe.jobs j, scribe.documents d WHERE j.job_id = :claimed_job_id AND d.document_id = :document_id;
-- claimed again (attempt 2), then given back by a stopping node: the attempt does not count
SELECT lease, attempt FROM scribe.claim_ocr(1) \gset again_
SELECT :again_attempt AS attempt, scribe.release_ocr(:claimed_job_id, :'claimed_lease') AS released_with_old_token,
       scribe.release_ocr(:claimed_job_id, :'again_lease') AS released;
SELECT lease, attempt FROM scribe.claim_ocr(1) \gset third_
SELECT :third_attempt AS attempt_after_release;

-- a node's result: the document, its pages and the ledger written, the job acked, at once
SELECT scribe.finish_ocr(:claimed_job_id, :'third_lease',
    '{"text": "hello node", "confidence": 91.5, "engine": "tesseract test", "seconds": 0.5,
      "pages": [{"page": 1, "text": "hello node", "confidence": 91.5}]}',
    'local', false, 'regress-node') AS finished;
SELECT status, text, method, pages, error FROM scribe.documents WHERE document_id = :document_id;
SELECT page, text FROM scribe.document_pages WHERE document_id = :document_id;
SELECT owner, page, method FROM scribe.ocr_ledger WHERE document_id = :document_id;
SELECT result - 'document_id' AS result, attempts FROM scribe.jobs_archive WHERE job_id = :claimed_job_id;
-- a second finish of the same lease: the job is gone, nothing written twice
SELECT scribe.finish_ocr(:claimed_job_id, :'third_lease', '{"pages": [{"page": 1, "text": "again"}]}', 'local') AS finished;
SELECT count(*) AS ledger_rows FROM scribe.ocr_ledger WHERE document_id = :document_id;

-- a job of another kind on the ocr queue is refused
SELECT scribe.send('ocr', '{"plain": true}', priority => 1000) > 0 AS sent;
SELECT job_id, lease FROM scribe.claim('ocr') \gset plain_
SELECT pg_temp.outcome(format($$SELECT scribe.finish_ocr(%s, %L, '{"pages": []}', 'local')$$,
                              :plain_job_id, :'plain_lease')) ~ '^22023 job \d+ is not an ocr job' AS refused;
SELECT scribe.ack(:plain_job_id, :'plain_lease');

SELECT count(*) FROM scribe.alter_queue('ocr', consumer => 'workers', backoff_base => '5 seconds', backoff_cap => '1 minute');
DELETE FROM scribe.documents WHERE owner = 'node-test';
