/*
 * The policy API's C side.  create, alter, drop and run a policy for the
 * calling role: every name the caller gives (target, parent, archive table,
 * archive schema) is looked up here, as the caller (its search_path and its
 * rights), by catalog lookups only; the work then runs as the bootstrap
 * superuser on the OIDs found, as one call of an internal function with
 * typed parameters (scribe_plan_call), which resolves nothing the caller
 * controls.  And _run_as, which does a policy's SQL as its owner, in the
 * sandbox PostgreSQL gives code run on another role's behalf.
 */
#include "base/pg_scribe.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

#include "lifecycle/lifecycle.h"
#include "base/spi_plans.h"

PG_FUNCTION_INFO_V1(scribe_create_policy);
PG_FUNCTION_INFO_V1(scribe_alter_policy);
PG_FUNCTION_INFO_V1(scribe_drop_policy);
PG_FUNCTION_INFO_V1(scribe_run_policy_now);
PG_FUNCTION_INFO_V1(scribe_run_as);

/* Arguments of the internal functions: the caller, the API's own, the OIDs found */
#define POLICY_MAX_ARGS 12

/* The string a settings object gives for key, or NULL (absent, JSON null, not a string) */
static char *
setting_string(Jsonb *settings, const char *key)
{
	JsonbValue	v;

	if (settings == NULL || !JB_ROOT_IS_OBJECT(settings) ||
		getKeyJsonValueFromContainer(&settings->root, key, strlen(key), &v) == NULL ||
		v.type != jbvString)
		return NULL;
	return pnstrdup(v.val.string.val, v.val.string.len);
}

/* Call a to_reg* lookup function on name: the OID, or InvalidOid when there is none */
static Oid
lookup_missing_ok(PGFunction fn, const char *name)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = CStringGetTextDatum(name);
	fcinfo->args[0].isnull = false;
	result = fn(fcinfo);
	return fcinfo->isnull ? InvalidOid : DatumGetObjectId(result);
}

/* The relation the caller means by name (its search_path, its rights), or InvalidOid */
static Oid
caller_relation(const char *name)
{
	if (name == NULL)
		return InvalidOid;
	return RangeVarGetRelidExtended(makeRangeVarFromNameList(stringToQualifiedNameList(name)),
									NoLock, RVR_MISSING_OK, NULL, NULL);
}

/* The procedure the caller means by name, with or without its argument types, or InvalidOid */
static Oid
caller_procedure(const char *name)
{
	if (name == NULL)
		return InvalidOid;
	return lookup_missing_ok(strchr(name, '(') != NULL ? to_regprocedure : to_regproc, name);
}

/* The schema named name (never searched for), or InvalidOid */
static Oid
caller_schema(const char *name)
{
	if (name == NULL)
		return InvalidOid;
	return lookup_missing_ok(to_regnamespace, name);
}

/* Set argument i to oid, or NULL for InvalidOid */
static void
set_oid_arg(Datum *values, char *nulls, int i, Oid oid)
{
	values[i] = ObjectIdGetDatum(oid);
	nulls[i] = OidIsValid(oid) ? ' ' : 'n';
}

/*
 * Look up the names a policy's settings give (parent, archive_table,
 * archive_schema), as the caller, into arguments first .. first + 2
 */
static void
settings_names(Jsonb *settings, Datum *values, char *nulls, int first)
{
	set_oid_arg(values, nulls, first, caller_relation(setting_string(settings, "parent")));
	set_oid_arg(values, nulls, first + 1, caller_relation(setting_string(settings, "archive_table")));
	set_oid_arg(values, nulls, first + 2, caller_schema(setting_string(settings, "archive_schema")));
}

/* Copy this function's arguments into arguments 1 .. nargs (0 is the caller) */
static void
api_args(FunctionCallInfo fcinfo, int nargs, Datum *values, char *nulls)
{
	for (int i = 0; i < nargs; i++)
	{
		values[i + 1] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i + 1] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
}

/*
 * Run sql, one call of an internal function whose first parameter is the
 * caller's role, as the bootstrap superuser; its one value (NULL for void)
 */
static Datum
policy_call(FunctionCallInfo fcinfo, SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
			Datum *values, char *nulls)
{
	ScribeSpiScope scope;
	bool		isnull;
	Datum		result;
	int			rc;

	Assert(nargs <= POLICY_MAX_ARGS);
	values[0] = ObjectIdGetDatum(scribe_spi_begin_as_owner(&scope));
	nulls[0] = ' ';
	rc = scribe_plan_call(plan, sql, nargs, argtypes, values, nulls, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "%s failed: %s", sql, SPI_result_code_string(rc));
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	/* out of SPI's memory: a row or a jsonb, both varlena (void has no value) */
	if (SPI_gettypeid(SPI_tuptable->tupdesc, 1) == VOIDOID)
		isnull = true;
	else if (!isnull)
		result = SPI_datumTransfer(result, false, -1);
	scribe_spi_end(&scope);
	if (isnull)
		PG_RETURN_NULL();
	return result;
}

