-- The scribe.* settings: names, defaults and contexts are part of the API.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(3);

SELECT results_eq($$
    SELECT name, boot_val, context
    FROM pg_settings WHERE name LIKE 'scribe.%' ORDER BY name
$$, $$ VALUES
    ('scribe.database', 'postgres', 'postmaster'),
    ('scribe.heartbeat_interval', '10', 'sighup'),
    ('scribe.node_name', '', 'postmaster')
$$, 'every setting, with its default and context');

SELECT is(unit, 's', 'scribe.heartbeat_interval is in seconds')
FROM pg_settings WHERE name = 'scribe.heartbeat_interval';

-- scribe.database names the database the launcher connects to: superuser only
CREATE ROLE regress_scribe_nobody;
SET ROLE regress_scribe_nobody;
SELECT throws_ok($$ SELECT current_setting('scribe.database') $$, '42501', NULL,
                 'only superusers read scribe.database');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
