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
