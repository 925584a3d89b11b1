/*
 * Recognition with tesseract's C API: one handle per engine process, its
 * model loaded once and kept while requests ask for the same languages.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <tesseract/capi.h>

#include "engine.h"

/* Below this share of ink inside recognised words, text was probably lost */
#define MIN_COMPLETENESS 0.90

static TessBaseAPI *api = NULL;
static char api_lang[OCR_LANG_MAX];

/* The text of every page of the request, kept here so that a failed request's is freed by the next */
static JsonOut all_text;

/* Progress of the request: which page of how many */
static int progress_page;
static int progress_pages;
static int progress_sent = -1;

/* Report progress across pages as tesseract advances through one */
static bool
report_progress(ETEXT_DESC *monitor, int left, int right, int top, int bottom)
{
	int			percent = (progress_page * 100 + TessMonitorGetProgress(monitor)) / progress_pages;

	if (percent != progress_sent && percent >= 0 && percent <= 100)
	{
		progress_sent = percent;
		engine_send_progress(percent);
	}
	return false;
}

/* Load the model for lang unless it is loaded already */
static void
load_languages(const char *lang)
{
	if (api != NULL && strcmp(api_lang, lang) == 0)
		return;
	for (const char *p = lang; *p; p++)
		if (!isalnum((unsigned char) *p) && *p != '_' && *p != '+' && *p != '-')
			engine_fail("22023", "Languages are tesseract codes joined by +, such as eng or eng+deu.",
						"invalid OCR language \"%s\"", lang);
	if (lang[0] == '\0')
		engine_fail("22023", "Languages are tesseract codes joined by +, such as eng or eng+deu.",
					"the OCR language is empty");

	if (api == NULL)
		api = TessBaseAPICreate();
	else
		TessBaseAPIEnd(api);
	api_lang[0] = '\0';
	if (TessBaseAPIInit3(api, NULL, lang) != 0)
		engine_fail("22023", "See scribe.ocr_languages(); Debian packages a language as tesseract-ocr-<code>.",
					"OCR language \"%s\" could not be loaded", lang);
	/* tesseract's chatter ("Estimating resolution as ...") is not an error */
	TessBaseAPISetVariable(api, "debug_file", "/dev/null");
	snprintf(api_lang, sizeof(api_lang), "%s", lang);
}

/*
 * Add each word box to mask (on the prepared page); append the words to out
 * when it is given, their boxes on the original
 */
static int
collect_words(PIX *mask, const PageGeometry *geometry, JsonOut *out)
{
	TessResultIterator *it = TessBaseAPIGetIterator(api);
	TessPageIterator *pi;
	int			block = 0,
				paragraph = 0,
				line = 0,
				word = 0,
				characters = 0;

	if (it == NULL)
		return 0;
	pi = TessResultIteratorGetPageIterator(it);
	do
	{
		char	   *text;
		int			l,
					t,
					r,
					b;

		if (TessPageIteratorIsAtBeginningOf(pi, RIL_BLOCK))
			block++;
		if (TessPageIteratorIsAtBeginningOf(pi, RIL_PARA))
			paragraph++;
		if (TessPageIteratorIsAtBeginningOf(pi, RIL_TEXTLINE))
			line++;
		text = TessResultIteratorGetUTF8Text(it, RIL_WORD);
		if (text == NULL)
			continue;
		if (TessPageIteratorBoundingBox(pi, RIL_WORD, &l, &t, &r, &b))
		{
			if (mask)
				pixRasterop(mask, l, t, r - l, b - t, PIX_SET, NULL, 0, 0);
			if (out)
			{
				geometry_map_box(geometry, &l, &t, &r, &b);
				json_append(out, word ? ",{\"text\":" : "{\"text\":");
				json_string(out, text);
				json_appendf(out, ",\"confidence\":%.2f,\"left\":%d,\"top\":%d,\"width\":%d,\"height\":%d,"
							 "\"block\":%d,\"paragraph\":%d,\"line\":%d}",
							 TessResultIteratorConfidence(it, RIL_WORD), l, t, r - l, b - t,
							 block, paragraph, line);
			}
		}
		for (const unsigned char *c = (const unsigned char *) text; *c; c++)
			if ((*c & 0xC0) != 0x80 && !isspace(*c))
				characters++;
		word++;
		TessDeleteText(text);
	} while (TessResultIteratorNext(it, RIL_WORD));
	TessResultIteratorDelete(it);
	return characters;
}

