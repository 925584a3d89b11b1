-- The SQL API of pg_scribe: what exists, who may call it, and how it is
-- declared.  Invariants here hold for every function later issues add.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;

SELECT plan(52);

SELECT has_schema('scribe');
SELECT functions_are('scribe', ARRAY[
    'version', 'health',
    'queue_create', 'queue_alter', 'queue_drop', 'queue_list',
    'send', 'send_batch', 'claim', 'ack', 'nack', 'release', 'extend_lease',
    'requeue', 'queue_purge', 'queue_stats', 'job_get', 'worker_status',
    '_library_status', '_launcher_status', '_worker_slots',
    '_queues_changed', '_queue_jobs_changed', '_queue_not_found', '_queue_check_policy', '_job_state', '_queue_name', '_queue_dead_letters',
    -- queues have owners, who grant their rights
    'queue_grant', 'queue_revoke', '_queue_create', '_queue_alter', '_queue_drop', '_queue_purge', '_requeue',
    '_queue_grant', '_queue_revoke', '_queue_admin', '_queue_managed', '_queue_new_owner', '_queue_rights_parse',
    '_queue_role_required', '_queue_check_right', '_queue_roles_forget',
    '_archive_partitions_ensure', '_archive_partitions_expire',
    'ocr', 'ocr_detail', 'ocr_words', 'ocr_hocr', 'ocr_tsv', 'ocr_pdf', '_ocr_make_pdf', 'image_info', 'ocr_languages',
    'text_normalize', 'image_recompress', 'document_submit', 'document_get', 'document_search', 'ocr_costs',
    'document_get_many', 'document_get_text', 'document_get_pages', 'document_list', 'document_delete',
    '_document_submit', '_document_get', '_document_get_many', '_document_get_text', '_document_get_pages',
    '_document_get_image', '_document_get_pdf', '_document_list', '_document_search', '_document_delete',
    '_document_delete_image', '_document_finished', '_ocr_costs',
    'document_get_image_for_job', '_document_get_image_for_job', '_job_leased',
    '_ocr_engine_pid', '_ocr_check_options', '_ocr_cloud_configured', '_search_config',
    'rate_limit_take', 'rate_limit_reset', 'rate_limit_stats',
    'cache_set', 'cache_set_bytea', 'cache_set_jsonb', 'cache_get', 'cache_get_bytea', 'cache_get_jsonb', 'cache_delete', 'cache_invalidate',
    'cache_stats', 'cache_clear', 'cache_fetch', 'cache_fetch_jsonb', 'cache_get_many', 'cache_warm',
    'cache_namespace_stats', 'cache_invalidate_on', 'cache_invalidate_trigger', '_cache_event_trigger',
    'redis_stats', '_redis_get', '_redis_set', '_redis_del', '_redis_incr', '_redis_mget', '_redis_set_many',
    'policy_create', 'policy_alter', 'policy_drop', 'policy_run', 'policy_prune_runs',
    '_create_policy', '_alter_policy', '_drop_policy', '_run_policy_now', '_policies_changed', '_run_as',
    '_schedule_policies', '_schedule_is_cron', '_schedule_next', '_policy_clock', '_policy_alert',
    '_policy_check', '_policy_check_keys', '_policy_check_mark', '_policy_check_archive_table',
    '_policy_interval', '_policy_integer', '_policy_invalid', '_policy_time_column', '_policy_permanent',
    '_policy_target', '_policy_condition',
    '_policy_managed', '_policy_plan', '_policy_act', '_policy_step', '_policy_failed', '_policy_enqueue',
    '_policy_batch', '_policy_leaf', '_matview_refreshable_concurrently',
    '_partition_bounds', '_partition_bound_value', '_partition_default_periods', '_partition_literal',
    '_partition_name', '_partition_width', '_archive_documents', '_policy_check_documents', 'document_get_image', 'document_get_pdf', 'cron_next',
    '_s3_put', '_s3_get', '_s3_delete', '_s3_exists',
    'replication_publish', 'replication_subscribe', 'replication_unsubscribe', 'replication_status', '_replica_tables', '_node_role',
    'node_forget', '_heartbeat_stale_after',
    'replication_commit_lsn', 'replication_wait_lsn',
    -- capacity planning
    'capacity_plan', 'capacity_inputs', '_capacity_check', '_capacity_round',
    -- monitoring
    'metrics', '_queue_totals', 'queue_status', 'cache_status', 'policy_status',
    -- health's verdict and scaling advice
    'capacity_advice', '_health_reasons', '_partition_runway', '_pool_start_status', '_advice_check'],
    'the scribe schema holds exactly the documented functions');
