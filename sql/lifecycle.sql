-- Lifecycle policies from SQL: creation with every kind's checks, the
-- errors a caller gets, ownership, alter and drop, dry runs, and the status
-- view.  The policies are created disabled and never run here (no job
-- must take an id the queue tests expect): test/t/050 runs them.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- the built-in policies: one prunes the run history, one the cache events
SELECT name, kind, target, schedule, enabled, settings->'args' AS args FROM scribe.policies ORDER BY policy_id;

CREATE TABLE regress_events (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE regress_events_default PARTITION OF regress_events DEFAULT;
CREATE TABLE regress_logs (id bigserial PRIMARY KEY, at timestamptz NOT NULL, msg text, user_id int);
CREATE TABLE regress_logs_archive (LIKE regress_logs);
CREATE TABLE regress_users (id int PRIMARY KEY);
CREATE MATERIALIZED VIEW regress_stats AS SELECT count(*) AS n FROM regress_logs;
CREATE MATERIALIZED VIEW regress_stats_keyed AS SELECT 1 AS k, count(*) AS n FROM regress_logs;
CREATE UNIQUE INDEX ON regress_stats_keyed (k);
CREATE PROCEDURE regress_noop() LANGUAGE sql AS $$ SELECT 1 $$;

-- every kind, with its settings completed by their defaults; an interval
-- schedule runs at once, a cron one at its next time
SELECT (c).name, (c).kind, (c).target, (c).settings, (c).schedule, (c).next_run_at <= now() AS runs_at_once
FROM (VALUES
    (scribe.policy_create('events', 'partitions', 'regress_events', '{"interval": "month", "retention": "6 months"}', '1 day', false)),
    (scribe.policy_create('logs-purge', 'purge', 'regress_logs', '{"column": "at", "older_than": "90 days"}', '1 hour', false)),
    (scribe.policy_create('logs-archive', 'archive', 'regress_logs', '{"column": "at", "older_than": "30 days", "archive_table": "regress_logs_archive"}', enabled => false)),
    (scribe.policy_create('logs-orphans', 'orphans', 'regress_logs', '{"column": "user_id", "parent": "regress_users", "parent_column": "id"}', enabled => false)),
    (scribe.policy_create('stats', 'refresh', 'regress_stats', schedule => '15 minutes', enabled => false)),
    (scribe.policy_create('stats-keyed', 'refresh', 'regress_stats_keyed', schedule => '@hourly', enabled => false)),
    (scribe.policy_create('noop', 'sql', 'regress_noop', schedule => '30 3 * * *', enabled => false))
) v(c) ORDER BY (c).policy_id;

-- dry runs: what a run would do now
SELECT r->>'dry_run' AS dry_run, jsonb_array_length(r->'actions') AS actions,
       (SELECT count(*) FROM jsonb_array_elements(r->'actions') a WHERE a->>'action' = 'create_partition') AS creations
FROM scribe.policy_run('events', dry_run => true) r;
-- half a day off the thresholds, so that the counts do not depend on the clock
INSERT INTO regress_logs (at, msg, user_id) SELECT now() - (i - 0.5) * interval '1 day', 'm', i % 3 FROM generate_series(1, 200) i;
INSERT INTO regress_users VALUES (1);
SELECT a->>'action' AS action, a->>'rows' AS rows
FROM (VALUES ('logs-purge'), ('logs-archive'), ('logs-orphans'), ('stats'), ('noop')) n(name),
     LATERAL jsonb_array_elements(scribe.policy_run(n.name, dry_run => true)->'actions') a;
-- the clock a policy sees can be moved, for tests and rehearsals
SET scribe.policy_clock_offset = '400d';
SELECT (SELECT count(*) FROM jsonb_array_elements(r->'actions') a WHERE a->>'action' = 'create_partition') AS creations,
       (r->>'clock')::timestamptz > now() + interval '399 days' AS moved
FROM scribe.policy_run('events', dry_run => true) r;
RESET scribe.policy_clock_offset;

-- alter: settings merge and are checked again; schedule and enabled
SELECT (scribe.policy_alter('logs-purge', settings => '{"batch_size": 500}')).settings;
SELECT (scribe.policy_alter('logs-purge', schedule => '5 minutes')).schedule;
SELECT scribe.policy_alter('logs-purge', settings => '{"older_than": "soon"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_alter('nope', enabled => false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- the errors at creation
SELECT scribe.policy_create('events', 'purge', 'regress_logs', '{"column": "at", "older_than": "1 day"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'shred', 'regress_logs');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'purge', 'regress_missing', '{"column": "at", "older_than": "1 day"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'partitions', 'regress_logs');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'partitions', 'regress_events', '{"interval": "year"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'partitions', 'regress_events', '{"interval": "month", "retention": "10 days"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'partitions', 'regress_events', '{"retention_mode": "archive", "retention": "1 year", "archive_schema": "nowhere"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'partitions', 'regress_events', '{"premake": 0}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'purge', 'regress_logs', '{"column": "msg", "older_than": "1 day"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'purge', 'regress_logs', '{"column": "nope", "older_than": "1 day"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'purge', 'regress_logs', '{"column": "at"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'purge', 'regress_logs', '{"column": "at", "older_than": "1 day", "colour": "red"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'purge', 'regress_logs', '{"column": "at", "older_than": "1 day", "batch_size": -5}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'archive', 'regress_logs', '{"column": "at", "older_than": "1 day"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'archive', 'regress_logs', '{"column": "at", "older_than": "1 day", "archive_table": "regress_users"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'orphans', 'regress_logs', '{"column": "msg", "parent": "regress_users", "parent_column": "id"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'refresh', 'regress_stats', '{"concurrently": true}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'refresh', 'regress_logs');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'sql', 'regress_missing_proc');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'refresh', 'regress_stats', schedule => 'every tuesday');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'refresh', 'regress_stats', schedule => '0 seconds');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'refresh', 'regress_stats', schedule => '61 * * * *');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'refresh', 'regress_stats', schedule => '0 0 30 2 *');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create(NULL, 'refresh', 'regress_stats');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- a role can only create policies on what it owns, and only change its own
CREATE ROLE regress_policy_user;
GRANT USAGE ON SCHEMA scribe TO regress_policy_user;
GRANT EXECUTE ON FUNCTION scribe.policy_create(text, text, text, jsonb, text, boolean),
    scribe.policy_alter(text, jsonb, text, boolean),
    scribe.policy_drop(text), scribe.policy_run(text, boolean) TO regress_policy_user;
CREATE TABLE regress_own (at timestamptz);
ALTER TABLE regress_own OWNER TO regress_policy_user;
SET ROLE regress_policy_user;
SELECT scribe.policy_create('x', 'purge', 'regress_logs', '{"column": "at", "older_than": "1 day"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT (scribe.policy_create('own', 'purge', 'regress_own', '{"column": "at", "older_than": "1 day"}', enabled => false)).owner;
SELECT scribe.policy_drop('logs-purge');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_run('logs-purge', dry_run => true);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM scribe.policies;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;

-- a policy on a table belongs to the table's owner, whoever makes it, and runs
-- as that role; the owner's members manage it
SELECT (scribe.policy_create('own-by-su', 'purge', 'regress_own', '{"column": "at", "older_than": "1 day"}',
                             enabled => false)).owner;
SET ROLE regress_policy_user;
SELECT (scribe.policy_alter('own-by-su', enabled => false)).owner;
SELECT scribe.policy_run('own-by-su', dry_run => true)->'actions'->0->>'rows' AS rows;
RESET ROLE;
-- temporary relations are refused: no other session, the workers', can read them
CREATE TEMP TABLE regress_temp (at timestamptz);
SELECT scribe.policy_create('x', 'purge', 'regress_temp', '{"column": "at", "older_than": "1 day"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_create('x', 'orphans', 'regress_logs', '{"column": "user_id", "parent": "pg_temp.regress_temp"}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP TABLE regress_temp;
-- the target is checked again at each run: a table turned into a view by a
-- rule is never read, one given to another owner is refused
CREATE TABLE regress_turned (at timestamptz);
SELECT (scribe.policy_create('turned', 'purge', 'regress_turned', '{"column": "at", "older_than": "1 day"}',
                             enabled => false)).target;
CREATE RULE "_RETURN" AS ON SELECT TO regress_turned DO INSTEAD SELECT now() AS at;
SELECT scribe.policy_run('turned', dry_run => true);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP VIEW regress_turned;
CREATE TABLE regress_turned (at timestamptz);
ALTER TABLE regress_turned OWNER TO regress_policy_user;
SELECT scribe.policy_run('turned', dry_run => true);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP TABLE regress_turned;
SELECT scribe.policy_run('turned', dry_run => true);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- the status view: one row a policy; the built-in ones cannot be dropped
SELECT name, kind, enabled, alert FROM scribe.policy_status() ORDER BY policy_id;
SELECT scribe.policy_drop('scribe.history');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.policy_drop('own');
SELECT scribe.policy_drop('own');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS dropped FROM scribe.policies p, LATERAL scribe.policy_drop(p.name) WHERE p.name NOT LIKE 'scribe.%';
DROP MATERIALIZED VIEW regress_stats, regress_stats_keyed;
DROP TABLE regress_events, regress_logs, regress_logs_archive, regress_users, regress_own;
DROP PROCEDURE regress_noop();
REVOKE ALL ON SCHEMA scribe FROM regress_policy_user;
REVOKE ALL ON FUNCTION scribe.policy_create(text, text, text, jsonb, text, boolean),
    scribe.policy_alter(text, jsonb, text, boolean),
    scribe.policy_drop(text), scribe.policy_run(text, boolean) FROM regress_policy_user;
DROP ROLE regress_policy_user;
