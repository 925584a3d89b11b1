-- pg_scribe schema, last part: the state that needs the functions (run once,
-- by CREATE EXTENSION, after the function files).

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
