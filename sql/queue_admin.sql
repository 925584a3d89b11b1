-- Queues: create, alter, list, drop, and the errors of each.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT name, consumer, lease, max_attempts, backoff_base, backoff_cap, retention
FROM scribe.queue_create('admin_jobs');
SELECT name, consumer, lease, max_attempts, backoff_base, backoff_cap, retention
FROM scribe.queue_create('admin_messages', consumer => 'clients', lease => '30 seconds',
                         max_attempts => 3, backoff_base => '1 second',
                         backoff_cap => '1 minute', retention => '0');
-- names are data, never SQL: any text of 1 to 63 bytes without control characters
SELECT name FROM scribe.queue_create('admin''s "odd" name; DROP TABLE x; --', consumer => 'clients');
SELECT name FROM scribe.queue_list() WHERE name LIKE 'admin%' ORDER BY name;

-- alter: NULL keeps a setting
SELECT name, consumer, lease, max_attempts, retention
FROM scribe.queue_alter('admin_jobs', max_attempts => 7, retention => '1 day');

-- errors
SELECT scribe.queue_create('admin_jobs');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_create('');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_create(repeat('x', 64));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_create(E'tab\there');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_create('admin_bad', consumer => 'robots');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_create('admin_bad', lease => '0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_create('admin_bad', max_attempts => 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_create('admin_bad', backoff_base => '1 hour', backoff_cap => '1 minute');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_create('admin_bad', retention => '-1 day');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_alter('admin_missing', lease => '1 minute');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_alter('admin_jobs', lease => '-5 seconds');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- drop: refused while jobs are unfinished, unless forced
SELECT scribe.send('admin_messages', '{"n": 1}') > 0 AS sent;
SELECT scribe.queue_drop('admin_messages');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_drop('admin_messages', force => true);
SELECT count(*) AS jobs_left FROM scribe.jobs j
WHERE NOT EXISTS (SELECT FROM scribe.queues q WHERE q.queue_id = j.queue_id);
SELECT scribe.queue_drop('admin_messages');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.queue_drop('admin_jobs');
SELECT scribe.queue_drop('admin''s "odd" name; DROP TABLE x; --');
SELECT count(*) AS admin_queues FROM scribe.queue_list() WHERE name LIKE 'admin%';
