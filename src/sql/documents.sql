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

CREATE OR REPLACE FUNCTION scribe.document_submit(
    image    bytea,
    owner    text DEFAULT current_user,
    metadata jsonb DEFAULT '{}',
    tier     text DEFAULT 'local',
    lang     text DEFAULT 'eng',
    priority integer DEFAULT 0,
    force_ocr boolean DEFAULT false)
    RETURNS bigint
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    info record;
    doc bigint;
BEGIN
    IF image IS NULL OR owner IS NULL OR tier IS NULL OR lang IS NULL OR metadata IS NULL OR force_ocr IS NULL THEN
        RAISE EXCEPTION 'image, owner, metadata, tier, lang and force_ocr must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
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
    PERFORM scribe._ocr_check_options(lang, 3);
    -- a PDF is opened by the engine here: an encrypted or broken one fails now, with its reason
    info := scribe.image_info(image);

    -- the id first, so that the row is written once, with its job
    doc := nextval(pg_get_serial_sequence('scribe.documents', 'document_id'));
    INSERT INTO scribe.documents (document_id, job_id, owner, metadata, tier, lang, image, image_format,
                                  image_bytes, pages, search_config, force_ocr)
    OVERRIDING SYSTEM VALUE
    VALUES (doc, scribe.send('ocr', jsonb_build_object('document_id', doc, 'lang', lang, 'tier', tier)
                                    -- worker nodes read it from here; only when set, as before 0.3.0 otherwise
                                    || CASE WHEN force_ocr THEN '{"force_ocr": true}'::jsonb ELSE '{}' END,
                        kind => 'ocr', priority => priority),
            owner, metadata, tier, lang, image, info.format, info.bytes, info.pages, scribe._search_config(lang),
            force_ocr);
    RETURN doc;
END
$$;
COMMENT ON FUNCTION scribe.document_submit(bytea, text, jsonb, text, text, integer, boolean) IS 'Store a scan (an image or a PDF) and enqueue its OCR in the caller''s transaction; returns the document id. A PDF page''s own text layer is kept unless force_ocr';

CREATE OR REPLACE FUNCTION scribe._ocr_check_options(lang text, psm integer)
    RETURNS void
    LANGUAGE c STABLE
    AS 'MODULE_PATHNAME', 'scribe_ocr_check_options_sql';
COMMENT ON FUNCTION scribe._ocr_check_options(text, integer) IS 'Internal: ERROR unless lang is installed and psm recognises text';

CREATE OR REPLACE FUNCTION scribe.document_get(
    document_id bigint,
    OUT status text, OUT progress integer, OUT owner text, OUT pages integer,
    OUT confidence real, OUT method text, OUT fallback boolean, OUT cost numeric,
    OUT seconds real, OUT attempts integer, OUT error text,
    OUT submitted_at timestamptz, OUT finished_at timestamptz,
    OUT needs_review boolean, OUT review_reasons text[])
    RETURNS record
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    -- processing: a worker here runs it, or a worker node (or an application) holds its lease
    SELECT CASE WHEN d.status = 'queued' AND (w.pid IS NOT NULL OR j.lease_until IS NOT NULL) THEN 'processing' ELSE d.status END,
           CASE WHEN d.status = 'done' THEN 100 WHEN d.status = 'queued' THEN coalesce(w.progress, 0) END,
           d.owner, d.pages, d.confidence, d.method, d.fallback, d.cost, d.seconds,
           j.attempts,
           d.error, d.submitted_at, d.finished_at, d.needs_review, d.review_reasons
    FROM scribe.documents d
    LEFT JOIN scribe.worker_status() w ON w.job_id = d.job_id
    LEFT JOIN LATERAL scribe._job_state(d.job_id) j ON true
    WHERE d.document_id = document_get.document_id
$$;
COMMENT ON FUNCTION scribe.document_get(bigint) IS 'A document''s status (queued, processing, done, failed), live progress percent, attempts and results, and whether a person should check its text (needs_review, with the reasons)';

CREATE OR REPLACE FUNCTION scribe.document_get_image(document_id bigint)
    RETURNS bytea
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    d record;
BEGIN
    SELECT image, image_location, image_key INTO d FROM scribe.documents
    WHERE documents.document_id = document_get_image.document_id;
    IF d.image_location = 's3' THEN
        -- an archive policy moved it to S3-compatible storage
        RETURN scribe._s3_get(d.image_key);
    END IF;
    RETURN d.image;
END
$$;
COMMENT ON FUNCTION scribe.document_get_image(bigint) IS 'A document''s image, as stored now: inline, or read back from S3 after an archive policy moved it there; NULL if there is no such document';

CREATE OR REPLACE FUNCTION scribe.document_get_pdf(document_id bigint)
    RETURNS bytea
    LANGUAGE plpgsql VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    d record;
    pages jsonb;
BEGIN
    SELECT status, error INTO d FROM scribe.documents
    WHERE documents.document_id = document_get_pdf.document_id;
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
    WHERE p.document_id = document_get_pdf.document_id AND p.words IS NOT NULL;
    IF pages IS NULL THEN
        RAISE EXCEPTION 'document % has no word boxes to place in a PDF', document_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Documents read by the cloud tier keep no word boxes; submit with tier => ''local'' for a searchable PDF.';
    END IF;
    RETURN scribe._ocr_make_pdf(scribe.document_get_image(document_id), pages);
END
$$;
COMMENT ON FUNCTION scribe.document_get_pdf(bigint) IS 'A searchable PDF of a recognised document: each page''s image with its words as an invisible text layer, made by this session''s OCR engine; NULL if there is no such document';

CREATE OR REPLACE FUNCTION scribe.document_search(
    query       text,
    owner       text DEFAULT NULL,
    max_results integer DEFAULT 20,
    config      regconfig DEFAULT 'english')
    RETURNS TABLE (document_id bigint, owner text, rank real, headline text, metadata jsonb)
    LANGUAGE sql STABLE
    SECURITY DEFINER
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
      AND (document_search.owner IS NULL OR d.owner = document_search.owner)
    ORDER BY rank DESC, d.document_id
    LIMIT max_results
$$;
COMMENT ON FUNCTION scribe.document_search(text, text, integer, regconfig) IS 'Documents whose text matches a web-search style query, best first, with a highlighted excerpt';

CREATE OR REPLACE FUNCTION scribe.ocr_costs(
    since   timestamptz DEFAULT date_trunc('month', now()),
    until   timestamptz DEFAULT now(),
    per     text DEFAULT 'month')
    RETURNS TABLE (owner text, period timestamptz, method text, pages bigint, fallback_pages bigint, cost numeric)
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT l.owner, date_trunc(per, l.recorded_at), l.method, count(*),
           count(*) FILTER (WHERE l.fallback), sum(l.cost)
    FROM scribe.ocr_ledger l
    WHERE l.recorded_at >= since AND l.recorded_at < until
    GROUP BY 1, 2, 3
    ORDER BY 2, 1, 3
$$;
COMMENT ON FUNCTION scribe.ocr_costs(timestamptz, timestamptz, text) IS 'OCR pages and cost from the ledger by owner, period (day, week, month, ...) and method';
