-- pg_scribe functions: the rate limiter (GCRA in shared memory).

-- Comment of the type in schema/rate_limit.sql
COMMENT ON TYPE scribe.rate_limit_result IS 'What scribe.rate_limit_take() decided';

CREATE OR REPLACE FUNCTION scribe.rate_limit_take(
    key text, "limit" integer, period interval, burst integer DEFAULT NULL, cost integer DEFAULT 1)
    RETURNS scribe.rate_limit_result
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_rate_limit';
COMMENT ON FUNCTION scribe.rate_limit_take(text, integer, interval, integer, integer) IS
    'Allow or reject a request of cost tokens against key: limit per period, burst at once (GCRA, shared memory, not transactional)';

CREATE OR REPLACE FUNCTION scribe.rate_limit_reset(key text)
    RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_rate_limit_reset';
COMMENT ON FUNCTION scribe.rate_limit_reset(text) IS
    'Forget a rate limit key (its bucket is full again); false if it was not kept';

CREATE OR REPLACE FUNCTION scribe.rate_limit_stats(
    OUT keys bigint, OUT capacity bigint, OUT evictions bigint, OUT evictions_limiting bigint,
    OUT allowed bigint, OUT rejected bigint)
    RETURNS record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_rate_limit_status';
COMMENT ON FUNCTION scribe.rate_limit_stats() IS
    'The rate limiter''s table: keys kept, capacity, evictions (of which still limiting), requests allowed and rejected since the server started';
