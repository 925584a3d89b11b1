-- pg_scribe: the functions the schema itself uses (the generated search
-- column of scribe.documents).  Replayed like every function file, but before
-- the schema at install, and after the delta in an update (a delta that needs
-- a new one creates it first itself).

-- Fold the typographic quotes and dashes of LSTM output, for search and comparison
CREATE OR REPLACE FUNCTION scribe.text_normalize(t text)
    RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN pg_catalog.translate(t, '‘’‚‛′“”„‟″–—‐‑', '''''''''''"""""----');
COMMENT ON FUNCTION scribe.text_normalize(text) IS 'Text with typographic quotes and dashes folded to ASCII, as search indexes it';
