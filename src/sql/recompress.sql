-- pg_scribe functions: recompression of an image by the OCR engine
-- (the archive's smaller copy of a processed scan).

CREATE OR REPLACE FUNCTION scribe.image_recompress(
    image   bytea,
    format  text DEFAULT 'png',
    mode    text DEFAULT 'gray',
    quality integer DEFAULT 75)
    RETURNS bytea
    LANGUAGE c VOLATILE STRICT PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_recompress_image';
COMMENT ON FUNCTION scribe.image_recompress(bytea, text, text, integer) IS 'An image converted (mode gray, bw or keep) and encoded anew (format png, tiff_g4 or jpeg) by this session''s OCR engine';
