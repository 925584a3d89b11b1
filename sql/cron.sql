-- Cron schedules: scribe.cron_next(schedule, after) gives the first minute
-- the expression names strictly after a time, read in UTC.  Every syntax
-- element, both day fields, leap years, month and year ends, macros, and
-- the errors with their SQLSTATEs.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
SET timezone = 'UTC';

-- strictly after: a time on a run gives the next one; seconds and
-- microseconds only decide whether the minute has begun
SELECT c.after, scribe.cron_next(c.expr, c.after) AS next
FROM (VALUES
    ('* * * * *', timestamptz '2024-01-01 00:00:00+00'),
    ('* * * * *', '2024-01-01 00:00:00.000001+00'),
    ('* * * * *', '2024-01-01 00:00:59.999999+00'),
    ('* * * * *', '2023-12-31 23:59:59.999999+00'),
    ('30 9 * * *', '2024-01-01 09:29:59+00'),
    ('30 9 * * *', '2024-01-01 09:30:00+00'),
    ('30 9 * * *', '2024-01-01 09:30:30+00')) AS c(expr, after);

-- numbers, lists, ranges, steps (*/n, a-b/n, a/n)
SELECT c.expr, c.after, scribe.cron_next(c.expr, c.after) AS next
FROM (VALUES
    ('0 * * * *', timestamptz '2024-01-01 00:00:00+00'),
    ('5,35 * * * *', '2024-01-01 00:05:00+00'),
    ('*/15 * * * *', '2024-01-01 00:14:00+00'),
    ('5-10/2 * * * *', '2024-01-01 00:07:00+00'),
    ('5-10/2 * * * *', '2024-01-01 00:09:00+00'),
    ('5/20 * * * *', '2024-01-01 00:46:00+00'),
    ('0 9-17 * * *', '2024-01-01 17:00:00+00'),
    ('0 */6 * * *', '2024-01-01 13:00:00+00'),
    ('1-5,50-55/5 0 * * *', '2024-01-01 00:05:00+00'),
    ('0 0 1,15 * *', '2024-01-02 00:00:00+00'),
    ('0 0 */10 * *', '2024-01-21 00:00:00+00'),
    ('0 0 1 */3 *', '2024-01-01 00:00:00+00'),
    ('007 08 * * *', '2024-01-01 00:00:00+00')) AS c(expr, after);

-- month and day names in any case; the day of week is 0-7, 0 and 7 both Sunday
-- (2024-01-01 is a Monday)
SELECT c.expr, c.after, scribe.cron_next(c.expr, c.after) AS next,
       to_char(scribe.cron_next(c.expr, c.after), 'Dy') AS weekday
FROM (VALUES
    ('0 0 1 jan,JUL *', timestamptz '2024-02-01 00:00:00+00'),
    ('0 0 1 Feb-Apr/2 *', '2024-03-01 00:00:00+00'),
    ('0 0 * * mon-fri', '2024-01-05 12:00:00+00'),
    ('0 0 * * 7', '2024-01-01 00:00:00+00'),
    ('0 0 * * 0', '2024-01-01 00:00:00+00'),
    ('0 0 * * Sun', '2024-01-01 00:00:00+00'),
    ('0 0 * * 5-7', '2024-01-05 00:00:00+00'),
    ('0 0 * * 6-7', '2024-01-06 00:00:00+00'),
    ('0 0 * * */2', '2024-01-01 00:00:00+00'),
    ('0 0 * * 1/2', '2024-01-05 00:00:00+00'),
    ('0 0 * * 1,fri', '2024-01-01 00:00:00+00')) AS c(expr, after);

-- both day fields restricted: a day runs if either matches (vixie cron);
-- a day field starting with * is unrestricted, and then both must match
SELECT c.expr, c.after, scribe.cron_next(c.expr, c.after) AS next,
       to_char(scribe.cron_next(c.expr, c.after), 'Dy') AS weekday
FROM (VALUES
    ('0 12 13 * fri', timestamptz '2024-01-01 00:00:00+00'),
    ('0 12 13 * fri', '2024-01-12 12:00:00+00'),
    ('0 0 30 2 mon', '2024-01-31 00:00:00+00'),
    ('0 12 */2 * fri', '2024-01-06 00:00:00+00'),
    ('0 12 13 * *', '2024-01-14 00:00:00+00'),
    ('0 12 * * fri', '2024-01-06 00:00:00+00')) AS c(expr, after);

-- February 29th: leap years, 1900 and 2100 are not, 2000 is; the longest
-- wait of all (February 29th on a Sunday) crosses 2100
SELECT c.expr, c.after, scribe.cron_next(c.expr, c.after) AS next
FROM (VALUES
    ('0 0 29 2 *', timestamptz '2023-01-01 00:00:00+00'),
    ('0 0 29 2 *', '2024-03-01 00:00:00+00'),
    ('0 0 29 2 *', '1999-03-01 00:00:00+00'),
    ('0 0 29 2 *', '2096-03-01 00:00:00+00'),
    ('0 0 29 2 *', '1897-01-01 00:00:00+00'),
    ('0 0 * * *', '2024-02-28 00:00:00+00'),
    ('0 0 * * *', '2023-02-28 00:00:00+00'),
    ('0 0 * * *', '2100-02-28 12:00:00+00'),
    ('0 0 28-31 2 *', '2023-02-28 00:00:00+00'),
    ('0 0 29 2 */7', '2088-03-01 00:00:00+00')) AS c(expr, after);

