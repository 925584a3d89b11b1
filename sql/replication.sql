-- Replication on a single server: what replication_publish(), replication_subscribe() and
-- replication_unsubscribe() refuse, and what health() and replication_status() say of a
-- node that is neither publishing nor subscribing.  Two-node behaviour is in
-- test/t/060_replica.pl.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_scribe;
RESET client_min_messages;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/outcome.sql

-- a lone server is a primary, with nothing to report
SELECT scribe.health()->>'role' AS role, scribe.health()->'replication' AS replication;
SELECT count(*) AS status_rows FROM scribe.replication_status();

-- the regression server writes no logical WAL
SELECT current_setting('wal_level') AS wal_level;
SELECT pg_temp.outcome($$SELECT scribe.replication_publish()$$);
SELECT pg_temp.outcome($$SELECT scribe.replication_publish(NULL)$$);

-- subscribe: NULLs, a primary out of reach
SELECT pg_temp.outcome($$SELECT scribe.replication_subscribe(NULL)$$);
SELECT pg_temp.outcome($$SELECT scribe.replication_subscribe('host=127.0.0.1 port=1 dbname=postgres connect_timeout=1')$$) ~
       '^08006 could not connect to the primary: .* \| The conninfo must reach the primary as a role with the REPLICATION attribute'
       AS unreachable_primary;
SELECT count(*) AS subscriptions_left FROM pg_subscription;

-- unsubscribe on a primary
SELECT pg_temp.outcome($$SELECT scribe.replication_unsubscribe()$$);

-- the replica role is superusers' business
CREATE ROLE regress_scribe_replicator;
SET ROLE regress_scribe_replicator;
SELECT pg_temp.outcome($$SELECT scribe.replication_subscribe('host=primary')$$);
SELECT pg_temp.outcome($$SELECT scribe.replication_unsubscribe()$$);
SELECT pg_temp.outcome($$SELECT scribe.replication_publish()$$);
SELECT pg_temp.outcome($$SELECT * FROM scribe.replication_status()$$);
RESET ROLE;
DROP ROLE regress_scribe_replicator;
