/*
 * The transaction-callback dispatcher (see xact.h for the phases), and
 * running a piece of work in a subtransaction.
 */
#include "base/pg_scribe.h"

#include "utils/memutils.h"
#include "utils/resowner.h"

#include "base/xact.h"

/* Callbacks one phase may hold: one per module that keeps transaction state */
#define XACT_PHASE_SLOTS 4

typedef struct XactPhaseSlots
{
	int			n;
	XactCallback xact[XACT_PHASE_SLOTS];
	SubXactCallback subxact[XACT_PHASE_SLOTS];
} XactPhaseSlots;

static XactPhaseSlots xact_phases[SCRIBE_XACT_PHASES];
static bool xact_registered = false;

/* Call every registered callback, phase by phase */
static void
xact_dispatch(XactEvent event, void *arg)
{
	for (int p = 0; p < SCRIBE_XACT_PHASES; p++)
	{
		for (int i = 0; i < xact_phases[p].n; i++)
			xact_phases[p].xact[i] (event, NULL);
	}
}

/* Call every registered subtransaction callback, phase by phase */
static void
subxact_dispatch(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	for (int p = 0; p < SCRIBE_XACT_PHASES; p++)
	{
		for (int i = 0; i < xact_phases[p].n; i++)
		{
			if (xact_phases[p].subxact[i] != NULL)
				xact_phases[p].subxact[i] (event, mySubid, parentSubid, NULL);
		}
	}
}

/* Add a module's callbacks to a phase (once per backend and pair) */
void
scribe_xact_register(ScribeXactPhase phase, XactCallback xact, SubXactCallback subxact)
{
	XactPhaseSlots *slots = &xact_phases[phase];

	Assert(phase >= 0 && phase < SCRIBE_XACT_PHASES);
	for (int i = 0; i < slots->n; i++)
	{
		if (slots->xact[i] == xact && slots->subxact[i] == subxact)
			return;
	}
	if (slots->n == XACT_PHASE_SLOTS)
		elog(ERROR, "pg_scribe: too many transaction callbacks in phase %d", (int) phase);
	slots->xact[slots->n] = xact;
	slots->subxact[slots->n] = subxact;
	slots->n++;

	if (!xact_registered)
	{
		RegisterXactCallback(xact_dispatch, NULL);
		RegisterSubXactCallback(subxact_dispatch, NULL);
		xact_registered = true;
	}
}

/*
 * Run fn(arg) in a subtransaction of the job's, so that a kind can still
 * record a failure after it: NULL when fn returned, else the ERROR's
 * message (with its hint) after rolling the subtransaction back, and its
 * code in *sqlerrcode.  Cancels and shutdowns are rethrown: the worker's
 * to handle.  What fn allocates in the caller's memory context stays.
 */
char *
scribe_subxact_try(void (*fn) (void *arg), void *arg, int *sqlerrcode)
{
	MemoryContext callercxt = CurrentMemoryContext;
	ResourceOwner callerowner = CurrentResourceOwner;
	char	   *volatile failure = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(callercxt);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(callercxt);
		CurrentResourceOwner = callerowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(callercxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(callercxt);
		CurrentResourceOwner = callerowner;
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			ReThrowError(edata);
		failure = edata->hint ? psprintf("%s (%s)", edata->message, edata->hint) : pstrdup(edata->message);
		*sqlerrcode = edata->sqlerrcode;
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return failure;
}
