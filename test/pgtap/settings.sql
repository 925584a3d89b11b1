-- The scribe.* settings: names, defaults and contexts are part of the API.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(13);

SELECT results_eq($$
    SELECT name, boot_val, context
    FROM pg_settings WHERE name LIKE 'scribe.%' ORDER BY name
$$, $$ VALUES
    ('scribe.cache_fetch_beta', '1', 'user'),
    ('scribe.cache_fetch_wait', '5000', 'user'),
    ('scribe.cache_max_value_size', '1048576', 'superuser'),
    ('scribe.cache_memory', '64', 'postmaster'),
    ('scribe.database', 'postgres', 'postmaster'),
    ('scribe.heartbeat_interval', '10', 'sighup'),
    ('scribe.http_allowed_hosts', '', 'sighup'),
    ('scribe.http_connect_timeout', '5000', 'sighup'),
    ('scribe.http_max_redirects', '5', 'sighup'),
    ('scribe.http_max_response_size', '1048576', 'sighup'),
    ('scribe.http_timeout', '30000', 'sighup'),
    ('scribe.job_search_path', '"$user", public', 'sighup'),
    ('scribe.jobs_per_worker', '10', 'sighup'),
    ('scribe.max_image_bytes', '52428800', 'superuser'),
    ('scribe.max_image_pages', '100', 'superuser'),
    ('scribe.max_image_pixels', '100000000', 'superuser'),
    ('scribe.max_payload_size', '1048576', 'sighup'),
    ('scribe.max_queues', '64', 'postmaster'),
    ('scribe.max_workers', '4', 'sighup'),
    ('scribe.min_workers', '1', 'sighup'),
    ('scribe.node_name', '', 'postmaster'),
    ('scribe.ocr_cloud_key', '', 'sighup'),
    ('scribe.ocr_cloud_timeout', '30000', 'sighup'),
    ('scribe.ocr_cloud_url', '', 'sighup'),
    ('scribe.ocr_cost_cloud', '0.0015', 'sighup'),
    ('scribe.ocr_cost_local', '0.0001', 'sighup'),
    ('scribe.ocr_cpu_limit', '300', 'superuser'),
    ('scribe.ocr_detect_orientation', 'on', 'user'),
    ('scribe.ocr_memory_limit', '2048', 'superuser'),
    ('scribe.ocr_tessdata_dir', '/usr/share/tesseract-ocr/5/tessdata', 'superuser'),
    ('scribe.ocr_threads', '1', 'superuser'),
    ('scribe.ocr_timeout', '120000', 'user'),
    ('scribe.owner', '', 'user'),
    ('scribe.policy_clock_offset', '0', 'superuser'),
    ('scribe.queue_conninfo', '', 'sighup'),
    ('scribe.queue_poll_interval', '1000', 'sighup'),
    ('scribe.rate_limit_keys', '10000', 'postmaster'),
    ('scribe.redis_breaker_cooldown', '5000', 'sighup'),
    ('scribe.redis_breaker_failures', '5', 'sighup'),
    ('scribe.redis_command_timeout', '50', 'sighup'),
    ('scribe.redis_connect_timeout', '50', 'sighup'),
    ('scribe.redis_url', '', 'sighup'),
    ('scribe.s3_access_key', '', 'sighup'),
    ('scribe.s3_bucket', '', 'sighup'),
    ('scribe.s3_endpoint', '', 'sighup'),
    ('scribe.s3_region', 'us-east-1', 'sighup'),
    ('scribe.s3_secret_key', '', 'sighup'),
    ('scribe.s3_timeout', '30000', 'sighup'),
    ('scribe.worker_idle_timeout', '60', 'sighup')
$$, 'every setting, with its default and context');

SELECT is(unit, 's', 'scribe.heartbeat_interval is in seconds')
FROM pg_settings WHERE name = 'scribe.heartbeat_interval';

-- scribe.database names the database the launcher connects to: superuser only
CREATE ROLE regress_scribe_nobody;
SET ROLE regress_scribe_nobody;
SELECT throws_ok($$ SELECT current_setting('scribe.database') $$, '42501', NULL,
                 'only superusers read scribe.database');
SELECT throws_ok($$ SELECT current_setting('scribe.http_allowed_hosts') $$, '42501', NULL,
                 'only superusers read scribe.http_allowed_hosts');
SELECT throws_ok($$ SELECT current_setting('scribe.ocr_cloud_key') $$, '42501', NULL,
                 'only superusers read scribe.ocr_cloud_key');
SELECT throws_ok($$ SELECT current_setting('scribe.ocr_cloud_url') $$, '42501', NULL,
                 'only superusers read scribe.ocr_cloud_url');
SELECT throws_ok($$ SET scribe.max_image_pixels = 1000000000 $$, '42501', NULL,
                 'only superusers raise the image limits');
SELECT throws_ok($$ SELECT current_setting('scribe.redis_url') $$, '42501', NULL,
                 'only superusers read scribe.redis_url');
SELECT throws_ok($$ SELECT current_setting('scribe.s3_endpoint') $$, '42501', NULL,
                 'only superusers read scribe.s3_endpoint');
SELECT throws_ok($$ SELECT current_setting('scribe.s3_bucket') $$, '42501', NULL,
                 'only superusers read scribe.s3_bucket');
SELECT throws_ok($$ SELECT current_setting('scribe.s3_access_key') $$, '42501', NULL,
                 'only superusers read scribe.s3_access_key');
SELECT throws_ok($$ SELECT current_setting('scribe.s3_secret_key') $$, '42501', NULL,
                 'only superusers read scribe.s3_secret_key');
SELECT throws_ok($$ SELECT current_setting('scribe.queue_conninfo') $$, '42501', NULL,
                 'only superusers read scribe.queue_conninfo (it may hold a password)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
