-- The rate limiter: GCRA per key in shared memory; burst, cost, peeking,
-- reset, time inside a transaction, and the errors of each argument.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- state lives in shared memory: start from nothing if the test runs again
SELECT count(scribe.rate_limit_reset(k)) AS keys_reset
FROM unnest(ARRAY['rl:fresh', 'rl:burst', 'rl:cost', 'rl:peek', 'rl:moving', 'rl:rollback',
                  'rl:strict', 'rl:fine', '', repeat('k', 200)]) k;

-- The limiter's clock is the real one: waits are shown in whole minutes of
-- hour-long periods, so that the seconds these statements take (however
-- slow the machine) never change a number.

-- limit 3 per hour: three at once, then a fourth must wait a third of an hour
SELECT allowed, remaining, retry_after = '0' AS no_wait, ceil(extract(epoch FROM reset_after) / 60) AS reset_min
FROM scribe.rate_limit_take('rl:fresh', 3, '1 hour');
SELECT allowed, remaining, ceil(extract(epoch FROM reset_after) / 60) AS reset_min
FROM scribe.rate_limit_take('rl:fresh', 3, '1 hour');
SELECT allowed, remaining, ceil(extract(epoch FROM reset_after) / 60) AS reset_min
FROM scribe.rate_limit_take('rl:fresh', 3, '1 hour');
SELECT allowed, remaining, ceil(extract(epoch FROM retry_after) / 60) AS retry_min,
       ceil(extract(epoch FROM reset_after) / 60) AS reset_min
FROM scribe.rate_limit_take('rl:fresh', 3, '1 hour');
-- a rejected request uses nothing: the wait does not grow
SELECT allowed, ceil(extract(epoch FROM retry_after) / 60) AS retry_min
FROM scribe.rate_limit_take('rl:fresh', 3, '1 hour');

-- burst: 2 per hour on average, 5 at once; then one every 30 minutes
SELECT count(*) FILTER (WHERE a) AS allowed, count(*) FILTER (WHERE NOT a) AS rejected
FROM (SELECT (scribe.rate_limit_take('rl:burst', 2, '1 hour', burst => 5)).allowed AS a
      FROM generate_series(1, 8)) calls;
SELECT allowed, remaining, ceil(extract(epoch FROM retry_after) / 60) AS retry_min
FROM scribe.rate_limit_take('rl:burst', 2, '1 hour', burst => 5);
-- a burst below the limit smooths: 6 per hour, one at a time
SELECT allowed, remaining FROM scribe.rate_limit_take('rl:strict', 6, '1 hour', burst => 1);
SELECT allowed, remaining, ceil(extract(epoch FROM retry_after) / 60) AS retry_min
FROM scribe.rate_limit_take('rl:strict', 6, '1 hour', burst => 1);

-- cost: a request may use several tokens; a rejected one uses none
SELECT allowed, remaining FROM scribe.rate_limit_take('rl:cost', 10, '1 hour', cost => 4);
SELECT allowed, remaining FROM scribe.rate_limit_take('rl:cost', 10, '1 hour', cost => 4);
SELECT allowed, remaining, ceil(extract(epoch FROM retry_after) / 60) AS retry_min
FROM scribe.rate_limit_take('rl:cost', 10, '1 hour', cost => 4);
SELECT allowed, remaining FROM scribe.rate_limit_take('rl:cost', 10, '1 hour', cost => 2);

-- cost 0 peeks: a new key keeps nothing, a used one shows what is left
SELECT (scribe.rate_limit_stats()).keys AS keys_before \gset
SELECT allowed, remaining, reset_after = '0' AS full FROM scribe.rate_limit_take('rl:peek', 5, '1 hour', cost => 0);
SELECT (scribe.rate_limit_stats()).keys - :keys_before AS keys_added;
SELECT allowed FROM scribe.rate_limit_take('rl:peek', 5, '1 hour', cost => 2);
SELECT allowed, remaining FROM scribe.rate_limit_take('rl:peek', 5, '1 hour', cost => 0);
SELECT allowed, remaining FROM scribe.rate_limit_take('rl:peek', 5, '1 hour', cost => 0);
SELECT allowed, remaining FROM scribe.rate_limit_take('rl:cost', 10, '1 hour', cost => 0);

-- reset: the key is forgotten, its bucket full again
SELECT scribe.rate_limit_reset('rl:fresh') AS was_kept;
SELECT scribe.rate_limit_reset('rl:fresh') AS was_kept;
SELECT allowed, remaining FROM scribe.rate_limit_take('rl:fresh', 3, '1 hour');

-- the clock moves inside a transaction (1 per 2 seconds): two requests
-- in one statement, the second refused; the period slept past, allowed
BEGIN;
SELECT array_agg(allowed ORDER BY g) AS first_two
FROM (SELECT g, (scribe.rate_limit_take('rl:moving', 1, '2 seconds')).allowed FROM generate_series(1, 2) g) calls;
SELECT pg_sleep(2.1);
SELECT allowed FROM scribe.rate_limit_take('rl:moving', 1, '2 seconds');
COMMIT;

-- not transactional: a rollback gives nothing back
BEGIN;
SELECT allowed, remaining FROM scribe.rate_limit_take('rl:rollback', 2, '1 hour');
ROLLBACK;
SELECT allowed, remaining FROM scribe.rate_limit_take('rl:rollback', 2, '1 hour', cost => 0);

-- keys are bytes: empty, 200 bytes, multibyte characters
SELECT allowed, remaining FROM scribe.rate_limit_take('', 1, '1 hour');
SELECT allowed, remaining FROM scribe.rate_limit_take('', 1, '1 hour');
SELECT allowed, remaining FROM scribe.rate_limit_take(repeat('k', 200), 2, '1 hour');
SELECT allowed, remaining FROM scribe.rate_limit_take(repeat('k', 200), 2, '1 hour');
SELECT octet_length(repeat('é', 101)) AS bytes;
SELECT allowed FROM scribe.rate_limit_take(repeat('é', 101), 2, '1 hour');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- errors
SELECT allowed FROM scribe.rate_limit_take(repeat('k', 201), 1, '1 hour');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.rate_limit_reset(repeat('k', 201));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take(NULL, 1, '1 hour');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', NULL, '1 hour');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 1, NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 1, '1 hour', cost => NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.rate_limit_reset(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 0, '1 hour');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', -5, '1 hour');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 1, '0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 1, '-1 second');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 1, '367 days');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 1, '1000000 years');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 1, '1 hour', burst => 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 1, '1 hour', cost => -1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 5, '1 hour', cost => 6);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 5, '1 hour', burst => 2, cost => 3);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 1, '1 year', burst => 11);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the longest period and burst that fit, and a rate finer than a nanosecond
SELECT allowed FROM scribe.rate_limit_take('rl:bad', 1, '366 days', burst => 9);
SELECT allowed, remaining FROM scribe.rate_limit_take('rl:fine', 2147483647, '1 millisecond', burst => 2147483647);
SELECT scribe.rate_limit_reset('rl:bad') AS was_kept;
SELECT allowed, remaining AS full_again FROM scribe.rate_limit_take('rl:bad', 1, '1 hour', cost => 0);

-- monitoring
SELECT capacity, keys > 0 AS has_keys, allowed > 0 AS has_allowed, rejected > 0 AS has_rejected,
       evictions, evictions_limiting
FROM scribe.rate_limit_stats();
