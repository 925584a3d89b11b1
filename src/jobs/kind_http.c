/*
 * The http job kind: one HTTP request through libcurl, with the response
 * kept as the job's result (webhooks, CDN pre-warm HEAD requests, calls to
 * text-to-speech or object stores).
 *
 * Payload: {"url": "https://host/path", "method": "POST", "headers":
 * {"Name": "value"}, "body": "text", "timeout_ms": 10000}; only url is
 * required.  Only hosts listed in scribe.http_allowed_hosts (superuser only)
 * are reachable, at enqueue and again at each redirect, which we follow
 * ourselves.  Network errors, 5xx, 408 and 429 are retried; other 4xx go to
 * the dead letters; 2xx and a final 3xx succeed.
 */
#include "base/pg_scribe.h"

#include <curl/curl.h>

#include "common/base64.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/jsonb.h"

#include "client/http_client.h"
#include "jobs/job_kind.h"

char	   *scribe_http_allowed_hosts = NULL;
int			scribe_http_max_response_size = 1024 * 1024;
int			scribe_http_max_redirects = 5;
int			scribe_http_timeout = 30000;

static const char *const http_fields[] = {"url", "method", "headers", "body", "timeout_ms", NULL};
static const char *const http_methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL};

/* Define the http GUCs */
void
scribe_http_define_gucs(void)
{
	DefineCustomStringVariable("scribe.http_allowed_hosts",
							   "Hosts that http jobs may reach, comma separated; *.example.com allows subdomains.",
							   "Empty (the default) allows none.",
							   &scribe_http_allowed_hosts,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_LIST_INPUT,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.http_max_response_size",
							"Largest response body an http job keeps, in bytes; a larger one fails the job.",
							NULL,
							&scribe_http_max_response_size,
							1024 * 1024, 0, MaxAllocSize / 4,
							PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.http_max_redirects",
							"Redirects an http job follows, each checked against scribe.http_allowed_hosts.",
							NULL,
							&scribe_http_max_redirects,
							5, 0, 50,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.http_timeout",
							"Total time an http request may take unless its job says otherwise.",
							"The job's queue lease bounds it too.",
							&scribe_http_timeout,
							30000, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* Whether host (as curl returns it, IPv6 in brackets) is allow-listed */
static bool
http_host_allowed(const char *host)
{
	char	   *list = pstrdup(scribe_http_allowed_hosts ? scribe_http_allowed_hosts : "");
	char	   *save;
	size_t		hlen;
	char	   *h = pstrdup(host);

	/* [::1] and ::1 are the same host */
	if (h[0] == '[' && h[strlen(h) - 1] == ']')
	{
		h[strlen(h) - 1] = '\0';
		h++;
	}
	hlen = strlen(h);

	for (char *entry = strtok_r(list, ", ", &save); entry != NULL; entry = strtok_r(NULL, ", ", &save))
	{
		size_t		elen;

		if (entry[0] == '[' && entry[strlen(entry) - 1] == ']')
		{
			entry[strlen(entry) - 1] = '\0';
			entry++;
		}
		elen = strlen(entry);
		if (pg_strcasecmp(entry, h) == 0)
			return true;
		/* *.example.com: any subdomain of example.com */
		if (elen > 2 && entry[0] == '*' && entry[1] == '.' && hlen > elen - 1 &&
			pg_strcasecmp(h + hlen - (elen - 1), entry + 1) == 0)
			return true;
	}
	return false;
}

/* The host of an http(s) URL, or an ERROR-worthy message in *problem */
static char *
http_url_host(const char *url, char **problem)
{
	CURLU	   *u = curl_url();
	char	   *scheme = NULL;
	char	   *host = NULL;
	char	   *result = NULL;

	*problem = NULL;
	if (u == NULL)
		elog(ERROR, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		*problem = psprintf("\"%s\" is not a valid URL", url);
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
			 (pg_strcasecmp(scheme, "http") != 0 && pg_strcasecmp(scheme, "https") != 0))
		*problem = psprintf("URL \"%s\" is not http or https", url);
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		*problem = psprintf("URL \"%s\" has no host", url);
	else
		result = pstrdup(host);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return result;
}

/* Validate an http job at enqueue: a well-formed request to an allowed host */
static void
http_validate(Jsonb *payload, Oid role)
{
	char	   *url;
	char	   *method;
	char	   *problem;
	char	   *host;
	Jsonb	   *headers;
	Jsonb	   *timeout;

	scribe_jsonb_check_keys(payload, http_fields, "http");
	url = scribe_jsonb_get_string(payload, "url", true, "http");
	host = http_url_host(url, &problem);
	if (host == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", problem),
				 errhint("An http job needs an absolute http:// or https:// URL.")));
	if (!http_host_allowed(host))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("host \"%s\" is not in scribe.http_allowed_hosts", host),
				 errhint("A superuser can add it to scribe.http_allowed_hosts in postgresql.conf and reload.")));

	method = scribe_jsonb_get_string(payload, "method", false, "http");
	if (method != NULL)
	{
		bool		known = false;

		for (const char *const *m = http_methods; *m; m++)
			known |= strcmp(*m, method) == 0;
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown HTTP method \"%s\"", method),
					 errhint("Use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS, in capitals.")));
	}
	(void) scribe_jsonb_get_string(payload, "body", false, "http");

	headers = scribe_jsonb_get(payload, "headers");
	if (headers != NULL)
	{
		JsonbIterator *it;
		JsonbValue	v;
		JsonbIteratorToken tok;

		if (!JB_ROOT_IS_OBJECT(headers))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"headers\" of an http job must be an object of strings")));
		it = JsonbIteratorInit(&headers->root);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if ((tok == WJB_KEY || tok == WJB_VALUE) &&
				(v.type != jbvString ||
				 memchr(v.val.string.val, '\r', v.val.string.len) ||
				 memchr(v.val.string.val, '\n', v.val.string.len) ||
				 (tok == WJB_KEY && memchr(v.val.string.val, ':', v.val.string.len))))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid header in an http job"),
						 errhint("Header names and values are strings without line breaks; names have no colon.")));
		}
	}

	timeout = scribe_jsonb_get(payload, "timeout_ms");
	if (timeout != NULL)
	{
		JsonbValue	v;

		if (!JsonbExtractScalar(&timeout->root, &v) || v.type != jbvNumeric ||
			DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v.val.numeric))) < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"timeout_ms\" of an http job must be a positive number")));
	}
}

