-- pg_scribe functions: the primary's side of worker nodes.
--
-- A worker node's pool workers connect to the primary (scribe.queue_conninfo
-- on the node) and call these functions: claim ocr jobs with their images,
-- then finish (write the document and ack), fail (nack and record the
-- error) or release (give back unrun) each one.  Like every function here
-- they are revoked from PUBLIC: the node connects as a superuser or as a
-- role granted EXECUTE on these four (docs/operations.md).

CREATE OR REPLACE FUNCTION scribe.claim_ocr(
    n integer DEFAULT 1,
    OUT job_id bigint, OUT lease uuid, OUT attempt integer, OUT max_attempts integer,
    OUT document_id bigint, OUT image bytea, OUT lang text, OUT tier text, OUT lease_for interval,
    OUT backlog bigint)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_claim_ocr';
COMMENT ON FUNCTION scribe.claim_ocr(integer) IS 'For worker nodes: claim up to n jobs of the ocr queue, each with its lease token, its document''s image, language and tier, the lease''s length, and how many jobs wait behind them';

CREATE OR REPLACE FUNCTION scribe.finish_ocr(
    job_id bigint, lease uuid, result jsonb, method text,
    fallback boolean DEFAULT false, node text DEFAULT NULL)
    RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_finish_ocr';
COMMENT ON FUNCTION scribe.finish_ocr(bigint, uuid, jsonb, text, boolean, text) IS 'For worker nodes: write a recognised document (text, pages, ledger) and ack its job in one transaction; false, writing nothing, when the lease passed on';

CREATE OR REPLACE FUNCTION scribe.fail_ocr(job_id bigint, lease uuid, error text, retry boolean DEFAULT true)
    RETURNS text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_fail_ocr';
COMMENT ON FUNCTION scribe.fail_ocr(bigint, uuid, text, boolean) IS 'For worker nodes: nack an ocr job and record the error (cut at 8 kB) on its document; retry or dead, NULL when the lease passed on';

CREATE OR REPLACE FUNCTION scribe.release_ocr(job_id bigint, lease uuid)
    RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_release_ocr';
COMMENT ON FUNCTION scribe.release_ocr(bigint, uuid) IS 'For worker nodes: give back an ocr job claimed and not run (the node is stopping); the attempt does not count';
