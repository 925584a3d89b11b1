-- The document pipeline's SQL side on a server without workers: submitting
-- (and its errors, at once, for the submitter), status, search and costs.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\set word :abs_srcdir '/test/fixtures/word.tif'

-- a document and its job exist together, in the submitter's transaction
BEGIN;
SELECT scribe.document_submit(pg_read_binary_file(:'word'), owner => 'family-1',
                              metadata => '{"box": 3}') AS doc \gset
SELECT status, image_format, image_bytes, pages, tier, lang, search_config, metadata
FROM scribe.documents WHERE document_id = :doc;
SELECT q.name, j.kind, j.payload = jsonb_build_object('document_id', :doc, 'lang', 'eng', 'tier', 'local') AS payload_names_document
FROM scribe.documents d JOIN scribe.jobs j USING (job_id) JOIN scribe.queues q USING (queue_id)
WHERE d.document_id = :doc;
ROLLBACK;
SELECT count(*) AS documents_after_rollback FROM scribe.documents;
SELECT count(*) AS jobs_after_rollback FROM scribe.jobs;

SELECT scribe.document_submit(pg_read_binary_file(:'word'), owner => 'family-1') AS doc \gset
SELECT status, progress, owner, pages, attempts, error FROM scribe.document_get(:doc);
SELECT count(*) AS unknown_document FROM scribe.document_get(-1) WHERE status IS NOT NULL;

-- errors reach the submitter, not a dead letter later
SELECT scribe.document_submit('\x89504e47'::bytea);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.document_submit(pg_read_binary_file(:'word'), tier => 'express');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.document_submit(pg_read_binary_file(:'word'), tier => 'cloud');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.document_submit(pg_read_binary_file(:'word'), lang => 'klingon');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.document_submit(pg_read_binary_file(:'word'), metadata => '[1]');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.document_submit(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.document_submit(pg_read_binary_file(:'word'), metadata => NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- ocr jobs come from document_submit only
CREATE ROLE regress_scribe_clerk;
GRANT EXECUTE ON FUNCTION scribe.send(text, jsonb, text, interval, timestamptz, integer, text, integer)
    TO regress_scribe_clerk;
SET ROLE regress_scribe_clerk;
SELECT scribe.send('ocr', '{"document_id": 1}', kind => 'ocr');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT scribe.send('ocr', '{"document": 1}', kind => 'ocr');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- and the functions are not for PUBLIC
SET ROLE regress_scribe_clerk;
SELECT scribe.document_submit(pg_read_binary_file(:'word'));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.ocr('\x00'::bytea);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP OWNED BY regress_scribe_clerk;
DROP ROLE regress_scribe_clerk;

-- search and costs on recognised text (written here as a worker would)
UPDATE scribe.documents SET status = 'done', text = E'The ‘garden’ letters of Arthur\nand the harbour boats'
WHERE document_id = :doc;
SELECT document_id = :doc AS found, owner, headline FROM scribe.document_search('garden letter');
SELECT count(*) AS folded_quote_found FROM scribe.document_search('''garden''');
SET scribe.owner = 'family-2';
SELECT count(*) AS other_owner FROM scribe.document_search('garden');
RESET scribe.owner;
SELECT count(*) AS other_config FROM scribe.document_search('garden', config => 'simple');
SELECT count(*) AS no_match FROM scribe.document_search('submarine');
INSERT INTO scribe.ocr_ledger (recorded_at, owner, document_id, page, method, cost, fallback) VALUES
    ('2026-10-03', 'family-1', :doc, 1, 'local', 0.0001, false),
    ('2026-10-04', 'family-1', :doc, 1, 'cloud', 0.0015, false),
    ('2026-11-05', 'family-1', :doc, 1, 'local', 0.0001, true),
    ('2026-11-06', 'family-2', :doc, 1, 'cloud', 0.0015, false);
SELECT * FROM scribe.ocr_costs('2026-10-01', '2026-12-01');
SELECT * FROM scribe.ocr_costs('2026-10-01', '2026-12-01', per => 'day') WHERE owner = 'family-1';
-- deleting a document keeps its ledger rows
DELETE FROM scribe.documents WHERE document_id = :doc;
SELECT count(*) AS ledger_rows_kept FROM scribe.ocr_ledger;