/* The job's result: {"status": n, "url": ..., "headers": {...}, "body": ...} */
static Jsonb *
http_result(long status, const char *url, ScribeHttpResponse *resp)
{
	StringInfoData json;

	initStringInfo(&json);
	appendStringInfo(&json, "{\"status\": %ld, \"url\": ", status);
	escape_json(&json, url);
	appendStringInfo(&json, ", \"headers\": {%s}, ", resp->headers.data);
	if (memchr(resp->body.data, '\0', resp->body.len) == NULL &&
		pg_verifymbstr(resp->body.data, resp->body.len, true))
	{
		appendStringInfoString(&json, "\"body\": ");
		escape_json(&json, resp->body.data);
	}
	else
	{
		int			len = pg_b64_enc_len(resp->body.len);
		char	   *b64 = palloc(len + 1);
		int			n = pg_b64_encode(resp->body.data, resp->body.len, b64, len);

		b64[Max(n, 0)] = '\0';
		appendStringInfoString(&json, "\"body_base64\": ");
		escape_json(&json, b64);
	}
	appendStringInfoChar(&json, '}');
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data)));
}

/* Headers of the payload as a curl list */
static struct curl_slist *
http_header_list(Jsonb *payload)
{
	Jsonb	   *headers = scribe_jsonb_get(payload, "headers");
	struct curl_slist *list = NULL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *name = NULL;

	if (headers == NULL)
		return NULL;
	it = JsonbIteratorInit(&headers->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			name = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE && name != NULL)
		{
			char	   *line = psprintf("%s: %.*s", name, v.val.string.len, v.val.string.val);

			list = curl_slist_append(list, line);
		}
	}
	return list;
}

