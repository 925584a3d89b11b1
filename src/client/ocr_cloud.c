/*
 * The cloud tier: one Google Vision images:annotate request (or any service
 * that speaks its format) for the pages of an image, turned into a result
 * shaped like the engine's.  A page the service does not take as it is (a
 * TIFF, a PNM, several pages) is first split into PNGs by the engine.
 */
#include "base/pg_scribe.h"

#include "common/base64.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "client/http_client.h"
#include "client/ocr_client.h"

/* Vision takes at most this many images per request */
#define CLOUD_MAX_IMAGES 16
/* Largest response kept: Vision's word geometry makes it large */
#define CLOUD_MAX_RESPONSE (64 * 1024 * 1024)

/* The member key of a jsonb container, or NULL */
static JsonbValue *
member(JsonbContainer *container, const char *key)
{
	JsonbValue	k;

	if (container == NULL || !JsonContainerIsObject(container))
		return NULL;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(container, JB_FOBJECT, &k);
}

/* The container a jsonb value holds, or NULL if it is a scalar */
static JsonbContainer *
container_of(JsonbValue *v)
{
	return v && v->type == jbvBinary ? v->val.binary.data : NULL;
}

/* The ISO 639-1 code Vision wants for a tesseract language, or NULL */
static const char *
vision_language(const char *lang)
{
	static const char *const map[][2] = {
		{"eng", "en"}, {"deu", "de"}, {"fra", "fr"}, {"spa", "es"}, {"ita", "it"},
		{"nld", "nl"}, {"por", "pt"}, {"pol", "pl"}, {"swe", "sv"}, {"dan", "da"},
		{"nor", "no"}, {"fin", "fi"}, {"ces", "cs"}, {"rus", "ru"}, {"ukr", "uk"},
	};

	for (int i = 0; i < (int) lengthof(map); i++)
		if (strncmp(lang, map[i][0], 3) == 0 && (lang[3] == '\0' || lang[3] == '+'))
			return map[i][1];
	return NULL;
}

/* The pages to send, base64: the image itself, or the engine's PNGs of it */
static List *
cloud_pages(const char *image, size_t len, const ScribeImageInfo *info)
{
	List	   *pages = NIL;

	if (info->pages == 1 && info->format != IMAGE_TIFF && info->format != IMAGE_PNM)
	{
		int			b64len = pg_b64_enc_len(len);
		char	   *b64 = palloc(b64len + 1);
		int			n = pg_b64_encode(image, len, b64, b64len);

		b64[Max(n, 0)] = '\0';
		pages = lappend(pages, b64);
	}
	else
	{
		ScribeOcrOptions split = {.lang = "eng", .psm = 3, .flags = OCR_SPLIT_PNG};
		Jsonb	   *result = scribe_ocr_run(image, len, &split, NULL);
		JsonbContainer *list = container_of(member(&result->root, "pages"));
		int			n = list ? JsonContainerSize(list) : 0;

		for (int i = 0; i < n; i++)
		{
			JsonbValue *v = getIthJsonbValueFromContainer(list, i);

			pages = lappend(pages, pnstrdup(v->val.string.val, v->val.string.len));
		}
	}
	return pages;
}

/* Append one response's page object to out; false with *error if it failed */
static bool
cloud_page_result(JsonbContainer *response, int page_no, StringInfo out, StringInfo all_text,
				  double *confidence, char **error)
{
	JsonbValue *err = member(response, "error");
	JsonbContainer *annotation = container_of(member(response, "fullTextAnnotation"));
	JsonbValue *t = member(annotation, "text");
	JsonbContainer *vpages = container_of(member(annotation, "pages"));
	double		conf_sum = 0;
	int			conf_n = 0;
	char	   *page_text = t && t->type == jbvString ? pnstrdup(t->val.string.val, t->val.string.len) : "";

	if (err != NULL)
	{
		JsonbValue *msg = member(container_of(err), "message");

		*error = msg && msg->type == jbvString ?
			psprintf("page %d: %.*s", page_no, msg->val.string.len, msg->val.string.val) :
			psprintf("page %d: the service reported an error", page_no);
		return false;
	}
	for (int i = 0; vpages && i < (int) JsonContainerSize(vpages); i++)
	{
		JsonbValue *vp = getIthJsonbValueFromContainer(vpages, i);
		JsonbValue *c = member(container_of(vp), "confidence");

		if (c && c->type == jbvNumeric)
		{
			conf_sum += DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(c->val.numeric)));
			conf_n++;
		}
	}
	*confidence = conf_n ? 100.0 * conf_sum / conf_n : 0;
	appendStringInfo(out, "%s{\"page\": %d, \"text\": ", page_no > 1 ? ", " : "", page_no);
	escape_json(out, page_text);
	appendStringInfo(out, ", \"confidence\": %.2f, \"characters\": %d}", *confidence,
					 pg_mbstrlen(page_text));
	if (page_no > 1)
		appendStringInfoChar(all_text, '\f');
	appendStringInfoString(all_text, page_text);
	return true;
}

