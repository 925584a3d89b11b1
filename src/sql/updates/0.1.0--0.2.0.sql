-- pg_scribe update 0.1.0 -> 0.2.0: the schema delta.
--
-- Only what CREATE OR REPLACE cannot do goes here; the build puts every
-- function file after it (see docs/development.md, "How the SQL is built and
-- upgraded").  Run once, between the prologue and the function files, by
-- ALTER EXTENSION pg_scribe UPDATE.  test/t/090_extension_update.pl compares
-- the result with a fresh install: an object forgotten here is a diff there.

-- Functions renamed in 0.2.0 (one naming scheme, docs/development.md): renamed
-- in place, so that the grants a DBA made and the triggers and generated
-- columns that call them follow; the function files then replace the bodies.
-- RENAMES:BEGIN
ALTER FUNCTION scribe.cache_set(text, bytea, interval) RENAME TO cache_set_bytea;
ALTER FUNCTION scribe.cache_set(text, jsonb, interval) RENAME TO cache_set_jsonb;
-- RENAMES:END

-- Functions and views re-shaped in 0.2.0: dropped here, created by
-- the function files.  A function whose name, argument types, argument names,
-- defaults (removed), result type or OUT parameters change, and a view whose
-- columns change other than by new ones at the end, is dropped here with its
-- old signature, e.g.
--   DROP FUNCTION scribe.old_name(text, integer);
--   DROP VIEW scribe.old_view;
-- Its grants go with it: the function files grant the new one.
-- The status views became functions (an answer's rights are its own):
DROP VIEW scribe.queue_status;
DROP VIEW scribe.cache_status;
DROP VIEW scribe.policy_status;
DROP VIEW scribe.worker_jobs;
-- worker_status() takes the columns of the view worker_jobs
DROP FUNCTION scribe.worker_status();

-- Grants of 0.1.0 that 0.2.0 no longer makes (replaying GRANTs never revokes):
--   REVOKE EXECUTE ON FUNCTION scribe.x() FROM pg_monitor;
-- Internal functions are granted to nobody: the public ones that use them are
-- SECURITY DEFINER.
REVOKE EXECUTE ON FUNCTION scribe._library_status() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._launcher_status() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._health_reasons() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._partition_runway() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._node_role() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._queue_totals() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._worker_slots() FROM pg_monitor;
REVOKE EXECUTE ON FUNCTION scribe._policy_alert(bigint, timestamptz, bigint) FROM pg_monitor;
-- pg_monitor read scribe.queues for the old worker_status(); queue_list() and
-- worker_status() answer now
REVOKE SELECT ON scribe.queues FROM pg_monitor;

-- Tables, columns, indexes, types and built-in rows changed in 0.2.0
-- (ALTER TABLE ..., CREATE TABLE ... with its pg_extension_config_dump).
