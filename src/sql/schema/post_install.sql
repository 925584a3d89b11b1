-- pg_scribe schema, last part: the state that needs the functions (run once,
-- by CREATE EXTENSION, after the function files).

-- The built-in queues, through the queue's own checks: ocr for the document
-- pipeline, lifecycle for the policies' runs; owned by the bootstrap
-- superuser (OID 10), as whom pg_scribe's own code runs, whoever installs
SELECT scribe._queue_create(10::oid::regrole, 'ocr', consumer => 'workers', lease => '10 minutes', max_attempts => 3,
                            backoff_base => '5 seconds', backoff_cap => '1 minute', retention => '1 day');
SELECT scribe._queue_create(10::oid::regrole, 'lifecycle', consumer => 'workers', lease => '1 hour', max_attempts => 5,
                            backoff_base => '10 seconds', backoff_cap => '10 minutes', retention => '1 day');

-- The archive partitions of the coming days (the launcher keeps making them)
SELECT scribe._archive_partitions_ensure();

-- The built-in policy scribe.cache_events: purge the cache events older than a
-- day (lifecycle_check.sql's _policy_check fills in its settings), first run an
-- hour after CREATE EXTENSION like scribe.history
INSERT INTO scribe.policies (name, kind, target, settings, schedule, owner, next_run_at)
SELECT 'scribe.cache_events', 'purge', 'scribe.cache_events',
       scribe._policy_check('purge', 'scribe.cache_events', 'scribe.cache_events'::regclass, NULL,
                            '{"column": "recorded_at", "older_than": "1 day"}', o.owner, o.owner, NULL, NULL, NULL),
       '1 hour', o.owner, now() + interval '1 hour'
FROM (SELECT extowner::regrole AS owner FROM pg_extension WHERE extname = 'pg_scribe') o;
