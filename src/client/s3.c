/*
 * The S3 client's requests: PUT, GET, DELETE and HEAD of one object, signed
 * with AWS Signature V4 by libcurl.
 *
 * libcurl 7.88 (Debian 12) signs the headers we set plus host and
 * x-amz-date, and takes the payload hash of its canonical request from an
 * x-amz-content-sha256 header when we set one; it never sends that header
 * itself, and S3 refuses a SigV4 request without it.  So every request
 * carries the SHA-256 of its body (of nothing, for GET, HEAD and DELETE),
 * which also lets the store refuse a body changed on the way.  libcurl also
 * signs the path as it is sent, without encoding it again, so keys are
 * encoded exactly as S3 encodes them when it checks the signature.
 */
#include "base/pg_scribe.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include "client/http_client.h"
#include "client/s3.h"
#include "client/s3_request.h"

/* S3's longest key, in bytes of UTF-8 */
#define S3_MAX_KEY_BYTES 1024
/* Largest error document kept from a HEAD, DELETE or PUT */
#define S3_MAX_ERROR_BODY (64 * 1024)

/* The key as UTF-8, ERROR unless S3 can store it */
static char *
s3_key_utf8(const char *key)
{
	char	   *utf8 = pg_server_to_any(key, strlen(key), PG_UTF8);
	size_t		len = strlen(utf8);

	if (len == 0 || len > S3_MAX_KEY_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an S3 key must have 1 to %d bytes, not %zu", S3_MAX_KEY_BYTES, len),
				 errhint("Use a shorter key; \"/\" separates levels of a key.")));
	for (const char *c = utf8; *c; c++)
		if ((unsigned char) *c < 0x20 || *c == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("an S3 key must not contain control characters"),
					 errhint("Use printable characters; \"/\" separates levels of a key.")));
	return utf8;
}

/* Append key percent-encoded as S3 signs it: all but A-Z a-z 0-9 - _ . ~ and / */
static void
s3_append_encoded_key(StringInfo url, const char *key)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *c = (const unsigned char *) key; *c; c++)
	{
		if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
			*c == '-' || *c == '_' || *c == '.' || *c == '~' || *c == '/')
			appendStringInfoChar(url, (char) *c);
		else
		{
			appendStringInfoChar(url, '%');
			appendStringInfoChar(url, hex[*c >> 4]);
			appendStringInfoChar(url, hex[*c & 0xf]);
		}
	}
}

/* The path-style URL of key (NULL: of the bucket itself) */
static char *
s3_url(const char *key)
{
	StringInfoData url;
	int			end = strlen(scribe_s3_endpoint);

	initStringInfo(&url);
	/* "http://host:port/" and "http://host:port" are the same endpoint */
	while (end > 0 && scribe_s3_endpoint[end - 1] == '/')
		end--;
	appendBinaryStringInfo(&url, scribe_s3_endpoint, end);
	appendStringInfoChar(&url, '/');
	appendStringInfoString(&url, scribe_s3_bucket);
	if (key != NULL)
	{
		appendStringInfoChar(&url, '/');
		s3_append_encoded_key(&url, key);
	}
	return url.data;
}

/* Whether the reply's error document has this code */
static bool
s3_reply_says(const S3Call *call, const ScribeHttpResponse *resp, const char *code)
{
	char	   *said = s3_reply_code(call, resp);

	return said != NULL && strcmp(said, code) == 0;
}

/* The x-amz-content-sha256 header of a body: its SHA-256 in lower-case hex */
static char *
s3_payload_header(const char *body, size_t len)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	StringInfoData header;

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) body, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute the SHA-256 of an S3 request body: %s",
			 ctx ? pg_cryptohash_error(ctx) : "out of memory");
	pg_cryptohash_free(ctx);

	initStringInfo(&header);
	appendStringInfoString(&header, "x-amz-content-sha256: ");
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		appendStringInfo(&header, "%02x", digest[i]);
	return header.data;
}

/*
 * Send one signed request about key (NULL: the bucket); true when it
 * completed, whatever its status, with the reply in resp; false with the
 * failure to reach the store.  An invalid key or content type is an ERROR.
 */
