-- pg_scribe schema: the document pipeline's tables (run
-- once, by CREATE EXTENSION; the functions are in src/sql/documents.sql).

CREATE TABLE scribe.documents (
    document_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner         text NOT NULL,
    submitted_by  name NOT NULL DEFAULT current_user,
    metadata      jsonb NOT NULL DEFAULT '{}',
    tier          text NOT NULL DEFAULT 'local' CHECK (tier IN ('local', 'cloud')),
    lang          text NOT NULL DEFAULT 'eng',
    status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'done', 'failed')),
    image         bytea,
    image_format  text NOT NULL,
    image_bytes   integer NOT NULL,
    -- an archive policy may recompress the image, and move it to S3-compatible storage
    image_location text NOT NULL DEFAULT 'inline' CHECK (image_location IN ('inline', 's3')),
    image_key     text,
    archived_at   timestamptz,
    bytes_saved   bigint,
    pages         integer NOT NULL,
    job_id        bigint,
    text          text,
    confidence    real,
    method        text CHECK (method IN ('local', 'cloud')),
    engine        text,
    fallback      boolean NOT NULL DEFAULT false,
    cost          numeric(14, 6),
    seconds       real,
    error         text,
    submitted_at  timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    search_config regconfig NOT NULL DEFAULT 'english',
    search        tsvector GENERATED ALWAYS AS
                  (to_tsvector(search_config, scribe.text_normalize(coalesce(text, '')))) STORED,
    -- a PDF's pages that carry text keep it unless this asks for OCR of every page
    force_ocr     boolean NOT NULL DEFAULT false,
    -- the verdict: whether a person should check the text, and why (any page's reasons)
    needs_review  boolean,
    review_reasons text[],
    -- the queue that gets a job when the document finishes or fails (document_submit's notify_queue)
    notify_queue  text,
    CHECK ((image IS NOT NULL AND image_location = 'inline') OR (image_key IS NOT NULL AND image_location = 's3'))
);
-- scans are compressed already: keep them out of line without recompressing
ALTER TABLE scribe.documents ALTER COLUMN image SET STORAGE EXTERNAL;
CREATE INDEX documents_search_idx ON scribe.documents USING gin (search);
CREATE INDEX documents_owner_idx ON scribe.documents (owner, submitted_at);
-- an owner's documents, newest first (scribe.document_list)
CREATE INDEX documents_owner_id_idx ON scribe.documents (owner, document_id);
CREATE INDEX documents_unfinished_idx ON scribe.documents (submitted_at) WHERE status = 'queued';

CREATE TABLE scribe.document_pages (
    document_id        bigint NOT NULL REFERENCES scribe.documents ON DELETE CASCADE,
    page               integer NOT NULL,
    text               text NOT NULL,
    confidence         real,
    skew               real,
    completeness       real,
    text_probably_lost boolean,
    seconds            real,
    words              jsonb,
    -- the page as submitted (pixels; a PDF's page as rendered), whatever OCR turned or scaled
    width              integer,
    height             integer,
    -- quarter turns clockwise that made the page upright, and the detection's confidence
    rotation           integer,
    rotation_confidence real,
    needs_review       boolean,
    review_reasons     text[],
    -- ocr: recognised; text_layer: a PDF page's own text, kept without OCR
    text_source        text NOT NULL DEFAULT 'ocr' CHECK (text_source IN ('ocr', 'text_layer')),
    PRIMARY KEY (document_id, page)
);

-- The ledger outlives its documents: deleting a document does not undo its cost.
CREATE TABLE scribe.ocr_ledger (
    entry_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    owner       text NOT NULL,
    document_id bigint,
    page        integer NOT NULL,
    method      text NOT NULL CHECK (method IN ('local', 'cloud')),
    cost        numeric(14, 6) NOT NULL,
    fallback    boolean NOT NULL DEFAULT false
);
CREATE INDEX ocr_ledger_recorded_idx ON scribe.ocr_ledger (recorded_at);

-- pg_dump keeps the documents and the ledger (extension tables are skipped otherwise)
SELECT pg_catalog.pg_extension_config_dump('scribe.documents', '');
SELECT pg_catalog.pg_extension_config_dump('scribe.document_pages', '');
SELECT pg_catalog.pg_extension_config_dump('scribe.ocr_ledger', '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.documents', 'document_id'), '');
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('scribe.ocr_ledger', 'entry_id'), '');
