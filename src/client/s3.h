/*
 * The S3 client: objects in one bucket of an S3-compatible store, for the
 * archive policy's offload of image bytes.
 *
 * Requests go to path-style URLs, <scribe.s3_endpoint>/<scribe.s3_bucket>/<key>,
 * signed with AWS Signature V4 by libcurl (CURLOPT_AWS_SIGV4) and carrying
 * the SHA-256 of their body (x-amz-content-sha256), so the store rejects a
 * body changed on the way.  Endpoint, bucket and keys are superuser-only
 * settings; the secret key never appears in a message.
 *
 * Glossary: a key names an object in the bucket (1 to 1024 bytes of UTF-8,
 * "/" allowed); a failure is a request that did not do what it asked, with
 * the SQLSTATE, message, detail and hint of the ERROR it makes.
 */
#ifndef SCRIBE_S3_H
#define SCRIBE_S3_H

#include "fmgr.h"

/* Why a request failed: what an ERROR about it says */
typedef struct ScribeS3Failure
{
	int			sqlstate;
	char	   *message;
	char	   *detail;			/* S3's error code and message, or the transport's error */
	char	   *hint;
} ScribeS3Failure;

/* s3_gucs.c */
extern char *scribe_s3_endpoint;
extern char *scribe_s3_bucket;
extern char *scribe_s3_region;
extern char *scribe_s3_access_key;
extern char *scribe_s3_secret_key;
extern int	scribe_s3_timeout;

extern void scribe_s3_define_gucs(void);
extern bool scribe_s3_configured(void);

/*
 * s3.c: put and delete report a failure (a policy run goes on with the next
 * object), get and size raise it; an invalid key or content type is an
 * ERROR in all four.
 */
extern bool scribe_s3_put(const char *key, const char *data, size_t len,
						  const char *content_type, ScribeS3Failure *failure);
extern bytea *scribe_s3_get(const char *key, size_t max_bytes);
extern bool scribe_s3_delete(const char *key, ScribeS3Failure *failure);
extern int64 scribe_s3_size(const char *key);

/* s3_failure.c */
extern void scribe_s3_raise(const ScribeS3Failure *failure) pg_attribute_noreturn();

#endif							/* SCRIBE_S3_H */
