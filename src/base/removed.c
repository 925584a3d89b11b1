/*
 * The C functions that an earlier version's SQL names and this library no
 * longer has.  They stay as symbols so that an installation of that version
 * keeps loading (CREATE EXTENSION ... VERSION, pg_dump's restore, the time
 * between installing this library and ALTER EXTENSION pg_scribe UPDATE);
 * called, each says what replaced it.  docs/upgrading.md lists them.
 */
#include "pg_scribe.h"

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

PG_FUNCTION_INFO_V1(scribe_claim_ocr);

/* 0.1.0's scribe.claim_ocr(n) */
Datum
scribe_claim_ocr(PG_FUNCTION_ARGS)
{
	scribe_removed("scribe.claim_ocr()", "0.2.0", "scribe.claim('ocr', n)");
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(scribe_finish_ocr);

/* 0.1.0's scribe.finish_ocr(job_id, lease, result, method, fallback, node) */
Datum
scribe_finish_ocr(PG_FUNCTION_ARGS)
{
	scribe_removed("scribe.finish_ocr()", "0.2.0", "scribe.ack(job_id, lease, result)");
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(scribe_fail_ocr);

/* 0.1.0's scribe.fail_ocr(job_id, lease, error, retry) */
Datum
scribe_fail_ocr(PG_FUNCTION_ARGS)
{
	scribe_removed("scribe.fail_ocr()", "0.2.0", "scribe.nack(job_id, lease, error)");
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(scribe_release_ocr);

/* 0.1.0's scribe.release_ocr(job_id, lease) */
Datum
scribe_release_ocr(PG_FUNCTION_ARGS)
{
	scribe_removed("scribe.release_ocr()", "0.2.0", "scribe.release(job_id, lease)");
	PG_RETURN_NULL();
}
