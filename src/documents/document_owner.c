/*
 * Whose documents a session sees: the owner it acts for (scribe.owner)
 * and whether it may see every owner's.
 *
 * An application role serving many owners says, per session or
 * transaction, which one it acts for; pg_scribe then shows it, and lets it
 * change, only that owner's documents.  The document functions are C
 * entry points (scribe_document_call) that work this out as the caller
 * and hand it to their internal SQL bodies, which filter on it
 * (call_internal.c says why the caller cannot be trusted to say it).
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type_d.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "base/call_internal.h"
#include "documents/documents.h"

PG_FUNCTION_INFO_V1(scribe_document_call);

char	   *scribe_document_owner = NULL;

/* An owner is a non-empty name without control characters, at most 200 bytes */
static bool
check_document_owner(char **newval, void **extra, GucSource source)
{
	const char *p;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (strlen(*newval) > 200)
	{
		GUC_check_errdetail("An owner's name is at most 200 bytes.");
		return false;
	}
	for (p = *newval; *p; p++)
	{
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
		{
			GUC_check_errdetail("An owner's name has no control characters.");
			return false;
		}
	}
	return true;
}

/* Define scribe.owner */
void
scribe_document_define_gucs(void)
{
	DefineCustomStringVariable("scribe.owner",
							   "The owner whose documents this session sees, submits, reads and deletes.",
							   "Set per session or transaction (SET LOCAL) by an application serving many owners; "
							   "empty: none (a scribe_admin member then sees every owner's).",
							   &scribe_document_owner,
							   "",
							   PGC_USERSET,
							   0,
							   check_document_owner, NULL, NULL);
}

/*
 * A document function: scribe._<its name>(caller, acting owner, all owners,
 * arguments...) run as the superuser.  The acting owner is scribe.owner
 * (NULL when unset); all owners is true only for a caller allowed to see
 * everyone's that set no owner.
 */
Datum
scribe_document_call(PG_FUNCTION_ARGS)
{
	Oid			caller = GetUserId();
	/* read by name: without preloading, a SET made it a placeholder */
	const char *owner = GetConfigOption("scribe.owner", true, false);
	bool		has_owner = owner != NULL && owner[0] != '\0';
	Oid			types[3] = {REGROLEOID, TEXTOID, BOOLOID};
	Datum		values[3];
	bool		nulls[3] = {false, !has_owner, false};

	values[0] = ObjectIdGetDatum(caller);
	values[1] = has_owner ? CStringGetTextDatum(owner) : (Datum) 0;
	values[2] = BoolGetDatum(!has_owner && scribe_role_is_admin(caller));
	return scribe_call_internal(fcinfo, 3, types, values, nulls);
}
