/*
 * Per-queue rights: who may send to a queue and who may claim from it.
 *
 * A queue belongs to the role that created it; its owner grants send and
 * claim to other roles (scribe.queue_grant, scribe.queue_revoke: SQL in
 * src/sql/queue_rights.sql).  A role may do what a right allows when it is
 * a superuser, has the privileges of the owner or of a grantee of that
 * right (membership, as PostgreSQL's GRANT on a table), or of scribe_admin.
 * Every verb checks it in C, on the backend's cache of the queue
 * (queue_cache.c): a hash lookup and PostgreSQL's cached membership list.
 *
 * A dropped role: PostgreSQL does not know that our rows name it, so they
 * stay, naming an OID that no role has; nobody is its member, so its grants
 * give nothing and its queues are managed by scribe_admin and superusers
 * only.  The launcher's hourly pass (scribe._queue_roles_forget) deletes
 * such grants and gives such queues to the bootstrap superuser, before the
 * OID could ever come back as another role's.
 */
#include "base/pg_scribe.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "queue/queue.h"

/* The name of a right, as queue_grant takes it */
static const char *
right_name(ScribeQueueRight right)
{
	return right == SCRIBE_QUEUE_SEND ? "send" : "claim";
}

/* Whether role has the privileges of one of the n grantees */
static bool
privs_of_any(Oid role, int n, const Oid *grantees)
{
	for (int i = 0; i < n; i++)
	{
		if (has_privs_of_role(role, grantees[i]))
			return true;
	}
	return false;
}

/*
 * Whether role may use right on queue: its owner's members (superusers
 * included), the members of a grantee of the right, scribe_admin's
 */
bool
scribe_queue_may(const ScribeQueue *queue, Oid role, ScribeQueueRight right)
{
	/* the SQL of 0.3.0, before ALTER EXTENSION UPDATE: no owners yet */
	if (!queue->owned)
		return true;
	if (has_privs_of_role(role, queue->owner))
		return true;
	if (right == SCRIBE_QUEUE_SEND ? privs_of_any(role, queue->nsenders, queue->senders) :
		privs_of_any(role, queue->nclaimers, queue->claimers))
		return true;
	return scribe_role_is_admin(role);
}

/* Raise the error for a role denied a right on a queue */
static void
queue_denied(const char *queue, Oid role, ScribeQueueRight right) pg_attribute_noreturn();

static void
queue_denied(const char *queue, Oid role, ScribeQueueRight right)
{
	const char *role_name = GetUserNameFromId(role, true);

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for queue \"%s\"", queue),
			 errhint("The queue's owner grants it: SELECT scribe.queue_grant(%s, %s, '{%s}').",
					 quote_literal_cstr(queue),
					 quote_literal_cstr(role_name ? quote_identifier(role_name) : "?"),
					 right_name(right))));
}

/* ERROR unless role may use right on queue */
void
scribe_queue_require(const ScribeQueue *queue, Oid role, ScribeQueueRight right)
{
	if (!scribe_queue_may(queue, role, right))
		queue_denied(queue->name, role, right);
}

/*
 * ERROR unless role may use right on the queue of that id, a job's (inside
 * SPI, as the owner)
 */
void
scribe_queue_require_id(int32 queue_id, Oid role, ScribeQueueRight right)
{
	const ScribeQueue *queue;

	if (superuser_arg(role))
		return;
	queue = scribe_queue_lookup_id(queue_id);
	/* not while the job's row is ours: queue_drop locks the jobs out first */
	if (queue == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the queue of the job (queue id %d) does not exist", queue_id),
				 errhint("It was dropped with its jobs.")));
	scribe_queue_require(queue, role, right);
}

/*
 * ERROR unless the queue exists and role may use right on it: the check
 * for other capabilities (a document's notify queue, say), inside SPI or
 * not, as any user
 */
void
scribe_queue_check_right(const char *queue, Oid role, ScribeQueueRight right)
{
	ScribeSpiScope scope;
	bool		may;

	scribe_spi_begin_as_owner(&scope);
	may = scribe_queue_may(scribe_queue_lookup(queue), role, right);
	scribe_spi_end(&scope);
	if (!may)
		queue_denied(queue, role, right);
}

PG_FUNCTION_INFO_V1(scribe_queue_admin_sql);

/* scribe._queue_admin(role): whether role has a superuser's or scribe_admin's privileges */
Datum
scribe_queue_admin_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(scribe_role_is_admin(PG_GETARG_OID(0)));
}

PG_FUNCTION_INFO_V1(scribe_queue_check_right_sql);

/* scribe._queue_check_right(queue, role, right): ERROR unless role may */
Datum
scribe_queue_check_right_sql(PG_FUNCTION_ARGS)
{
	char	   *right;

	scribe_require_preload("scribe._queue_check_right()");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("queue, role and right must not be NULL"),
				 errhint("Name the queue, the role and the right ('send' or 'claim') to check.")));
	right = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (strcmp(right, "send") != 0 && strcmp(right, "claim") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid queue right \"%s\"", right),
				 errhint("The rights on a queue are 'send' and 'claim'.")));
	scribe_queue_check_right(text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_GETARG_OID(1),
							 strcmp(right, "send") == 0 ? SCRIBE_QUEUE_SEND : SCRIBE_QUEUE_CLAIM);
	PG_RETURN_VOID();
}
