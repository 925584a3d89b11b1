-- pg_scribe update 0.3.0 -> 0.4.0: the schema delta (issue 17, the
-- application's side).  Only what CREATE OR REPLACE cannot do goes here; the
-- build puts every function file after it (docs/development.md, "How the SQL
-- is built and upgraded").  test/t/090_extension_update.pl compares the
-- result with a fresh install.

-- ---------------------------------------------------------------------------
-- Claims that wait (issue 17, item 5): scribe.claim() gains wait => interval.
-- The old three-argument signature goes; the function files create the new.
-- ---------------------------------------------------------------------------
DROP FUNCTION IF EXISTS scribe.claim(text, integer, interval);
