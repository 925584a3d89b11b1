-- pg_scribe functions: the cache (shared-memory tier).

CREATE OR REPLACE FUNCTION scribe.cache_set(key text, value text, ttl interval DEFAULT NULL)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_set_text';
COMMENT ON FUNCTION scribe.cache_set(text, text, interval) IS 'Cache a text value under key, for ttl (NULL: until evicted); false if the cache cannot keep it';

CREATE OR REPLACE FUNCTION scribe.cache_set_bytea(key text, value bytea, ttl interval DEFAULT NULL)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_set_bytea';
COMMENT ON FUNCTION scribe.cache_set_bytea(text, bytea, interval) IS 'Cache a bytea value under key, for ttl (NULL: until evicted); false if the cache cannot keep it';

CREATE OR REPLACE FUNCTION scribe.cache_set_jsonb(key text, value jsonb, ttl interval DEFAULT NULL)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_set_jsonb';
COMMENT ON FUNCTION scribe.cache_set_jsonb(text, jsonb, interval) IS 'Cache a jsonb value under key, for ttl (NULL: until evicted); false if the cache cannot keep it';

CREATE OR REPLACE FUNCTION scribe.cache_get(key text)
    RETURNS text
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_get_text';
COMMENT ON FUNCTION scribe.cache_get(text) IS 'The cached text (or jsonb, as text) of key; NULL on a miss';

CREATE OR REPLACE FUNCTION scribe.cache_get_bytea(key text)
    RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_get_bytea';
COMMENT ON FUNCTION scribe.cache_get_bytea(text) IS 'The cached bytea of key; NULL on a miss';

CREATE OR REPLACE FUNCTION scribe.cache_get_jsonb(key text)
    RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_get_jsonb';
COMMENT ON FUNCTION scribe.cache_get_jsonb(text) IS 'The cached jsonb of key; NULL on a miss';

CREATE OR REPLACE FUNCTION scribe.cache_delete(key text)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'scribe_cache_delete_sql';
COMMENT ON FUNCTION scribe.cache_delete(text) IS 'Remove key from the cache; whether it was there';

CREATE OR REPLACE FUNCTION scribe.cache_invalidate(namespace text)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL UNSAFE
    AS 'MODULE_PATHNAME', 'scribe_cache_invalidate_sql';
COMMENT ON FUNCTION scribe.cache_invalidate(text) IS 'Make every key of a namespace (the part before the first '':'') a miss, in O(1)';

CREATE OR REPLACE FUNCTION scribe.cache_stats(
    OUT tier text, OUT capacity_bytes bigint, OUT used_bytes bigint, OUT entries bigint,
    OUT max_entries bigint, OUT hits bigint, OUT misses bigint, OUT hit_rate double precision,
    OUT sets bigint, OUT evictions bigint, OUT expirations bigint, OUT too_large bigint,
    OUT errors bigint)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_cache_stats';
COMMENT ON FUNCTION scribe.cache_stats() IS 'One row per tier (l1: shared memory, l2: Redis): memory, entries, hits, misses, sets, evictions, expirations, values too large, Redis calls skipped or failed';

CREATE OR REPLACE FUNCTION scribe.cache_namespace_stats(
    OUT namespace text, OUT entries bigint, OUT bytes bigint, OUT hits bigint, OUT l2_hits bigint,
    OUT misses bigint, OUT hit_rate double precision, OUT sets bigint, OUT loads bigint,
    OUT early_refreshes bigint, OUT evictions bigint, OUT expirations bigint, OUT invalidations bigint)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_cache_namespace_stats_sql';
COMMENT ON FUNCTION scribe.cache_namespace_stats() IS 'One row per namespace since the server started (NULL: the namespaces past the first 256): entries and bytes in shared memory, hits (of which from Redis), misses, sets, loader runs, early refreshes, evictions, expirations, invalidations';

CREATE OR REPLACE FUNCTION scribe.cache_get_many(keys text[], OUT key text, OUT value text)
    RETURNS SETOF record
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_get_many_sql';
COMMENT ON FUNCTION scribe.cache_get_many(text[]) IS 'The cached text (or jsonb, as text) of each key found, in the order given; the misses of the shared-memory tier read from Redis in one round trip';

