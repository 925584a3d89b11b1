-- pg_scribe functions: cache events, the explicit deletes,
-- invalidations and clears that reach the replicas' caches.
--
-- Where this table is published, scribe.cache_delete, cache_invalidate and
-- cache_clear insert a row in the caller's transaction (not in a read-only
-- transaction, nor on a standby); on a node that subscribes to it, the
-- trigger below does the same operation on the local cache as the apply
-- worker writes the row.  Rows older than a day are useless: the built-in
-- policy scribe.cache_events purges them.

-- Comment of the table in schema/cache_events.sql
COMMENT ON TABLE scribe.cache_events IS 'Cache deletes (argument: the key), invalidations (the namespace) and clears called where this table is published, done again by the nodes that subscribe to it; purged after a day by the policy scribe.cache_events';

CREATE OR REPLACE FUNCTION scribe._cache_event_trigger()
    RETURNS trigger
    LANGUAGE c
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'scribe_cache_event_trigger';
COMMENT ON FUNCTION scribe._cache_event_trigger() IS 'Internal: the trigger of scribe.cache_events on a subscriber: does each replicated event on the local cache; a failure is a WARNING, never a failed apply';

-- REPLICA: fires for the rows the apply worker writes (the initial copy
-- too, which replays the last day's events: harmless, the cache only loses
-- values), never for the inserts of the node's own calls
CREATE OR REPLACE TRIGGER cache_events_apply AFTER INSERT ON scribe.cache_events
    FOR EACH ROW EXECUTE FUNCTION scribe._cache_event_trigger();
ALTER TABLE scribe.cache_events ENABLE REPLICA TRIGGER cache_events_apply;
