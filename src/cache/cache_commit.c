/*
 * Deletes, invalidations and clears done again when the transaction commits.
 *
 * A key deleted (or a namespace invalidated) because a transaction changes
 * the data behind it can be filled again, before that transaction commits,
 * by a session that still sees the old rows: the old value would then stay
 * cached after the commit.  So the transaction's deletes and invalidations
 * (and clears of L1) are remembered and done once more right after its
 * commit becomes visible, the keys in one Redis call.  A transaction that
 * wrote nothing has no such race and skips the second pass; one that rolls
 * back forgets it (what was deleted stays deleted: the cache only loses
 * values).  Past CACHE_COMMIT_MAX_KEYS keys, the namespaces of the others
 * are invalidated instead, so a bulk change does not hold every key in
 * memory.
 */
#include "base/pg_scribe.h"

#include "access/xact.h"
#include "nodes/pg_list.h"
#include "utils/memutils.h"

#include "base/xact.h"
#include "cache/cache.h"

#define CACHE_COMMIT_MAX_KEYS 10000

/* Keys and namespaces to do again at commit, in TopTransactionContext */
static List *commit_keys = NIL;
static List *commit_namespaces = NIL;
/* keys named whole by a trigger's template: few, each kept once */
static List *commit_fixed_keys = NIL;
/* L1 emptied (scribe.cache_clear): empty it again */
static bool commit_clear = false;
static bool callback_registered = false;

/* Forget what was remembered (its memory goes with the transaction's) */
static void
cache_commit_forget(void)
{
	commit_keys = NIL;
	commit_namespaces = NIL;
	commit_fixed_keys = NIL;
	commit_clear = false;
}

/*
 * Do the deletes and invalidations again (XACT_EVENT_COMMIT: must not fail;
 * interrupts are held).  In TopTransactionContext, freed right after: a
 * procedure's COMMIT runs this in a context that lives as long as its CALL.
 */
static void
cache_commit_replay(void)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	List	   *all = list_concat_copy(commit_keys, commit_fixed_keys);
	int			n = list_length(all);
	const char **keys = palloc(Max(n, 1) * sizeof(char *));
	int		   *lens = palloc(Max(n, 1) * sizeof(int));
	ListCell   *lc;
	int			i = 0;

	if (commit_clear)
		scribe_cache_l1_clear();
	foreach(lc, all)
	{
		keys[i] = lfirst(lc);
		lens[i++] = strlen(lfirst(lc));
	}
	if (n > 0)
		(void) scribe_cache_delete_many(n, keys, lens);
	foreach(lc, commit_namespaces)
		scribe_cache_invalidate(lfirst(lc), strlen(lfirst(lc)));
	MemoryContextSwitchTo(old);
}

/* Replay after a commit; forget at the end of any transaction */
static void
cache_commit_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			/* nothing written: nobody can have cached what this transaction replaces */
			if (!TransactionIdIsValid(GetTopTransactionIdIfAny()))
				cache_commit_forget();
			break;
		case XACT_EVENT_COMMIT:
			if (commit_keys != NIL || commit_namespaces != NIL || commit_fixed_keys != NIL || commit_clear)
				cache_commit_replay();
			cache_commit_forget();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			cache_commit_forget();
			break;
		default:
			break;
	}
}

/* Add s (not NUL-terminated) to list unless it is there (in TopTransactionContext) */
static List *
cache_commit_add_once(List *list, const char *s, int len)
{
	ListCell   *lc;

	foreach(lc, list)
	{
		const char *e = lfirst(lc);

		if (strncmp(e, s, len) == 0 && e[len] == '\0')
			return list;
	}
	return lappend(list, pnstrdup(s, len));
}

/* Make sure the callback runs at the end of this transaction */
static void
cache_commit_register(void)
{
	if (!callback_registered)
	{
		scribe_xact_register(SCRIBE_XACT_PHASE_CACHE, cache_commit_callback, NULL);
		callback_registered = true;
	}
}

/*
 * Register the callback and switch to the transaction's memory, where the
 * lists it reads live; returns the context to switch back to
 */
static MemoryContext
cache_commit_remember(void)
{
	cache_commit_register();
	return MemoryContextSwitchTo(TopTransactionContext);
}

/* Delete key again when the current transaction commits */
void
scribe_cache_delete_at_commit(const char *key, int key_len)
{
	MemoryContext old = cache_commit_remember();

	if (list_length(commit_keys) < CACHE_COMMIT_MAX_KEYS)
		commit_keys = lappend(commit_keys, pnstrdup(key, key_len));
	else
		commit_namespaces = cache_commit_add_once(commit_namespaces, key,
												  scribe_cache_namespace_len(key, key_len));
	MemoryContextSwitchTo(old);
}

/* Invalidate namespace ns again when the current transaction commits */
void
scribe_cache_invalidate_at_commit(const char *ns, int ns_len)
{
	MemoryContext old = cache_commit_remember();

	commit_namespaces = cache_commit_add_once(commit_namespaces, ns, ns_len);
	MemoryContextSwitchTo(old);
}

/*
 * A trigger's template without placeholders, at commit only: delete it as a
 * key (it has a ':') or invalidate it as a namespace; once per transaction
 * however many rows name it
 */
void
scribe_cache_fixed_at_commit(const char *template, int len)
{
	MemoryContext old = cache_commit_remember();

	if (memchr(template, ':', len) != NULL)
		commit_fixed_keys = cache_commit_add_once(commit_fixed_keys, template, len);
	else
		commit_namespaces = cache_commit_add_once(commit_namespaces, template, len);
	MemoryContextSwitchTo(old);
}

/*
 * Do op (a SQL call's, or a replicated event's) on this node's cache now,
 * and again when the transaction commits; for a delete, whether a tier held
 * the key
 */
bool
scribe_cache_apply(ScribeCacheOp op, const char *arg, int len)
{
	switch (op)
	{
		case CACHE_OP_DELETE:
			scribe_cache_delete_at_commit(arg, len);
			return scribe_cache_delete(arg, len);
		case CACHE_OP_INVALIDATE:
			scribe_cache_invalidate_at_commit(arg, len);
			scribe_cache_invalidate(arg, len);
			return false;
		case CACHE_OP_CLEAR:
			cache_commit_register();
			commit_clear = true;
			scribe_cache_l1_clear();
			return false;
	}
	return false;
}
