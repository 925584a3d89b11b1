-- pg_scribe: the first statements of the install script and of every update
-- script (the Makefile puts the psql guard before them).

-- Refuse to install or update without the preloaded library or outside
-- scribe.database; wake the launcher at commit, to see the new objects.
CREATE OR REPLACE FUNCTION scribe._check_install() RETURNS void
    LANGUAGE c AS 'MODULE_PATHNAME', 'scribe_check_install';
SELECT scribe._check_install();
DROP FUNCTION scribe._check_install();
