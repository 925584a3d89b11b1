-- Primary: install pg_scribe and publish what replicas read
-- (scribe.replication_publish(ARRAY['my_table']) adds tables of your own).
CREATE EXTENSION pg_scribe;
SELECT scribe.replication_publish();
