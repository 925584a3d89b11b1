-- The SQL API of pg_scribe: what exists, who may call it, and how it is
-- declared.  Invariants here hold for every function later issues add.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;

SELECT plan(16);

SELECT has_schema('scribe');
SELECT functions_are('scribe',
    ARRAY['version', 'health', '_library_status', '_launcher_status'],
    'the scribe schema holds exactly the documented functions');
SELECT tables_are('scribe', ARRAY['heartbeat']);

SELECT function_returns('scribe', 'version', ARRAY[]::text[], 'text');
SELECT function_returns('scribe', 'health', ARRAY[]::text[], 'jsonb');
SELECT volatility_is('scribe', 'health', ARRAY[]::text[], 'stable');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text
    FROM pg_proc p
    WHERE p.pronamespace = 'scribe'::regnamespace
      AND NOT EXISTS (SELECT FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%')
$$, 'every function pins its search_path');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text
    FROM pg_proc p
    WHERE p.pronamespace = 'scribe'::regnamespace
      AND obj_description(p.oid, 'pg_proc') IS NULL
$$, 'every function has a comment');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text
    FROM pg_proc p
    WHERE p.pronamespace = 'scribe'::regnamespace
      AND p.prosecdef
$$, 'no function is SECURITY DEFINER');

SELECT is_empty($$
    SELECT c.oid::regclass::text
    FROM pg_class c
    WHERE c.relnamespace = 'scribe'::regnamespace
      AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
      AND NOT EXISTS (SELECT FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                        AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e')
$$, 'every relation in the schema belongs to the extension');

-- privileges: PUBLIC gets the version only; monitoring roles get health
CREATE ROLE regress_scribe_nobody;
SELECT ok(has_function_privilege('regress_scribe_nobody', 'scribe.version()', 'EXECUTE'),
          'PUBLIC may call version()');
SELECT ok(NOT has_function_privilege('regress_scribe_nobody', 'scribe.health()', 'EXECUTE'),
          'PUBLIC may not call health()');
SELECT ok(NOT has_function_privilege('regress_scribe_nobody', 'scribe._launcher_status()', 'EXECUTE'),
          'PUBLIC may not call internal functions');
SELECT ok(NOT has_table_privilege('regress_scribe_nobody', 'scribe.heartbeat', 'SELECT'),
          'PUBLIC may not read scribe.heartbeat');
SELECT ok(has_function_privilege('pg_monitor', 'scribe.health()', 'EXECUTE'),
          'pg_monitor may call health()');

SELECT col_is_pk('scribe', 'heartbeat', 'node_name', 'heartbeat rows are keyed by node');

SELECT * FROM finish();
ROLLBACK;
