/*
 * Saved SPI plans: each hot statement is parsed and planned once per
 * backend, on first use, and kept for the life of the backend.  The plan
 * cache replans by itself after DDL on the tables (DROP and CREATE
 * EXTENSION included).  Statements run with search_path = pg_catalog
 * (an override), but for scribe_plan_call(), which leads to a role's code.
 */
#ifndef SCRIBE_SPI_PLANS_H
#define SCRIBE_SPI_PLANS_H

#include "executor/spi.h"
#include "utils/uuid.h"

extern SPIPlanPtr scribe_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern int	scribe_plan_execute(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes,
								Datum *values, const char *nulls, bool read_only, long count);
extern int	scribe_plan_execute_indexed(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes,
										Datum *values, const char *nulls, bool read_only, long count);
extern int	scribe_plan_call(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes,
							 Datum *values, const char *nulls, long count);

/* Array parameters */
extern Datum scribe_int8_array(const int64 *values, int n);
extern Datum scribe_int4_array(const int32 *values, int n);
extern Datum scribe_uuid_array(const pg_uuid_t *values, int n);

#endif							/* SCRIBE_SPI_PLANS_H */
