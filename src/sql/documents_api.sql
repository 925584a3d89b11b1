-- pg_scribe functions: what applications call on documents, each owner's
-- apart.
--
-- Each public function is a C entry point (scribe_document_call) that
-- works out, as its caller, who calls and for which owner
-- (scribe.owner), then runs the internal function of the same name with
-- a leading underscore as the superuser, with three facts in front of
-- the arguments:
--   caller        the role that called
--   acting_owner  scribe.owner, NULL when unset
--   all_owners    true for a superuser or scribe_admin member that set no owner
-- A row is the caller's when all_owners OR owner = acting_owner: without an
-- owner set, an application sees nothing.  The internal functions are
-- granted to nobody: the facts cannot be forged.

-- submit ---------------------------------------------------------------

CREATE OR REPLACE FUNCTION scribe._document_submit(
    caller regrole, acting_owner text, all_owners boolean,
    image bytea, owner text, metadata jsonb, tier text, lang text, priority integer,
    force_ocr boolean, notify_queue text)
    RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    info record;
    doc bigint;
BEGIN
    IF image IS NULL OR tier IS NULL OR lang IS NULL OR metadata IS NULL OR force_ocr IS NULL OR priority IS NULL THEN
        RAISE EXCEPTION 'image, metadata, tier, lang, priority and force_ocr must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF acting_owner IS NOT NULL THEN
        IF owner IS NOT NULL AND owner <> acting_owner THEN
            RAISE EXCEPTION 'this session acts for owner "%", not "%"', acting_owner, owner
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Leave owner out: documents are submitted for scribe.owner.';
        END IF;
        owner := acting_owner;
    ELSIF owner IS NULL THEN
        IF NOT all_owners THEN
            RAISE EXCEPTION 'no owner to submit the document for'
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'SET scribe.owner (or SET LOCAL in a transaction) to the owner this session acts for.';
        END IF;
        -- an administrator without an owner set submits as itself
        owner := pg_get_userbyid(caller);
    ELSIF NOT all_owners THEN
        RAISE EXCEPTION 'no owner set: cannot submit for owner "%"', owner
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'SET scribe.owner to the owner this session acts for; only scribe_admin members name any owner.';
    END IF;
    IF EXISTS (SELECT FROM scribe.subscriptions) THEN
        RAISE EXCEPTION 'this node is a read replica: submit documents on the primary'
            USING ERRCODE = 'read_only_sql_transaction',
                  HINT = 'The replica receives each document, and its text once recognised, through replication.';
    END IF;
    IF tier NOT IN ('local', 'cloud') THEN
        RAISE EXCEPTION 'unknown OCR tier "%"', tier
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The tiers are local (this server''s engine) and cloud.';
    END IF;
    IF tier = 'cloud' AND NOT scribe._ocr_cloud_configured() THEN
        RAISE EXCEPTION 'the cloud OCR tier is not configured'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A superuser sets scribe.ocr_cloud_url (and scribe.ocr_cloud_key), or submit with tier => ''local''.';
    END IF;
    IF jsonb_typeof(metadata) <> 'object' THEN
        RAISE EXCEPTION 'metadata must be a jsonb object'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF notify_queue IS NOT NULL THEN
        -- the submitter, not pg_scribe, must be allowed to send there
        PERFORM scribe._queue_check_right(notify_queue, caller, 'send');
    END IF;
    PERFORM scribe._ocr_check_options(lang, 3);
    -- a PDF is opened by the engine here: an encrypted or broken one fails now, with its reason
    info := scribe.image_info(image);

    -- the id first, so that the row is written once, with its job
    doc := nextval(pg_get_serial_sequence('scribe.documents', 'document_id'));
    INSERT INTO scribe.documents (document_id, job_id, owner, metadata, tier, lang, image, image_format,
                                  image_bytes, pages, search_config, force_ocr, notify_queue, submitted_by)
    OVERRIDING SYSTEM VALUE
    VALUES (doc, scribe.send('ocr', jsonb_build_object('document_id', doc, 'lang', lang, 'tier', tier)
                                    -- worker nodes read it from here; only when set, as before 0.3.0 otherwise
                                    || CASE WHEN force_ocr THEN '{"force_ocr": true}'::jsonb ELSE '{}' END,
                        kind => 'ocr', priority => priority),
            owner, metadata, tier, lang, image, info.format, info.bytes, info.pages, scribe._search_config(lang),
            force_ocr, notify_queue, pg_get_userbyid(caller));
    RETURN doc;
