-- scribe.version() reports the library; the extension matches it.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;

SELECT scribe.version();
SELECT extversion = scribe.version() AS extension_matches_library
FROM pg_extension WHERE extname = 'pg_scribe';

-- anyone may ask for the version
CREATE ROLE regress_scribe_nobody;
SET ROLE regress_scribe_nobody;
SELECT scribe.version() IS NOT NULL AS public_can_read_version;
RESET ROLE;
DROP ROLE regress_scribe_nobody;
