/*
 * What an S3 request that failed says: the error document's Code and
 * Message (<Error><Code>NoSuchKey</Code><Message>...</Message></Error>)
 * turned into an SQLSTATE, a message, a detail and a hint.
 *
 * A missing object or bucket is 58P01 (undefined_file); an access key, a
 * secret, a region or a clock the store refuses is 28000
 * (invalid_authorization_specification); a store that cannot be reached in
 * time is 08006 (connection_failure); anything else the store refuses or
 * fails at is 58000 (system_error).  No message repeats the secret key.
 */
#include "base/pg_scribe.h"

#include "mb/pg_wchar.h"

#include "client/s3_request.h"

/* Longest Code or Message kept from an error document */
#define S3_MAX_ERROR_TEXT 256

/* What an error code means for the caller */
typedef struct S3ErrorCode
{
	const char *code;
	int			sqlstate;
	const char *hint;
} S3ErrorCode;

static const S3ErrorCode s3_error_codes[] = {
	{"NoSuchKey", ERRCODE_UNDEFINED_FILE,
	"The object was deleted or never stored; scribe._s3_exists(key) tells whether it is there."},
	{"NoSuchBucket", ERRCODE_UNDEFINED_FILE,
	"Create the bucket that scribe.s3_bucket names, or name an existing one there and reload."},
	{"InvalidAccessKeyId", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
	"The store does not know scribe.s3_access_key: check it and reload."},
	{"SignatureDoesNotMatch", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
	"Check scribe.s3_secret_key: the store computed another signature with the secret it holds."},
	{"AuthorizationHeaderMalformed", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
	"Check scribe.s3_region: it must be the bucket's region."},
	{"RequestTimeTooSkewed", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
	"This server's clock and the store's differ by more than 15 minutes: synchronise the clock."},
	{"AccessDenied", ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
	"The access key may lack the permission (s3:GetObject, s3:PutObject, s3:DeleteObject) on this bucket."},
	{"EntityTooLarge", ERRCODE_PROGRAM_LIMIT_EXCEEDED,
	"The store refuses objects this large in one PUT."},
	{"XAmzContentSHA256Mismatch", ERRCODE_DATA_CORRUPTED,
	"The body changed on its way to the store; try again."},
	{"BadDigest", ERRCODE_DATA_CORRUPTED,
	"The body changed on its way to the store; try again."},
};

/* The text of XML element tag in body, entities decoded and clipped, or NULL */
static char *
s3_xml_element(const char *body, const char *tag)
{
	char	   *open_tag = psprintf("<%s>", tag);
	char	   *close_tag = psprintf("</%s>", tag);
	const char *start = strstr(body, open_tag);
	const char *end;
	StringInfoData text;

	if (start == NULL)
		return NULL;
	start += strlen(open_tag);
	end = strstr(start, close_tag);
	if (end == NULL)
		return NULL;

	initStringInfo(&text);
	for (const char *c = start; c < end && text.len < S3_MAX_ERROR_TEXT; c++)
	{
		static const char *const entities[][2] = {
			{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""}, {"&apos;", "'"},
		};
		bool		decoded = false;

		for (int i = 0; i < (int) lengthof(entities) && !decoded; i++)
			if (strncmp(c, entities[i][0], strlen(entities[i][0])) == 0)
			{
				appendStringInfoString(&text, entities[i][1]);
				c += strlen(entities[i][0]) - 1;
				decoded = true;
			}
		if (!decoded)
			appendStringInfoChar(&text, *c);
	}
	/* the store's text goes into a message: it must be valid in ours */
	text.len = pg_mbcliplen(text.data, text.len, text.len);
	text.data[text.len] = '\0';
	if (!pg_verifymbstr(text.data, text.len, true))
		return NULL;
	return text.data;
}

/* The reply's error document (after the room a bytea body leaves for its header) */
static const char *
s3_reply_document(const S3Call *call, const ScribeHttpResponse *resp)
{
	return call->bytea_body ? resp->body.data + VARHDRSZ : resp->body.data;
}

/* The Code of the reply's error document, or NULL */
char *
s3_reply_code(const S3Call *call, const ScribeHttpResponse *resp)
{
	return s3_xml_element(s3_reply_document(call, resp), "Code");
}

