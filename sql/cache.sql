-- The shared-memory cache from SQL: set and get by type, TTL, delete,
-- namespaces, statistics, and the errors a caller gets.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
SELECT scribe.cache_clear();

-- values keep their type
SELECT scribe.cache_set('user:1:name', 'Alice') AS text_stored,
       scribe.cache_set('user:1:profile', '{"age": 42, "tags": ["a"]}'::jsonb) AS jsonb_stored,
       scribe.cache_set('img:1', '\x00ff00'::bytea, '1 hour') AS bytea_stored;
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

-- ttl
SELECT scribe.cache_set('session:1', 'short', '100 milliseconds');
SELECT scribe.cache_get('session:1') AS before_expiry;
SELECT pg_sleep(0.2);
SELECT scribe.cache_get('session:1') IS NULL AS expired;

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
DROP SEQUENCE regress_loads;

-- statistics
SELECT scribe.cache_clear();
SELECT count(*) FILTER (WHERE scribe.cache_set('stats:' || i, repeat('x', 100))) AS stored FROM generate_series(1, 10) i;
SELECT count(scribe.cache_get('stats:' || i)) AS found FROM generate_series(1, 12) i;
SELECT entries, used_bytes > 0 AS uses_memory, capacity_bytes > 60000000 AS capacity_64mb,
       used_bytes <= capacity_bytes AS within_budget
FROM scribe.cache_stats();
