/*
 * The queue's administrative functions: scribe.queue_create, queue_alter,
 * queue_drop, queue_purge, requeue, queue_grant and queue_revoke.  Each is
 * a C function for one reason: to know its caller.  A SECURITY DEFINER
 * function sees its owner as current_user, so it cannot tell who called it;
 * here the caller (GetUserId()) is the first argument of the internal
 * function of the same name (scribe._queue_create(caller, ...), granted to
 * nobody) that does the work as the bootstrap superuser, on our own tables
 * only, and decides by the caller: the creator owns the queue; its owner's
 * members, scribe_admin's and superusers manage it (src/sql/queue.sql,
 * src/sql/queue_rights.sql).  Queue names are data, never identifiers: the
 * internal functions resolve nothing the caller controls.
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type_d.h"
#include "fmgr.h"

#include "base/call_internal.h"

PG_FUNCTION_INFO_V1(scribe_queue_admin_call);

/* A queue administration function: scribe._<its name>(caller, arguments...) as the superuser */
Datum
scribe_queue_admin_call(PG_FUNCTION_ARGS)
{
	Oid			types[1] = {REGROLEOID};
	Datum		values[1] = {ObjectIdGetDatum(GetUserId())};
	bool		nulls[1] = {false};

	return scribe_call_internal(fcinfo, 1, types, values, nulls);
}
