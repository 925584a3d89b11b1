-- pg_scribe functions: the cache's Redis tier (L2) and its circuit breaker.

CREATE OR REPLACE FUNCTION scribe.redis_stats(
    OUT configured boolean, OUT state text, OUT failures bigint, OUT successes bigint,
    OUT opened bigint, OUT short_circuited bigint, OUT last_error text, OUT state_since timestamptz)
    RETURNS record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_redis_status_sql';
COMMENT ON FUNCTION scribe.redis_stats() IS
    'The Redis tier: whether scribe.redis_url is set, the circuit breaker''s state (closed, open, half-open) and since when, calls failed and answered, times opened, calls skipped while open, and the last error, since the server started';

CREATE OR REPLACE FUNCTION scribe._redis_get(key text)
    RETURNS bytea
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_redis_get_sql';
COMMENT ON FUNCTION scribe._redis_get(text) IS
    'Internal: GET key from Redis; NULL on a miss, a refused call or no Redis (see scribe.redis_stats())';

CREATE OR REPLACE FUNCTION scribe._redis_set(key text, value bytea, ttl_ms bigint DEFAULT 0)
    RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_redis_set_sql';
COMMENT ON FUNCTION scribe._redis_set(text, bytea, bigint) IS
    'Internal: SET key value in Redis, expiring after ttl_ms milliseconds (0: never); false when Redis refused it or is unavailable';

CREATE OR REPLACE FUNCTION scribe._redis_del(key text)
    RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_redis_del_sql';
COMMENT ON FUNCTION scribe._redis_del(text) IS
    'Internal: DEL key in Redis; true if it was there, false if not, NULL when Redis is unavailable';

CREATE OR REPLACE FUNCTION scribe._redis_incr(key text)
    RETURNS bigint
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_redis_incr_sql';
COMMENT ON FUNCTION scribe._redis_incr(text) IS
    'Internal: INCR key in Redis (namespace versions); the new value, NULL when Redis refused it or is unavailable';

CREATE OR REPLACE FUNCTION scribe._redis_mget(keys text[])
    RETURNS bytea[]
    LANGUAGE c VOLATILE STRICT
    AS 'MODULE_PATHNAME', 'scribe_redis_mget_sql';
COMMENT ON FUNCTION scribe._redis_mget(text[]) IS
    'Internal: GET of many keys, pipelined; values in order with NULL for misses, NULL altogether when Redis is unavailable';

CREATE OR REPLACE FUNCTION scribe._redis_set_many(keys text[], "values" bytea[], ttl_ms bigint DEFAULT 0)
    RETURNS integer
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_redis_set_many_sql';
COMMENT ON FUNCTION scribe._redis_set_many(text[], bytea[], bigint) IS
    'Internal: SET of many keys, pipelined (warming); how many were stored, NULL when Redis is unavailable';