SELECT is(ARRAY(SELECT relname::text FROM pg_class
                WHERE relnamespace = 'scribe'::regnamespace AND relkind IN ('r', 'p')
                  AND NOT relispartition ORDER BY 1),
          ARRAY['cache_events', 'document_pages', 'documents', 'heartbeat', 'jobs', 'jobs_archive', 'jobs_dead',
                'ocr_ledger', 'policies', 'policy_runs', 'queue_rights', 'queues', 'subscriptions'],
          'the scribe schema holds exactly the documented tables');

SELECT function_returns('scribe', 'version', ARRAY[]::text[], 'text');
SELECT function_returns('scribe', 'health', ARRAY[]::text[], 'jsonb');
SELECT function_returns('scribe', 'send',
    ARRAY['text', 'jsonb', 'text', 'interval', 'timestamp with time zone', 'integer', 'text', 'integer'], 'bigint');
SELECT function_returns('scribe', 'claim', ARRAY['text', 'integer', 'interval', 'interval'], 'setof scribe.claimed_job');
-- a lease is named by its token, never by an attempt number
SELECT function_returns('scribe', 'ack', ARRAY['bigint', 'uuid', 'jsonb'], 'boolean');
SELECT function_returns('scribe', 'nack', ARRAY['bigint', 'uuid', 'text', 'interval', 'boolean'], 'text');
SELECT function_returns('scribe', 'release', ARRAY['bigint', 'uuid'], 'boolean');
SELECT function_returns('scribe', 'extend_lease', ARRAY['bigint', 'uuid', 'interval'], 'timestamp with time zone');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
    WHERE p.pronamespace = 'scribe'::regnamespace
      AND p.proname IN ('ack', 'nack', 'release', 'extend_lease')
      AND p.proargtypes[1] <> 'uuid'::regtype
$$, 'ack, nack, release and extend_lease take the lease token second');
SELECT function_returns('scribe', 'queue_grant', ARRAY['text', 'regrole', 'text[]'], 'void');
SELECT function_returns('scribe', 'queue_revoke', ARRAY['text', 'regrole', 'text[]'], 'void');
SELECT function_returns('scribe', 'queue_alter',
    ARRAY['text', 'text', 'interval', 'integer', 'interval', 'interval', 'interval', 'regrole'], 'scribe.queues');
SELECT function_returns('scribe', 'replication_wait_lsn', ARRAY['pg_lsn', 'interval', 'name', 'boolean'], 'boolean');

CREATE ROLE regress_scribe_nobody_yet;
SELECT is_empty($$
    SELECT p.oid::regprocedure::text
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
    WHERE p.pronamespace = 'scribe'::regnamespace AND l.lanname <> 'c'
      AND NOT EXISTS (SELECT FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%')
$$, 'every SQL and PL/pgSQL function pins its search_path (C functions pin it for their statements)');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text || ': ' || c
    FROM pg_proc p, unnest(p.proconfig) AS c
    WHERE p.pronamespace = 'scribe'::regnamespace AND c LIKE 'search_path=%'
      AND c <> 'search_path=pg_catalog, pg_temp'
$$, 'every pinned search_path is pg_catalog, pg_temp: temporary objects come last, never before the catalog');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text
    FROM pg_proc p
    WHERE p.pronamespace = 'scribe'::regnamespace AND p.prosecdef
      AND (has_function_privilege('regress_scribe_nobody_yet', p.oid, 'EXECUTE')
           OR pg_get_userbyid(p.proowner) <> (SELECT pg_get_userbyid(extowner) FROM pg_extension WHERE extname = 'pg_scribe'))
