/*
 * The triggers scribe.cache_invalidate_on() attaches to a table: their
 * arguments are key templates, "user:{id}:profile", whose {column}s are
 * filled from each changed row, old and new.  The row trigger deletes the
 * keys of changed rows; the statement trigger deletes a template without
 * placeholders (a key with a ':') or invalidates it (a namespace), and on
 * TRUNCATE invalidates the namespace of every template whose namespace is
 * fixed.  Both are enabled ALWAYS, so they also fire where logical
 * replication applies the rows; but the apply worker fires no statement
 * trigger for INSERT, UPDATE or DELETE, so there (session_replication_role
 * is replica) the row trigger takes the fixed templates too, once per
 * transaction.  Each delete and invalidation is done again when the
 * transaction commits (cache_commit.c): until then other sessions still
 * read the old rows, and may cache them.
 */
#include "base/pg_scribe.h"

#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/rel.h"

#include "cache/cache.h"

PG_FUNCTION_INFO_V1(scribe_cache_invalidate_trigger);

/*
 * Fill template from tuple into key; false if a placeholder's column is
 * NULL (no key was made from that row)
 */
static bool
cache_key_from_row(const char *template, Relation rel, HeapTuple tuple, StringInfo key)
{
	TupleDesc	desc = RelationGetDescr(rel);
	const char *p = template;

	resetStringInfo(key);
	while (*p)
	{
		const char *end;
		char	   *column;
		int			attnum;
		char	   *value;

		if (*p != '{')
		{
			appendStringInfoChar(key, *p++);
			continue;
		}
		end = strchr(p, '}');
		if (end == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cache key template \"%s\" has a '{' without its '}'", template)));
		column = pnstrdup(p + 1, end - p - 1);
		attnum = SPI_fnumber(desc, column);
		if (attnum <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of cache key template \"%s\" does not exist in table \"%s\"",
							column, template, RelationGetRelationName(rel)),
					 errhint("Attach the trigger again with scribe.cache_invalidate_on() naming columns the table has.")));
		value = SPI_getvalue(tuple, desc, attnum);
		if (value == NULL)
			return false;
		appendStringInfoString(key, value);
		p = end + 1;
	}
	return true;
}

/* Delete key now from L1, and from both tiers when the transaction commits */
static void
cache_trigger_delete_key(StringInfo key)
{
	/* longer than a key can be: nothing was cached under it */
	if (key->len == 0 || key->len > SCRIBE_CACHE_KEY_MAX)
		return;
	(void) scribe_cache_l1_delete(key->data, key->len);
	scribe_cache_delete_at_commit(key->data, key->len);
}

/* A template without placeholders: delete its key, or invalidate it as a namespace */
static void
cache_trigger_fixed(const char *template, int len)
{
	(void) scribe_cache_apply(memchr(template, ':', len) != NULL ? CACHE_OP_DELETE : CACHE_OP_INVALIDATE,
							  template, len);
}

/* The trigger: invalidate what the changed rows (or the statement) make stale */
Datum
scribe_cache_invalidate_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	bool		for_row;
	StringInfoData old_key;
	StringInfoData new_key;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("scribe.cache_invalidate_trigger() must be called as a trigger"),
				 errhint("Attach it with scribe.cache_invalidate_on().")));
	scribe_require_preload("the cache invalidation trigger");
	trigger = td->tg_trigger;
	for_row = TRIGGER_FIRED_FOR_ROW(td->tg_event);
	initStringInfo(&old_key);
	initStringInfo(&new_key);

	for (int i = 0; i < trigger->tgnargs; i++)
	{
		const char *template = trigger->tgargs[i];
		int			len = strlen(template);
		const char *brace = strchr(template, '{');

		if (brace == NULL)
		{
			if (len == 0 || len > SCRIBE_CACHE_KEY_MAX)
				continue;
			if (!for_row)
				cache_trigger_fixed(template, len);
			else if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
				scribe_cache_fixed_at_commit(template, len);
		}
		else if (for_row)
		{
			bool		has_old = false;
			bool		has_new = false;

			if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) || TRIGGER_FIRED_BY_DELETE(td->tg_event))
				has_old = cache_key_from_row(template, td->tg_relation, td->tg_trigtuple, &old_key);
			if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
				has_new = cache_key_from_row(template, td->tg_relation, td->tg_trigtuple, &new_key);
			else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
				has_new = cache_key_from_row(template, td->tg_relation, td->tg_newtuple, &new_key);
			if (has_old)
				cache_trigger_delete_key(&old_key);
			if (has_new && !(has_old && strcmp(old_key.data, new_key.data) == 0))
				cache_trigger_delete_key(&new_key);
		}
		else if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		{
			int			ns_len = scribe_cache_namespace_len(template, len);

			/* every row is gone: the whole namespace, when the template fixes it */
			if (brace - template > ns_len)
				(void) scribe_cache_apply(CACHE_OP_INVALIDATE, template, ns_len);
		}
	}
	return PointerGetDatum(NULL);
}
