-- DROP EXTENSION sends the launcher back to waiting; CREATE brings it back.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;

-- Wait until the launcher's activity in pg_stat_activity reads $1 (3 minutes
-- at most: a bound for a hang, not for a slow machine)
CREATE FUNCTION pg_temp.launcher_activity_becomes(expected text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    activity text;
BEGIN
    FOR i IN 1..1800 LOOP
        PERFORM pg_stat_clear_snapshot();
        SELECT query INTO activity FROM pg_stat_activity
        WHERE backend_type = 'pg_scribe launcher';
        EXIT WHEN activity = expected;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN activity;
END $$;

SELECT pg_temp.launcher_activity_becomes('running');
DROP EXTENSION pg_scribe;
SELECT pg_temp.launcher_activity_becomes('waiting for CREATE EXTENSION pg_scribe');
-- a rolled-back CREATE EXTENSION leaves the launcher waiting
BEGIN;
CREATE EXTENSION pg_scribe;
ROLLBACK;
SELECT pg_sleep(0.5);
SELECT query FROM pg_stat_activity WHERE backend_type = 'pg_scribe launcher';
CREATE EXTENSION pg_scribe;
SELECT pg_temp.launcher_activity_becomes('running');
