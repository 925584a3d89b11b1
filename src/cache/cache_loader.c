/*
 * The loader of scribe.cache_fetch: one query, run as the caller, its
 * parameters bound as values, never spliced into its text.
 *
 * The loader is parsed on its own first, its parameters typed by where they
 * stand, as PostgreSQL types the untyped parameters of a statement a driver
 * prepares: in "WHERE id = $1", $1 takes the type of the column id.  A
 * parameter the query leaves untyped ("jsonb_build_object('n', $1)") takes
 * the type of its value, text for a quoted literal.  Each value is cast to
 * its parameter's type as CAST(value AS type) would, and the query is
 * prepared with those types and run once, with a snapshot of its own taken
 * after the caller's token (cache_fetch.c), as before parameters.
 *
 * Refused before anything runs, so that a loader can only read: more or
 * fewer than one statement (a second one is what an injection adds), any
 * statement but a query (INSERT, UPDATE, DELETE, MERGE, SELECT INTO,
 * utility commands), a data-modifying WITH, FOR UPDATE or FOR SHARE.  A
 * loader runs when the key misses, not on every call: a write in it would
 * happen at the cache's whim.  The functions a query calls are not looked
 * into (docs/reference.md says so).
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type_d.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parse_coerce.h"
#include "parser/parser.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "cache/cache.h"

/* What the error context of a loader names */
typedef struct CacheLoaderContext
{
	const char *key;
	const char *loader;
	int			param;			/* the parameter being cast (1-based), or 0 */
} CacheLoaderContext;

/*
 * Say which loader (and parameter) an error comes from; a syntax error's
 * position is in the loader, not in the statement that called cache_fetch
 */
static void
cache_loader_error_context(void *arg)
{
	const CacheLoaderContext *ctx = arg;
	int			position = geterrposition();

	if (position > 0)
	{
		errposition(0);
		internalerrposition(position);
		internalerrquery(ctx->loader);
	}
	if (ctx->param > 0)
		errcontext("parameter $%d of the loader of cache key \"%s\"", ctx->param, ctx->key);
	else
		errcontext("loader of cache key \"%s\"", ctx->key);
}

/* The loader's one statement, raw; ERROR unless there is exactly one and it is a query */
static RawStmt *
cache_loader_parse(const char *key, const char *loader)
{
	List	   *stmts = raw_parser(loader, RAW_PARSE_DEFAULT);
	RawStmt    *raw;

	if (list_length(stmts) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the loader of cache key \"%s\" must be one statement", key),
				 stmts == NIL ? errdetail("It has none.") :
				 errdetail("It has %d.", list_length(stmts)),
				 errhint("Write the loader as one query and pass values as parameters: "
						 "scribe.cache_fetch(key, 'SELECT ... WHERE id = $1', ttl, id).")));
	raw = linitial_node(RawStmt, stmts);
	if (!IsA(raw->stmt, SelectStmt) || ((SelectStmt *) raw->stmt)->intoClause != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the loader of cache key \"%s\" must be a query, not %s", key,
						IsA(raw->stmt, SelectStmt) ? "SELECT INTO" :
						GetCommandTagName(CreateCommandTag(raw->stmt))),
				 errhint("A loader runs only when its key misses: write in statements of your own, "
						 "and load with a SELECT.")));
	return raw;
}

/* Whether a query, or one nested in it, locks rows (FOR UPDATE, FOR SHARE) */
static bool
cache_loader_locks(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;

		if (query->rowMarks != NIL)
			return true;
		return query_tree_walker(query, cache_loader_locks, context, 0);
	}
	return expression_tree_walker(node, cache_loader_locks, context);
}

