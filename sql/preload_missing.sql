-- Without shared_preload_libraries, CREATE EXTENSION says what to add.
-- (Run on a server that does not preload pg_scribe.)
CREATE EXTENSION pg_scribe;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS scribe_schemas FROM pg_namespace WHERE nspname = 'scribe';

-- loaded on demand, the library starts no launcher
LOAD 'pg_scribe';
SELECT count(*) AS launchers FROM pg_stat_activity WHERE backend_type = 'pg_scribe launcher';
