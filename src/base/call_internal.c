/*
 * A public SQL function whose body is an internal SQL function run as the
 * bootstrap superuser, with facts about its caller in front of its
 * arguments.
 *
 * SECURITY DEFINER SQL cannot see who called it: inside, current_user is
 * the definer, and anything the caller passes in ("I am role x", "I act
 * for owner y") could be forged.  So the public function is C: it reads
 * the caller's identity as the caller (GetUserId()), then goes up and
 * calls scribe._<its own name>(<facts>, <its arguments>), an internal
 * function granted to nobody.  The caller reaches the internal body only
 * through the C door, with facts it cannot choose.
 */
#include "base/pg_scribe.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type_d.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "base/call_internal.h"
#include "base/spi_plans.h"

/* The plans of the internal calls, one per public function (by its OID) */
#define CALL_PLANS 32

typedef struct CallPlan
{
	Oid			fn_oid;
	SPIPlanPtr	plan;
} CallPlan;

static CallPlan call_plans[CALL_PLANS];
static int	call_plans_next = 0;

/* The cached plan slot of a public function, evicting the oldest when full */
static SPIPlanPtr *
call_plan_slot(Oid fn_oid)
{
	CallPlan   *slot;

	for (int i = 0; i < CALL_PLANS; i++)
		if (call_plans[i].fn_oid == fn_oid && call_plans[i].plan != NULL)
			return &call_plans[i].plan;
	slot = &call_plans[call_plans_next];
	call_plans_next = (call_plans_next + 1) % CALL_PLANS;
	if (slot->plan != NULL)
		SPI_freeplan(slot->plan);
	slot->fn_oid = fn_oid;
	slot->plan = NULL;
	return &slot->plan;
}

/*
 * "SELECT [* FROM] scribe._<name>($1, ..., $n)" for the public function
 * fn_oid, with its argument types after the facts' types
 */
static char *
call_statement(Oid fn_oid, bool returns_set, int nfacts, const Oid *fact_types, Oid **argtypes, int *nargs,
			   char *volatility)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	Form_pg_proc proc;
	StringInfoData sql;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for function %u", fn_oid);
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	*nargs = nfacts + proc->pronargs;
	*argtypes = palloc(sizeof(Oid) * Max(*nargs, 1));
	memcpy(*argtypes, fact_types, sizeof(Oid) * nfacts);
	memcpy(*argtypes + nfacts, proc->proargtypes.values, sizeof(Oid) * proc->pronargs);
	*volatility = proc->provolatile;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %sscribe.%s(", returns_set ? "* FROM " : "",
					 quote_identifier(psprintf("_%s", NameStr(proc->proname))));
	for (int i = 0; i < *nargs; i++)
		appendStringInfo(&sql, "%s$%d", i > 0 ? ", " : "", i + 1);
	appendStringInfoChar(&sql, ')');
	ReleaseSysCache(tuple);
	return sql.data;
}

/*
 * Run scribe._<name of the function called>(facts..., arguments...) as the
 * bootstrap superuser and return its result: a value, or the rows of a
 * set-returning function (materialised).  The facts are what the caller
 * worked out about itself, as itself, before calling.
 */
Datum
scribe_call_internal(FunctionCallInfo fcinfo, int nfacts, const Oid *fact_types,
					 const Datum *fact_values, const bool *fact_nulls)
{
	Oid			fn_oid = fcinfo->flinfo->fn_oid;
	bool		returns_set = fcinfo->flinfo->fn_retset;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ScribeSpiScope scope;
	SPIPlanPtr *slot;
	Oid		   *argtypes;
	int			nargs;
	char		volatility;
	char	   *sql;
	Datum	   *values;
	char	   *nulls;
	Datum		result = (Datum) 0;
	bool		isnull = true;

	if (returns_set)
		InitMaterializedSRF(fcinfo, 0);

	sql = call_statement(fn_oid, returns_set, nfacts, fact_types, &argtypes, &nargs, &volatility);
	values = palloc(sizeof(Datum) * Max(nargs, 1));
	nulls = palloc(sizeof(char) * Max(nargs, 1));
	for (int i = 0; i < nfacts; i++)
	{
		values[i] = fact_values[i];
		nulls[i] = fact_nulls[i] ? 'n' : ' ';
	}
	for (int i = nfacts; i < nargs; i++)
	{
		values[i] = PG_GETARG_DATUM(i - nfacts);
		nulls[i] = PG_ARGISNULL(i - nfacts) ? 'n' : ' ';
	}

	(void) scribe_spi_begin_as_owner(&scope);
	slot = call_plan_slot(fn_oid);
	scribe_plan_execute(slot, sql, nargs, argtypes, values, nulls, volatility != PROVOLATILE_VOLATILE,
						returns_set ? 0 : 1);
	if (returns_set)
	{
		/* the rows, copied into the tuplestore (outside SPI's memory) */
		for (uint64 i = 0; i < SPI_processed; i++)
			tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
	}
	else if (SPI_processed == 1)
	{
		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (SPI_gettypeid(SPI_tuptable->tupdesc, 1) == VOIDOID)
			isnull = true;
		else if (!isnull)
			result = SPI_datumTransfer(result, get_typbyval(SPI_gettypeid(SPI_tuptable->tupdesc, 1)),
									   get_typlen(SPI_gettypeid(SPI_tuptable->tupdesc, 1)));
	}
	scribe_spi_end(&scope);

	if (returns_set)
		return (Datum) 0;
	if (isnull)
		PG_RETURN_NULL();
	return result;
}