/* The type of the analysed query's one column; ERROR if it writes, locks, or has other than one column */
static Oid
cache_loader_check(const char *key, Query *query)
{
	ListCell   *lc;
	Oid			type = InvalidOid;
	int			columns = 0;

	if (query->hasModifyingCTE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the loader of cache key \"%s\" must only read, but its WITH clause writes", key),
				 errhint("A loader runs only when its key misses: write in statements of your own.")));
	if (cache_loader_locks((Node *) query, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the loader of cache key \"%s\" must only read, but it locks rows (FOR UPDATE or FOR SHARE)", key),
				 errhint("Remove the locking clause: a loader's locks would be held by whichever caller missed.")));
	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk)
			continue;
		columns++;
		type = exprType((Node *) tle->expr);
	}
	if (columns != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the loader of cache key \"%s\" must return one column", key),
				 errhint("Write the loader as SELECT <one expression> ...")));
	return type;
}

/*
 * value, of type source (a quoted literal: unknown, a C string), cast to
 * target as CAST(value AS target) would; in the current memory context
 */
static Datum
cache_loader_cast(Datum value, Oid source, Oid target)
{
	int16		typlen;
	bool		typbyval;
	Node	   *expr;
	ExprContext *econtext;
	ExprState  *state;
	Datum		result;
	bool		isnull;

	if (source == target)
		return value;
	get_typlenbyval(source, &typlen, &typbyval);
	expr = coerce_to_target_type(NULL,
								 (Node *) makeConst(source, -1, InvalidOid, typlen, value, false, typbyval),
								 source, target, -1, COERCION_EXPLICIT, COERCE_EXPLICIT_CAST, -1);
	if (expr == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CANNOT_COERCE),
				 errmsg("a value of type %s cannot be cast to %s", format_type_be(source), format_type_be(target)),
				 errhint("Pass a value of type %s, or cast the parameter in the loader ($1::%s) to the type you pass.",
						 format_type_be(target), format_type_be(source))));
	econtext = CreateStandaloneExprContext();
	state = ExecInitExpr(expression_planner((Expr *) expr), NULL);
	result = ExecEvalExprSwitchContext(state, econtext, &isnull);
	get_typlenbyval(target, &typlen, &typbyval);
	if (!isnull)
		result = datumCopy(result, typbyval, typlen);
	FreeExprContext(econtext, true);
	return isnull ? (Datum) 0 : result;
}

/*
 * The types of the loader's parameters, from the query (inferred) or else
 * from the values; ERROR unless it refers to as many as were given
 */
static Oid *
cache_loader_param_types(const char *key, const Oid *inferred, int n_inferred,
						 const ScribeCacheParams *params)
{
	Oid		   *types;

	if (n_inferred > params->n)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_PARAMETER),
				 errmsg_plural("the loader of cache key \"%s\" refers to $%d, but %d parameter was given",
							   "the loader of cache key \"%s\" refers to $%d, but %d parameters were given",
							   params->n, key, n_inferred, params->n),
				 errhint("Pass a value after the ttl for each $n of the loader, in order: "
						 "scribe.cache_fetch(key, loader, ttl, value1, value2, ...).")));
	if (n_inferred < params->n)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_PARAMETER),
				 errmsg_plural("the loader of cache key \"%s\" refers to no parameter past $%d, but %d was given",
							   "the loader of cache key \"%s\" refers to no parameter past $%d, but %d were given",
							   params->n, key, n_inferred, params->n),
				 errhint("Refer to each value given after the ttl in the loader, as $1, $2, ... in order.")));
	types = palloc(Max(params->n, 1) * sizeof(Oid));
	for (int i = 0; i < params->n; i++)
	{
		types[i] = inferred[i];
		/* unused, or used where any type goes: the value's own type */
		if (types[i] == InvalidOid || types[i] == UNKNOWNOID)
			types[i] = params->types[i] == UNKNOWNOID ? TEXTOID : params->types[i];
	}
	return types;
}

/*
 * Run the loader of key with params as the caller; its one value in *value
 * (false if it is NULL), of *type.  want is CACHE_TYPE_TEXT (a jsonb value
 * is kept as jsonb, any other as its text) or CACHE_TYPE_JSONB (cast to
 * jsonb).  ERROR unless one statement, a query, one row, one column.
 */
