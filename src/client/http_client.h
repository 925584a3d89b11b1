/*
 * The HTTP client every capability shares: one libcurl handle per process
 * (so connections are reused), bounded timeouts and response sizes, and
 * transfers that stop when the backend is interrupted (query cancel,
 * statement timeout, terminate).
 *
 * Used by the http job kind, the cloud OCR tier and the S3 client.
 */
#ifndef SCRIBE_HTTP_CLIENT_H
#define SCRIBE_HTTP_CLIENT_H

#include <curl/curl.h>

#include "lib/stringinfo.h"

/* A response as it arrives */
typedef struct ScribeHttpResponse
{
	StringInfoData body;		/* the caller may put a prefix in before the request */
	StringInfoData headers;		/* a JSON object's members, comma separated */
	int64		max_size;		/* largest body kept (prefix included) */
	bool		too_large;
	long		status;			/* the HTTP status, once it completed */
	int64		content_length; /* Content-Length as announced, -1 if none */
} ScribeHttpResponse;

/* One request to a superuser-configured endpoint: no allow-list, no redirects */
typedef struct ScribeHttpRequest
{
	const char *method;			/* GET, HEAD, PUT, POST, DELETE, ... */
	const char *url;
	const char *const *headers; /* "Name: value" lines, NULL-terminated, or NULL */
	const char *body;			/* sent when not NULL, body_len bytes */
	size_t		body_len;
	int64		timeout_ms;
	const char *aws_sigv4;		/* "aws:amz:<region>:<service>" to sign the request, or NULL */
	const char *username;		/* SigV4's access key */
	const char *password;		/* SigV4's secret key */
} ScribeHttpRequest;

/* http_client.c */
extern void scribe_http_response_init(ScribeHttpResponse *resp, int64 max_size);
extern CURL *scribe_http_prepare(const char *url, int64 timeout_ms, char *errbuf,
								 ScribeHttpResponse *resp);
extern bool scribe_http_request(const ScribeHttpRequest *req, ScribeHttpResponse *resp,
								char **error);
extern bool scribe_http_post_json(const char *url, const char *body, int64 timeout_ms,
								  int64 max_response, long *status, StringInfo response,
								  char **error);
extern char *scribe_mask_secret(const char *message, const char *secret);

/* the client's settings: scribe.http_connect_timeout (for S3 and cloud OCR too) */
extern int	scribe_http_connect_timeout;
extern void scribe_http_client_define_gucs(void);

#endif							/* SCRIBE_HTTP_CLIENT_H */