$$, 'every SECURITY DEFINER function belongs to the extension''s owner and is revoked from PUBLIC');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text
    FROM pg_proc p
    WHERE p.pronamespace = 'scribe'::regnamespace
      AND obj_description(p.oid, 'pg_proc') IS NULL
$$, 'every function has a comment');

SELECT is_empty($$
    SELECT c.oid::regclass::text
    FROM pg_class c
    WHERE c.relnamespace = 'scribe'::regnamespace
      AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND NOT c.relispartition
      AND NOT EXISTS (SELECT FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                        AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e')
$$, 'every relation in the schema belongs to the extension');

-- privileges: PUBLIC gets the version only; monitoring roles may watch
CREATE ROLE regress_scribe_nobody;
SELECT is_empty($$
    SELECT p.oid::regprocedure::text
    FROM pg_proc p
    WHERE p.pronamespace = 'scribe'::regnamespace AND p.proname <> 'version'
      AND p.proname NOT IN ('replication_commit_lsn', 'replication_wait_lsn')
      AND has_function_privilege('regress_scribe_nobody', p.oid, 'EXECUTE')
$$, 'PUBLIC may call no function but version() and read-your-writes');
SELECT ok(has_function_privilege('regress_scribe_nobody', 'scribe.version()', 'EXECUTE'),
          'PUBLIC may call version()');
SELECT ok(has_function_privilege('regress_scribe_nobody', 'scribe.replication_commit_lsn()', 'EXECUTE'),
          'PUBLIC may call replication_commit_lsn()');
SELECT ok(has_function_privilege('regress_scribe_nobody', 'scribe.replication_wait_lsn(pg_lsn, interval, name, boolean)', 'EXECUTE'),
          'PUBLIC may call replication_wait_lsn()');
SELECT is_empty($$
    SELECT c.oid::regclass::text
    FROM pg_class c
    WHERE c.relnamespace = 'scribe'::regnamespace AND c.relkind IN ('r', 'p')
      AND has_table_privilege('regress_scribe_nobody', c.oid, 'SELECT')
$$, 'PUBLIC may read no table');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text
    FROM pg_proc p
    WHERE p.pronamespace = 'scribe'::regnamespace AND p.prosecdef
      AND p.prolang NOT IN (SELECT oid FROM pg_language WHERE lanname IN ('plpgsql', 'sql'))
$$, 'SECURITY DEFINER only for SQL and PL/pgSQL functions (C functions switch roles themselves)');
SELECT ok(has_function_privilege('pg_monitor', 'scribe.health()', 'EXECUTE'),
          'pg_monitor may call health()');
SELECT ok(has_function_privilege('pg_monitor', 'scribe.queue_stats(text, interval)', 'EXECUTE'),
          'pg_monitor may call queue_stats()');
SELECT ok(has_function_privilege('pg_monitor', 'scribe.worker_status()', 'EXECUTE'),
          'pg_monitor may call worker_status()');
SELECT ok(has_function_privilege('pg_monitor', 'scribe.rate_limit_stats()', 'EXECUTE'),
          'pg_monitor may call rate_limit_stats()');
SELECT ok(has_function_privilege('pg_monitor', 'scribe.redis_stats()', 'EXECUTE'),
          'pg_monitor may call redis_stats()');
SELECT ok(has_function_privilege('pg_monitor', 'scribe.cache_stats()', 'EXECUTE'),
          'pg_monitor may call cache_stats()');
SELECT ok(has_function_privilege('pg_monitor', 'scribe.cache_namespace_stats()', 'EXECUTE'),
          'pg_monitor may call cache_namespace_stats()');
