/*
 * The policy API's C side: create, alter, drop and run a policy as the
 * calling role (recorded as the policy's owner, checked against the
 * target's owner) while the work runs as the bootstrap superuser, and
 * _run_as, which does a policy's SQL as its owner.
 */
#include "pg_scribe.h"

#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/varlena.h"
#include "utils/syscache.h"

#include "lifecycle/lifecycle.h"

PG_FUNCTION_INFO_V1(scribe_create_policy);
PG_FUNCTION_INFO_V1(scribe_alter_policy);
PG_FUNCTION_INFO_V1(scribe_drop_policy);
PG_FUNCTION_INFO_V1(scribe_run_policy_now);
PG_FUNCTION_INFO_V1(scribe_run_as);

#define POLICY_MAX_ARGS 6

/*
 * Call sql (an internal function taking the caller's role, then this
 * function's arguments of types, then, with_path, the caller's search_path
 * to find the names it gives) as the bootstrap superuser; its one value
 */
static Datum
policy_call(FunctionCallInfo fcinfo, const char *sql, int nargs, const Oid *types, bool with_path)
{
	ScribeSavedUser saved;
	Oid			argtypes[POLICY_MAX_ARGS + 2];
	Datum		values[POLICY_MAX_ARGS + 2];
	char		nulls[POLICY_MAX_ARGS + 2];
	int			n = nargs + 1;
	bool		isnull;
	Datum		result;
	int			rc;

	Assert(nargs <= POLICY_MAX_ARGS);
	argtypes[0] = REGROLEOID;
	nulls[0] = ' ';
	for (int i = 0; i < nargs; i++)
	{
		argtypes[i + 1] = types[i];
		values[i + 1] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i + 1] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	if (with_path)
	{
		argtypes[n] = TEXTOID;
		values[n] = CStringGetTextDatum(namespace_search_path);
		nulls[n++] = ' ';
	}
	values[0] = ObjectIdGetDatum(scribe_run_as_owner(&saved));
	SPI_connect();
	rc = SPI_execute_with_args(sql, n, argtypes, values, nulls, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "%s failed: %s", sql, SPI_result_code_string(rc));
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	/* out of SPI's memory: a row or a jsonb, both varlena (void has no value) */
	if (SPI_gettypeid(SPI_tuptable->tupdesc, 1) == VOIDOID)
		isnull = true;
	else if (!isnull)
		result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	scribe_run_as_caller(&saved);
	if (isnull)
		PG_RETURN_NULL();
	return result;
}

/* scribe.create_policy(name, kind, target, settings, schedule, enabled) */
Datum
scribe_create_policy(PG_FUNCTION_ARGS)
{
	static const Oid types[] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, BOOLOID};

	return policy_call(fcinfo, "SELECT scribe._create_policy($1, $2, $3, $4, $5, $6, $7, $8)", 6, types, true);
}

/* scribe.alter_policy(name, settings, schedule, enabled) */
Datum
scribe_alter_policy(PG_FUNCTION_ARGS)
{
	static const Oid types[] = {TEXTOID, JSONBOID, TEXTOID, BOOLOID};

	return policy_call(fcinfo, "SELECT scribe._alter_policy($1, $2, $3, $4, $5, $6)", 4, types, true);
}

/* scribe.drop_policy(name) */
Datum
scribe_drop_policy(PG_FUNCTION_ARGS)
{
	static const Oid types[] = {TEXTOID};

	(void) policy_call(fcinfo, "SELECT scribe._drop_policy($1, $2)", 1, types, false);
	PG_RETURN_VOID();
}

/* scribe.run_policy_now(name, dry_run) */
Datum
scribe_run_policy_now(PG_FUNCTION_ARGS)
{
	static const Oid types[] = {TEXTOID, BOOLOID};

	return policy_call(fcinfo, "SELECT scribe._run_policy_now($1, $2, $3)", 2, types, false);
}

/* The server's default search_path ("$user", public), as role sees it */
static OverrideSearchPath *
run_as_search_path(Oid role)
{
	OverrideSearchPath *path = palloc0(sizeof(OverrideSearchPath));
	char	   *names = pstrdup(GetConfigOptionResetString("search_path"));
	List	   *elements;
	ListCell   *lc;

	path->addCatalog = true;
	if (!SplitIdentifierString(names, ',', &elements))
		return path;
	foreach(lc, elements)
	{
		const char *name = lfirst(lc);
		Oid			schema;

		if (strcmp(name, "$user") == 0)
			name = GetUserNameFromId(role, false);
		schema = get_namespace_oid(name, true);
		if (OidIsValid(schema))
			path->schemas = lappend_oid(path->schemas, schema);
	}
	return path;
}

/*
 * scribe._run_as(role, sql, lock_timeout_ms): run sql (whose names are all
 * schema-qualified) as role, with a lock timeout; how many rows its last
 * statement processed.  The role and the settings are restored after, or
 * by the (sub)transaction's abort.
 */
Datum
scribe_run_as(PG_FUNCTION_ARGS)
{
	Oid			role = PG_GETARG_OID(0);
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			lock_timeout_ms = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);
	Oid			saved_user;
	int			saved_sec;
	int			nest_level;
	int			rc;
	uint64		processed;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may run SQL as another role")));
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the policy's owner (role OID %u) no longer exists", role),
				 errhint("Drop the policy and create it again as a role that exists.")));

	nest_level = NewGUCNestLevel();
	if (lock_timeout_ms > 0)
		(void) set_config_option("lock_timeout", psprintf("%d", lock_timeout_ms), PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	GetUserIdAndSecContext(&saved_user, &saved_sec);
	SetUserIdAndSecContext(role, saved_sec | SECURITY_LOCAL_USERID_CHANGE);
	/* the owner's code (a procedure, triggers) sees the server's search_path, not ours */
	PushOverrideSearchPath(run_as_search_path(role));
	SPI_connect();
	rc = SPI_execute(sql, false, 0);
	processed = SPI_processed;
	SPI_finish();
	PopOverrideSearchPath();
	SetUserIdAndSecContext(saved_user, saved_sec);
	AtEOXact_GUC(true, nest_level);
	if (rc < 0)
		elog(ERROR, "could not run a policy's SQL: %s", SPI_result_code_string(rc));
	PG_RETURN_INT64((int64) processed);
}
