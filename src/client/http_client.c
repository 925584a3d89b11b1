/*
 * The shared HTTP client: one libcurl handle per process, reset between
 * requests so that connections are reused, and the callbacks that keep a
 * response within its size bound and stop a transfer when the backend is
 * interrupted.  See http_client.h.
 */
#include "base/pg_scribe.h"

#include "mb/pg_wchar.h"
#include "utils/guc.h"
#include "utils/json.h"

#include "client/http_client.h"

/* scribe.http_connect_timeout: every HTTP request of pg_scribe (http jobs, S3, cloud OCR) */
int			scribe_http_connect_timeout = 5000;

/* Define the client's own settings */
void
scribe_http_client_define_gucs(void)
{
	DefineCustomIntVariable("scribe.http_connect_timeout",
							"Time an http request may take to connect.",
							NULL,
							&scribe_http_connect_timeout,
							5000, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* One handle per process, reset between requests, so that connections are reused */
static CURL *http_handle = NULL;

/* Start an empty response that keeps at most max_size bytes of body */
void
scribe_http_response_init(ScribeHttpResponse *resp, int64 max_size)
{
	initStringInfo(&resp->body);
	initStringInfo(&resp->headers);
	resp->max_size = max_size;
	resp->too_large = false;
	resp->status = 0;
	resp->content_length = -1;
}

/* curl write callback: keep the body, up to the response's max_size */
static size_t
http_write_body(char *data, size_t size, size_t nmemb, void *arg)
{
	ScribeHttpResponse *resp = arg;
	size_t		n = size * nmemb;

	if ((int64) resp->body.len + (int64) n > resp->max_size)
	{
		resp->too_large = true;
		return 0;
	}
	appendBinaryStringInfo(&resp->body, data, n);
	return n;
}

/* curl header callback: keep "name": "value" members (lower-case names) */
static size_t
http_write_header(char *data, size_t size, size_t nmemb, void *arg)
{
	ScribeHttpResponse *resp = arg;
	size_t		n = size * nmemb;
	char	   *colon = memchr(data, ':', n);
	char	   *line;
	char	   *value;
	char	   *end;

	/* a new response (after 1xx or a redirect) starts with its status line */
	if (n > 5 && strncmp(data, "HTTP/", 5) == 0)
	{
		resetStringInfo(&resp->headers);
		return n;
	}
	if (colon == NULL)
		return n;

	line = pnstrdup(data, n);
	colon = line + (colon - data);
	*colon = '\0';
	for (char *c = line; *c; c++)
		*c = pg_ascii_tolower((unsigned char) *c);
	value = colon + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	end = value + strlen(value);
	while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';

	if (pg_verifymbstr(line, strlen(line), true) && pg_verifymbstr(value, strlen(value), true))
	{
		if (resp->headers.len > 0)
			appendStringInfoString(&resp->headers, ", ");
		escape_json(&resp->headers, line);
		appendStringInfoString(&resp->headers, ": ");
		escape_json(&resp->headers, value);
	}
	pfree(line);
	return n;
}

/* curl progress callback: abort the transfer when the backend is interrupted */
static int
http_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	return InterruptPending ? 1 : 0;
}

/* Set the process's curl handle up for one request to url, nothing sent yet */
CURL *
scribe_http_prepare(const char *url, int64 timeout_ms, char *errbuf, ScribeHttpResponse *resp)
{
	if (http_handle == NULL)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (http_handle = curl_easy_init()) == NULL)
			elog(ERROR, "could not initialize libcurl");
	}
	curl_easy_reset(http_handle);
	curl_easy_setopt(http_handle, CURLOPT_URL, url);
	curl_easy_setopt(http_handle, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(http_handle, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(http_handle, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(http_handle, CURLOPT_CONNECTTIMEOUT_MS, (long) scribe_http_connect_timeout);
	curl_easy_setopt(http_handle, CURLOPT_TIMEOUT_MS, (long) Max(timeout_ms, 1));
	curl_easy_setopt(http_handle, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(http_handle, CURLOPT_WRITEFUNCTION, http_write_body);
	curl_easy_setopt(http_handle, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(http_handle, CURLOPT_HEADERFUNCTION, http_write_header);
	curl_easy_setopt(http_handle, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(http_handle, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(http_handle, CURLOPT_XFERINFOFUNCTION, http_progress);
	curl_easy_setopt(http_handle, CURLOPT_USERAGENT, "pg_scribe/" SCRIBE_VERSION);
	return http_handle;
}

/*
 * Send one request to a superuser-configured endpoint (no allow-list, no
 * redirects); true with the status and body in resp, or false with *error
 * when the request did not complete.
 */
bool
scribe_http_request(const ScribeHttpRequest *req, ScribeHttpResponse *resp, char **error)
{
	char		errbuf[CURL_ERROR_SIZE];
	struct curl_slist *headers = NULL;
	CURL	   *curl;
	CURLcode	rc;
	curl_off_t	length = -1;

	errbuf[0] = '\0';
	curl = scribe_http_prepare(req->url, req->timeout_ms, errbuf, resp);
	for (const char *const *h = req->headers; h != NULL && *h != NULL; h++)
		headers = curl_slist_append(headers, *h);
	if (headers != NULL)
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	/* send the path as it is: a key may hold "." and ".." segments */
	curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);

	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body != NULL)
	{
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
	}
	if (req->aws_sigv4 != NULL)
	{
		curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, req->aws_sigv4);
		curl_easy_setopt(curl, CURLOPT_USERNAME, req->username ? req->username : "");
		curl_easy_setopt(curl, CURLOPT_PASSWORD, req->password ? req->password : "");
	}

	rc = curl_easy_perform(curl);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		CHECK_FOR_INTERRUPTS();
	if (resp->too_large)
	{
		*error = psprintf("the response from %s is larger than %lld bytes", req->url,
						  (long long) resp->max_size);
		return false;
	}
	if (rc != CURLE_OK)
	{
		*error = psprintf("%s request to %s failed: %s", req->method, req->url,
						  errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return false;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK)
		resp->content_length = length;
	return true;
}

/*
 * POST a JSON body to a superuser-configured endpoint (no allow-list, no
 * redirects); the status and body in *status and response, or false with
 * *error when the request did not complete.
 */
bool
scribe_http_post_json(const char *url, const char *body, int64 timeout_ms, int64 max_response,
					  long *status, StringInfo response, char **error)
{
	static const char *const json_headers[] = {"Content-Type: application/json", NULL};
	ScribeHttpRequest req = {
		.method = "POST",
		.url = url,
		.headers = json_headers,
		.body = body,
		.body_len = strlen(body),
		.timeout_ms = timeout_ms,
	};
	ScribeHttpResponse resp;

	scribe_http_response_init(&resp, max_response);
	if (!scribe_http_request(&req, &resp, error))
		return false;
	*status = resp.status;
	*response = resp.body;
	return true;
}

/* message with every occurrence of secret masked: errors end up in tables and logs */
char *
scribe_mask_secret(const char *message, const char *secret)
{
	StringInfoData out;
	size_t		secret_len = secret ? strlen(secret) : 0;
	const char *p = message;
	const char *hit;

	if (secret_len == 0)
		return pstrdup(message);
	initStringInfo(&out);
	while ((hit = strstr(p, secret)) != NULL)
	{
		appendBinaryStringInfo(&out, p, hit - p);
		appendStringInfoString(&out, "***");
		p = hit + secret_len;
	}
	appendStringInfoString(&out, p);
	return out.data;
}
