-- CREATE EXTENSION is refused outside scribe.database, leaving nothing behind.
\set regress_db :DBNAME
CREATE DATABASE regress_scribe_elsewhere;
\c regress_scribe_elsewhere
CREATE EXTENSION pg_scribe;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS scribe_schemas FROM pg_namespace WHERE nspname = 'scribe';
\c :regress_db
-- the launcher does not hold other databases: this DROP does not wait
DROP DATABASE regress_scribe_elsewhere;
