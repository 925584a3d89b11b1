-- pg_scribe update 0.1.0 -> 0.2.0: the schema delta.
--
-- Only what CREATE OR REPLACE cannot do goes here; the build puts every
-- function file after it (see docs/development.md, "How the SQL is built and
-- upgraded").  Run once, between the prologue and the function files, by
-- ALTER EXTENSION pg_scribe UPDATE.  test/t/090_extension_update.pl compares
-- the result with a fresh install: an object forgotten here is a diff there.

-- Functions and views renamed or re-shaped in 0.2.0: dropped here, created by
-- the function files.  A function whose name, argument types, argument names,
-- defaults (removed), result type or OUT parameters change, and a view whose
-- columns change other than by new ones at the end, is dropped here with its
-- old signature, e.g.
--   DROP FUNCTION scribe.old_name(text, integer);
--   DROP VIEW scribe.old_view;
-- Its grants go with it: the function files grant the new one.

-- Grants of 0.1.0 that 0.2.0 no longer makes (replaying GRANTs never revokes):
--   REVOKE EXECUTE ON FUNCTION scribe.x() FROM pg_monitor;

-- Tables, columns, indexes, types and built-in rows changed in 0.2.0
-- (ALTER TABLE ..., CREATE TABLE ... with its pg_extension_config_dump).
