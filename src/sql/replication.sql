-- pg_scribe install script: replication (heartbeat) and health().

-- One row per node, kept fresh by that node's launcher.  Published to
-- replicas, it tells them how fresh their copy of each node's data is.
CREATE TABLE scribe.heartbeat (
    node_name       text PRIMARY KEY,
    beat_at         timestamptz NOT NULL,
    library_version text NOT NULL
);
COMMENT ON TABLE scribe.heartbeat IS 'Last heartbeat of each pg_scribe node (written by its launcher every scribe.heartbeat_interval)';
GRANT SELECT ON scribe.heartbeat TO pg_monitor;

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
            FROM scribe.heartbeat h), '[]'::jsonb))
    FROM scribe._library_status() AS lib, scribe._launcher_status() AS l
$$;
COMMENT ON FUNCTION scribe.health() IS 'Library and extension versions, preload status, launcher state and node heartbeats, as jsonb';

REVOKE ALL ON FUNCTION scribe.health() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION scribe.health() TO pg_monitor;
