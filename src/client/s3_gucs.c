/*
 * The S3 client's settings: where the bucket is and the key pair that signs
 * requests, all changed by a reload only.  Endpoint, bucket and keys are
 * superuser-only; check hooks refuse a malformed value when it is set (or
 * keep the old one on reload, with a LOG line), and their messages never
 * repeat the endpoint, which could otherwise carry credentials.
 */
#include "base/pg_scribe.h"

#include <ctype.h>
#include <limits.h>

#include <curl/curl.h>

#include "utils/guc.h"

#include "client/s3.h"

char	   *scribe_s3_endpoint = NULL;
char	   *scribe_s3_bucket = NULL;
char	   *scribe_s3_region = NULL;
char	   *scribe_s3_access_key = NULL;
char	   *scribe_s3_secret_key = NULL;
int			scribe_s3_timeout = 30000;

/* Report a malformed endpoint without repeating it */
static bool
endpoint_problem(const char *problem, const char *hint)
{
	GUC_check_errmsg("invalid value for parameter \"scribe.s3_endpoint\": %s", problem);
	GUC_check_errhint("%s", hint);
	return false;
}

/* Whether a part of a parsed URL is there */
static bool
url_has(CURLU *url, CURLUPart part)
{
	char	   *value = NULL;
	bool		has = curl_url_get(url, part, &value, 0) == CURLUE_OK && value != NULL && value[0] != '\0';

	curl_free(value);
	return has;
}

/* Check hook of scribe.s3_endpoint: an http(s) URL without credentials, query or fragment */
static bool
check_s3_endpoint(char **newval, void **extra, GucSource source)
{
	const char *value = *newval;
	CURLU	   *url;
	char	   *scheme = NULL;
	const char *problem = NULL;
	const char *hint = "Write the store's base URL, for example https://s3.us-east-1.amazonaws.com "
		"or http://127.0.0.1:9000.";

	if (value == NULL || value[0] == '\0')
		return true;
	for (const char *c = value; *c; c++)
		if (isspace((unsigned char) *c) || iscntrl((unsigned char) *c))
			return endpoint_problem("the URL contains white space or control characters", hint);

	url = curl_url();
	if (url == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errmsg("out of memory");
		return false;
	}
	if (curl_url_set(url, CURLUPART_URL, value, 0) != CURLUE_OK)
		problem = "it is not a valid URL";
	else if (curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
			 (pg_strcasecmp(scheme, "http") != 0 && pg_strcasecmp(scheme, "https") != 0))
		problem = "the URL must start with http:// or https://";
	else if (url_has(url, CURLUPART_USER) || url_has(url, CURLUPART_PASSWORD))
	{
		problem = "the URL must not hold credentials";
		hint = "Put the key pair in scribe.s3_access_key and scribe.s3_secret_key.";
	}
	else if (url_has(url, CURLUPART_QUERY) || url_has(url, CURLUPART_FRAGMENT))
		problem = "the URL must not have a query or a fragment";
	else if (!url_has(url, CURLUPART_HOST))
		problem = "the URL has no host";
	curl_free(scheme);
	curl_url_cleanup(url);
	return problem == NULL ? true : endpoint_problem(problem, hint);
}

/* Whether value is 1 to max_len characters, each a letter, a digit or one of extra */
static bool
is_plain_name(const char *value, int max_len, const char *extra)
{
	int			len = strlen(value);

	if (len < 1 || len > max_len)
		return false;
	for (const char *c = value; *c; c++)
		if (!isalnum((unsigned char) *c) && strchr(extra, *c) == NULL)
			return false;
	return true;
}

/* Check hook of scribe.s3_bucket: a name that can go into a URL path as it is */
static bool
check_s3_bucket(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || is_plain_name(*newval, 255, ".-_"))
		return true;
	GUC_check_errmsg("invalid value for parameter \"scribe.s3_bucket\": \"%s\" is not a bucket name", *newval);
	GUC_check_errhint("A bucket name has letters, digits, dots, hyphens and underscores only "
					  "(S3's own rule: 3 to 63 lower-case letters, digits, dots and hyphens).");
	return false;
}

/* Check hook of scribe.s3_region: a name that can go into the SigV4 scope */
static bool
check_s3_region(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && is_plain_name(*newval, 64, "-_"))
		return true;
	GUC_check_errmsg("invalid value for parameter \"scribe.s3_region\": \"%s\" is not a region name",
					 *newval ? *newval : "");
	GUC_check_errhint("Write the bucket's region, for example us-east-1 or eu-west-3.");
	return false;
}

/* Define the S3 GUCs */
void
scribe_s3_define_gucs(void)
{
	DefineCustomStringVariable("scribe.s3_endpoint",
							   "Base URL of the S3-compatible store that archived objects go to (path-style requests).",
							   "Empty (the default) disables the S3 offload.",
							   &scribe_s3_endpoint,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   check_s3_endpoint, NULL, NULL);
	DefineCustomStringVariable("scribe.s3_bucket",
							   "Bucket of the S3-compatible store that archived objects go to.",
							   NULL,
							   &scribe_s3_bucket,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   check_s3_bucket, NULL, NULL);
	DefineCustomStringVariable("scribe.s3_region",
							   "Region of the bucket, part of every request's signature.",
							   NULL,
							   &scribe_s3_region,
							   "us-east-1",
							   PGC_SIGHUP, 0,
							   check_s3_region, NULL, NULL);
	DefineCustomStringVariable("scribe.s3_access_key",
							   "Access key id that signs S3 requests (AWS Signature V4).",
							   "Empty sends requests unsigned.",
							   &scribe_s3_access_key,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomStringVariable("scribe.s3_secret_key",
							   "Secret access key that signs S3 requests; never shown in messages.",
							   NULL,
							   &scribe_s3_secret_key,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.s3_timeout",
							"Time one S3 request may take, connection included.",
							NULL,
							&scribe_s3_timeout,
							30000, 100, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* Whether the S3 offload is configured: an endpoint and a bucket */
bool
scribe_s3_configured(void)
{
	return scribe_s3_endpoint != NULL && scribe_s3_endpoint[0] != '\0' &&
		scribe_s3_bucket != NULL && scribe_s3_bucket[0] != '\0';
}
