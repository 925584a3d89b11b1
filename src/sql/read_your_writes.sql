-- pg_scribe functions: read-your-writes across logical replication.
--
-- The primary hands a session the end of its last commit; a replica waits
-- until its subscription has made everything up to there visible.  Both
-- reveal no more than PUBLIC already reads (pg_current_wal_insert_lsn(),
-- pg_stat_subscription) and every application role needs them, so they are
-- granted to PUBLIC in privileges.sql.

CREATE OR REPLACE FUNCTION scribe.replication_commit_lsn() RETURNS pg_lsn
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_commit_lsn';
COMMENT ON FUNCTION scribe.replication_commit_lsn() IS
    'On the primary: the end LSN of this session''s last commit (NULL before its first write), for scribe.replication_wait_lsn() on a replica';

CREATE OR REPLACE FUNCTION scribe.replication_wait_lsn(lsn pg_lsn,
                                    timeout interval DEFAULT '10 seconds',
                                    subscription name DEFAULT 'scribe',
                                    throw boolean DEFAULT true)
    RETURNS boolean
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    AS 'MODULE_PATHNAME', 'scribe_wait_for_lsn';
COMMENT ON FUNCTION scribe.replication_wait_lsn(pg_lsn, interval, name, boolean) IS
    'On a replica: wait until the primary''s writes up to lsn (from scribe.replication_commit_lsn()) are visible here; true, or on timeout an error (false when throw is false)';