-- month ends and year rollover
SELECT c.expr, c.after, scribe.cron_next(c.expr, c.after) AS next
FROM (VALUES
    ('0 0 31 * *', timestamptz '2024-01-31 00:00:00+00'),
    ('0 0 30 * *', '2024-01-30 00:00:00+00'),
    ('0 0 31 4-12 *', '2024-04-01 00:00:00+00'),
    ('59 23 31 12 *', '2024-12-31 23:59:00+00'),
    ('0 0 1 1 *', '2024-12-31 23:59:59+00'),
    ('* * * * *', '2024-12-31 23:59:30+00')) AS c(expr, after);

-- macros (any case), and whitespace around and between fields
SELECT c.expr, c.after, scribe.cron_next(c.expr, c.after) AS next
FROM (VALUES
    ('@yearly', timestamptz '2024-12-31 23:59:59+00'),
    ('@annually', '2024-01-01 00:00:00+00'),
    ('@monthly', '2024-01-31 12:00:00+00'),
    ('@weekly', '2024-01-01 00:00:00+00'),
    ('@daily', '2024-02-28 00:00:00+00'),
    ('@midnight', '2024-02-29 23:59:59+00'),
    ('@HOURLY', '2024-01-01 23:30:00+00'),
    (E'  0\t0  *  *  *  ', '2024-01-01 00:00:00+00'),
    (' @daily ', '2024-01-01 00:00:00+00')) AS c(expr, after);

-- before 1970, and the ends of the timestamp range
SELECT c.expr, c.after, scribe.cron_next(c.expr, c.after) AS next
FROM (VALUES
    ('0 0 1 1 *', timestamptz '1969-12-31 23:59:59.5+00'),
    ('* * * * *', '1969-12-31 23:58:59.5+00'),
    ('* * * * *', '1969-12-31 23:59:00+00'),
    ('0 0 * * *', '1900-02-28 00:00:00+00'),
    ('0 0 1 1 *', '4714-11-24 00:00:00+00 BC'),
    ('* * * * *', '294276-12-31 23:58:00+00')) AS c(expr, after);

-- UTC whatever the session's time zone: 09:00 UTC is 04:00 in New York in
-- winter and 05:00 in summer, and the same instant as in UTC
SET timezone = 'America/New_York';
SELECT scribe.cron_next('0 9 * * *', '2024-01-15 00:00:00+00') AS winter,
       scribe.cron_next('0 9 * * *', '2024-07-15 00:00:00+00') AS summer,
       scribe.cron_next('0 9 * * *', '2024-01-15 00:00:00+00') = '2024-01-15 09:00:00+00' AS same_instant;
-- across the change to daylight saving time (2024-03-10 02:00 local): one run per hour still
SELECT scribe.cron_next('0 * * * *', '2024-03-10 06:30:00+00') AS before_change,
       scribe.cron_next('0 * * * *', '2024-03-10 07:00:00+00') AS after_change;
SET timezone = 'UTC';

-- after defaults to now(); NULL arguments give NULL
SELECT scribe.cron_next('* * * * *') > now() AND scribe.cron_next('* * * * *') <= now() + interval '1 minute'
    AS next_minute;
SELECT scribe.cron_next(NULL, now()) IS NULL AS null_schedule, scribe.cron_next('* * * * *', NULL) IS NULL AS null_after;

-- the errors: a bad expression (with the format in the hint), one that never runs
SELECT scribe.cron_next('60 * * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('0 0 30 2 *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the rest without the hint
\set VERBOSITY terse
SELECT scribe.cron_next('', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('   ', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('0 0 0 1 1 *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* 24 * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * 0 * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * 32 * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * * 13 *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * * * 8', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('99999999999999999999999999999 * * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('1,,2 * * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* 1, * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('1- * * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('*/0 * * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('*/61 * * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('*/ * * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('30-10 * * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * * * sat-sun', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('*/5/2 * * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * * * 1x', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * * foo *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * * * monday', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* noon * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * ? * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * * * é', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('0 0 31 4,6,9,11 *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('@daily 5', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('@often', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('@reboot', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- an over-long expression is not repeated in the message
SELECT scribe.cron_next('* * * * *' || repeat(' ', 248), '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next(repeat('1,', 200) || '1 * * * *', '2024-01-01');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- no run after infinity, or past the end of timestamps
SELECT scribe.cron_next('* * * * *', 'infinity');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * * * *', '-infinity');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cron_next('* * * * *', '294276-12-31 23:59:00+00');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- an expression is checked before the time: a bad one with an infinite after is 22023
SELECT scribe.cron_next('bad', 'infinity');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- pure: IMMUTABLE, STRICT, PARALLEL SAFE
SELECT provolatile, proisstrict, proparallel FROM pg_proc WHERE oid = 'scribe.cron_next(text, timestamptz)'::regprocedure;
