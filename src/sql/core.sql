-- pg_scribe: core (the version, the library's and the launcher's status).

GRANT USAGE ON SCHEMA scribe TO PUBLIC;

CREATE OR REPLACE FUNCTION scribe.version() RETURNS text
    LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT
    AS 'MODULE_PATHNAME', 'scribe_version';
COMMENT ON FUNCTION scribe.version() IS 'Version of the loaded pg_scribe library';

CREATE OR REPLACE FUNCTION scribe._library_status(OUT preloaded boolean, OUT node_name text)
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'scribe_library_status';
COMMENT ON FUNCTION scribe._library_status() IS 'Internal: preload status and node name, for health()';

CREATE OR REPLACE FUNCTION scribe._launcher_status(OUT pid integer, OUT state text,
                                        OUT started_at timestamptz, OUT state_since timestamptz,
                                        OUT restarts integer)
    LANGUAGE c VOLATILE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'scribe_launcher_status';
COMMENT ON FUNCTION scribe._launcher_status() IS 'Internal: the launcher''s pid and state, for health()';

REVOKE ALL ON FUNCTION scribe._library_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION scribe._launcher_status() FROM PUBLIC;
