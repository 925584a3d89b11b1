-- An application's role, a member of scribe_app and nothing more, attaches
-- cache invalidation to its own table and writes to it; so does a role that
-- may only INSERT into that table and holds no grant of pg_scribe: PostgreSQL
-- checks EXECUTE on a trigger's function when the trigger is made (by
-- cache_invalidate_on, as its caller), not when it fires.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
CREATE ROLE regress_cache_app IN ROLE scribe_app;
CREATE ROLE regress_cache_writer;
CREATE SCHEMA regress_cache_app AUTHORIZATION regress_cache_app;

SET ROLE regress_cache_app;
CREATE TABLE regress_cache_app.letters (id integer PRIMARY KEY, family text, body text);
SELECT scribe.cache_invalidate_on('regress_cache_app.letters', 'family:{family}:letters', 'letters');
INSERT INTO regress_cache_app.letters VALUES (1, 'f-42', 'Dear Ann');
SELECT scribe.cache_fetch('family:f-42:letters',
    'SELECT string_agg(body, ''; '' ORDER BY id) FROM regress_cache_app.letters WHERE family = $1',
    '1 hour', 'f-42') AS letters;
SELECT scribe.cache_set('letters:count', '1');
-- its own write deletes the row's key and invalidates the namespace
INSERT INTO regress_cache_app.letters VALUES (2, 'f-42', 'Dear Bob');
SELECT scribe.cache_get('family:f-42:letters') IS NULL AS key_deleted,
       scribe.cache_get('letters:count') IS NULL AS namespace_invalidated;
SELECT scribe.cache_fetch('family:f-42:letters',
    'SELECT string_agg(body, ''; '' ORDER BY id) FROM regress_cache_app.letters WHERE family = $1',
    '1 hour', 'f-42') AS letters;
GRANT USAGE ON SCHEMA regress_cache_app TO regress_cache_writer;
GRANT INSERT ON regress_cache_app.letters TO regress_cache_writer;

-- a role with INSERT only writes: the triggers fire as it
SET ROLE regress_cache_writer;
SELECT has_function_privilege('scribe.cache_invalidate_trigger()', 'EXECUTE') AS writer_may_execute_trigger;
INSERT INTO regress_cache_app.letters VALUES (3, 'f-42', 'Dear Cy');
SET ROLE regress_cache_app;
SELECT scribe.cache_get('family:f-42:letters') IS NULL AS key_deleted_by_writer;
SELECT scribe.cache_fetch('family:f-42:letters',
    'SELECT string_agg(body, ''; '' ORDER BY id) FROM regress_cache_app.letters WHERE family = $1',
    '1 hour', 'f-42') AS letters;

-- what scribe_app may not do with the cache: empty it for everyone
SELECT scribe.cache_clear();
RESET ROLE;

DROP SCHEMA regress_cache_app CASCADE;
DROP ROLE regress_cache_app;
DROP ROLE regress_cache_writer;