static bool
s3_request(const S3Call *call, ScribeHttpResponse *resp, ScribeS3Failure *failure)
{
	const char *headers[3] = {NULL, NULL, NULL};
	const char *body = call->body ? call->body : "";
	ScribeHttpRequest req = {
		.method = call->method,
		.headers = headers,
		.body = call->body,
		.body_len = call->body_len,
		.timeout_ms = scribe_s3_timeout,
	};
	char	   *key = call->key ? s3_key_utf8(call->key) : NULL;
	char	   *error;

	if (call->content_type != NULL && strpbrk(call->content_type, "\r\n") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an S3 content type must not contain line breaks"),
				 errhint("Give a media type such as image/png.")));

	scribe_http_response_init(resp, call->max_body);
	/* a body read into place: room for the bytea header first */
	if (call->bytea_body)
		appendStringInfoSpaces(&resp->body, VARHDRSZ);
	if (!scribe_s3_configured())
	{
		s3_failure_not_configured(failure, call);
		return false;
	}
	req.url = s3_url(key);
	headers[0] = s3_payload_header(body, call->body ? call->body_len : 0);
	if (call->content_type != NULL)
		headers[1] = psprintf("Content-Type: %s", call->content_type);
	/* without an access key, requests go unsigned (a public bucket) */
	if (scribe_s3_access_key != NULL && scribe_s3_access_key[0] != '\0')
	{
		req.aws_sigv4 = psprintf("aws:amz:%s:s3", scribe_s3_region);
		req.username = scribe_s3_access_key;
		req.password = scribe_s3_secret_key;
	}

	if (!scribe_http_request(&req, resp, &error))
	{
		s3_failure_transport(failure, call, error, resp->too_large);
		return false;
	}
	return true;
}

/* Send call; true if the store answered 2xx, else false with the failure */
static bool
s3_call_succeeds(const S3Call *call, ScribeHttpResponse *resp, ScribeS3Failure *failure)
{
	if (!s3_request(call, resp, failure))
		return false;
	if (resp->status / 100 == 2)
		return true;
	s3_failure_from_reply(failure, call, resp);
	return false;
}

/* Store data as key, with the given content type; false with the failure if S3 did not */
bool
scribe_s3_put(const char *key, const char *data, size_t len, const char *content_type,
			  ScribeS3Failure *failure)
{
	S3Call		call = {
		.method = "PUT", .action = "store", .key = key,
		.body = data ? data : "", .body_len = len,
		.content_type = content_type ? content_type : "application/octet-stream",
		.max_body = S3_MAX_ERROR_BODY,
	};
	ScribeHttpResponse resp;

	return s3_call_succeeds(&call, &resp, failure);
}

/* The bytes of key, at most max_bytes of them; ERROR if they cannot be read */
bytea *
scribe_s3_get(const char *key, size_t max_bytes)
{
	S3Call		call = {
		.method = "GET", .action = "read", .key = key,
		.max_body = (int64) Min(max_bytes, MaxAllocSize - VARHDRSZ - 1) + VARHDRSZ,
		.bytea_body = true,
	};
	ScribeHttpResponse resp;
	ScribeS3Failure failure;
	bytea	   *result;

	if (!s3_call_succeeds(&call, &resp, &failure))
		scribe_s3_raise(&failure);
	result = (bytea *) resp.body.data;
	SET_VARSIZE(result, resp.body.len);
	return result;
}

/* Delete key (absent already counts as deleted); false with the failure if S3 did not */
bool
scribe_s3_delete(const char *key, ScribeS3Failure *failure)
{
	S3Call		call = {
		.method = "DELETE", .action = "delete", .key = key,
		.max_body = S3_MAX_ERROR_BODY,
	};
	ScribeHttpResponse resp;

	if (s3_call_succeeds(&call, &resp, failure))
		return true;
	/* S3 answers 204 whether or not the object was there; other stores may say 404 */
	return resp.status == 404 && !s3_reply_says(&call, &resp, "NoSuchBucket");
}

/* Whether the bucket exists; false with the failure when it does not or S3 cannot tell */
static bool
s3_bucket_exists(ScribeS3Failure *failure)
{
	S3Call		call = {
		.method = "HEAD", .action = "look up", .key = NULL,
		.max_body = S3_MAX_ERROR_BODY,
	};
	ScribeHttpResponse resp;

	return s3_call_succeeds(&call, &resp, failure);
}

/* The size of key in bytes, or -1 if there is no such object; ERROR if S3 cannot tell */
int64
scribe_s3_size(const char *key)
{
	S3Call		call = {
		.method = "HEAD", .action = "look up", .key = key,
		.max_body = S3_MAX_ERROR_BODY,
	};
	ScribeHttpResponse resp;
	ScribeS3Failure failure;

	if (!s3_call_succeeds(&call, &resp, &failure))
	{
		if (resp.status != 404)
			scribe_s3_raise(&failure);
		/* a HEAD's 404 has no body to tell a missing key from a missing bucket */
		if (!s3_bucket_exists(&failure))
			scribe_s3_raise(&failure);
		return -1;
	}
	if (resp.content_length < 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("S3 did not say the size of object \"%s\"", key),
				 errdetail("The HEAD response of %s had no Content-Length.", scribe_s3_endpoint),
				 errhint("The endpoint may not be an S3-compatible store.")));
	return resp.content_length;
}
