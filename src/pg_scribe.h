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

#include "catalog/pg_authid_d.h"
#include "miscadmin.h"

#ifndef SCRIBE_VERSION
#error "SCRIBE_VERSION must be defined by the Makefile"
#endif

#define SCRIBE_EXTENSION_NAME "pg_scribe"
#define SCRIBE_SCHEMA_NAME "scribe"

/* True in processes of a server that loaded pg_scribe at start. */
extern bool scribe_preloaded;

extern void scribe_require_preload(const char *what);

/*
 * The SQL functions of the queue run their fixed, parameterised statements
 * as the bootstrap superuser, so that callers need EXECUTE on the function
 * and no rights on the tables; the caller's role is what they record.
 */
typedef struct ScribeSavedUser
{
	Oid			userid;
	int			sec_context;
} ScribeSavedUser;

/* Switch to the bootstrap superuser; returns the caller's role */
static inline Oid
scribe_run_as_owner(ScribeSavedUser *saved)
{
	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
						   saved->sec_context | SECURITY_LOCAL_USERID_CHANGE);
	return saved->userid;
}

/* Switch back to the caller (an ERROR in between restores it too) */
static inline void
scribe_run_as_caller(const ScribeSavedUser *saved)
{
	SetUserIdAndSecContext(saved->userid, saved->sec_context);
}

#endif							/* PG_SCRIBE_H */
