/*
 * Saved SPI plans shared by every capability.
 */
#include "pg_scribe.h"

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
