#!/bin/sh
# Replica: install pg_scribe and subscribe to the primary's publication;
# from then on this node serves reads and runs no jobs.
set -e
psql -v ON_ERROR_STOP=1 -U postgres -d postgres <<SQL
CREATE EXTENSION pg_scribe;
SELECT scribe.replication_subscribe('$PRIMARY_CONNINFO');
SQL