/*
 * Recognise an image with the cloud tier; its result in the engine's shape,
 * or NULL with *error when the service failed (the caller retries, then
 * falls back to the local engine).
 */
Jsonb *
scribe_ocr_cloud_run(const char *image, size_t len, const ScribeImageInfo *info,
					 const char *lang, char **error)
{
	List	   *pages = cloud_pages(image, len, info);
	const char *hint = vision_language(lang);
	StringInfoData out,
				all_text;
	char	   *url;
	int			page_no = 0;
	double		conf_total = 0;
	TimestampTz start = GetCurrentTimestamp();

	if (scribe_ocr_cloud_url == NULL || scribe_ocr_cloud_url[0] == '\0')
	{
		*error = pstrdup("the cloud tier is not configured (scribe.ocr_cloud_url is empty)");
		return NULL;
	}
	url = scribe_ocr_cloud_key && scribe_ocr_cloud_key[0] ?
		psprintf("%s%skey=%s", scribe_ocr_cloud_url, strchr(scribe_ocr_cloud_url, '?') ? "&" : "?",
				 scribe_ocr_cloud_key) :
		pstrdup(scribe_ocr_cloud_url);

	initStringInfo(&out);
	initStringInfo(&all_text);
	appendStringInfoString(&out, "{\"engine\": \"cloud\", \"lang\": ");
	escape_json(&out, lang);
	appendStringInfoString(&out, ", \"pages\": [");

	for (int first = 0; first < list_length(pages); first += CLOUD_MAX_IMAGES)
	{
		StringInfoData request;
		StringInfoData response;
		long		status = 0;
		Jsonb	   *reply;
		JsonbContainer *responses;
		int			last = Min(first + CLOUD_MAX_IMAGES, list_length(pages));

		initStringInfo(&request);
		appendStringInfoString(&request, "{\"requests\": [");
		for (int i = first; i < last; i++)
		{
			appendStringInfo(&request, "%s{\"image\": {\"content\": \"%s\"}, "
							 "\"features\": [{\"type\": \"DOCUMENT_TEXT_DETECTION\"}]",
							 i > first ? ", " : "", (char *) list_nth(pages, i));
			if (hint)
				appendStringInfo(&request, ", \"imageContext\": {\"languageHints\": [\"%s\"]}", hint);
			appendStringInfoChar(&request, '}');
		}
		appendStringInfoString(&request, "]}");

		if (!scribe_http_post_json(url, request.data, scribe_ocr_cloud_timeout, CLOUD_MAX_RESPONSE,
								   &status, &response, error))
		{
			*error = psprintf("cloud OCR failed: %s", scribe_mask_secret(*error, scribe_ocr_cloud_key));
			return NULL;
		}
		if (status != 200)
		{
			*error = psprintf("cloud OCR failed: HTTP %ld from %s: %.200s", status,
							  scribe_ocr_cloud_url, response.data);
			return NULL;
		}
		/* parse without throwing first: a broken reply is the service's failure */
		reply = pg_parse_json(makeJsonLexContextCstringLen(response.data, response.len,
														   GetDatabaseEncoding(), true),
							  &nullSemAction) == JSON_SUCCESS ?
			DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(response.data))) : NULL;
		responses = reply ? container_of(member(&reply->root, "responses")) : NULL;
		if (responses == NULL || (int) JsonContainerSize(responses) != last - first)
		{
			*error = psprintf("cloud OCR failed: the response from %s is not a Vision images:annotate "
							  "response for %d images", scribe_ocr_cloud_url, last - first);
			return NULL;
		}
		for (int i = 0; i < last - first; i++)
		{
			double		confidence;

			if (!cloud_page_result(container_of(getIthJsonbValueFromContainer(responses, i)),
								   ++page_no, &out, &all_text, &confidence, error))
			{
				*error = psprintf("cloud OCR failed: %s", pstrdup(*error));
				return NULL;
			}
			conf_total += confidence;
		}
	}

	appendStringInfoString(&out, "], \"text\": ");
	escape_json(&out, all_text.data);
	appendStringInfo(&out, ", \"confidence\": %.2f, \"seconds\": %.4f}",
					 page_no ? conf_total / page_no : 0,
					 (double) (GetCurrentTimestamp() - start) / USECS_PER_SEC);
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}
