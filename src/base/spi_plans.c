/*
 * Saved SPI plans shared by every capability.
 *
 * Every statement of ours runs with search_path pinned to pg_catalog,
 * whatever the caller's: its names are schema-qualified, and no operator or
 * function a user creates can stand in for a built-in one while it runs as
 * the superuser.
 */
#include "base/pg_scribe.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/uuid.h"

#include "base/spi_plans.h"

/* search_path = pg_catalog, for the duration of one statement */
static OverrideSearchPath pinned_search_path = {NIL, true, false, 0};

/*
 * The plan cached in *cache, prepared and kept on first use (inside SPI);
 * pinned: under the override search_path pg_catalog, else under the setting
 */
static SPIPlanPtr
plan_prepare(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes, int cursor_options,
			 bool pinned)
{
	SPIPlanPtr	plan;

	if (*cache != NULL)
		return *cache;

	if (pinned)
		PushOverrideSearchPath(&pinned_search_path);
	plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);
	if (pinned)
		PopOverrideSearchPath();
	if (plan == NULL)
		elog(ERROR, "pg_scribe could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "pg_scribe could not keep the plan of \"%s\"", sql);
	*cache = plan;
	return plan;
}

/* Execute a plan, pinned as plan_prepare() says; ERRORs on failure codes */
static int
plan_run(SPIPlanPtr plan, const char *sql, Datum *values, const char *nulls, bool read_only, long count,
		 bool pinned)
{
	int			rc;

	if (pinned)
		PushOverrideSearchPath(&pinned_search_path);
	rc = SPI_execute_plan(plan, values, nulls, read_only, count);
	if (pinned)
		PopOverrideSearchPath();
	if (rc < 0)
		elog(ERROR, "pg_scribe could not execute \"%s\": %s", sql, SPI_result_code_string(rc));
	return rc;
}

/* The plan cached in *cache, prepared and kept on first use (inside SPI) */
SPIPlanPtr
scribe_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	return plan_prepare(cache, sql, nargs, argtypes, 0, true);
}

/* Execute a saved plan; returns SPI's result code, ERRORs on failure codes */
int
scribe_plan_execute(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes,
					Datum *values, const char *nulls, bool read_only, long count)
{
	return plan_run(plan_prepare(cache, sql, nargs, argtypes, 0, true), sql, values, nulls, read_only, count, true);
}

/*
 * Execute a saved plan that must walk indexes in order: one generic plan,
 * planned without sorts, hash or merge joins, or sequential scans.  The
 * planner would otherwise replan each call, and on stale statistics (a
 * queue analyzed while empty) trade the claim index for a sort of the whole
 * queue.  The settings hold only while the statement runs.
 */
int
scribe_plan_execute_indexed(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes,
							Datum *values, const char *nulls, bool read_only, long count)
{
	static const char *const off[] = {"enable_sort", "enable_hashjoin", "enable_mergejoin", "enable_seqscan"};
	int			guc_level = NewGUCNestLevel();
	int			rc;

	for (int i = 0; i < (int) lengthof(off); i++)
		(void) set_config_option(off[i], "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	rc = plan_run(plan_prepare(cache, sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN, true),
				  sql, values, nulls, read_only, count, true);
	AtEOXact_GUC(true, guc_level);
	return rc;
}

/*
 * Execute a saved plan of one call of a scribe function that may run a
 * role's code (scribe_role_begin): search_path is pinned by the setting
 * (pg_catalog, pg_temp) instead of the override, because while an override
 * is in force PostgreSQL ignores every search_path the role's code sets,
 * its functions' own SET search_path included.  The statement must be a
 * call of one schema-qualified function with typed parameters.
 */
int
scribe_plan_call(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes,
				 Datum *values, const char *nulls, long count)
{
	int			guc_level = NewGUCNestLevel();
	int			rc;

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	rc = plan_run(plan_prepare(cache, sql, nargs, argtypes, 0, false), sql, values, nulls, false, count, false);
	AtEOXact_GUC(false, guc_level);
	return rc;
}

/* A bigint[] of n values, for a statement parameter */
Datum
scribe_int8_array(const int64 *values, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum(values[i]);
	return PointerGetDatum(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* A uuid[] of n values, for a statement parameter */
Datum
scribe_uuid_array(const pg_uuid_t *values, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = UUIDPGetDatum(&values[i]);
	return PointerGetDatum(construct_array(elems, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
}

/* An integer[] of n values, for a statement parameter */
Datum
scribe_int4_array(const int32 *values, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Int32GetDatum(values[i]);
	return PointerGetDatum(construct_array(elems, n, INT4OID, 4, true, TYPALIGN_INT));
}
