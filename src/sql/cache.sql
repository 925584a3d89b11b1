-- pg_scribe install script: the cache (shared-memory tier).

CREATE FUNCTION scribe.cache_set(key text, value text, ttl interval DEFAULT NULL)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_set_text';
COMMENT ON FUNCTION scribe.cache_set(text, text, interval) IS 'Cache a text value under key, for ttl (NULL: until evicted); false if the cache cannot keep it';

CREATE FUNCTION scribe.cache_set(key text, value bytea, ttl interval DEFAULT NULL)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_set_bytea';
COMMENT ON FUNCTION scribe.cache_set(text, bytea, interval) IS 'Cache a bytea value under key, for ttl (NULL: until evicted); false if the cache cannot keep it';

CREATE FUNCTION scribe.cache_set(key text, value jsonb, ttl interval DEFAULT NULL)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_set_jsonb';
COMMENT ON FUNCTION scribe.cache_set(text, jsonb, interval) IS 'Cache a jsonb value under key, for ttl (NULL: until evicted); false if the cache cannot keep it';

CREATE FUNCTION scribe.cache_get(key text)
    RETURNS text
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_get_text';
COMMENT ON FUNCTION scribe.cache_get(text) IS 'The cached text (or jsonb, as text) of key; NULL on a miss';

CREATE FUNCTION scribe.cache_get_bytea(key text)
    RETURNS bytea
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_get_bytea';
COMMENT ON FUNCTION scribe.cache_get_bytea(text) IS 'The cached bytea of key; NULL on a miss';

CREATE FUNCTION scribe.cache_get_jsonb(key text)
    RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_get_jsonb';
COMMENT ON FUNCTION scribe.cache_get_jsonb(text) IS 'The cached jsonb of key; NULL on a miss';

CREATE FUNCTION scribe.cache_delete(key text)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_delete_sql';
COMMENT ON FUNCTION scribe.cache_delete(text) IS 'Remove key from the cache; whether it was there';

CREATE FUNCTION scribe.cache_invalidate(namespace text)
    RETURNS void
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_invalidate_sql';
COMMENT ON FUNCTION scribe.cache_invalidate(text) IS 'Make every key of a namespace (the part before the first '':'') a miss, in O(1)';

CREATE FUNCTION scribe.cache_stats(
    OUT capacity_bytes bigint, OUT used_bytes bigint, OUT entries bigint, OUT max_entries bigint,
    OUT hits bigint, OUT misses bigint, OUT hit_rate double precision, OUT sets bigint,
    OUT evictions bigint, OUT expirations bigint, OUT too_large bigint)
    RETURNS record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_cache_stats';
COMMENT ON FUNCTION scribe.cache_stats() IS 'The shared-memory cache: memory, entries, hits, misses, sets, evictions, expirations, values too large';

CREATE FUNCTION scribe.cache_clear()
    RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_cache_clear';
COMMENT ON FUNCTION scribe.cache_clear() IS 'Empty the shared-memory cache';

CREATE FUNCTION scribe.cache_fetch(key text, loader text, ttl interval DEFAULT NULL)
    RETURNS text
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_cache_fetch';
COMMENT ON FUNCTION scribe.cache_fetch(text, text, interval) IS 'The cached value of key; on a miss, run the loader query (one row, one column) once across all sessions and cache its result for ttl';