SELECT ok(has_function_privilege('pg_monitor', 'scribe.replication_status()', 'EXECUTE'),
          'pg_monitor may call replication_status()');
SELECT ok(has_function_privilege('pg_monitor', 'scribe.policy_status()', 'EXECUTE'),
          'pg_monitor may call policy_status()');
-- capacity planning reads every owner's documents: monitoring roles, not PUBLIC
SELECT ok(has_function_privilege('pg_monitor',
              'scribe.capacity_plan(integer, numeric, numeric, numeric, numeric, numeric, numeric, numeric, integer, numeric, numeric, numeric, numeric, numeric, boolean)',
              'EXECUTE'),
          'pg_monitor may call capacity_plan()');
SELECT ok(has_function_privilege('pg_monitor', 'scribe.capacity_inputs()', 'EXECUTE'),
          'pg_monitor may call capacity_inputs()');
SELECT function_returns('scribe', 'capacity_inputs', ARRAY[]::text[], 'setof record');
-- monitoring: scribe.metrics() and the views, for pg_monitor only
SELECT ok(has_function_privilege('pg_monitor', 'scribe.metrics()', 'EXECUTE'),
          'pg_monitor may scrape scribe.metrics()');
SELECT ok(NOT has_function_privilege('public', 'scribe.metrics()', 'EXECUTE'),
          'PUBLIC may not scrape scribe.metrics()');
SELECT is(ARRAY(SELECT p.proname::text FROM pg_proc p
                WHERE p.pronamespace = 'scribe'::regnamespace
                  AND p.proname IN ('queue_status', 'cache_status', 'worker_status', 'policy_status')
                  AND has_function_privilege('pg_monitor', p.oid, 'EXECUTE')
                  AND NOT has_function_privilege('public', p.oid, 'EXECUTE') ORDER BY 1),
          ARRAY['cache_status', 'policy_status', 'queue_status', 'worker_status'],
          'pg_monitor, not PUBLIC, may call the status functions');
SELECT is(ARRAY(SELECT c.relname::text FROM pg_class c
                WHERE c.relnamespace = 'scribe'::regnamespace AND c.relkind IN ('v', 'm') ORDER BY 1),
          ARRAY[]::text[], 'no views: every answer is a function, its rights its own');
SELECT function_returns('scribe', 'metrics', ARRAY[]::text[], 'text');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text || ' to ' || a.grantee::regrole::text
                FROM pg_proc p, aclexplode(p.proacl) a
                WHERE p.pronamespace = 'scribe'::regnamespace AND p.proname LIKE '\_%'
                  AND a.grantee <> p.proowner ORDER BY 1),
          ARRAY[]::text[], 'internal functions are granted to nobody');
SELECT ok(has_function_privilege('pg_monitor',
          'scribe.capacity_advice(interval, interval, real, bigint, bigint, interval, interval, bigint, interval, real, interval)',
          'EXECUTE'), 'pg_monitor may call capacity_advice()');
SELECT ok(NOT has_function_privilege('public',
          'scribe.capacity_advice(interval, interval, real, bigint, bigint, interval, interval, bigint, interval, real, interval)',
          'EXECUTE'), 'PUBLIC may not call capacity_advice() (it shows jobs'' errors)');
SELECT ok(NOT has_function_privilege('public', 'scribe._health_reasons()', 'EXECUTE'),
          'PUBLIC may not call _health_reasons()');
SELECT ok(NOT has_function_privilege('public', 'scribe._run_as(regrole, text, integer)', 'EXECUTE'),
          'PUBLIC may not run SQL as another role');
SELECT function_returns('scribe', 'rate_limit_take', ARRAY['text', 'integer', 'interval', 'integer', 'integer'],
                        'scribe.rate_limit_result');

SELECT col_is_pk('scribe', 'heartbeat', 'node_name', 'heartbeat rows are keyed by node');
SELECT col_is_pk('scribe', 'jobs', 'job_id', 'jobs are keyed by job_id');

SELECT * FROM finish();
ROLLBACK;
