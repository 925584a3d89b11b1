/*
 * Backend-local cache of queue policies and rights, so that send, claim,
 * ack and the workers do not read scribe.queues and scribe.queue_rights on
 * every call.  Committed changes to either (queue_create, queue_alter,
 * queue_grant, ...) bump a version in shared memory; a backend that sees a
 * new version starts its cache afresh.  The version is read before the
 * rows, which are read with a fresh snapshot (read_only false): a change
 * that commits in between is seen, or leaves the cache with an old version.
 * Changes of role membership need nothing here: the rights are cached as
 * the grantees' OIDs, and PostgreSQL's own cache answers who is a member.
 */
#include "base/pg_scribe.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "base/spi_plans.h"
#include "base/xact.h"

/* A queue's cache entry by id */
typedef struct QueueById
{
	int32		queue_id;		/* hash key */
	ScribeQueue *queue;			/* its entry in queue_cache */
} QueueById;

/* What the cache holds, all of it in cache_context, forgotten at once */
static MemoryContext cache_context = NULL;
static HTAB *queue_cache = NULL;	/* by name */
static HTAB *queue_ids = NULL;	/* by id */
static uint64 queue_cache_version = 0;
static List *worker_queues = NIL;
static bool worker_queues_valid = false;

/* scribe.queue_rights exists: the SQL is 0.4.0's or later, queues have owners */
static bool queues_owned = false;

static bool cache_changed_in_xact = false;
static bool cache_callback_registered = false;

static SPIPlanPtr plan_lookup[2] = {NULL, NULL};
static SPIPlanPtr plan_lookup_id[2] = {NULL, NULL};
static SPIPlanPtr plan_workers[2] = {NULL, NULL};

/*
 * The columns of a queue q, with its owner and the grantees of each right
 * (queue_from_row reads them), or without them under the SQL of 0.3.0,
 * which has neither: the library of a version runs with the SQL of the
 * one before until ALTER EXTENSION pg_scribe UPDATE
 */
#define QUEUE_POLICY "q.queue_id, q.name, q.consumer = 'workers', q.retention > '0', q.max_attempts, " \
	"(extract(epoch FROM q.lease) * 1000000)::bigint"
#define QUEUE_RIGHTS ", q.owner::oid, " \
	"ARRAY(SELECT r.grantee FROM scribe.queue_rights r WHERE r.queue_id = q.queue_id AND r.may_send)::oid[], " \
	"ARRAY(SELECT r.grantee FROM scribe.queue_rights r WHERE r.queue_id = q.queue_id AND r.may_claim)::oid[]"
#define QUEUE_SELECT(owned) ((owned) ? "SELECT " QUEUE_POLICY QUEUE_RIGHTS " FROM scribe.queues q " : \
							 "SELECT " QUEUE_POLICY " FROM scribe.queues q ")

