/*
 * The C functions that an earlier version's SQL names and this library no
 * longer has.  They stay as symbols so that an installation of that version
 * keeps loading (CREATE EXTENSION ... VERSION, pg_dump's restore, the time
 * between installing this library and ALTER EXTENSION pg_scribe UPDATE);
 * called, each says what replaced it.  docs/upgrading.md lists them.
 */
#include "base/pg_scribe.h"

#include "fmgr.h"

/* ERROR: function is gone since version, replaced by what */
static void
scribe_removed(const char *function, const char *version, const char *replacement)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s was removed in pg_scribe %s", function, version),
			 errhint("Run ALTER EXTENSION pg_scribe UPDATE, then call %s.", replacement)));
}

/*
 * One removed function: its symbol, and the ERROR a call gets (the function
 * as SQL named it, the version that removed it, what to call instead)
 */
#define SCRIBE_REMOVED(symbol, function, version, replacement) \
	PG_FUNCTION_INFO_V1(symbol); \
	Datum \
	symbol(PG_FUNCTION_ARGS) \
	{ \
		scribe_removed(function, version, replacement); \
		PG_RETURN_NULL(); \
	}

/* 0.1.0's worker-node verbs: nodes use the queue's (claim, ack, nack, release) */
SCRIBE_REMOVED(scribe_claim_ocr, "scribe.claim_ocr()", "0.2.0", "scribe.claim('ocr', n)")
SCRIBE_REMOVED(scribe_finish_ocr, "scribe.finish_ocr()", "0.2.0", "scribe.ack(job_id, lease, result)")
SCRIBE_REMOVED(scribe_fail_ocr, "scribe.fail_ocr()", "0.2.0", "scribe.nack(job_id, lease, error)")
SCRIBE_REMOVED(scribe_release_ocr, "scribe.release_ocr()", "0.2.0", "scribe.release(job_id, lease)")
