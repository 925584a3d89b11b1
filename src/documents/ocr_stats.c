/*
 * OCR counters in shared memory: pages, cost and seconds per page of what
 * the pipeline recorded in scribe.ocr_ledger since the server started, by
 * method.  The writer of the ledger (scribe_ocr_record_result, used by local
 * workers, and scribe.ack of a worker node's ocr job) adds to them when its
 * transaction commits, so scribe.metrics() reads them without scanning the
 * ledger, which grows without bound.
 */
#include "base/pg_scribe.h"

#include <math.h>

#include "access/xact.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/memutils.h"

#include "base/xact.h"
#include "documents/documents.h"
#include "ocr/ocr.h"

const double scribe_ocr_page_buckets[SCRIBE_OCR_PAGE_BUCKETS] =
{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120};

static const char *const methods[SCRIBE_OCR_METHODS] = {"local", "cloud"};

typedef struct OcrStatsShared
{
	slock_t		mutex;
	ScribeOcrTotals totals;
} OcrStatsShared;

/* What a transaction recorded, at one subtransaction level */
typedef struct PendingOcr
{
	int			level;
	int			method;
	ScribeOcrTotals add;		/* only this method's entries are set */
} PendingOcr;

static OcrStatsShared *ocr_shared = NULL;
static List *pending_ocr = NIL;
static bool callbacks_registered = false;

/* Shared memory the counters need */
Size
scribe_ocr_stats_shmem_size(void)
{
	return MAXALIGN(sizeof(OcrStatsShared));
}

/* Create or attach to the counters */
void
scribe_ocr_stats_shmem_init(void)
{
	bool		found;

	ocr_shared = ShmemInitStruct("pg_scribe ocr stats", scribe_ocr_stats_shmem_size(), &found);
	if (!found)
	{
		memset(ocr_shared, 0, sizeof(OcrStatsShared));
		SpinLockInit(&ocr_shared->mutex);
	}
}

/* The name of method i (0: local, 1: cloud) */
const char *
scribe_ocr_method_name(int i)
{
	return methods[i];
}

/* Add a committed transaction's records to shared memory */
static void
apply_pending(void)
{
	ListCell   *lc;

	if (ocr_shared == NULL)
		return;
	SpinLockAcquire(&ocr_shared->mutex);
	foreach(lc, pending_ocr)
	{
		PendingOcr *p = lfirst(lc);
		ScribeOcrTotals *t = &ocr_shared->totals;

		t->documents[p->method] += p->add.documents[p->method];
		t->pages[p->method] += p->add.pages[p->method];
		t->cost_micro[p->method] += p->add.cost_micro[p->method];
		t->seconds_sum += p->add.seconds_sum;
		for (int b = 0; b <= SCRIBE_OCR_PAGE_BUCKETS; b++)
			t->seconds[b] += p->add.seconds[b];
	}
	SpinLockRelease(&ocr_shared->mutex);
}

/* Apply the records at commit, drop them on abort */
static void
ocr_stats_xact_callback(XactEvent event, void *arg)
{
	if (pending_ocr == NIL)
		return;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
		apply_pending();
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		pending_ocr = NIL;
}

/* Drop an aborted subtransaction's records; hand a committed one's to its parent */
static void
ocr_stats_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	foreach(lc, pending_ocr)
	{
		PendingOcr *p = lfirst(lc);

		if (p->level < level)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			pending_ocr = foreach_delete_current(pending_ocr, lc);
		else if (event == SUBXACT_EVENT_COMMIT_SUB)
			p->level = level - 1;
	}
}

/*
 * Count a recognised document at commit: its method, its pages with the
 * price of each (rounded as the ledger's numeric(14,6) rounds it) and the
 * seconds each page took.
 */
void
scribe_ocr_stats_record(const char *method, double price, int npages, const double *seconds)
{
	PendingOcr *p;
	MemoryContext old;

	if (!callbacks_registered)
	{
		scribe_xact_register(SCRIBE_XACT_PHASE_STATS, ocr_stats_xact_callback, ocr_stats_subxact_callback);
		callbacks_registered = true;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	p = palloc0(sizeof(PendingOcr));
	p->level = GetCurrentTransactionNestLevel();
	p->method = strcmp(method, "cloud") == 0 ? 1 : 0;
	p->add.documents[p->method] = 1;
	p->add.pages[p->method] = npages;
	p->add.cost_micro[p->method] = (uint64) npages * (uint64) llround(price * 1e6);
	for (int i = 0; i < npages; i++)
	{
		int			b = 0;

		while (b < SCRIBE_OCR_PAGE_BUCKETS && seconds[i] > scribe_ocr_page_buckets[b])
			b++;
		p->add.seconds[b]++;
		p->add.seconds_sum += seconds[i];
	}
	pending_ocr = lappend(pending_ocr, p);
	MemoryContextSwitchTo(old);
}

/* A copy of the counters */
void
scribe_ocr_stats_read(ScribeOcrTotals *totals)
{
	memset(totals, 0, sizeof(*totals));
	if (ocr_shared == NULL)
		return;
	SpinLockAcquire(&ocr_shared->mutex);
	*totals = ocr_shared->totals;
	SpinLockRelease(&ocr_shared->mutex);
}
