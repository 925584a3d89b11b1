-- How the queue tables are built for churn: claims are HOT updates, the
-- hot table has its own autovacuum settings, the archive is partitioned.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;

SELECT plan(7);

SELECT count(*) AS created FROM scribe.queue_create('tap_storage', consumer => 'clients') \gset
SELECT count(*) AS sent FROM scribe.send_batch('tap_storage', array_fill('{}'::jsonb, ARRAY[200])) \gset
SELECT pg_stat_get_xact_tuples_hot_updated('scribe.jobs'::regclass) AS hot_before \gset
SELECT pg_stat_get_xact_tuples_updated('scribe.jobs'::regclass) AS updated_before \gset
-- the first page has room (fillfactor 80) for ten new row versions
SELECT count(*) AS claimed FROM scribe.claim('tap_storage', 10) \gset
SELECT is(pg_stat_get_xact_tuples_updated('scribe.jobs'::regclass) - :updated_before, 10::bigint,
          'claiming 10 jobs updates 10 rows');
SELECT is(pg_stat_get_xact_tuples_hot_updated('scribe.jobs'::regclass) - :hot_before, 10::bigint,
          'and every one of those updates is HOT: no index covers what a claim changes');

SELECT is_empty($$
    SELECT i.indexrelid::regclass::text
    FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = 'scribe.jobs'::regclass
      AND a.attname IN ('attempts', 'lease', 'lease_until', 'claimed_at', 'claimed_by', 'errors')
$$, 'no index of scribe.jobs covers a column that claims change');

SELECT ok((SELECT reloptions @> ARRAY['fillfactor=80', 'autovacuum_vacuum_scale_factor=0.01']
           FROM pg_class WHERE oid = 'scribe.jobs'::regclass),
          'scribe.jobs leaves room for HOT updates and is vacuumed early');

SELECT is((SELECT partstrat::text FROM pg_partitioned_table WHERE partrelid = 'scribe.jobs_archive'::regclass),
          'r', 'the archive is range-partitioned');
SELECT ok((SELECT count(*) >= 4 FROM pg_inherits
           WHERE inhparent = 'scribe.jobs_archive'::regclass),
          'partitions exist for today and the days ahead');
SELECT ok(to_regclass(format('scribe.jobs_archive_p%s', to_char((now() AT TIME ZONE 'UTC')::date, 'YYYYMMDD'))) IS NOT NULL,
          'today''s partition exists');

SELECT * FROM finish();
ROLLBACK;
