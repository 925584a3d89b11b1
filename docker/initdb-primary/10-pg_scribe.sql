-- Primary: install pg_scribe and publish what replicas read.
CREATE EXTENSION pg_scribe;
CREATE PUBLICATION scribe FOR TABLE scribe.heartbeat;
