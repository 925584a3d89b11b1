#!/bin/sh
# Replica: install pg_scribe and subscribe to the primary's publication.
set -e
psql -v ON_ERROR_STOP=1 -U postgres -d postgres <<SQL
CREATE EXTENSION pg_scribe;
CREATE SUBSCRIPTION scribe CONNECTION '$PRIMARY_CONNINFO' PUBLICATION scribe;
SQL
