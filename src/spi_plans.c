/*
 * Saved SPI plans shared by every capability.
 */
#include "pg_scribe.h"

#include "catalog/pg_type.h"
#include "utils/array.h"

#include "spi_plans.h"

/* The plan cached in *cache, prepared and kept on first use (inside SPI) */
SPIPlanPtr
scribe_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan;

	if (*cache != NULL)
		return *cache;

	plan = SPI_prepare(sql, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "pg_scribe could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "pg_scribe could not keep the plan of \"%s\"", sql);
	*cache = plan;
	return plan;
}

/* Execute a saved plan; returns SPI's result code, ERRORs on failure codes */
int
scribe_plan_execute(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes,
					Datum *values, const char *nulls, bool read_only, long count)
{
	SPIPlanPtr	plan = scribe_plan(cache, sql, nargs, argtypes);
	int			rc = SPI_execute_plan(plan, values, nulls, read_only, count);

	if (rc < 0)
		elog(ERROR, "pg_scribe could not execute \"%s\": %s", sql, SPI_result_code_string(rc));
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

/* An integer[] of n values, for a statement parameter */
Datum
scribe_int4_array(const int32 *values, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Int32GetDatum(values[i]);
	return PointerGetDatum(construct_array(elems, n, INT4OID, 4, true, TYPALIGN_INT));
}