END
$$;
COMMENT ON FUNCTION scribe._document_submit(regrole, text, boolean, bytea, text, jsonb, text, text, integer, boolean, text) IS 'Internal: scribe.document_submit for caller, acting for acting_owner';

CREATE OR REPLACE FUNCTION scribe.document_submit(
    image    bytea,
    owner    text DEFAULT NULL,
    metadata jsonb DEFAULT '{}',
    tier     text DEFAULT 'local',
    lang     text DEFAULT 'eng',
    priority integer DEFAULT 0,
    force_ocr boolean DEFAULT false,
    notify_queue text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_document_call';
COMMENT ON FUNCTION scribe.document_submit(bytea, text, jsonb, text, text, integer, boolean, text) IS 'Store a scan (an image or a PDF) for the owner this session acts for (scribe.owner) and enqueue its OCR in the caller''s transaction; returns the document id. When it finishes or fails, NOTIFY scribe_documents and, if notify_queue is given, a job there';

-- read -----------------------------------------------------------------

CREATE OR REPLACE FUNCTION scribe._document_get_many(
    caller regrole, acting_owner text, all_owners boolean, document_ids bigint[],
    OUT document_id bigint,
    OUT status text, OUT progress integer, OUT owner text, OUT pages integer,
    OUT confidence real, OUT method text, OUT fallback boolean, OUT cost numeric,
    OUT seconds real, OUT attempts integer, OUT error text,
    OUT submitted_at timestamptz, OUT finished_at timestamptz,
    OUT needs_review boolean, OUT review_reasons text[])
    RETURNS SETOF record
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    -- processing: a worker here runs it, or a worker node (or an application) holds its lease
    SELECT d.document_id,
           CASE WHEN d.status = 'queued' AND (w.pid IS NOT NULL OR j.lease_until IS NOT NULL) THEN 'processing' ELSE d.status END,
           CASE WHEN d.status = 'done' THEN 100 WHEN d.status = 'queued' THEN coalesce(w.progress, 0) END,
           d.owner, d.pages, d.confidence, d.method, d.fallback, d.cost, d.seconds,
           j.attempts,
           d.error, d.submitted_at, d.finished_at, d.needs_review, d.review_reasons
    FROM scribe.documents d
    LEFT JOIN scribe.worker_status() w ON w.job_id = d.job_id
    LEFT JOIN LATERAL scribe._job_state(d.job_id) j ON true
    WHERE d.document_id = ANY (document_ids)
      AND (all_owners OR d.owner = acting_owner)
    ORDER BY d.document_id
$$;
COMMENT ON FUNCTION scribe._document_get_many(regrole, text, boolean, bigint[]) IS 'Internal: scribe.document_get_many for caller, acting for acting_owner';

CREATE OR REPLACE FUNCTION scribe.document_get_many(
    document_ids bigint[],
    OUT document_id bigint,
    OUT status text, OUT progress integer, OUT owner text, OUT pages integer,
    OUT confidence real, OUT method text, OUT fallback boolean, OUT cost numeric,
    OUT seconds real, OUT attempts integer, OUT error text,
    OUT submitted_at timestamptz, OUT finished_at timestamptz,
    OUT needs_review boolean, OUT review_reasons text[])
    RETURNS SETOF record
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'scribe_document_call';
COMMENT ON FUNCTION scribe.document_get_many(bigint[]) IS 'The status and results of many documents at once, one row per document of this session''s owner (none for an id that is missing or another owner''s)';

CREATE OR REPLACE FUNCTION scribe._document_get(
    caller regrole, acting_owner text, all_owners boolean, document_id bigint,
    OUT status text, OUT progress integer, OUT owner text, OUT pages integer,
    OUT confidence real, OUT method text, OUT fallback boolean, OUT cost numeric,
    OUT seconds real, OUT attempts integer, OUT error text,
    OUT submitted_at timestamptz, OUT finished_at timestamptz,
    OUT needs_review boolean, OUT review_reasons text[])
    RETURNS SETOF record
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT g.status, g.progress, g.owner, g.pages, g.confidence, g.method, g.fallback, g.cost,
           g.seconds, g.attempts, g.error, g.submitted_at, g.finished_at, g.needs_review, g.review_reasons
    FROM scribe._document_get_many(caller, acting_owner, all_owners, ARRAY[document_id]) g
$$;
COMMENT ON FUNCTION scribe._document_get(regrole, text, boolean, bigint) IS 'Internal: scribe.document_get for caller, acting for acting_owner';

CREATE OR REPLACE FUNCTION scribe.document_get(
    document_id bigint,
    OUT status text, OUT progress integer, OUT owner text, OUT pages integer,
    OUT confidence real, OUT method text, OUT fallback boolean, OUT cost numeric,
    OUT seconds real, OUT attempts integer, OUT error text,
    OUT submitted_at timestamptz, OUT finished_at timestamptz,
    OUT needs_review boolean, OUT review_reasons text[])
    RETURNS SETOF record
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'scribe_document_call';
COMMENT ON FUNCTION scribe.document_get(bigint) IS 'A document''s status (queued, processing, done, failed), live progress percent, attempts and results, and whether a person should check its text (needs_review, with the reasons); no row if it is missing or another owner''s';

CREATE OR REPLACE FUNCTION scribe._document_get_text(
    caller regrole, acting_owner text, all_owners boolean, document_id bigint)
    RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT d.text FROM scribe.documents d
    WHERE d.document_id = _document_get_text.document_id AND (all_owners OR d.owner = acting_owner)
$$;
COMMENT ON FUNCTION scribe._document_get_text(regrole, text, boolean, bigint) IS 'Internal: scribe.document_get_text for caller, acting for acting_owner';

CREATE OR REPLACE FUNCTION scribe.document_get_text(document_id bigint)
    RETURNS text
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'scribe_document_call';
COMMENT ON FUNCTION scribe.document_get_text(bigint) IS 'A recognised document''s text, all its pages; NULL until it is done, or if it is missing or another owner''s';

CREATE OR REPLACE FUNCTION scribe._document_get_pages(
    caller regrole, acting_owner text, all_owners boolean, document_id bigint,
    OUT page integer, OUT text text, OUT confidence real,
    OUT needs_review boolean, OUT review_reasons text[],
    OUT rotation integer, OUT rotation_confidence real, OUT skew real, OUT completeness real,
    OUT width integer, OUT height integer, OUT text_source text, OUT seconds real, OUT words jsonb)
    RETURNS SETOF record
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT p.page, p.text, p.confidence, p.needs_review, p.review_reasons, p.rotation, p.rotation_confidence,
           p.skew, p.completeness, p.width, p.height, p.text_source, p.seconds, p.words
    FROM scribe.document_pages p
    JOIN scribe.documents d ON d.document_id = p.document_id
    WHERE p.document_id = _document_get_pages.document_id AND (all_owners OR d.owner = acting_owner)
    ORDER BY p.page
$$;
COMMENT ON FUNCTION scribe._document_get_pages(regrole, text, boolean, bigint) IS 'Internal: scribe.document_get_pages for caller, acting for acting_owner';

CREATE OR REPLACE FUNCTION scribe.document_get_pages(
    document_id bigint,
    OUT page integer, OUT text text, OUT confidence real,
    OUT needs_review boolean, OUT review_reasons text[],
    OUT rotation integer, OUT rotation_confidence real, OUT skew real, OUT completeness real,
    OUT width integer, OUT height integer, OUT text_source text, OUT seconds real, OUT words jsonb)
    RETURNS SETOF record
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'scribe_document_call';
COMMENT ON FUNCTION scribe.document_get_pages(bigint) IS 'A recognised document''s pages: text, confidence, the verdict (needs_review, review_reasons), the quarter turns that made each upright, skew, size, whether the text was recognised or a PDF''s own, and the words with their boxes';

CREATE OR REPLACE FUNCTION scribe._document_get_image(
    caller regrole, acting_owner text, all_owners boolean, document_id bigint)
    RETURNS bytea
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    d record;
BEGIN
    SELECT image, image_location, image_key INTO d FROM scribe.documents
    WHERE documents.document_id = _document_get_image.document_id AND (all_owners OR documents.owner = acting_owner);
    IF d.image_location = 's3' THEN
        -- an archive policy moved it to S3-compatible storage
        RETURN scribe._s3_get(d.image_key);
    END IF;
    RETURN d.image;
END
$$;
COMMENT ON FUNCTION scribe._document_get_image(regrole, text, boolean, bigint) IS 'Internal: scribe.document_get_image for caller, acting for acting_owner';

CREATE OR REPLACE FUNCTION scribe.document_get_image(document_id bigint)
    RETURNS bytea
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'scribe_document_call';
COMMENT ON FUNCTION scribe.document_get_image(bigint) IS 'A document''s image, as stored now: inline, or read back from S3 after an archive policy moved it there; NULL if it is missing or another owner''s';

CREATE OR REPLACE FUNCTION scribe._document_get_pdf(
    caller regrole, acting_owner text, all_owners boolean, document_id bigint)
    RETURNS bytea
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    d record;
    pages jsonb;
BEGIN
    SELECT status, error INTO d FROM scribe.documents
    WHERE documents.document_id = _document_get_pdf.document_id AND (all_owners OR documents.owner = acting_owner);
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF d.status = 'queued' THEN
        RAISE EXCEPTION 'document % is not recognised yet', document_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Wait until scribe.document_get(%s) says status done.', document_id);
    END IF;
    IF d.status = 'failed' THEN
        RAISE EXCEPTION 'document % failed: %', document_id, d.error
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A failed document has no text to put in a PDF; submit the image again once it is fixed.';
    END IF;
    -- a PDF's pages that kept their own text (text_source text_layer) get no second layer
    SELECT jsonb_agg(jsonb_build_object('page', p.page, 'width', p.width, 'height', p.height,
                                        'rotation', p.rotation, 'words', p.words,
                                        'text_source', p.text_source) ORDER BY p.page)
    INTO pages
    FROM scribe.document_pages p
    WHERE p.document_id = _document_get_pdf.document_id AND p.words IS NOT NULL;
    IF pages IS NULL THEN
        RAISE EXCEPTION 'document % has no word boxes to place in a PDF', document_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Documents read by the cloud tier keep no word boxes; submit with tier => ''local'' for a searchable PDF.';
    END IF;
    RETURN scribe._ocr_make_pdf(scribe._document_get_image(caller, acting_owner, all_owners, document_id), pages);
END
$$;
COMMENT ON FUNCTION scribe._document_get_pdf(regrole, text, boolean, bigint) IS 'Internal: scribe.document_get_pdf for caller, acting for acting_owner';

CREATE OR REPLACE FUNCTION scribe.document_get_pdf(document_id bigint)
    RETURNS bytea
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_document_call';
COMMENT ON FUNCTION scribe.document_get_pdf(bigint) IS 'A searchable PDF of a recognised document: each page''s image with its words as an invisible text layer, made by this session''s OCR engine; NULL if it is missing or another owner''s';

CREATE OR REPLACE FUNCTION scribe._document_get_image_for_job(
    caller regrole, acting_owner text, all_owners boolean, job_id bigint, lease uuid)
    RETURNS bytea
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    j record;
BEGIN
    SELECT l.kind, l.payload INTO j FROM scribe._job_leased(job_id, lease) l;
    IF NOT FOUND OR j.kind IS DISTINCT FROM 'ocr' THEN
        RAISE EXCEPTION 'job % is not an ocr job whose lease you hold', job_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Claim the job from the ocr queue first (worker nodes do), and read its image before the lease runs out.';
    END IF;
    -- holding the job is the right to its document, whoever owns it
    RETURN scribe._document_get_image(caller, NULL, true, (j.payload->>'document_id')::bigint);
END
$$;
COMMENT ON FUNCTION scribe._document_get_image_for_job(regrole, text, boolean, bigint, uuid) IS 'Internal: scribe.document_get_image_for_job for caller';

-- VOLATILE: it sees the lease a claim made earlier in the same statement
CREATE OR REPLACE FUNCTION scribe.document_get_image_for_job(job_id bigint, lease uuid)
    RETURNS bytea
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_document_call';
COMMENT ON FUNCTION scribe.document_get_image_for_job(bigint, uuid) IS 'The image of the document of an ocr job whose lease the caller holds (what a worker node recognises), whoever owns it; ERROR otherwise';

-- list and search ------------------------------------------------------

CREATE OR REPLACE FUNCTION scribe._document_list(
    caller regrole, acting_owner text, all_owners boolean,
    before bigint, max_results integer, only_status text,
    OUT document_id bigint, OUT status text, OUT owner text, OUT pages integer,
    OUT needs_review boolean, OUT submitted_at timestamptz, OUT finished_at timestamptz, OUT metadata jsonb)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF max_results IS NULL OR max_results NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'max_results must be between 1 and 10000, not %', coalesce(max_results::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Page through more with before => the last document_id of the previous page.';
    END IF;
    IF only_status IS NOT NULL AND only_status NOT IN ('queued', 'done', 'failed') THEN
        RAISE EXCEPTION 'unknown document status "%"', only_status
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The statuses are queued, done and failed (processing documents are queued).';
    END IF;
    -- newest first, keyset paging on the id: the next page starts before the last id seen
    RETURN QUERY
    SELECT d.document_id, d.status, d.owner, d.pages, d.needs_review, d.submitted_at, d.finished_at, d.metadata
    FROM scribe.documents d
    WHERE (all_owners OR d.owner = acting_owner)
      AND (before IS NULL OR d.document_id < before)
      AND (only_status IS NULL OR d.status = only_status)
    ORDER BY d.document_id DESC
    LIMIT max_results;
END
$$;
COMMENT ON FUNCTION scribe._document_list(regrole, text, boolean, bigint, integer, text) IS 'Internal: scribe.document_list for caller, acting for acting_owner';

CREATE OR REPLACE FUNCTION scribe.document_list(
    before      bigint DEFAULT NULL,
    max_results integer DEFAULT 50,
    status      text DEFAULT NULL,
    OUT document_id bigint, OUT status text, OUT owner text, OUT pages integer,
    OUT needs_review boolean, OUT submitted_at timestamptz, OUT finished_at timestamptz, OUT metadata jsonb)
    RETURNS SETOF record
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'scribe_document_call';
COMMENT ON FUNCTION scribe.document_list(bigint, integer, text) IS 'This session''s owner''s documents, newest first, max_results at a time: the next page is before => the last document_id seen; status filters (queued, done, failed)';

CREATE OR REPLACE FUNCTION scribe._document_search(
    caller regrole, acting_owner text, all_owners boolean,
    query text, max_results integer, config regconfig)
    RETURNS TABLE (document_id bigint, owner text, rank real, headline text, metadata jsonb)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    WITH q AS (SELECT websearch_to_tsquery(config, scribe.text_normalize(query)) AS tsq)
    SELECT d.document_id, d.owner, ts_rank_cd(d.search, q.tsq) AS rank,
           regexp_replace(ts_headline(config, scribe.text_normalize(d.text), q.tsq,
                                      'MaxFragments=2, MaxWords=12, MinWords=4, StartSel=«, StopSel=»'),
                          '\s+', ' ', 'g'),
           d.metadata
    FROM scribe.documents d, q
    WHERE d.search @@ q.tsq AND d.search_config = config
      AND (all_owners OR d.owner = acting_owner)
    ORDER BY rank DESC, d.document_id
    LIMIT max_results
$$;
COMMENT ON FUNCTION scribe._document_search(regrole, text, boolean, text, integer, regconfig) IS 'Internal: scribe.document_search for caller, acting for acting_owner';

CREATE OR REPLACE FUNCTION scribe.document_search(
    query       text,
    max_results integer DEFAULT 20,
    config      regconfig DEFAULT 'english')
    RETURNS TABLE (document_id bigint, owner text, rank real, headline text, metadata jsonb)
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'scribe_document_call';
COMMENT ON FUNCTION scribe.document_search(text, integer, regconfig) IS 'This session''s owner''s documents whose text matches a web-search style query, best first, with a highlighted excerpt';

-- delete ---------------------------------------------------------------

CREATE OR REPLACE FUNCTION scribe._document_delete_image(args jsonb)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$ BEGIN PERFORM scribe._s3_delete(args->>'key'); END $$;
COMMENT ON FUNCTION scribe._document_delete_image(jsonb) IS 'Internal: the sql job that deletes a deleted document''s image from S3 ({"key": ...})';

CREATE OR REPLACE FUNCTION scribe._document_delete(
    caller regrole, acting_owner text, all_owners boolean, document_id bigint)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    d record;
BEGIN
    IF EXISTS (SELECT FROM scribe.subscriptions) THEN
        RAISE EXCEPTION 'this node is a read replica: delete documents on the primary'
            USING ERRCODE = 'read_only_sql_transaction',
                  HINT = 'The delete reaches the replica through replication.';
    END IF;
    -- its pages and search entries go with the row (ON DELETE CASCADE, a generated column)
    DELETE FROM scribe.documents x
    WHERE x.document_id = _document_delete.document_id AND (all_owners OR x.owner = acting_owner)
    RETURNING x.job_id, x.status, x.image_location, x.image_key INTO d;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- a job still queued finds the row gone and is acked as skipped
    -- the archived copy in S3: deleted by a lifecycle job after this transaction commits
    -- (retried if S3 is down; never deleted for a transaction that rolls back)
    IF d.image_location = 's3' THEN
        PERFORM scribe.send('lifecycle', jsonb_build_object('function', 'scribe._document_delete_image',
                                                            'args', jsonb_build_object('key', d.image_key)),
                            kind => 'sql');
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION scribe._document_delete(regrole, text, boolean, bigint) IS 'Internal: scribe.document_delete for caller, acting for acting_owner';

CREATE OR REPLACE FUNCTION scribe.document_delete(document_id bigint)
    RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_document_call';
COMMENT ON FUNCTION scribe.document_delete(bigint) IS 'Delete a document of this session''s owner: its row, pages, search entries, stored image and its archived copy in S3 (after commit); the cost ledger keeps its entries. False if it is missing or another owner''s';

-- costs ----------------------------------------------------------------

CREATE OR REPLACE FUNCTION scribe._ocr_costs(
    caller regrole, acting_owner text, all_owners boolean,
    since timestamptz, until timestamptz, per text)
    RETURNS TABLE (owner text, period timestamptz, method text, pages bigint, fallback_pages bigint, cost numeric)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT l.owner, date_trunc(per, l.recorded_at), l.method, count(*),
           count(*) FILTER (WHERE l.fallback), sum(l.cost)
    FROM scribe.ocr_ledger l
    WHERE l.recorded_at >= since AND l.recorded_at < until
      AND (all_owners OR l.owner = acting_owner)
    GROUP BY 1, 2, 3
    ORDER BY 2, 1, 3
$$;
COMMENT ON FUNCTION scribe._ocr_costs(regrole, text, boolean, timestamptz, timestamptz, text) IS 'Internal: scribe.ocr_costs for caller, acting for acting_owner';

CREATE OR REPLACE FUNCTION scribe.ocr_costs(
    since   timestamptz DEFAULT date_trunc('month', now()),
    until   timestamptz DEFAULT now(),
    per     text DEFAULT 'month')
    RETURNS TABLE (owner text, period timestamptz, method text, pages bigint, fallback_pages bigint, cost numeric)
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'scribe_document_call';
COMMENT ON FUNCTION scribe.ocr_costs(timestamptz, timestamptz, text) IS 'OCR pages and cost from the ledger, for this session''s owner (every owner for scribe_admin without scribe.owner), by owner, period (day, week, month, ...) and method';
