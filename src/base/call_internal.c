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
#include "utils/memutils.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "base/call_internal.h"
#include "base/spi_plans.h"

/* The internal calls, one per public function (by its OID), made on first use */
#define CALL_PLANS 32

typedef struct CallPlan
{
	Oid			fn_oid;			/* InvalidOid: a free slot */
	char	   *sql;			/* "SELECT [* FROM] scribe._<name>($1, ..., $n)" */
	int			nargs;			/* the facts, then the public function's arguments */
	Oid		   *argtypes;
	bool		read_only;		/* the public function is not volatile */
	SPIPlanPtr	plan;			/* prepared on the first execution */
} CallPlan;

static CallPlan call_plans[CALL_PLANS];
static int	call_plans_next = 0;

/*
 * The internal call of the public function fn_oid, its statement written
 * (in TopMemoryContext) on first use; the oldest is evicted when all are taken
 */
static CallPlan *
call_plan(Oid fn_oid, bool returns_set, int nfacts, const Oid *fact_types)
{
	CallPlan   *slot;
	HeapTuple	tuple;
	Form_pg_proc proc;
	StringInfoData sql;
	MemoryContext old;

	for (int i = 0; i < CALL_PLANS; i++)
		if (call_plans[i].fn_oid == fn_oid)
			return &call_plans[i];

	slot = &call_plans[call_plans_next];
	call_plans_next = (call_plans_next + 1) % CALL_PLANS;
	if (slot->plan != NULL)
		SPI_freeplan(slot->plan);
	if (slot->sql != NULL)
	{
		pfree(slot->sql);
		pfree(slot->argtypes);
	}
	memset(slot, 0, sizeof(CallPlan));

	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for function %u", fn_oid);
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	old = MemoryContextSwitchTo(TopMemoryContext);
	slot->nargs = nfacts + proc->pronargs;
	slot->argtypes = palloc(sizeof(Oid) * Max(slot->nargs, 1));
	memcpy(slot->argtypes, fact_types, sizeof(Oid) * nfacts);
	memcpy(slot->argtypes + nfacts, proc->proargtypes.values, sizeof(Oid) * proc->pronargs);
	slot->read_only = proc->provolatile != PROVOLATILE_VOLATILE;
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %sscribe.%s(", returns_set ? "* FROM " : "",
					 quote_identifier(psprintf("_%s", NameStr(proc->proname))));
	for (int i = 0; i < slot->nargs; i++)
		appendStringInfo(&sql, "%s$%d", i > 0 ? ", " : "", i + 1);
	appendStringInfoChar(&sql, ')');
	slot->sql = sql.data;
	MemoryContextSwitchTo(old);
	ReleaseSysCache(tuple);
	slot->fn_oid = fn_oid;
	return slot;
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
	bool		returns_set = fcinfo->flinfo->fn_retset;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CallPlan   *call;
	ScribeSpiScope scope;
	Datum	   *values;
	char	   *nulls;
	Datum		result = (Datum) 0;
	bool		isnull = true;

	if (returns_set)
		InitMaterializedSRF(fcinfo, 0);

	call = call_plan(fcinfo->flinfo->fn_oid, returns_set, nfacts, fact_types);
	values = palloc(sizeof(Datum) * Max(call->nargs, 1));
	nulls = palloc(sizeof(char) * Max(call->nargs, 1));
	for (int i = 0; i < nfacts; i++)
	{
		values[i] = fact_values[i];
		nulls[i] = fact_nulls[i] ? 'n' : ' ';
	}
	for (int i = nfacts; i < call->nargs; i++)
	{
		values[i] = PG_GETARG_DATUM(i - nfacts);
		nulls[i] = PG_ARGISNULL(i - nfacts) ? 'n' : ' ';
	}

	(void) scribe_spi_begin_as_owner(&scope);
	scribe_plan_execute(&call->plan, call->sql, call->nargs, call->argtypes, values, nulls, call->read_only,
						returns_set ? 0 : 1);
	if (returns_set)
	{
		/* the rows, copied into the tuplestore (outside SPI's memory) */
		for (uint64 i = 0; i < SPI_processed; i++)
			tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
	}
	else if (SPI_processed == 1)
	{
		Oid			type = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
		int16		len;
		bool		byval;

		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (type == VOIDOID)
			isnull = true;
		else if (!isnull)
		{
			/* out of SPI's memory */
			get_typlenbyval(type, &len, &byval);
			result = SPI_datumTransfer(result, byval, len);
		}
	}
	scribe_spi_end(&scope);

	if (returns_set)
		return (Datum) 0;
	if (isnull)
		PG_RETURN_NULL();
	return result;
}