/* Run an http job: the request, with redirects we follow and check ourselves */
static ScribeJobOutcome
http_execute(const ScribeJob *job, int64 timeout_ms, Jsonb **result, char **error)
{
	char	   *url = scribe_jsonb_get_string(job->payload, "url", true, "http");
	char	   *method = scribe_jsonb_get_string(job->payload, "method", false, "http");
	char	   *body = scribe_jsonb_get_string(job->payload, "body", false, "http");
	Jsonb	   *job_timeout = scribe_jsonb_get(job->payload, "timeout_ms");
	int64		request_timeout = scribe_http_timeout;
	struct curl_slist *headers;
	ScribeHttpResponse resp;
	CURL	   *curl;
	char		errbuf[CURL_ERROR_SIZE];
	long		status = 0;
	CURLcode	rc = CURLE_OK;

	if (method == NULL)
		method = body ? "POST" : "GET";
	if (job_timeout != NULL)
	{
		JsonbValue	v;

		if (JsonbExtractScalar(&job_timeout->root, &v) && v.type == jbvNumeric)
			request_timeout = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v.val.numeric)));
	}
	request_timeout = Min(request_timeout, timeout_ms);

	headers = http_header_list(job->payload);
	scribe_http_response_init(&resp, scribe_http_max_response_size);

	for (int redirects = 0;; redirects++)
	{
		char	   *problem;
		char	   *host = http_url_host(url, &problem);
		char	   *location = NULL;

		if (host == NULL)
		{
			*error = problem;
			curl_slist_free_all(headers);
			return JOB_FAILED;
		}
		if (!http_host_allowed(host))
		{
			*error = psprintf("host \"%s\" is not in scribe.http_allowed_hosts", host);
			curl_slist_free_all(headers);
			return JOB_FAILED;
		}

		resetStringInfo(&resp.body);
		resetStringInfo(&resp.headers);
		resp.too_large = false;
		errbuf[0] = '\0';

		curl = scribe_http_prepare(url, request_timeout, errbuf, &resp);
		if (headers)
			curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		if (strcmp(method, "HEAD") == 0)
			curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
		else if (strcmp(method, "GET") != 0)
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
		if (body != NULL)
		{
			curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
		}

		rc = curl_easy_perform(curl);
		if (rc == CURLE_ABORTED_BY_CALLBACK)
		{
			/* cancelled, timed out or terminated: raise that error */
			CHECK_FOR_INTERRUPTS();
			*error = pstrdup("http request interrupted");
			break;
		}
		if (resp.too_large)
		{
			*error = psprintf("response larger than scribe.http_max_response_size (%d bytes)",
							  scribe_http_max_response_size);
			curl_slist_free_all(headers);
			return JOB_FAILED;
		}
		if (rc != CURLE_OK)
		{
			*error = psprintf("http request to %s failed: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
			break;
		}

		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location);
		if (status >= 300 && status < 400 && location != NULL)
		{
			if (redirects >= scribe_http_max_redirects)
			{
				*error = psprintf("more than %d redirects (scribe.http_max_redirects)", scribe_http_max_redirects);
				curl_slist_free_all(headers);
				return JOB_FAILED;
			}
			url = pstrdup(location);
			/* 303, and 301/302 after a POST, turn into a GET, as browsers do */
			if (status == 303 || ((status == 301 || status == 302) && strcmp(method, "POST") == 0))
			{
				method = "GET";
				body = NULL;
			}
			continue;
		}
		break;
	}
	curl_slist_free_all(headers);

	if (rc != CURLE_OK)
		return JOB_RETRY;

	if (status >= 400)
	{
		/* the start of the body often says why */
		int			excerpt = pg_mbcliplen(resp.body.data, resp.body.len, Min(resp.body.len, 200));
		bool		text = memchr(resp.body.data, '\0', excerpt) == NULL &&
			pg_verifymbstr(resp.body.data, excerpt, true);

		*error = psprintf("HTTP %ld from %s%s%.*s", status, url, text && excerpt > 0 ? ": " : "",
						  text ? excerpt : 0, resp.body.data);
		return (status >= 500 || status == 408 || status == 429) ? JOB_RETRY : JOB_FAILED;
	}
	*result = http_result(status, url, &resp);
	return JOB_DONE;
}

const ScribeJobKind scribe_kind_http = {
	.name = "http",
	.validate = http_validate,
	.execute = http_execute,
};
