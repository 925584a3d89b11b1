/*
 * The sql job kind: call a function or procedure with a jsonb argument, as
 * the role that enqueued the job.
 *
 * Payload: {"function": "schema.name", "args": <any json>}; the worker runs
 * schema.name(args) (CALL for a procedure; args defaults to {}) and keeps
 * to_jsonb() of what a function returns as the job's result.  The call runs
 * as the sender (scribe_role_begin): its search_path is
 * scribe.job_search_path, whatever it sets is undone after it, and its
 * deferred triggers fire before the worker takes its own rights back.
 */
#include "base/pg_scribe.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "jobs/job_kind.h"

static const char *const sql_fields[] = {"function", "args", NULL};

/* A saved plan per function */
typedef struct SqlPlan
{
	Oid			funcid;			/* hash key */
	SPIPlanPtr	plan;
	bool		returns_void;
} SqlPlan;

static HTAB *sql_plans = NULL;

/* The function a sql job names, taking one jsonb argument; ERROR if none */
static Oid
sql_function(Jsonb *payload)
{
	char	   *name = scribe_jsonb_get_string(payload, "function", true, "sql");
	List	   *names = stringToQualifiedNameList(name);
	ObjectWithArgs *routine = makeNode(ObjectWithArgs);
	Oid			funcid;

	/* the worker must find the same function as the producer meant */
	if (list_length(names) < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("function \"%s\" of an sql job must be named with its schema", name),
				 errhint("Write schema.function, for example public.%s.", name)));
	/* a function or a procedure */
	routine->objname = names;
	routine->objargs = list_make1(makeTypeNameFromOid(JSONBOID, -1));
	funcid = LookupFuncWithArgs(OBJECT_ROUTINE, routine, true);

	if (!OidIsValid(funcid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function %s(jsonb) does not exist", name),
				 errhint("An sql job calls a function or procedure that takes one jsonb argument; name it with its schema.")));
	return funcid;
}

/* schema.name(jsonb) of a function, for messages */
static char *
sql_function_name(Oid funcid)
{
	return psprintf("%s(jsonb)",
					quote_qualified_identifier(get_namespace_name(get_func_namespace(funcid)),
											   get_func_name(funcid)));
}

/* ERROR unless role may execute funcid */
static void
sql_check_privilege(Oid funcid, Oid role)
{
	if (pg_proc_aclcheck(funcid, role, ACL_EXECUTE) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", sql_function_name(funcid)),
				 errdetail("An sql job runs as the role that enqueued it, %s.", GetUserNameFromId(role, false)),
				 errhint("GRANT EXECUTE on the function to that role.")));
}

/* Validate a sql job at enqueue: the function exists and role may run it */
static void
sql_validate(Jsonb *payload, Oid role)
{
	scribe_jsonb_check_keys(payload, sql_fields, "sql");
	sql_check_privilege(sql_function(payload), role);
}

/* The saved plan that calls funcid (inside SPI) */
static SqlPlan *
sql_plan(Oid funcid)
{
	SqlPlan    *entry;
	bool		found;
	HeapTuple	proc;
	Form_pg_proc form;
	char	   *qualified;
	char	   *sql;
	Oid			argtypes[1] = {JSONBOID};

	if (sql_plans == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(SqlPlan);
		ctl.hcxt = TopMemoryContext;
		sql_plans = hash_create("pg_scribe sql jobs", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(sql_plans, &funcid, HASH_ENTER, &found);
	if (found && entry->plan != NULL)
		return entry;

	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	if (!HeapTupleIsValid(proc))
		elog(ERROR, "cache lookup failed for function %u", funcid);
	form = (Form_pg_proc) GETSTRUCT(proc);
	qualified = quote_qualified_identifier(get_namespace_name(form->pronamespace), NameStr(form->proname));
	entry->returns_void = form->prorettype == VOIDOID || form->prokind == PROKIND_PROCEDURE;
	if (form->prokind == PROKIND_PROCEDURE)
		sql = psprintf("CALL %s($1)", qualified);
	else if (entry->returns_void)
		sql = psprintf("SELECT %s($1)", qualified);
	else
		sql = psprintf("SELECT pg_catalog.to_jsonb(%s($1))", qualified);
	ReleaseSysCache(proc);

	entry->plan = NULL;
	entry->plan = SPI_prepare(sql, 1, argtypes);
	if (entry->plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	SPI_keepplan(entry->plan);
	return entry;
}

/* Run a sql job as the role that enqueued it */
static ScribeJobOutcome
sql_execute(const ScribeJob *job, int64 timeout_ms, Jsonb **result, char **error)
{
	Oid			funcid;
	SqlPlan    *plan;
	Jsonb	   *args = scribe_jsonb_get(job->payload, "args");
	Datum		values[1];
	Datum		value = (Datum) 0;
	bool		has_value = false;
	ScribeRoleScope scope;
	int			rc;

	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(job->enqueued_by)))
	{
		*error = psprintf("the role that enqueued the job (OID %u) no longer exists", job->enqueued_by);
		return JOB_FAILED;
	}
	funcid = sql_function(job->payload);
	if (pg_proc_aclcheck(funcid, job->enqueued_by, ACL_EXECUTE) != ACLCHECK_OK)
	{
		*error = psprintf("permission denied for function %s to role %s",
						  sql_function_name(funcid), GetUserNameFromId(job->enqueued_by, false));
		return JOB_FAILED;
	}

	SPI_connect();
	plan = sql_plan(funcid);
	values[0] = args ? JsonbPGetDatum(args) :
		DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));

	scribe_role_begin(job->enqueued_by, false, &scope);
	rc = SPI_execute_plan(plan->plan, values, NULL, false, 1);
	if (rc < 0)
		elog(ERROR, "could not run the sql job: %s", SPI_result_code_string(rc));
	scribe_role_fire_deferred();

	if (!plan->returns_void && SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			/* copied out of SPI's memory, into the caller's */
			value = SPI_datumTransfer(d, false, -1);
			has_value = true;
		}
	}
	scribe_role_end(&scope);
	SPI_finish();
	*result = has_value ? DatumGetJsonbP(value) : NULL;
	return JOB_DONE;
}

const ScribeJobKind scribe_kind_sql = {
	.name = "sql",
	.validate = sql_validate,
	.execute = sql_execute,
};