/* The message of every failure about call: what could not be done to what */
static char *
s3_failure_message(const S3Call *call)
{
	if (call->key == NULL)
		return psprintf("could not %s S3 bucket \"%s\"", call->action, scribe_s3_bucket);
	return psprintf("could not %s S3 object \"%s\"", call->action, call->key);
}

/* The failure of a request made before S3 is configured */
void
s3_failure_not_configured(ScribeS3Failure *failure, const S3Call *call)
{
	failure->sqlstate = ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
	failure->message = s3_failure_message(call);
	failure->detail = pstrdup("scribe.s3_endpoint or scribe.s3_bucket is not set.");
	failure->hint = pstrdup("A superuser sets scribe.s3_endpoint, scribe.s3_bucket, scribe.s3_access_key "
							"and scribe.s3_secret_key in postgresql.conf and reloads.");
}

/* The failure of a request that did not complete: no connection, a timeout, a body too large */
void
s3_failure_transport(ScribeS3Failure *failure, const S3Call *call, const char *error, bool too_large)
{
	failure->message = s3_failure_message(call);
	if (too_large)
	{
		failure->sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		failure->detail = psprintf("The object is larger than the %lld bytes this read accepts.",
								   (long long) (call->max_body - (call->bytea_body ? VARHDRSZ : 0)));
		failure->hint = pstrdup("Objects read into a bytea are limited to 1 GB.");
		return;
	}
	failure->sqlstate = ERRCODE_CONNECTION_FAILURE;
	failure->detail = scribe_mask_secret(error, scribe_s3_secret_key);
	failure->hint = psprintf("Check that scribe.s3_endpoint is reachable from the database server; "
							 "a request may take scribe.s3_timeout (%d ms).", scribe_s3_timeout);
}

/* The failure of a request the store answered with an error status */
void
s3_failure_from_reply(ScribeS3Failure *failure, const S3Call *call, const ScribeHttpResponse *resp)
{
	char	   *code = s3_reply_code(call, resp);
	char	   *message = s3_xml_element(s3_reply_document(call, resp), "Message");

	failure->message = s3_failure_message(call);
	if (code == NULL)
		failure->detail = psprintf("S3 answered HTTP %ld.", resp->status);
	else
		failure->detail = scribe_mask_secret(psprintf("S3 answered HTTP %ld %s%s%s", resp->status, code,
													  message ? ": " : ".", message ? message : ""),
											 scribe_s3_secret_key);

	for (int i = 0; code != NULL && i < (int) lengthof(s3_error_codes); i++)
		if (strcmp(code, s3_error_codes[i].code) == 0)
		{
			failure->sqlstate = s3_error_codes[i].sqlstate;
			failure->hint = pstrdup(s3_error_codes[i].hint);
			return;
		}

	/* a HEAD's error has no document: the status alone says what failed */
	if (resp->status == 401 || resp->status == 403)
	{
		failure->sqlstate = ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
		failure->hint = pstrdup("Check scribe.s3_access_key, scribe.s3_secret_key and scribe.s3_region, "
								"and that the key may use this bucket.");
	}
	else if (resp->status == 404)
	{
		failure->sqlstate = ERRCODE_UNDEFINED_FILE;
		failure->hint = pstrdup("Check scribe.s3_endpoint and scribe.s3_bucket.");
	}
	else if (resp->status >= 500)
	{
		failure->sqlstate = ERRCODE_SYSTEM_ERROR;
		failure->hint = pstrdup("The store failed or is overloaded; try again later.");
	}
	else
	{
		failure->sqlstate = ERRCODE_SYSTEM_ERROR;
		failure->hint = pstrdup("The store refused the request; its error code is in the detail.");
	}
}

/* Raise the failure as an ERROR */
void
scribe_s3_raise(const ScribeS3Failure *failure)
{
	ereport(ERROR,
			(errcode(failure->sqlstate),
			 errmsg("%s", failure->message),
			 failure->detail ? errdetail("%s", failure->detail) : 0,
			 failure->hint ? errhint("%s", failure->hint) : 0));
	pg_unreachable();
}
