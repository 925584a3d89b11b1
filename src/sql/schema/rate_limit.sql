-- pg_scribe schema: the type the rate limiter returns (run once, by CREATE
-- EXTENSION; the functions are in src/sql/rate_limit.sql).

-- A named row type rather than OUT parameters: the executor reads its
-- columns from the type cache, not from pg_proc's argument arrays, on every
-- execution of SELECT ... FROM scribe.rate_limit_take(...)
CREATE TYPE scribe.rate_limit_result AS (
    allowed boolean,            -- the request was let through (and used its cost)
    remaining integer,          -- requests of cost 1 still allowed right now
    retry_after interval,       -- when a rejected request may be allowed; 0 if allowed
    reset_after interval        -- when the key's bucket is full again
);