CREATE OR REPLACE FUNCTION scribe.cache_warm(query text, ttl interval DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_warm';
COMMENT ON FUNCTION scribe.cache_warm(text, interval) IS 'Cache the (key, value) rows of a query for ttl, in batches (one Redis round trip per batch); how many were stored';

CREATE OR REPLACE FUNCTION scribe.cache_invalidate_trigger()
    RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'scribe_cache_invalidate_trigger';
COMMENT ON FUNCTION scribe.cache_invalidate_trigger() IS 'The trigger scribe.cache_invalidate_on() attaches: deletes the keys its arguments (key templates) make of changed rows';

CREATE OR REPLACE FUNCTION scribe.cache_invalidate_on(tbl regclass, VARIADIC keys text[])
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    k text;
    placeholder text[];
    kind "char";
BEGIN
    IF tbl IS NULL OR keys IS NULL OR cardinality(keys) = 0 THEN
        RAISE EXCEPTION 'scribe.cache_invalidate_on needs a table and at least one key template'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'For example: SELECT scribe.cache_invalidate_on(''users'', ''user:{id}:profile'');';
    END IF;
    SELECT relkind INTO kind FROM pg_class WHERE oid = tbl;
    IF kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', tbl
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Attach cache invalidation to the table whose rows the cached values come from.';
    END IF;
    FOREACH k IN ARRAY keys LOOP
        IF k IS NULL OR k = '' OR octet_length(k) > 1024 THEN
            RAISE EXCEPTION 'a cache key template is 1 to 1024 bytes, not %', coalesce(octet_length(k)::text, 'NULL')
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF k ~ '\{[^}]*(\{|$)' OR k ~ '(^|\})[^{]*\}' THEN
            RAISE EXCEPTION 'cache key template "%" has unbalanced braces', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Name a column between braces: ''user:{id}:profile''.';
        END IF;
        FOR placeholder IN SELECT regexp_matches(k, '\{([^}]*)\}', 'g') LOOP
            IF NOT EXISTS (SELECT FROM pg_attribute
                           WHERE attrelid = tbl AND attname = placeholder[1]
                             AND attnum > 0 AND NOT attisdropped) THEN
                RAISE EXCEPTION 'column "%" of cache key template "%" does not exist in table %',
                        placeholder[1], k, tbl
                    USING ERRCODE = 'undefined_column',
                          HINT = 'Name a column of the table between braces, spelled as it is stored (no quotes).';
            END IF;
        END LOOP;
    END LOOP;

    -- a row trigger for the templates with columns (and, where logical
    -- replication applies rows, for all: it fires no statement trigger
    -- there), a statement trigger for the rest and TRUNCATE
    EXECUTE format('CREATE OR REPLACE TRIGGER scribe_cache_invalidate_rows'
                   ' AFTER INSERT OR UPDATE OR DELETE ON %s'
                   ' FOR EACH ROW EXECUTE FUNCTION scribe.cache_invalidate_trigger(%s)',
                   tbl, (SELECT string_agg(quote_literal(t), ', ') FROM unnest(keys) t));
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER scribe_cache_invalidate_rows', tbl);
    EXECUTE format('CREATE OR REPLACE TRIGGER scribe_cache_invalidate'
                   ' AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION scribe.cache_invalidate_trigger(%s)',
                   tbl, (SELECT string_agg(quote_literal(t), ', ') FROM unnest(keys) t));
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER scribe_cache_invalidate', tbl);
END
$$;
COMMENT ON FUNCTION scribe.cache_invalidate_on(regclass, text[]) IS 'Attach to a table triggers (enabled ALWAYS, so they fire on logical replicas too) that delete the cache keys made from changed rows by templates like ''user:{id}:profile'', or invalidate a namespace (''user'') on any change';

CREATE OR REPLACE FUNCTION scribe.cache_clear()
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_cache_clear';
COMMENT ON FUNCTION scribe.cache_clear() IS 'Empty the shared-memory cache';

-- cache_fetch: the zero-parameter form (0.3.0's signature), and the form
-- whose loader takes parameters $1, $2, ... after the ttl (VARIADIC "any":
-- each value keeps its type; docs/reference.md says why not text[] or jsonb)
CREATE OR REPLACE FUNCTION scribe.cache_fetch(key text, loader text, ttl interval DEFAULT NULL)
    RETURNS text
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_fetch';
COMMENT ON FUNCTION scribe.cache_fetch(text, text, interval) IS 'The cached value of key; on a miss, run the loader (one query returning one row of one column) once across all sessions and cache its result for ttl';

CREATE OR REPLACE FUNCTION scribe.cache_fetch(key text, loader text, ttl interval, VARIADIC params "any")
    RETURNS text
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_fetch';
COMMENT ON FUNCTION scribe.cache_fetch(text, text, interval, "any") IS 'The cached value of key; on a miss, run the loader with params bound to $1, $2, ... (never spliced into its text) once across all sessions and cache its result for ttl; the params are not part of the key';

CREATE OR REPLACE FUNCTION scribe.cache_fetch_jsonb(key text, loader text, ttl interval DEFAULT NULL)
    RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_fetch_jsonb';
COMMENT ON FUNCTION scribe.cache_fetch_jsonb(text, text, interval) IS 'The cached jsonb of key; on a miss, run the loader (one query returning jsonb, json or JSON text) once across all sessions and cache its result as jsonb for ttl';

CREATE OR REPLACE FUNCTION scribe.cache_fetch_jsonb(key text, loader text, ttl interval, VARIADIC params "any")
    RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_fetch_jsonb';
COMMENT ON FUNCTION scribe.cache_fetch_jsonb(text, text, interval, "any") IS 'The cached jsonb of key; on a miss, run the loader with params bound to $1, $2, ... once across all sessions and cache its result as jsonb for ttl; the params are not part of the key';