/* scribe.policy_create(name, kind, target, settings, schedule, enabled) */
Datum
scribe_create_policy(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[12] = {REGROLEOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, BOOLOID,
	REGCLASSOID, REGPROCEDUREOID, REGCLASSOID, REGCLASSOID, REGNAMESPACEOID};
	Datum		values[12];
	char		nulls[12];
	char	   *kind = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *target = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	bool		is_sql = kind != NULL && strcmp(kind, "sql") == 0;

	api_args(fcinfo, 6, values, nulls);
	/* the target: a procedure for the sql kind, a relation for the others */
	set_oid_arg(values, nulls, 7, is_sql ? InvalidOid : caller_relation(target));
	set_oid_arg(values, nulls, 8, is_sql ? caller_procedure(target) : InvalidOid);
	settings_names(PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3), values, nulls, 9);
	return policy_call(fcinfo, &plan,
					   "SELECT scribe._create_policy($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
					   12, argtypes, values, nulls);
}

/* scribe.policy_alter(name, settings, schedule, enabled) */
Datum
scribe_alter_policy(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[8] = {REGROLEOID, TEXTOID, JSONBOID, TEXTOID, BOOLOID,
	REGCLASSOID, REGCLASSOID, REGNAMESPACEOID};
	Datum		values[8];
	char		nulls[8];

	api_args(fcinfo, 4, values, nulls);
	settings_names(PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1), values, nulls, 5);
	return policy_call(fcinfo, &plan, "SELECT scribe._alter_policy($1, $2, $3, $4, $5, $6, $7, $8)",
					   8, argtypes, values, nulls);
}

/* scribe.policy_drop(name) */
Datum
scribe_drop_policy(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {REGROLEOID, TEXTOID};
	Datum		values[2];
	char		nulls[2];

	api_args(fcinfo, 1, values, nulls);
	(void) policy_call(fcinfo, &plan, "SELECT scribe._drop_policy($1, $2)", 2, argtypes, values, nulls);
	PG_RETURN_VOID();
}

/* scribe.policy_run(name, dry_run) */
Datum
scribe_run_policy_now(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {REGROLEOID, TEXTOID, BOOLOID};
	Datum		values[3];
	char		nulls[3];

	api_args(fcinfo, 2, values, nulls);
	return policy_call(fcinfo, &plan, "SELECT scribe._run_policy_now($1, $2, $3)", 3, argtypes, values, nulls);
}

/*
 * scribe._run_as(role, sql, lock_timeout_ms, OUT rows, OUT value): run sql
 * (whose names are all schema-qualified) as role, a security-restricted
 * operation (no temporary objects, deferred triggers or cursors WITH HOLD
 * to outlive it), with scribe.job_search_path and a lock timeout; every
 * setting it changes is undone after, or by the (sub)transaction's abort.
 * Returns the rows its last statement processed and, as text, the first
 * column of that statement's first row (NULL if none).
 */
Datum
scribe_run_as(PG_FUNCTION_ARGS)
{
	Oid			role = PG_GETARG_OID(0);
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			lock_timeout_ms = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2);
	MemoryContext callercxt = CurrentMemoryContext;
	ScribeRoleScope scope;
	TupleDesc	tupdesc;
	Datum		result[2];
	bool		isnull[2] = {false, true};
	uint64		processed;
	int			rc;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may run SQL as another role"),
				 errhint("Lifecycle policies call scribe._run_as(); use scribe.policy_run().")));
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the policy's owner (role OID %u) no longer exists", role),
				 errhint("Drop the policy and create it again as a role that exists.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "scribe._run_as must return a row");
	tupdesc = BlessTupleDesc(tupdesc);

	scribe_role_begin(role, true, &scope);
	/* after scribe_role_begin, so that scribe_role_end undoes it too */
	if (lock_timeout_ms > 0)
		(void) set_config_option("lock_timeout", psprintf("%d", lock_timeout_ms), PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	SPI_connect();
	rc = SPI_execute(sql, false, 0);
	if (rc < 0)
		elog(ERROR, "could not run a policy's SQL: %s", SPI_result_code_string(rc));
	processed = SPI_processed;
	/* text made while still the role: a type's output function is the role's business */
	if (SPI_tuptable != NULL && SPI_processed > 0 && SPI_tuptable->tupdesc->natts > 0)
	{
		char	   *value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (value != NULL)
		{
			MemoryContext spicxt = MemoryContextSwitchTo(callercxt);

			result[1] = PointerGetDatum(cstring_to_text(value));
			isnull[1] = false;
			MemoryContextSwitchTo(spicxt);
		}
	}
	SPI_finish();
	scribe_role_end(&scope);

	result[0] = Int64GetDatum((int64) processed);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, result, isnull)));
}
