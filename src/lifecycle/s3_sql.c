/*
 * The S3 client in SQL: the internal scribe._s3_*() functions that the
 * archive policy's SQL and the tests use.  Revoked from PUBLIC: they reach
 * the network with the server's key pair.  Every failure is an ERROR.
 */
#include "base/pg_scribe.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "client/s3.h"

PG_FUNCTION_INFO_V1(scribe_s3_put_sql);
PG_FUNCTION_INFO_V1(scribe_s3_get_sql);
PG_FUNCTION_INFO_V1(scribe_s3_delete_sql);
PG_FUNCTION_INFO_V1(scribe_s3_exists_sql);

/* scribe._s3_put(key, data, content_type): store data as key */
Datum
scribe_s3_put_sql(PG_FUNCTION_ARGS)
{
	char	   *key;
	bytea	   *data;
	ScribeS3Failure failure;

	scribe_require_preload("scribe._s3_put()");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", PG_ARGISNULL(0) ? "key" : "data"),
				 errhint("Store an empty object as ''::bytea; delete one with scribe._s3_delete().")));
	key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	data = PG_GETARG_BYTEA_PP(1);
	if (!scribe_s3_put(key, VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
					   PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)), &failure))
		scribe_s3_raise(&failure);
	PG_RETURN_VOID();
}

/* scribe._s3_get(key): the object's bytes */
Datum
scribe_s3_get_sql(PG_FUNCTION_ARGS)
{
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(0));

	scribe_require_preload("scribe._s3_get()");
	PG_RETURN_BYTEA_P(scribe_s3_get(key, MaxAllocSize - VARHDRSZ - 1));
}

/* scribe._s3_delete(key): delete the object; whether it was there */
Datum
scribe_s3_delete_sql(PG_FUNCTION_ARGS)
{
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ScribeS3Failure failure;
	bool		existed;

	scribe_require_preload("scribe._s3_delete()");
	/* S3's DELETE does not say whether there was an object: ask first */
	existed = scribe_s3_size(key) >= 0;
	if (!scribe_s3_delete(key, &failure))
		scribe_s3_raise(&failure);
	PG_RETURN_BOOL(existed);
}

/* scribe._s3_exists(key): the object's size in bytes, or NULL if there is none */
Datum
scribe_s3_exists_sql(PG_FUNCTION_ARGS)
{
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		size;

	scribe_require_preload("scribe._s3_exists()");
	size = scribe_s3_size(key);
	if (size < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(size);
}