/*
 * Share of the page's character-sized ink that lies inside recognised
 * words: low when tesseract skipped text, whatever its confidence says.
 */
static double
ink_completeness(PIX *word_mask)
{
	PIX		   *thresholded = TessBaseAPIGetThresholdedImage(api);
	PIX		   *no_specks,
			   *ink,
			   *covered;
	l_int32		total = 0,
				inside = 0;
	int			w,
				h;

	if (thresholded == NULL)
		return 1.0;
	w = pixGetWidth(thresholded);
	h = pixGetHeight(thresholded);
	no_specks = pixSelectBySize(thresholded, 3, 3, 8, L_SELECT_IF_EITHER, L_SELECT_IF_GTE, NULL);
	/* rules, borders and shadows are not text */
	ink = no_specks ? pixSelectBySize(no_specks, w / 3, h / 8, 8, L_SELECT_IF_BOTH, L_SELECT_IF_LT, NULL) : NULL;
	if (ink)
		pixCountPixels(ink, &total, NULL);
	covered = ink && word_mask && pixGetWidth(word_mask) == w && pixGetHeight(word_mask) == h ?
		pixAnd(NULL, ink, word_mask) : NULL;
	if (covered)
		pixCountPixels(covered, &inside, NULL);
	pixDestroy(&covered);
	pixDestroy(&ink);
	pixDestroy(&no_specks);
	pixDestroy(&thresholded);
	return total > 0 ? (double) inside / total : 1.0;
}

/* Recognise one page and append its JSON object to out */
static void
recognize_page(const OcrRequest *req, PIX *page, int page_no, int exif_orientation, JsonOut *out,
			   JsonOut *texts, double *confidence_sum, long *characters_sum)
{
	PrepareReport prep;
	PIX		   *prepared;
	PIX		   *mask;
	ETEXT_DESC *monitor;
	double		start;
	char	   *text;
	int			confidence;
	int			characters;
	double		completeness;
	l_int32		xres = 0,
				yres = 0;

	prepared = engine_prepare_page(page, req->flags, req->max_pixels, &prep);
	pixGetResolution(page, &xres, &yres);

	start = engine_now();
	TessBaseAPISetPageSegMode(api, (TessPageSegMode) req->psm);
	TessBaseAPISetImage2(api, prepared);
	monitor = TessMonitorCreate();
	TessMonitorSetProgressFunc(monitor, report_progress);
	progress_page = page_no - 1;
	if (TessBaseAPIRecognize(api, monitor) != 0)
	{
		TessMonitorDelete(monitor);
		pixDestroy(&prepared);
		TessBaseAPIClear(api);
		engine_fail("XX000", NULL, "tesseract could not recognise page %d", page_no);
	}
	TessMonitorDelete(monitor);

	text = TessBaseAPIGetUTF8Text(api);
	confidence = TessBaseAPIMeanTextConf(api);
	mask = (req->flags & OCR_TEXT_ONLY) ? NULL : pixCreate(pixGetWidth(prepared), pixGetHeight(prepared), 1);

	json_appendf(out, "%s{\"page\":%d,\"width\":%d,\"height\":%d,\"dpi\":%d,\"text\":",
				 page_no > 1 ? "," : "", page_no, pixGetWidth(page), pixGetHeight(page), xres);
	json_string(out, text);
	if (page_no > 1)
		json_append(texts, "\f");
	json_append(texts, text ? text : "");
	TessDeleteText(text);

	if (req->flags & OCR_TEXT_ONLY)
	{
		/* no word boxes, no completeness: the text's characters will do */
		characters = 0;
		for (const unsigned char *c = (const unsigned char *) texts->data + texts->len - 1;
			 c >= (const unsigned char *) texts->data && *c != '\f'; c--)
			if ((*c & 0xC0) != 0x80 && !isspace(*c))
				characters++;
		completeness = -1;
	}
	else
	{
		if (req->flags & OCR_WANT_WORDS)
			json_append(out, ",\"words\":[");
		characters = collect_words(mask, &prep.geometry, (req->flags & OCR_WANT_WORDS) ? out : NULL);
		if (req->flags & OCR_WANT_WORDS)
			json_append(out, "]");
		completeness = ink_completeness(mask);
	}
	pixDestroy(&mask);

	if (req->flags & OCR_WANT_HOCR)
	{
		char	   *hocr = TessBaseAPIGetHOCRText(api, page_no - 1);
		char	   *mapped = hocr && !geometry_is_identity(&prep.geometry) ?
			geometry_map_hocr(&prep.geometry, hocr) : NULL;

		json_append(out, ",\"hocr\":");
		json_string(out, mapped ? mapped : hocr);
		free(mapped);
		TessDeleteText(hocr);
	}
	if (req->flags & OCR_WANT_TSV)
	{
		char	   *tsv = TessBaseAPIGetTsvText(api, page_no - 1);
		char	   *mapped = tsv && !geometry_is_identity(&prep.geometry) ?
			geometry_map_tsv(&prep.geometry, tsv) : NULL;

		json_append(out, ",\"tsv\":");
		json_string(out, mapped ? mapped : tsv);
		free(mapped);
		TessDeleteText(tsv);
	}
	if (completeness >= 0)
		json_appendf(out, ",\"completeness\":%.4f,\"text_probably_lost\":%s",
					 completeness, completeness < MIN_COMPLETENESS ? "true" : "false");
	json_appendf(out, ",\"confidence\":%d,\"characters\":%d,"
				 "\"exif_orientation\":%d,\"rotation\":%d,",
				 confidence, characters, exif_orientation, prep.rotation);
	if (prep.orientation_checked)
		json_appendf(out, "\"rotation_confidence\":%.2f,", prep.rotation_confidence);
	else
		json_append(out, "\"rotation_confidence\":null,");
	json_appendf(out, "\"skew\":%.2f,\"scale\":%.2f,"
				 "\"grayscale\":%s,\"normalized\":%s,"
				 "\"orientation_seconds\":%.4f,\"preprocess_seconds\":%.4f,\"recognize_seconds\":%.4f}",
				 prep.skew, prep.scale,
				 prep.grayscale ? "true" : "false", prep.normalized ? "true" : "false",
				 prep.orientation_seconds, prep.seconds, engine_now() - start);
	*confidence_sum += (double) confidence * characters;
	*characters_sum += characters;

	TessBaseAPIClear(api);
	pixDestroy(&prepared);
}

