/*
 * Searchable PDFs by this backend's OCR engine: the image and the words of
 * its pages (the engine's "pages" of an OCR result, or the pipeline's
 * document_pages) go to the engine, which writes the PDF; leptonica and
 * qpdf never run in a server process.  scribe.ocr_pdf and
 * scribe.document_get_pdf call scribe._ocr_make_pdf.
 */
#include "base/pg_scribe.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "client/ocr_client.h"

PG_FUNCTION_INFO_V1(scribe_ocr_make_pdf_sql);

/* The member key of a JSON object as an integer, 0 if it is missing or not a number */
static int
member_int(JsonbContainer *object, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(object, key, strlen(key), NULL);

	if (v == NULL || v->type != jbvNumeric)
		return 0;
	return DatumGetInt32(DirectFunctionCall1(numeric_int4, NumericGetDatum(v->val.numeric)));
}

/* ERROR: the pages argument is not what an OCR result's pages are */
static void
invalid_pages(const char *detail) pg_attribute_noreturn();
static void
invalid_pages(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("the pages are not an OCR result's pages"),
			 errdetail("%s", detail),
			 errhint("Pass the \"pages\" of scribe.ocr_detail(), or rows of scribe.document_pages as a jsonb array.")));
}

/* Append a word's text to buf, tabs, newlines and other control characters as spaces */
static void
append_word_text(StringInfo buf, const char *text, int len)
{
	for (int i = 0; i < len; i++)
		appendStringInfoChar(buf, (unsigned char) text[i] < 0x20 ? ' ' : text[i]);
}

/*
 * The words of pages (a jsonb array of page objects: page, width, height,
 * rotation, words) in the engine's words format (client/ocr_protocol.h)
 */
static void
words_payload(Jsonb *pages, StringInfo buf)
{
	int			n;

	if (!JB_ROOT_IS_ARRAY(pages) || JB_ROOT_IS_SCALAR(pages))
		invalid_pages("The pages must be a jsonb array.");
	n = JsonContainerSize(&pages->root);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *page = getIthJsonbValueFromContainer(&pages->root, i);
		JsonbContainer *object;
		JsonbValue *words;
		JsonbValue *source;
		int			nwords;

		if (page == NULL || page->type != jbvBinary || !JsonContainerIsObject(page->val.binary.data))
			invalid_pages("Each page must be a jsonb object.");
		object = page->val.binary.data;
		words = getKeyJsonValueFromContainer(object, "words", strlen("words"), NULL);
		source = getKeyJsonValueFromContainer(object, "text_source", strlen("text_source"), NULL);
		/*
		 * A page without words (a cloud reading) gets no text; a PDF's page
		 * whose own text was kept has it already, and a second layer would
		 * double every word a reader extracts
		 */
		if (words == NULL || words->type == jbvNull ||
			(source != NULL && source->type == jbvString &&
			 source->val.string.len == strlen("text_layer") &&
			 memcmp(source->val.string.val, "text_layer", source->val.string.len) == 0))
			continue;
		if (words->type != jbvBinary || !JsonContainerIsArray(words->val.binary.data))
			invalid_pages("A page's words must be a jsonb array.");
		if (member_int(object, "page") < 1)
			invalid_pages("Each page must have its number as \"page\".");
		appendStringInfo(buf, "page\t%d\t%d\t%d\t%d\n", member_int(object, "page"),
						 Max(member_int(object, "width"), 0), Max(member_int(object, "height"), 0),
						 member_int(object, "rotation"));
		nwords = JsonContainerSize(words->val.binary.data);
		for (int j = 0; j < nwords; j++)
		{
			JsonbValue *word = getIthJsonbValueFromContainer(words->val.binary.data, j);
			JsonbValue *text;

			if (word == NULL || word->type != jbvBinary || !JsonContainerIsObject(word->val.binary.data))
				invalid_pages("Each word must be a jsonb object.");
			text = getKeyJsonValueFromContainer(word->val.binary.data, "text", strlen("text"), NULL);
			if (text == NULL || text->type != jbvString)
				invalid_pages("Each word must have its \"text\".");
			appendStringInfo(buf, "word\t%d\t%d\t%d\t%d\t%d\t",
							 Max(member_int(word->val.binary.data, "line"), 0),
							 Max(member_int(word->val.binary.data, "left"), 0),
							 Max(member_int(word->val.binary.data, "top"), 0),
							 Max(member_int(word->val.binary.data, "width"), 0),
							 Max(member_int(word->val.binary.data, "height"), 0));
			append_word_text(buf, text->val.string.val, text->val.string.len);
			appendStringInfoChar(buf, '\n');
		}
	}
	if (buf->len > OCR_MAX_WORDS_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the words of the pages take %d bytes, more than %d", buf->len, OCR_MAX_WORDS_LEN)));
}

/*
 * A searchable PDF of an image (checked by scribe_ocr_check_image) and the
 * words of its pages, palloc'd
 */
bytea *
scribe_ocr_make_pdf(const char *image, size_t len, Jsonb *pages)
{
	StringInfoData words;
	OcrRequest	request;
	Jsonb	   *result;

	initStringInfo(&words);
	words_payload(pages, &words);

	memset(&request, 0, sizeof(request));
	request.flags = OCR_MAKE_PDF;
	result = scribe_ocr_engine_call_words(&request, image, len, words.data, words.len, NULL);

	return scribe_ocr_result_bytes(result, "pdf", "PDF");
}

/* scribe._ocr_make_pdf(image, pages): the searchable PDF of an image and its pages' words */
Datum
scribe_ocr_make_pdf_sql(PG_FUNCTION_ARGS)
{
	bytea	   *image = PG_GETARG_BYTEA_PP(0);
	Jsonb	   *pages = PG_GETARG_JSONB_P(1);
	ScribeImageInfo info;

	/*
	 * A PDF's text layer is added to its own pages: the engine reads it with
	 * qpdf, within its limits, and decodes none of its images.  (Until the
	 * header check knows PDFs, only the size is checked here.)
	 */
	if (VARSIZE_ANY_EXHDR(image) >= 5 && memcmp(VARDATA_ANY(image), "%PDF-", 5) == 0)
	{
		if (VARSIZE_ANY_EXHDR(image) > (size_t) scribe_max_image_bytes)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the PDF is %zu bytes, more than scribe.max_image_bytes (%d)",
							(size_t) VARSIZE_ANY_EXHDR(image), scribe_max_image_bytes),
					 errhint("Ask a superuser to raise scribe.max_image_bytes.")));
	}
	else
		scribe_ocr_check_image(VARDATA_ANY(image), VARSIZE_ANY_EXHDR(image), &info);
	PG_RETURN_BYTEA_P(scribe_ocr_make_pdf(VARDATA_ANY(image), VARSIZE_ANY_EXHDR(image), pages));
}
