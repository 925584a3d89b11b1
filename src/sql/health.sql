-- pg_scribe install script: health(), the one report of how this node is.

CREATE FUNCTION scribe.health() RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path = pg_catalog
    AS $$
    SELECT jsonb_build_object(
        'library_version', scribe.version(),
        'extension_version', (SELECT extversion FROM pg_extension WHERE extname = 'pg_scribe'),
        'preloaded', lib.preloaded,
        'database', current_setting('scribe.database', true),
        'node_name', lib.node_name,
        'role', CASE WHEN EXISTS (SELECT FROM scribe.subscriptions) THEN 'replica'
                     WHEN coalesce(current_setting('scribe.queue_conninfo', true), '') <> '' THEN 'worker node'
                     ELSE 'primary' END,
        'launcher', jsonb_build_object(
            'pid', l.pid,
            'state', l.state,
            'started_at', l.started_at,
            'state_since', l.state_since,
            'restarts', l.restarts),
        'heartbeats', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'node_name', h.node_name,
                       'local', h.node_name = lib.node_name,
                       'beat_at', h.beat_at,
                       'age_seconds', round(extract(epoch FROM clock_timestamp() - h.beat_at), 3),
                       'library_version', h.library_version)
                   ORDER BY h.node_name)
            FROM scribe.heartbeat h), '[]'::jsonb),
        'replication', COALESCE((
            SELECT jsonb_agg(to_jsonb(r)) FROM scribe.replication_status() r), '[]'::jsonb))
    FROM scribe._library_status() AS lib, scribe._launcher_status() AS l
$$;
COMMENT ON FUNCTION scribe.health() IS 'Library and extension versions, preload status, role, launcher state, node heartbeats and replication, as jsonb';

REVOKE ALL ON FUNCTION scribe.health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION scribe.health() TO pg_monitor;