/* Start afresh if scribe.queues changed since the cache was filled */
static void
queue_cache_check(void)
{
	uint64		version = scribe_queue_version();

	/* within a transaction that changes queues, never trust the cache */
	if (queue_cache != NULL && version == queue_cache_version && !cache_changed_in_xact)
		return;

	/* the hash tables are children of cache_context: a reset forgets everything */
	if (cache_context == NULL)
		cache_context = AllocSetContextCreate(TopMemoryContext, "pg_scribe queue cache",
											  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(cache_context);
	worker_queues = NIL;
	worker_queues_valid = false;

	{
		HASHCTL		ctl;

		ctl.keysize = NAMEDATALEN;
		ctl.entrysize = sizeof(ScribeQueue);
		ctl.hcxt = cache_context;
		queue_cache = hash_create("pg_scribe queues", 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(QueueById);
		queue_ids = hash_create("pg_scribe queue ids", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	queues_owned = OidIsValid(get_relname_relid("queue_rights",
												get_namespace_oid(SCRIBE_SCHEMA_NAME, true)));
	queue_cache_version = version;
}

/* Forget the cache when a transaction that changed queues rolls back */
static void
queue_cache_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		if (cache_changed_in_xact)
			queue_cache_version = 0;
	}
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PARALLEL_PRE_COMMIT &&
		event != XACT_EVENT_PRE_PREPARE)
		cache_changed_in_xact = false;
}

/*
 * This transaction changed scribe.queues: forget the cache now (we see our
 * own changes) and if it rolls back; others learn it from the version that
 * its commit bumps.
 */
void
scribe_queue_cache_forget(void)
{
	if (!cache_callback_registered)
	{
		scribe_xact_register(SCRIBE_XACT_PHASE_LOCAL, queue_cache_xact_callback, NULL);
		cache_callback_registered = true;
	}
	queue_cache_version = 0;
	cache_changed_in_xact = true;
}

/* The OIDs of an oid[] into the cache's memory; returns how many */
static int
oids_from_array(Datum array, Oid **oids)
{
	Datum	   *elems;
	int			n;

	deconstruct_array(DatumGetArrayTypeP(array), OIDOID, sizeof(Oid), true, TYPALIGN_INT,
					  &elems, NULL, &n);
	*oids = MemoryContextAlloc(cache_context, sizeof(Oid) * Max(n, 1));
	for (int i = 0; i < n; i++)
		(*oids)[i] = DatumGetObjectId(elems[i]);
	return n;
}

/* Fill a queue from row i of the current SPI result (QUEUE_SELECT's columns) */
static void
queue_from_row(ScribeQueue *q, uint64 i)
{
	HeapTuple	tuple = SPI_tuptable->vals[i];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;

	q->queue_id = DatumGetInt32(SPI_getbinval(tuple, desc, 1, &isnull));
	strlcpy(q->name, TextDatumGetCString(SPI_getbinval(tuple, desc, 2, &isnull)), NAMEDATALEN);
	q->workers = DatumGetBool(SPI_getbinval(tuple, desc, 3, &isnull));
	q->archive = DatumGetBool(SPI_getbinval(tuple, desc, 4, &isnull));
	q->max_attempts = DatumGetInt32(SPI_getbinval(tuple, desc, 5, &isnull));
	q->lease_us = DatumGetInt64(SPI_getbinval(tuple, desc, 6, &isnull));
	q->owned = queues_owned;
	q->owner = InvalidOid;
	q->nsenders = q->nclaimers = 0;
	q->senders = q->claimers = NULL;
	if (!queues_owned)
		return;
	q->owner = DatumGetObjectId(SPI_getbinval(tuple, desc, 7, &isnull));
	q->nsenders = oids_from_array(SPI_getbinval(tuple, desc, 8, &isnull), &q->senders);
	q->nclaimers = oids_from_array(SPI_getbinval(tuple, desc, 9, &isnull), &q->claimers);
}

/* Enter the queue of row 0 of the current SPI result into the cache */
static const ScribeQueue *
queue_enter(void)
{
	ScribeQueue row;
	ScribeQueue *q;
	QueueById  *by_id;
	bool		found;

	queue_from_row(&row, 0);
	q = hash_search(queue_cache, row.name, HASH_ENTER, &found);
	*q = row;
	by_id = hash_search(queue_ids, &row.queue_id, HASH_ENTER, &found);
	by_id->queue = q;
	return q;
}

/* Raise the error for an unknown queue */
void
scribe_queue_not_found(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("queue \"%s\" does not exist", name),
			 errhint("Create it with scribe.queue_create(), or list the queues with scribe.queue_list().")));
}

/*
 * The policy and rights of a queue by name (inside SPI, as the owner);
 * ERROR if there is no such queue
 */
const ScribeQueue *
scribe_queue_lookup(const char *name)
{
	ScribeQueue *q;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	bool		owned;

	queue_cache_check();
	if (strlen(name) < NAMEDATALEN)
	{
		q = hash_search(queue_cache, name, HASH_FIND, NULL);
		if (q != NULL)
			return q;
	}

	values[0] = CStringGetTextDatum(name);
	owned = queues_owned;
	scribe_plan_execute(&plan_lookup[owned], psprintf("%sWHERE q.name = $1", QUEUE_SELECT(owned)),
						1, argtypes, values, NULL, false, 1);
	if (SPI_processed == 0)
		scribe_queue_not_found(name);
	return queue_enter();
}

/* The policy and rights of a queue by id (inside SPI, as the owner); NULL if there is none */
const ScribeQueue *
scribe_queue_lookup_id(int32 queue_id)
{
	QueueById  *by_id;
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(queue_id)};
	bool		owned;

	queue_cache_check();
	by_id = hash_search(queue_ids, &queue_id, HASH_FIND, NULL);
	if (by_id != NULL)
		return by_id->queue;

	owned = queues_owned;
	scribe_plan_execute(&plan_lookup_id[owned], psprintf("%sWHERE q.queue_id = $1", QUEUE_SELECT(owned)),
						1, argtypes, values, NULL, false, 1);
	if (SPI_processed == 0)
		return NULL;
	return queue_enter();
}

/* The queues the worker pool consumes (inside SPI), in a stable order */
List *
scribe_queue_worker_queues(void)
{
	MemoryContext old;
	bool		owned;

	queue_cache_check();
	if (worker_queues_valid)
		return worker_queues;

	owned = queues_owned;
	scribe_plan_execute(&plan_workers[owned],
						psprintf("%sWHERE q.consumer = 'workers' ORDER BY q.queue_id", QUEUE_SELECT(owned)),
						0, NULL, NULL, NULL, false, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		ScribeQueue *q = MemoryContextAllocZero(cache_context, sizeof(ScribeQueue));

		queue_from_row(q, i);
		old = MemoryContextSwitchTo(cache_context);
		worker_queues = lappend(worker_queues, q);
		MemoryContextSwitchTo(old);
	}
	worker_queues_valid = true;
	return worker_queues;
}
