-- Bad input to OCR: every kind of broken, hostile or unsupported file gets a
-- clear ERROR (SQLSTATE, message, hint) from the header check, before any
-- decoder runs, and the session carries on.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\set bad :abs_srcdir '/test/fixtures/bad/'

\i :abs_srcdir/sql/include/outcome.sql

-- each fixture of test/fixtures/bad, through the header check and through OCR
-- (PDFs pass the header check on their "%PDF-": the engine opens them, t/025)
SELECT f AS file, pg_temp.outcome(format('SELECT scribe.ocr(pg_read_binary_file(%L))', :'bad' || f)) AS ocr
FROM pg_ls_dir(:'bad') f
WHERE f NOT IN ('README', 'tiff-12-pages.tif') AND f NOT LIKE '%.pdf'
ORDER BY f;

-- scribe.image_info gives the same verdict without starting an engine
SELECT count(*) AS files,
       count(*) FILTER (WHERE pg_temp.outcome(format('SELECT scribe.image_info(pg_read_binary_file(%L))', :'bad' || f))
                           <> pg_temp.outcome(format('SELECT scribe.ocr(pg_read_binary_file(%L))', :'bad' || f))) AS different
FROM pg_ls_dir(:'bad') f
WHERE f NOT IN ('README', 'tiff-12-pages.tif') AND f NOT LIKE '%.pdf';

-- limits: bytes and pixels, superuser settings
SET scribe.max_image_bytes = 1024;
SELECT pg_temp.outcome($$SELECT scribe.ocr(decode(repeat('00', 2000), 'hex'))$$);
RESET scribe.max_image_bytes;
SET scribe.max_image_pixels = 5;
SELECT pg_temp.outcome(format('SELECT scribe.image_info(pg_read_binary_file(%L))', :'abs_srcdir' || '/test/fuzz/corpus/png-gray8-3x2-300dpi.png'));
RESET scribe.max_image_pixels;
SET scribe.max_image_pages = 10;
SELECT pg_temp.outcome(format('SELECT scribe.image_info(pg_read_binary_file(%L))', :'bad' || 'tiff-12-pages.tif'));
RESET scribe.max_image_pages;
SELECT * FROM scribe.image_info(pg_read_binary_file(:'bad' || 'tiff-12-pages.tif'));
SELECT * FROM scribe.image_info(pg_read_binary_file(:'abs_srcdir' || '/test/fuzz/corpus/png-gray8-3x2-300dpi.png'));


-- options
SELECT pg_temp.outcome($$SELECT scribe.ocr('\x00'::bytea, lang => 'xx-not-installed')$$);
SELECT pg_temp.outcome($$SELECT scribe.ocr('\x00'::bytea, lang => 'eng; rm -rf /')$$);
SELECT pg_temp.outcome($$SELECT scribe.ocr('\x00'::bytea, lang => '')$$);
SELECT pg_temp.outcome($$SELECT scribe.ocr('\x00'::bytea, psm => 0)$$);
SELECT pg_temp.outcome($$SELECT scribe.ocr('\x00'::bytea, psm => 2)$$);
SELECT pg_temp.outcome($$SELECT scribe.ocr('\x00'::bytea, psm => 99)$$);
SELECT pg_temp.outcome($$SELECT scribe.ocr('\x00'::bytea, psm => -1)$$);

-- NULL in, NULL out
SELECT scribe.ocr(NULL) IS NULL AS null_image, scribe.image_info(NULL) IS NULL AS null_info;

-- the session is alive and no engine was started for any of it
SELECT scribe._ocr_engine_pid() IS NULL AS no_engine_started;
SELECT 'eng' IN (SELECT scribe.ocr_languages()) AS eng_installed;

-- a 504-byte TIFF that sends leptonica's multi-page reader into an endless loop
-- (found by fuzzing the decode path): the engine reads it page by page
SET statement_timeout = '20s';
SELECT scribe.ocr_detail(pg_read_binary_file(:'abs_srcdir' || '/test/fixtures/decode/tiff-leptonica-loop.tif'))->'pages' @? '$[1]' AS two_pages_read;
RESET statement_timeout;

-- typographic quotes and dashes fold for search
SELECT scribe.text_normalize('‘Come soon,’ she wrote — “today”.');
