-- scribe.capacity_advice(): its columns, clear errors for thresholds out of
-- range, and who may call it.  (t/071 brings about each finding.)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/outcome.sql

-- the columns of a finding
SELECT array_agg(a.attname::text ORDER BY a.attnum) AS columns
FROM pg_proc p, unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(attname, mode, attnum)
WHERE p.oid = 'scribe.capacity_advice'::regproc AND a.mode = 'o';

-- every threshold, checked
SELECT a AS arguments, pg_temp.outcome(format('SELECT * FROM scribe.capacity_advice(%s)', a)) AS outcome
FROM unnest(ARRAY[
    'ocr_p95 => ''0 s''',
    'ocr_p95 => NULL',
    'ocr_backlog_age => ''-1 minute''',
    'cache_hit_rate_target => 1.5',
    'cache_hit_rate_target => -0.1',
    'cache_min_lookups => 0',
    'dead_letters => 0',
    'dead_letter_window => ''0''',
    'replica_lag => ''0''',
    'replica_lag_bytes => -1',
    'partition_runway => ''0''',
    'cloud_cost_share => 2',
    'cost_window => ''-30 days''',
    'cache_hit_rate_target => 0, cloud_cost_share => 1, replica_lag_bytes => 0'
]) AS a;

-- a monitoring role may ask, PUBLIC may not
CREATE ROLE regress_advice_nobody;
CREATE ROLE regress_advice_monitor IN ROLE pg_monitor;
SET ROLE regress_advice_nobody;
SELECT pg_temp.outcome('SELECT * FROM scribe.capacity_advice()') AS nobody;
RESET ROLE;
SET ROLE regress_advice_monitor;
SELECT pg_temp.outcome('SELECT * FROM scribe.capacity_advice()') AS monitor;
RESET ROLE;
DROP ROLE regress_advice_nobody, regress_advice_monitor;
