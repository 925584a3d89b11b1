-- The scribe.* settings: defaults, contexts, and the reserved prefix.
SELECT name, setting, unit, context
FROM pg_settings WHERE name LIKE 'scribe.%' ORDER BY name;

-- the database is fixed at server start
SET scribe.database = 'elsewhere';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the heartbeat interval changes with a reload, not per session
SET scribe.heartbeat_interval = 5;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a mistyped setting is an error, not a silent placeholder
SET scribe.heartbeat_intervall = 5;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
