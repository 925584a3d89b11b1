/*
 * Cache events: what reaches the replicas' caches besides the triggers on
 * replicated rows.
 *
 * Each node has its own L1, so a scribe.cache_delete, cache_invalidate or
 * cache_clear called on the primary would leave every replica's L1 serving
 * the old value until it expires.  Where scribe.cache_events is published
 * (logical replication), those calls insert an event into it in the
 * caller's transaction: it reaches the replicas when, and only if, that
 * transaction commits.  On a replica, a trigger enabled REPLICA (so it fires
 * for the rows the apply worker writes, the initial copy included, and
 * never for the primary's own inserts) does the same operation on the
 * local cache.  Whether the table is published is read from the relation
 * cache's publication descriptor: a node that does not publish it pays a
 * few cache lookups per call and writes nothing.
 */
#include "base/pg_scribe.h"

#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_publication.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "cache/cache.h"
#include "base/spi_plans.h"
#include "base/xact.h"

#define CACHE_EVENTS_TABLE "cache_events"

PG_FUNCTION_INFO_V1(scribe_cache_event_trigger);

/* The operations' names in scribe.cache_events, in ScribeCacheOp's order */
static const char *const op_names[] = {"delete", "invalidate", "clear"};

static SPIPlanPtr plan_record = NULL;

/*
 * Whether this transaction records its cache operations: it can write, it
 * is not replication applying changes (an applied event is not recorded
 * again), and scribe.cache_events is in a publication that publishes inserts
 */
static bool
cache_events_published(void)
{
	Oid			nsp;
	Oid			relid;
	Relation	rel;
	PublicationDesc desc;

	if (RecoveryInProgress() || XactReadOnly ||
		SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
		return false;
	nsp = get_namespace_oid(SCRIBE_SCHEMA_NAME, true);
	relid = OidIsValid(nsp) ? get_relname_relid(CACHE_EVENTS_TABLE, nsp) : InvalidOid;
	/* an extension older than the library has no such table */
	if (!OidIsValid(relid))
		return false;
	rel = table_open(relid, AccessShareLock);
	/* built once, kept in the relcache until a publication changes */
	RelationBuildPublicationDesc(rel, &desc);
	table_close(rel, AccessShareLock);
	return desc.pubactions.pubinsert;
}

/* Record op on arg (NULL for a clear) in scribe.cache_events, if it is published */
void
scribe_cache_event_record(ScribeCacheOp op, const char *arg, int len)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};
	ScribeSpiScope scope;

	if (!cache_events_published())
		return;
	values[0] = CStringGetTextDatum(op_names[op]);
	if (arg != NULL)
		values[1] = PointerGetDatum(cstring_to_text_with_len(arg, len));
	else
		nulls[1] = 'n';
	scribe_spi_begin_as_owner(&scope);
	scribe_plan_execute(&plan_record,
						"INSERT INTO scribe.cache_events (operation, argument) VALUES ($1, $2)",
						2, types, values, nulls, false, 0);
	scribe_spi_end(&scope);
}

/* An applied event: its operation and argument */
typedef struct CacheEvent
{
	char	   *operation;
	char	   *argument;		/* NULL for a clear */
} CacheEvent;

/* Do an event's operation on this node's cache (ERRORs on an event it cannot do) */
static void
cache_event_do(void *arg)
{
	CacheEvent *ev = arg;
	int			op;
	int			n_ops = lengthof(op_names);

	scribe_require_preload("the cache events trigger");
	for (op = 0; op < n_ops; op++)
		if (ev->operation != NULL && strcmp(ev->operation, op_names[op]) == 0)
			break;
	if (op == n_ops)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown cache event operation \"%s\"", ev->operation ? ev->operation : "NULL"),
				 errhint("The primary runs a newer pg_scribe than this node: update it here too.")));
	if (op == CACHE_OP_DELETE)
		scribe_cache_check_key(ev->argument ? cstring_to_text(ev->argument) : NULL);
	else if (op == CACHE_OP_INVALIDATE && ev->argument == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a cache namespace must not be NULL")));
	(void) scribe_cache_apply((ScribeCacheOp) op, ev->argument,
							  ev->argument ? strlen(ev->argument) : 0);
}

/*
 * The trigger on scribe.cache_events (enabled REPLICA): do each applied
 * event on this node's cache.  It never fails the apply, which would stop
 * the subscription (or disable it, with disable_on_error): a failure is a
 * WARNING.
 */
Datum
scribe_cache_event_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	CacheEvent	ev;
	char	   *failure;
	int			sqlerrcode = 0;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("scribe._cache_event_trigger() must be called as a row trigger on insert"),
				 errhint("It is the trigger of scribe.cache_events; do not attach it elsewhere.")));
	ev.operation = SPI_getvalue(td->tg_trigtuple, RelationGetDescr(td->tg_relation),
								SPI_fnumber(RelationGetDescr(td->tg_relation), "operation"));
	ev.argument = SPI_getvalue(td->tg_trigtuple, RelationGetDescr(td->tg_relation),
							   SPI_fnumber(RelationGetDescr(td->tg_relation), "argument"));
	failure = scribe_subxact_try(cache_event_do, &ev, &sqlerrcode);
	if (failure != NULL)
		ereport(WARNING,
				(errcode(sqlerrcode),
				 errmsg("cache event not applied: %s", failure),
				 errdetail("The replica's cache may serve the old value until it expires.")));
	return PointerGetDatum(NULL);
}
