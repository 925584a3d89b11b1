-- pg_scribe install script: the rate limiter (GCRA in shared memory).

-- A named row type rather than OUT parameters: the executor reads its
-- columns from the type cache, not from pg_proc's argument arrays, on every
-- execution of SELECT ... FROM scribe.rate_limit(...)
CREATE TYPE scribe.rate_limit_result AS (
    allowed boolean,            -- the request was let through (and used its cost)
    remaining integer,          -- requests of cost 1 still allowed right now
    retry_after interval,       -- when a rejected request may be allowed; 0 if allowed
    reset_after interval        -- when the key's bucket is full again
);
COMMENT ON TYPE scribe.rate_limit_result IS 'What scribe.rate_limit() decided';

CREATE FUNCTION scribe.rate_limit(
    key text, "limit" integer, period interval, burst integer DEFAULT NULL, cost integer DEFAULT 1)
    RETURNS scribe.rate_limit_result
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_rate_limit';
COMMENT ON FUNCTION scribe.rate_limit(text, integer, interval, integer, integer) IS
    'Allow or reject a request of cost tokens against key: limit per period, burst at once (GCRA, shared memory, not transactional)';

CREATE FUNCTION scribe.rate_limit_reset(key text)
    RETURNS boolean
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_rate_limit_reset';
COMMENT ON FUNCTION scribe.rate_limit_reset(text) IS
    'Forget a rate limit key (its bucket is full again); false if it was not kept';

CREATE FUNCTION scribe.rate_limit_status(
    OUT keys bigint, OUT capacity bigint, OUT evictions bigint, OUT evictions_limiting bigint,
    OUT allowed bigint, OUT rejected bigint)
    RETURNS record
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'scribe_rate_limit_status';
COMMENT ON FUNCTION scribe.rate_limit_status() IS
    'The rate limiter''s table: keys kept, capacity, evictions (of which still limiting), requests allowed and rejected since the server started';