bool
scribe_cache_load(const char *key, const char *loader, const ScribeCacheParams *params,
				  ScribeCacheType want, StringInfo value, ScribeCacheType *type)
{
	CacheLoaderContext ctx = {key, loader, 0};
	ErrorContextCallback callback;
	RawStmt    *raw;
	Query	   *query;
	Oid		   *inferred = NULL;
	int			n_inferred = 0;
	Oid		   *types;
	Datum	   *values;
	char	   *nulls;
	Oid			result_type;
	SPIPlanPtr	plan;
	int			rc;
	bool		isnull;
	Datum		d;
	Oid			jsonb_type = JSONBOID;

	/* everything below is allocated in SPI's memory, freed at SPI_finish */
	SPI_connect();
	callback.callback = cache_loader_error_context;
	callback.arg = &ctx;
	callback.previous = error_context_stack;
	error_context_stack = &callback;

	raw = cache_loader_parse(key, loader);
	query = parse_analyze_varparams(raw, loader, &inferred, &n_inferred, NULL);
	result_type = cache_loader_check(key, query);
	if (want == CACHE_TYPE_JSONB && result_type != JSONBOID &&
		!can_coerce_type(1, &result_type, &jsonb_type, COERCION_EXPLICIT))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the loader of cache key \"%s\" returns %s, not jsonb", key, format_type_be(result_type)),
				 errhint("Return jsonb (to_jsonb(...), jsonb_build_object(...), jsonb_agg(...)), json, or text holding JSON.")));

	types = cache_loader_param_types(key, inferred, n_inferred, params);
	values = palloc(Max(params->n, 1) * sizeof(Datum));
	nulls = palloc(Max(params->n, 1) * sizeof(char));
	for (int i = 0; i < params->n; i++)
	{
		nulls[i] = params->nulls[i] ? 'n' : ' ';
		values[i] = (Datum) 0;
		ctx.param = i + 1;
		if (!params->nulls[i])
			values[i] = cache_loader_cast(params->values[i], params->types[i], types[i]);
	}
	ctx.param = 0;

	plan = SPI_prepare(loader, params->n, types);
	if (plan == NULL)
		elog(ERROR, "could not prepare the loader of cache key \"%s\": %s", key,
			 SPI_result_code_string(SPI_result));
	rc = SPI_execute_plan(plan, values, nulls, false, 2);
	if (rc < 0)
		elog(ERROR, "could not run the loader of cache key \"%s\": %s", key, SPI_result_code_string(rc));
	if (SPI_tuptable == NULL || SPI_tuptable->tupdesc->natts != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the loader of cache key \"%s\" must return one column", key),
				 errhint("Write the loader as SELECT <one expression> ...")));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("the loader of cache key \"%s\" returned %llu rows, not one", key,
						(unsigned long long) SPI_processed),
				 SPI_processed == 0 ?
				 errhint("A loader returns one row; wrap it in an aggregate or a scalar subquery to return NULL for nothing.") :
				 errhint("Add a WHERE, an aggregate or LIMIT 1 to the loader.")));

	result_type = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull && want == CACHE_TYPE_JSONB && result_type != JSONBOID)
	{
		d = cache_loader_cast(d, result_type, JSONBOID);
		result_type = JSONBOID;
	}
	if (!isnull)
	{
		if (result_type == JSONBOID)
		{
			Jsonb	   *j = DatumGetJsonbP(d);

			appendBinaryStringInfo(value, VARDATA_ANY(j), VARSIZE_ANY_EXHDR(j));
			*type = CACHE_TYPE_JSONB;
		}
		else
		{
			appendStringInfoString(value, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
			*type = CACHE_TYPE_TEXT;
		}
	}
	error_context_stack = callback.previous;
	SPI_finish();
	return !isnull;
}
