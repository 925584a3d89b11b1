-- pg_scribe functions: the document pipeline.
--
-- scribe.document_submit stores a scan and enqueues an ocr job on the
-- 'ocr' queue in the caller's transaction; a worker of the pool, or a worker
-- node's (with scribe.claim, ack, nack and release on the ocr queue: the
-- ocr kind's queue hooks write the document), recognises it and writes the
-- text, the pages and the ledger back.

-- Comments of the tables in schema/documents.sql
COMMENT ON TABLE scribe.documents IS 'Scanned documents, their recognised text and status (add with scribe.document_submit)';
COMMENT ON TABLE scribe.document_pages IS 'Each page of a recognised document: text, confidence, skew found, completeness, words with boxes';
COMMENT ON TABLE scribe.ocr_ledger IS 'One row per page the pipeline recognised: method (local or cloud) and cost';

-- The text search configuration for a tesseract language
CREATE OR REPLACE FUNCTION scribe._search_config(lang text)
    RETURNS regconfig
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE split_part(lang, '+', 1)
        WHEN 'eng' THEN 'english' WHEN 'deu' THEN 'german' WHEN 'fra' THEN 'french'
        WHEN 'spa' THEN 'spanish' WHEN 'ita' THEN 'italian' WHEN 'nld' THEN 'dutch'
        WHEN 'por' THEN 'portuguese' WHEN 'swe' THEN 'swedish' WHEN 'dan' THEN 'danish'
        WHEN 'nor' THEN 'norwegian' WHEN 'fin' THEN 'finnish' WHEN 'rus' THEN 'russian'
        ELSE 'simple' END::regconfig
$$;
COMMENT ON FUNCTION scribe._search_config(text) IS 'Internal: the text search configuration for an OCR language';

CREATE OR REPLACE FUNCTION scribe._ocr_cloud_configured()
    RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT coalesce(current_setting('scribe.ocr_cloud_url', true), '') <> '' $$;
COMMENT ON FUNCTION scribe._ocr_cloud_configured() IS 'Internal: whether a superuser set scribe.ocr_cloud_url';

CREATE OR REPLACE FUNCTION scribe._ocr_check_options(lang text, psm integer)
    RETURNS void
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'scribe_ocr_check_options_sql';
COMMENT ON FUNCTION scribe._ocr_check_options(text, integer) IS 'Internal: ERROR unless lang is installed and psm recognises text';

-- Completion hooks: when a document finishes or fails, in the transaction
-- that records it, a NOTIFY on the channel scribe_documents (any role may
-- LISTEN, so the payload says only the id and the status) and, when its
-- submitter named a queue, a job on that queue.  A notify queue dropped
-- since the submit is skipped with a WARNING: the document must not fail
-- to finish for it.
CREATE OR REPLACE FUNCTION scribe._document_finished()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM pg_notify('scribe_documents',
                      jsonb_build_object('document_id', NEW.document_id, 'status', NEW.status)::text);
    IF NEW.notify_queue IS NOT NULL THEN
        BEGIN
            PERFORM scribe.send(NEW.notify_queue,
                                jsonb_build_object('document_id', NEW.document_id, 'status', NEW.status,
                                                   'owner', NEW.owner));
        EXCEPTION WHEN undefined_object THEN
            RAISE WARNING 'document %''s notify queue "%" no longer exists: no job sent', NEW.document_id, NEW.notify_queue
                USING HINT = 'Create the queue again, or submit without notify_queue.';
        END;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION scribe._document_finished() IS 'Internal: the completion hooks of a document that finished or failed (NOTIFY scribe_documents, and a job on its notify queue)';

CREATE OR REPLACE TRIGGER documents_finished
    AFTER UPDATE OF status ON scribe.documents
    FOR EACH ROW
    WHEN (OLD.status = 'queued' AND NEW.status <> 'queued')
    EXECUTE FUNCTION scribe._document_finished();