/* Recognise every page of a request into a JSON result */
void
engine_recognize(const OcrRequest *req, PIXA *pages, int exif_orientation, JsonOut *out)
{
	int			n = pages ? pixaGetCount(pages) : engine_pdf_page_count();
	double		start = engine_now();
	double		confidence_sum = 0;
	long		characters_sum = 0;

	if (req->psm < 0 || req->psm > 13 || req->psm == 0 || req->psm == 2)
		engine_fail("22023", "Use 1 or 3-13; 3 (automatic) is the default.",
					"page segmentation mode %d does not recognise text", req->psm);
	load_languages(req->lang);

	progress_pages = n;
	progress_sent = -1;
	json_free(&all_text);
	json_init(&all_text);
	json_appendf(out, "{\"engine\":\"tesseract %s\",\"lang\":", TessVersion());
	json_string(out, req->lang);
	json_appendf(out, ",\"psm\":%d,\"preprocess\":%s,\"orientation\":%s,\"pages\":[",
				 req->psm, (req->flags & OCR_PREPROCESS) ? "true" : "false",
				 (req->flags & OCR_ORIENT) ? "true" : "false");
	for (int i = 0; i < n; i++)
	{
		PIX		   *page;

		/* a PDF's page that carries text keeps it */
		if (pages == NULL && engine_pdf_text_page(req, i, out, &all_text))
			continue;
		page = pages ? pixaGetPix(pages, i, L_CLONE) : engine_pdf_render_page(req, i);
		recognize_page(req, page, i + 1, exif_orientation, out, &all_text, &confidence_sum, &characters_sum);
		pixDestroy(&page);
	}
	json_append(out, "],\"text\":");
	json_string(out, all_text.data);
	json_free(&all_text);
	json_appendf(out, ",\"confidence\":%.2f,\"characters\":%ld,\"seconds\":%.4f}",
				 characters_sum > 0 ? confidence_sum / characters_sum : 0.0,
				 characters_sum, engine_now() - start);
	engine_send_progress(100);
}
