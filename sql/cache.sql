-- The shared-memory cache from SQL: set and get by type, TTL, delete,
-- namespaces, multi-get, warming, invalidation triggers, what a transaction
-- does to them, statistics, and the errors a caller gets.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
SELECT scribe.cache_clear();

-- values keep their type
SELECT scribe.cache_set('user:1:name', 'Alice') AS text_stored,
       scribe.cache_set_jsonb('user:1:profile', '{"age": 42, "tags": ["a"]}'::jsonb) AS jsonb_stored,
       scribe.cache_set_bytea('img:1', '\x00ff00'::bytea, '1 hour') AS bytea_stored;
SELECT scribe.cache_get('user:1:name') AS name, scribe.cache_get_jsonb('user:1:profile') -> 'tags' AS tags,
       scribe.cache_get('user:1:profile') AS profile_as_text, scribe.cache_get_bytea('img:1') AS img;
SELECT scribe.cache_get_bytea('user:1:name');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_get_jsonb('img:1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- a miss is NULL; a set replaces; delete says whether the key was there
SELECT scribe.cache_get('user:2:name') IS NULL AS miss;
SELECT scribe.cache_set('user:1:name', 'Alicia'), scribe.cache_get('user:1:name');
SELECT scribe.cache_delete('user:1:name') AS deleted, scribe.cache_delete('user:1:name') AS again,
       scribe.cache_get('user:1:name') IS NULL AS gone;

-- a namespace (before the first ':') is invalidated at once; others stay
SELECT scribe.cache_set('user:7:name', 'Bob'), scribe.cache_set('user:8:name', 'Eve');
SELECT scribe.cache_invalidate('user');
SELECT scribe.cache_get('user:7:name') IS NULL AS user7_gone, scribe.cache_get('user:8:name') IS NULL AS user8_gone,
       scribe.cache_get_bytea('img:1') IS NOT NULL AS img_kept;
SELECT scribe.cache_set('user:7:name', 'Bob again'), scribe.cache_get('user:7:name');
SELECT scribe.cache_invalidate('user:7');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- ttl: a value is read until its ttl ends (an hour: however slowly the
-- statements come), and not after (100 ms, slept past)
SELECT scribe.cache_set('session:1', 'long', '1 hour'), scribe.cache_set('session:2', 'short', '100 milliseconds');
SELECT scribe.cache_get('session:1') AS before_expiry;
SELECT pg_sleep(0.2);
SELECT scribe.cache_get('session:2') IS NULL AS expired;

-- the errors
SELECT scribe.cache_set('k', 'v', '-1 second');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_set('k', 'v', '0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_set(NULL, 'v');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_set('k', NULL::text);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_set('', 'v');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_set(repeat('k', 1025), 'v');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_get(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_invalidate(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a value over scribe.cache_max_value_size is not kept (no Redis here): false, not an error
SET scribe.cache_max_value_size = 1000;
SELECT scribe.cache_set('big:1', repeat('x', 1001)) AS stored, scribe.cache_get('big:1') IS NULL AS miss;
RESET scribe.cache_max_value_size;

-- cache_fetch: a miss runs the loader, a hit does not
CREATE SEQUENCE regress_loads;
SELECT scribe.cache_fetch('report:1', 'SELECT nextval(''regress_loads'')::text') AS first,
       scribe.cache_fetch('report:1', 'SELECT nextval(''regress_loads'')::text') AS second;
SELECT scribe.cache_fetch('report:2', 'SELECT jsonb_build_object(''total'', 3)') AS as_text,
       scribe.cache_get_jsonb('report:2') AS kept_as_jsonb;
SELECT scribe.cache_fetch('report:3', 'SELECT NULL::text') IS NULL AS null_result,
       scribe.cache_get('report:3') IS NULL AS not_cached;
SELECT scribe.cache_fetch('report:4', 'SELECT 1, 2');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_fetch('report:4', 'SELECT generate_series(1, 2)');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_fetch('report:4', 'SELECT 1 WHERE false');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_fetch('report:4', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a value whose key is deleted (or namespace invalidated) while the loader runs is returned, not stored
SELECT scribe.cache_fetch('report:5', 'SELECT ''loaded'' FROM scribe.cache_delete(''report:5'')') AS returned,
       scribe.cache_get('report:5') IS NULL AS not_stored;
SELECT scribe.cache_fetch('report:6', 'SELECT ''loaded'' FROM scribe.cache_invalidate(''report'')') AS returned,
       scribe.cache_get('report:6') IS NULL AS not_stored;
DROP SEQUENCE regress_loads;

-- statistics
SELECT scribe.cache_clear();
SELECT count(*) FILTER (WHERE scribe.cache_set('stats:' || i, repeat('x', 100))) AS stored FROM generate_series(1, 10) i;
SELECT count(scribe.cache_get('stats:' || i)) AS found FROM generate_series(1, 12) i;
SELECT tier, entries, used_bytes > 0 AS uses_memory, capacity_bytes > 60000000 AS capacity_64mb,
       used_bytes <= capacity_bytes AS within_budget, errors
FROM scribe.cache_stats() ORDER BY tier;
-- per namespace: entries and bytes now; hits and misses since the server started
SELECT namespace, entries, bytes, hits, misses, sets FROM scribe.cache_namespace_stats()
WHERE namespace = 'stats';

-- multi-get: the keys found, in the order asked
SELECT scribe.cache_set('m:1', 'one'), scribe.cache_set_jsonb('m:3', '{"three": 3}'::jsonb);
SELECT * FROM scribe.cache_get_many(ARRAY['m:3', 'm:2', 'm:1', 'm:3']);
SELECT count(*) FROM scribe.cache_get_many('{}');
SELECT * FROM scribe.cache_get_many(ARRAY['m:1', NULL]);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM scribe.cache_get_many(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_set_bytea('m:bytes', '\x01'::bytea);
SELECT * FROM scribe.cache_get_many(ARRAY['m:1', 'm:bytes']);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- warming from a query: (key, value) rows; NULL values are skipped; types kept
SELECT scribe.cache_warm($$SELECT 'warm:' || i, CASE WHEN i = 3 THEN NULL ELSE 'v' || i END
                           FROM generate_series(1, 1000) i$$, '1 hour') AS stored;
SELECT scribe.cache_get('warm:1') AS first, scribe.cache_get('warm:1000') AS last,
       scribe.cache_get('warm:3') IS NULL AS null_skipped;
SELECT scribe.cache_warm($$VALUES ('warm:j', '{"a": 1}'::jsonb)$$);
SELECT scribe.cache_get_jsonb('warm:j') AS jsonb_kept;
SELECT scribe.cache_warm($$SELECT 1$$);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_warm($$SELECT NULL::text, 'v'$$);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_warm($$SELECT '', 'v'$$);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_warm($$CREATE TABLE nope ()$$);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_warm($$SELECT 'k', 'v'$$, '-1 hour');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- invalidation on data change: keys made from old and new rows, a namespace on any change
CREATE TABLE regress_users (id int PRIMARY KEY, email text, name text);
INSERT INTO regress_users VALUES (1, 'a@example.com', 'Ann'), (2, NULL, 'Bo');
SELECT scribe.cache_invalidate_on('regress_users', 'user:{id}:name', 'email:{email}', 'userlist');
SELECT tgname, tgenabled, tgtype & 1 = 1 AS for_each_row FROM pg_trigger
WHERE tgrelid = 'regress_users'::regclass ORDER BY tgname;
SELECT scribe.cache_set('user:1:name', 'Ann'), scribe.cache_set('user:2:name', 'Bo'),
       scribe.cache_set('email:a@example.com', '1'), scribe.cache_set('email:b@example.com', '1'),
       scribe.cache_set('userlist:all', 'Ann,Bo');
UPDATE regress_users SET email = 'b@example.com' WHERE id = 1;
SELECT key FROM scribe.cache_get_many(ARRAY['user:1:name', 'user:2:name', 'email:a@example.com',
                                            'email:b@example.com', 'userlist:all']);
-- a NULL column makes no key; a delete invalidates as well
SELECT scribe.cache_set('user:1:name', 'Ann'), scribe.cache_set('userlist:all', 'Ann,Bo');
DELETE FROM regress_users WHERE id = 2;
SELECT key FROM scribe.cache_get_many(ARRAY['user:1:name', 'user:2:name', 'userlist:all']);
-- TRUNCATE: the namespaces the templates fix
SELECT scribe.cache_set('user:1:name', 'Ann'), scribe.cache_set('email:x', '1');
TRUNCATE regress_users;
SELECT key FROM scribe.cache_get_many(ARRAY['user:1:name', 'email:x']);
-- attaching again replaces the templates
SELECT scribe.cache_invalidate_on('regress_users', 'userlist');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'regress_users'::regclass ORDER BY tgname;
-- the errors
SELECT scribe.cache_invalidate_on('regress_users', 'user:{nope}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_invalidate_on('regress_users', 'user:{id');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_invalidate_on('regress_users', 'user:id}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_invalidate_on('regress_users', VARIADIC '{}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_invalidate_on('regress_users', '');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE VIEW regress_users_v AS SELECT * FROM regress_users;
SELECT scribe.cache_invalidate_on('regress_users_v', 'user:{id}');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT scribe.cache_invalidate_trigger();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP VIEW regress_users_v;
DROP TABLE regress_users;

-- transactions: a set is not undone by ROLLBACK, nor is a delete
BEGIN;
SELECT scribe.cache_set('tx:1', 'kept');
ROLLBACK;
SELECT scribe.cache_get('tx:1') AS set_survives_rollback;
BEGIN;
SELECT scribe.cache_delete('tx:1');
ROLLBACK;
SELECT scribe.cache_get('tx:1') IS NULL AS delete_survives_rollback;
-- a delete in a transaction that writes is done again at commit: a value
-- cached meanwhile (from rows the commit replaces) does not outlive it
CREATE TABLE regress_tx (id int);
BEGIN;
INSERT INTO regress_tx VALUES (1);
SELECT scribe.cache_delete('tx:2');
SELECT scribe.cache_set('tx:2', 'stale');
SELECT scribe.cache_get('tx:2') AS before_commit;
COMMIT;
SELECT scribe.cache_get('tx:2') IS NULL AS deleted_at_commit;
BEGIN;
INSERT INTO regress_tx VALUES (2);
SELECT scribe.cache_invalidate('tx');
SELECT scribe.cache_set('tx:3', 'stale');
COMMIT;
SELECT scribe.cache_get('tx:3') IS NULL AS invalidated_at_commit;
-- a transaction that wrote nothing has no second pass
BEGIN;
SELECT scribe.cache_delete('tx:4');
SELECT scribe.cache_set('tx:4', 'fresh');
COMMIT;
SELECT scribe.cache_get('tx:4') AS read_only_kept;
DROP TABLE regress_tx;
