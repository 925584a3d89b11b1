/*
 * Backend-local cache of queue policies, so that claim, ack and the workers
 * do not read scribe.queues on every call.  Committed changes to
 * scribe.queues bump a version in shared memory; a backend that sees a new
 * version starts its cache afresh.  The version is read before the rows,
 * which are read with a fresh snapshot (read_only false): a change that
 * commits in between is seen, or leaves the cache with an old version.
 */
#include "base/pg_scribe.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "queue/queue.h"
#include "queue/queue_stats.h"
#include "base/spi_plans.h"
#include "base/xact.h"

static HTAB *queue_cache = NULL;
static uint64 queue_cache_version = 0;
static List *worker_queues = NIL;
static bool worker_queues_valid = false;

static bool cache_changed_in_xact = false;
static bool cache_callback_registered = false;

static SPIPlanPtr plan_lookup = NULL;
static SPIPlanPtr plan_workers = NULL;

#define QUEUE_COLUMNS "queue_id, name, consumer = 'workers', retention > '0', max_attempts, " \
	"(extract(epoch FROM lease) * 1000000)::bigint"

/* Start afresh if scribe.queues changed since the cache was filled */
static void
queue_cache_check(void)
{
	uint64		version = scribe_queue_version();

	/* within a transaction that changes queues, never trust the cache */
	if (queue_cache != NULL && version == queue_cache_version && !cache_changed_in_xact)
		return;

	if (queue_cache != NULL)
		hash_destroy(queue_cache);
	list_free_deep(worker_queues);
	worker_queues = NIL;
	worker_queues_valid = false;

	{
		HASHCTL		ctl;

		ctl.keysize = NAMEDATALEN;
		ctl.entrysize = sizeof(ScribeQueue);
		ctl.hcxt = TopMemoryContext;
		queue_cache = hash_create("pg_scribe queues", 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
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

/* Fill a queue from row i of the current SPI result */
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

/* The policy of a queue by name (inside SPI); ERROR if there is no such queue */
const ScribeQueue *
scribe_queue_lookup(const char *name)
{
	ScribeQueue *q;
	bool		found;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];

	queue_cache_check();
	if (strlen(name) < NAMEDATALEN)
	{
		q = hash_search(queue_cache, name, HASH_FIND, NULL);
		if (q != NULL)
			return q;
	}

	values[0] = CStringGetTextDatum(name);
	scribe_plan_execute(&plan_lookup,
						"SELECT " QUEUE_COLUMNS " FROM scribe.queues WHERE name = $1",
						1, argtypes, values, NULL, false, 1);
	if (SPI_processed == 0)
		scribe_queue_not_found(name);

	q = hash_search(queue_cache, name, HASH_ENTER, &found);
	queue_from_row(q, 0);
	return q;
}

/* The queues the worker pool consumes (inside SPI), in a stable order */
List *
scribe_queue_worker_queues(void)
{
	MemoryContext old;

	queue_cache_check();
	if (worker_queues_valid)
		return worker_queues;

	scribe_plan_execute(&plan_workers,
						"SELECT " QUEUE_COLUMNS " FROM scribe.queues "
						"WHERE consumer = 'workers' ORDER BY queue_id",
						0, NULL, NULL, NULL, false, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		ScribeQueue *q = MemoryContextAllocZero(TopMemoryContext, sizeof(ScribeQueue));

		queue_from_row(q, i);
		old = MemoryContextSwitchTo(TopMemoryContext);
		worker_queues = lappend(worker_queues, q);
		MemoryContextSwitchTo(old);
	}
	worker_queues_valid = true;
	return worker_queues;
}
