-- Bad arguments to scribe.image_recompress: a clear ERROR (SQLSTATE, message,
-- hint) for each, checked before the image is looked at or any engine
-- starts; then the image's own checks (the header check of scribe.ocr, and
-- what its format and depth allow); then one small image through the engine.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixtures :abs_srcdir '/test/fixtures/'

\i :abs_srcdir/sql/include/outcome.sql

-- arguments: '\x00' is no image at all, so these fail before the header check
SELECT a AS arguments, pg_temp.outcome(format('SELECT scribe.image_recompress(%L::bytea, %s)', '\x00', a)) AS outcome
FROM (VALUES ('format => ''gif'''), ('format => ''PNG'''), ('format => '''''),
             ('mode => ''color'''), ('mode => ''grey'''),
             ('quality => 0'), ('quality => 101'), ('format => ''png'', quality => -5'),
             ('format => ''jpeg'', mode => ''bw'''),
             ('format => ''tiff_g4'', mode => ''gray'''), ('format => ''tiff_g4''')) v(a);

-- NULL in, NULL out
SELECT scribe.image_recompress(NULL) IS NULL AS null_image,
       scribe.image_recompress('\x00', NULL) IS NULL AS null_format,
       scribe.image_recompress('\x00', 'png', NULL) IS NULL AS null_mode,
       scribe.image_recompress('\x00', 'png', 'gray', NULL) IS NULL AS null_quality;

-- the image: the header check and limits of scribe.ocr
SELECT pg_temp.outcome($$SELECT scribe.image_recompress(''::bytea)$$);
SELECT pg_temp.outcome(format('SELECT scribe.image_recompress(pg_read_binary_file(%L))', :'fixtures' || 'bad/document.pdf'));
SELECT pg_temp.outcome(format('SELECT scribe.image_recompress(pg_read_binary_file(%L), %L, %L)', :'fixtures' || 'bad/huge-dimensions.png', 'tiff_g4', 'bw'));
SET scribe.max_image_bytes = 1024;
SELECT pg_temp.outcome(format('SELECT scribe.image_recompress(pg_read_binary_file(%L))', :'fixtures' || 'scans/note-clean.jpg'));
RESET scribe.max_image_bytes;

-- what the image's pages and depth allow
SELECT f AS file, a AS arguments,
       pg_temp.outcome(format('SELECT scribe.image_recompress(pg_read_binary_file(%L), %s)', :'fixtures' || f, a)) AS outcome
FROM (VALUES ('scans/list-two-pages.tif', 'format => ''png'', mode => ''bw'''),
             ('scans/list-two-pages.tif', 'format => ''jpeg'''),
             ('scans/letter-clean.png', 'format => ''tiff_g4'', mode => ''keep'''),
             ('word.tif', 'format => ''jpeg'', mode => ''keep''')) v(f, a);

-- none of it started an engine
SELECT scribe._ocr_engine_pid() IS NULL AS no_engine_started;

-- a 1-bit TIFF through the engine, in each format that holds it
SELECT fm AS format, md AS mode, i.format AS result, i.width, i.height, i.pages, i.bits_per_pixel, i.dpi
FROM (VALUES ('png', 'keep'), ('png', 'gray'), ('tiff_g4', 'keep'), ('tiff_g4', 'bw'), ('jpeg', 'gray')) v(fm, md),
     scribe.image_info(scribe.image_recompress(pg_read_binary_file(:'fixtures' || 'word.tif'), fm, md)) i;

-- an upload cut short: the header check finds that its end is missing
SELECT pg_temp.outcome(format('SELECT scribe.image_recompress(substr(pg_read_binary_file(%L), 1, 3000))',
                              :'fixtures' || 'scans/note-clean.jpg'));
-- a whole file whose data does not decode (bytes of its scan overwritten): an
-- ERROR from the engine, which stays for the next call
SELECT scribe._ocr_engine_pid() AS engine \gset
SELECT pg_temp.outcome(format('SELECT scribe.image_recompress(overlay(img PLACING decode(repeat(''ff'', 64), ''hex'') FROM 1000)) FROM pg_read_binary_file(%L) img',
                              :'fixtures' || 'scans/note-clean.jpg'));
SELECT scribe._ocr_engine_pid() = :engine AS same_engine,
       (scribe.image_info(scribe.image_recompress(pg_read_binary_file(:'fixtures' || 'word.tif')))).format AS next_call;
