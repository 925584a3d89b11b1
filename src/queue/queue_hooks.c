/*
 * The hooks of job kinds that the queue runs for a consumer: a pipeline
 * registers, from _PG_init, what an ack or a nack over SQL of a job of its
 * kind also writes (a worker node's recognised document, say), and who may
 * claim such jobs over SQL.  The queue names no kind itself.
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "queue/queue.h"

/* Kinds with hooks; a handful at most */
#define MAX_HOOKED_KINDS 8

static const ScribeQueueKindHooks *hooked[MAX_HOOKED_KINDS];
static int	n_hooked = 0;
static Datum hooked_array = (Datum) 0;	/* text[] of their names, made on first use */
static Datum empty_array = (Datum) 0;

/* Register the hooks of a kind (from _PG_init, before any job is acked) */
void
scribe_queue_register_kind_hooks(const ScribeQueueKindHooks *hooks)
{
	if (n_hooked >= MAX_HOOKED_KINDS)
		elog(ERROR, "too many job kinds with queue hooks");
	hooked[n_hooked++] = hooks;
	hooked_array = (Datum) 0;
}

/* The hooks of a kind, or NULL */
const ScribeQueueKindHooks *
scribe_queue_kind_hooks(const char *kind)
{
	for (int i = 0; i < n_hooked; i++)
	{
		if (strcmp(hooked[i]->kind, kind) == 0)
			return hooked[i];
	}
	return NULL;
}

/* A text[] of the given names, kept for the life of the process */
static Datum
kinds_array(int n)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	Datum	   *names = palloc(sizeof(Datum) * Max(n, 1));
	ArrayType  *array;

	for (int i = 0; i < n; i++)
		names[i] = CStringGetTextDatum(hooked[i]->kind);
	array = construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT);
	MemoryContextSwitchTo(old);
	return PointerGetDatum(array);
}

/* The names of the kinds with hooks, as a text[] parameter */
Datum
scribe_queue_hooked_kinds(void)
{
	if (hooked_array == (Datum) 0)
		hooked_array = kinds_array(n_hooked);
	return hooked_array;
}

/* An empty text[] parameter: no kind spared */
Datum
scribe_queue_no_kinds(void)
{
	if (empty_array == (Datum) 0)
		empty_array = kinds_array(0);
	return empty_array;
}

