/*
 * Between the S3 client's files: one request as s3.c describes it, and
 * the failures s3_failure.c makes of what went wrong with it.
 */
#ifndef SCRIBE_S3_REQUEST_H
#define SCRIBE_S3_REQUEST_H

#include "client/http_client.h"
#include "client/s3.h"

/* One request about an object (or the bucket) */
typedef struct S3Call
{
	const char *method;			/* PUT, GET, DELETE, HEAD */
	const char *action;			/* what a failure says could not be done: "store", "read", ... */
	const char *key;			/* NULL: the bucket itself */
	const char *body;			/* PUT's bytes */
	size_t		body_len;
	const char *content_type;	/* PUT's */
	int64		max_body;		/* largest response body kept */
	bool		bytea_body;		/* read the body in place of a bytea (room for its header first) */
} S3Call;

/* s3_failure.c */
extern char *s3_reply_code(const S3Call *call, const ScribeHttpResponse *resp);
extern void s3_failure_not_configured(ScribeS3Failure *failure, const S3Call *call);
extern void s3_failure_transport(ScribeS3Failure *failure, const S3Call *call, const char *error,
								 bool too_large);
extern void s3_failure_from_reply(ScribeS3Failure *failure, const S3Call *call,
								  const ScribeHttpResponse *resp);

#endif							/* SCRIBE_S3_REQUEST_H */
