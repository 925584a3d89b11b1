-- Cache events: where scribe.cache_events is published, cache_delete,
-- cache_invalidate and cache_clear record what they did, in the caller's
-- transaction; elsewhere they write nothing.  The trigger a subscriber
-- fires on the rows replication writes (session_replication_role =
-- replica here) does the same on its cache; the built-in policy purges.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
SELECT scribe.cache_clear();

-- not published: nothing recorded, not even a transaction id taken
BEGIN;
SELECT scribe.cache_delete('ev:1') AS deleted, scribe.cache_invalidate('ev') AS invalidated,
       scribe.cache_clear() AS cleared;
SELECT pg_current_xact_id_if_assigned() IS NULL AS nothing_written;
COMMIT;
SELECT count(*) AS events FROM scribe.cache_events;

-- published (wal_level is not logical here: the WARNING is not the point)
SET client_min_messages = error;
CREATE PUBLICATION regress_cache_events FOR TABLE scribe.cache_events;
RESET client_min_messages;
SELECT scribe.cache_set('ev:1', 'one');
SELECT scribe.cache_delete('ev:1') AS deleted, scribe.cache_delete('ev:1') AS again;
SELECT scribe.cache_invalidate('ev');
SELECT scribe.cache_clear();
SELECT operation, argument, recorded_at <= now() AS recorded FROM scribe.cache_events ORDER BY event_id;
TRUNCATE scribe.cache_events;
-- a rollback takes its events with it, a savepoint's too
BEGIN;
SELECT scribe.cache_delete('ev:rolled back');
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT scribe.cache_invalidate('savepoint');
ROLLBACK TO SAVEPOINT s;
SELECT scribe.cache_delete('ev:kept');
COMMIT;
-- a read-only transaction cannot write: the call still works here, unrecorded
BEGIN READ ONLY;
SELECT scribe.cache_delete('ev:read only') AS deleted;
COMMIT;
-- a call that fails records nothing
SELECT scribe.cache_delete('');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT operation, argument FROM scribe.cache_events ORDER BY event_id;
-- a publication without inserts does not count; without the publication, nothing is recorded
ALTER PUBLICATION regress_cache_events SET (publish = 'delete');
SELECT scribe.cache_delete('ev:deletes only');
DROP PUBLICATION regress_cache_events;
SELECT scribe.cache_delete('ev:unpublished');
SELECT count(*) AS events FROM scribe.cache_events;
TRUNCATE scribe.cache_events;

-- the trigger, enabled REPLICA: only rows that replication writes fire it
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'scribe.cache_events'::regclass AND NOT tgisinternal;
SELECT scribe.cache_set('ev:2', 'two'), scribe.cache_set('evns:1', 'ns'), scribe.cache_set('other:1', 'kept');
INSERT INTO scribe.cache_events (operation, argument) VALUES ('delete', 'ev:2');
SELECT scribe.cache_get('ev:2') AS not_fired_here;
SET session_replication_role = replica;
INSERT INTO scribe.cache_events (operation, argument) VALUES ('delete', 'ev:2'), ('invalidate', 'evns');
RESET session_replication_role;
SELECT key FROM scribe.cache_get_many(ARRAY['ev:2', 'evns:1', 'other:1']);
SET session_replication_role = replica;
INSERT INTO scribe.cache_events (operation, argument) VALUES ('clear', NULL);
RESET session_replication_role;
SELECT count(*) AS after_clear FROM scribe.cache_get_many(ARRAY['other:1']);
-- an event it cannot do is a WARNING: the apply goes on
SET session_replication_role = replica;
INSERT INTO scribe.cache_events (operation, argument) VALUES ('delete', repeat('k', 1025));
RESET session_replication_role;
SELECT count(*) AS applied FROM scribe.cache_events;
-- what the table refuses (terse: the failing row shows its id and time)
\set VERBOSITY terse
INSERT INTO scribe.cache_events (operation, argument) VALUES ('clear', 'x');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO scribe.cache_events (operation, argument) VALUES ('delete', NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO scribe.cache_events (operation, argument) VALUES ('flush', 'x');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT scribe._cache_event_trigger();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
TRUNCATE scribe.cache_events;

-- the built-in purge: a day's events kept, first run an hour after CREATE EXTENSION
SELECT name, kind, target, schedule, enabled, settings->>'column' AS col, settings->>'older_than' AS older_than,
       next_run_at = created_at + interval '1 hour' AS hour_after_create
FROM scribe.policies WHERE name = 'scribe.cache_events';
SELECT scribe.policy_drop('scribe.cache_events');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT jsonb_array_length(scribe.policy_run('scribe.cache_events', dry_run => true) -> 'actions') AS actions;
