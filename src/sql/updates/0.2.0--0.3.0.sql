-- pg_scribe update 0.2.0 -> 0.3.0: the schema delta (issue 16, OCR on real
-- documents).  Only what CREATE OR REPLACE cannot do goes here; the build
-- puts every function file after it (docs/development.md, "How the SQL is
-- built and upgraded").  test/t/090_extension_update.pl compares the result
-- with a fresh install.

-- Documents: PDFs keep their pages' own text unless asked; the verdict
ALTER TABLE scribe.documents
    ADD COLUMN force_ocr boolean NOT NULL DEFAULT false,
    ADD COLUMN needs_review boolean,
    ADD COLUMN review_reasons text[];

-- Pages: their size as submitted, the turn that made them upright, the verdict, where the text came from
ALTER TABLE scribe.document_pages
    ADD COLUMN width integer,
    ADD COLUMN height integer,
    ADD COLUMN rotation integer,
    ADD COLUMN rotation_confidence real,
    ADD COLUMN needs_review boolean,
    ADD COLUMN review_reasons text[],
    ADD COLUMN text_source text NOT NULL DEFAULT 'ocr' CHECK (text_source IN ('ocr', 'text_layer'));

-- document_get answers the verdict too: new OUT columns need a new function
-- (a DBA's grants on it are to be made again: docs/upgrading.md)
DROP FUNCTION scribe.document_get(bigint);

-- PDF in (issue 16, item 6): scribe.ocr*, document_submit take force_ocr as
-- their last parameter, and image_info answers pages_with_text: new
-- signatures, so the old functions go (a DBA's grants on them are to be made
-- again: docs/upgrading.md)
DROP FUNCTION scribe.ocr(bytea, text, integer, boolean);
DROP FUNCTION scribe.ocr_detail(bytea, text, integer, boolean, boolean, boolean, boolean);
DROP FUNCTION scribe.ocr_words(bytea, text, integer, boolean);
DROP FUNCTION scribe.ocr_hocr(bytea, text, integer, boolean);
DROP FUNCTION scribe.ocr_tsv(bytea, text, integer, boolean);
DROP FUNCTION scribe.document_submit(bytea, text, jsonb, text, text, integer);
DROP FUNCTION scribe.image_info(bytea);
