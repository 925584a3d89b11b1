-- pg_scribe functions: OCR of an image, synchronously.

CREATE OR REPLACE FUNCTION scribe.ocr(
    image      bytea,
    lang       text DEFAULT 'eng',
    psm        integer DEFAULT NULL,
    preprocess boolean DEFAULT true,
    force_ocr  boolean DEFAULT false)
    RETURNS text
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_ocr_text';
COMMENT ON FUNCTION scribe.ocr(bytea, text, integer, boolean, boolean) IS 'The text of an image or PDF, recognised by this session''s OCR engine (a PDF page''s own text layer is kept unless force_ocr)';

CREATE OR REPLACE FUNCTION scribe.ocr_detail(
    image      bytea,
    lang       text DEFAULT 'eng',
    psm        integer DEFAULT NULL,
    preprocess boolean DEFAULT true,
    words      boolean DEFAULT true,
    hocr       boolean DEFAULT false,
    tsv        boolean DEFAULT false,
    force_ocr  boolean DEFAULT false)
    RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_ocr_detail';
COMMENT ON FUNCTION scribe.ocr_detail(bytea, text, integer, boolean, boolean, boolean, boolean, boolean) IS 'The full OCR result of an image: text, confidence, rotation, skew, completeness, and per page its words with boxes on the image as submitted (and hOCR, TSV on request)';

CREATE OR REPLACE FUNCTION scribe.ocr_words(
    image      bytea,
    lang       text DEFAULT 'eng',
    psm        integer DEFAULT NULL,
    preprocess boolean DEFAULT true,
    force_ocr  boolean DEFAULT false)
    RETURNS TABLE (page integer, block integer, paragraph integer, line integer, word text,
                   confidence real, "left" integer, top integer, width integer, height integer)
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT (p->>'page')::integer, (w->>'block')::integer, (w->>'paragraph')::integer,
           (w->>'line')::integer, w->>'text', (w->>'confidence')::real,
           (w->>'left')::integer, (w->>'top')::integer, (w->>'width')::integer, (w->>'height')::integer
    FROM jsonb_array_elements(scribe.ocr_detail(image, lang, psm, preprocess, force_ocr => force_ocr)->'pages') p,
         jsonb_array_elements(p->'words') w
$$;
COMMENT ON FUNCTION scribe.ocr_words(bytea, text, integer, boolean, boolean) IS 'The words of an image, one row each, with confidence and bounding box (pixels of the image as submitted)';

CREATE OR REPLACE FUNCTION scribe.ocr_hocr(
    image      bytea,
    lang       text DEFAULT 'eng',
    psm        integer DEFAULT NULL,
    preprocess boolean DEFAULT true,
    force_ocr  boolean DEFAULT false)
    RETURNS text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT '<?xml version="1.0" encoding="UTF-8"?>' || E'\n'
        || '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">' || E'\n'
        || '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">' || E'\n <head>\n  <title></title>\n'
        || '  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>' || E'\n'
        || '  <meta name="ocr-system" content="' || (r->>'engine') || ' via pg_scribe"/>' || E'\n'
        || '  <meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"/>' || E'\n'
        || E' </head>\n <body>\n'
        || (SELECT string_agg(p->>'hocr', '' ORDER BY (p->>'page')::integer) FROM jsonb_array_elements(r->'pages') p)
        || E' </body>\n</html>\n'
    FROM scribe.ocr_detail(image, lang, psm, preprocess, words => false, hocr => true, force_ocr => force_ocr) r
$$;
COMMENT ON FUNCTION scribe.ocr_hocr(bytea, text, integer, boolean, boolean) IS 'The OCR result of an image as an hOCR (XHTML) document';

CREATE OR REPLACE FUNCTION scribe.ocr_tsv(
    image      bytea,
    lang       text DEFAULT 'eng',
    psm        integer DEFAULT NULL,
    preprocess boolean DEFAULT true,
    force_ocr  boolean DEFAULT false)
    RETURNS text
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT E'level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n'
        || (SELECT string_agg(p->>'tsv', '' ORDER BY (p->>'page')::integer) FROM jsonb_array_elements(r->'pages') p)
    FROM scribe.ocr_detail(image, lang, psm, preprocess, words => false, tsv => true, force_ocr => force_ocr) r
$$;
COMMENT ON FUNCTION scribe.ocr_tsv(bytea, text, integer, boolean, boolean) IS 'The OCR result of an image as tesseract''s TSV';

CREATE OR REPLACE FUNCTION scribe.ocr_pdf(
    image      bytea,
    lang       text DEFAULT 'eng',
    psm        integer DEFAULT NULL,
    preprocess boolean DEFAULT true,
    force_ocr  boolean DEFAULT false)
    RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_ocr_pdf';
COMMENT ON FUNCTION scribe.ocr_pdf(bytea, text, integer, boolean, boolean) IS 'A searchable PDF of an image or PDF: each page''s image (a PDF''s own page) with its recognised words as an invisible text layer where they are on the page; a PDF''s pages that carry text keep it';

CREATE OR REPLACE FUNCTION scribe._ocr_make_pdf(image bytea, pages jsonb)
    RETURNS bytea
    LANGUAGE c VOLATILE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_ocr_make_pdf_sql';
COMMENT ON FUNCTION scribe._ocr_make_pdf(bytea, jsonb) IS 'Internal: the searchable PDF of an image and its pages'' words (an OCR result''s pages, or a document''s)';

CREATE OR REPLACE FUNCTION scribe.image_info(
    image bytea,
    OUT format text, OUT width integer, OUT height integer, OUT pages integer,
    OUT bits_per_pixel integer, OUT dpi integer, OUT bytes bigint, OUT pages_with_text integer[])
    RETURNS record
    LANGUAGE c STABLE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_image_info';
COMMENT ON FUNCTION scribe.image_info(bytea) IS 'Format, size, pages and resolution of an image, read from its header (a PDF: opened by the OCR engine, page 1 as it would be rendered, and the pages that carry a text layer); ERROR if OCR would refuse it';

CREATE OR REPLACE FUNCTION scribe.ocr_languages()
    RETURNS SETOF text
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_ocr_languages';
COMMENT ON FUNCTION scribe.ocr_languages() IS 'The OCR languages installed (models in scribe.ocr_tessdata_dir)';

CREATE OR REPLACE FUNCTION scribe._ocr_engine_pid()
    RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_ocr_engine_pid_sql';
COMMENT ON FUNCTION scribe._ocr_engine_pid() IS 'Internal: the pid of this session''s OCR engine, NULL if none runs';
