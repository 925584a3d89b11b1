/*
 * pg_scribe: what every capability shares.
 *
 * Glossary (names mean one thing everywhere):
 *   launcher   the one static background worker, connected to scribe.database;
 *              it supervises everything else
 *   node       one PostgreSQL server running pg_scribe (primary, replica or
 *              worker node); named by scribe.node_name
 *   heartbeat  the row a node's launcher keeps fresh in scribe.heartbeat, so
 *              that any node reading it (a replica, say) knows how old its
 *              copy of that node's data is
 */
#ifndef PG_SCRIBE_H
#define PG_SCRIBE_H

#include "postgres.h"

#include "miscadmin.h"

#ifndef SCRIBE_VERSION
#error "SCRIBE_VERSION must be defined by the Makefile"
#endif

#define SCRIBE_EXTENSION_NAME "pg_scribe"
#define SCRIBE_SCHEMA_NAME "scribe"

/* True in processes of a server that loaded pg_scribe at start. */
extern bool scribe_preloaded;

extern void scribe_require_preload(const char *what);

/* Going up to the superuser, down to a role, cleaning a session */
#include "base/privilege.h"

#endif							/* PG_SCRIBE_H */
