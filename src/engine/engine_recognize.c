/*
 * Recognition with tesseract's C API: one handle per engine process, its
 * model loaded once and kept while requests ask for the same languages.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <tesseract/capi.h>

#include "engine.h"

/*
 * The automatic layout (OCR_PSM_AUTO) reads a page as running text (psm 3)
 * first; when that left much character-sized ink outside every word
 * (completeness under ALT_LAYOUT_BELOW: table cells, form fields, captions
 * that the layout analysis dropped; a page that lost little is usually
 * missing logos, rules or check boxes, which another layout does not read
 * either, and the second reading costs as much as the first), it reads the
 * page again as sparse text (psm 11), which looks for every piece of text in
 * no particular order, and keeps that reading only if it holds more
 * characters of real words (not garbage: engine_word_is_garbage) by at
 * least ALT_LAYOUT_GAIN, so that running text keeps its reading order.  The
 * choice never looks at tesseract's confidence.  On the bench's form with
 * check boxes (completeness 0.67) psm 11 read 82.1 % of the words against
 * 76.4 %; on its noisy copy psm 3 stayed.
 */
#define FIRST_LAYOUT 3
#define ALT_LAYOUT 11
#define ALT_LAYOUT_GAIN 1.03
#define ALT_LAYOUT_BELOW 0.85

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
 * Add each word box to mask (on the prepared page) and count the words,
 * and the garbage among them, into reading; append the words to out when
 * it is given, their boxes on the original
 */
static void
collect_words(PIX *mask, const PageGeometry *geometry, JsonOut *out, PageReading *reading)
{
	TessResultIterator *it = TessBaseAPIGetIterator(api);
	TessPageIterator *pi;
	int			block = 0,
				paragraph = 0,
				line = 0,
				word = 0;

	if (it == NULL)
		return;
	pi = TessResultIteratorGetPageIterator(it);
	do
	{
		char	   *text;
		int			l,
					t,
					r,
					b;
		int			characters = 0;
		bool		has_alnum = false;

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
		{
			if ((*c & 0xC0) != 0x80 && !isspace(*c))
				characters++;
			has_alnum |= isalnum(*c) || *c >= 0x80;
		}
		reading->characters += characters;
		if (has_alnum)
		{
			reading->words++;
			if (engine_word_is_garbage(text, TessResultIteratorWordIsNumeric(it)))
				reading->garbage_words++;
			else
				reading->good_characters += characters;
		}
		word++;
		TessDeleteText(text);
	} while (TessResultIteratorNext(it, RIL_WORD));
	TessResultIteratorDelete(it);
}

/*
 * Share of the page's character-sized ink that lies inside recognised
 * words: low when tesseract skipped text, whatever its confidence says.
 */
static double
ink_completeness(PIX *word_mask, long *ink_pixels)
{
	PIX		   *thresholded = TessBaseAPIGetThresholdedImage(api);
	PIX		   *no_specks,
			   *ink,
			   *covered;
	l_int32		total = 0,
				inside = 0;
	int			w,
				h;

	*ink_pixels = 0;
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
	*ink_pixels = total;
	return total > 0 ? (double) inside / total : 1.0;
}

/* Read the prepared page with layout psm into reading: its text, statistics and JSON members */
static void
read_page(const OcrRequest *req, PIX *prepared, int psm, int page_no, const PageGeometry *geometry,
		  PageReading *reading)
{
	ETEXT_DESC *monitor;
	char	   *text;
	PIX		   *mask;

	memset(reading, 0, sizeof(*reading));
	reading->psm = psm;
	json_init(&reading->body);
	TessBaseAPISetPageSegMode(api, (TessPageSegMode) psm);
	TessBaseAPISetImage2(api, prepared);
	monitor = TessMonitorCreate();
	TessMonitorSetProgressFunc(monitor, report_progress);
	progress_page = page_no - 1;
	if (TessBaseAPIRecognize(api, monitor) != 0)
	{
		/* engine_fail does not return: the caller's page goes with this reference */
		TessMonitorDelete(monitor);
		TessBaseAPIClear(api);
		json_free(&reading->body);
		pixDestroy(&prepared);
		engine_fail("XX000", NULL, "tesseract could not recognise page %d", page_no);
	}
	TessMonitorDelete(monitor);

	text = TessBaseAPIGetUTF8Text(api);
	reading->text = strdup(text ? text : "");
	TessDeleteText(text);
	reading->confidence = TessBaseAPIMeanTextConf(api);

	mask = pixCreate(pixGetWidth(prepared), pixGetHeight(prepared), 1);
	if (req->flags & OCR_WANT_WORDS)
		json_append(&reading->body, ",\"words\":[");
	collect_words(mask, geometry, (req->flags & OCR_WANT_WORDS) ? &reading->body : NULL, reading);
	if (req->flags & OCR_WANT_WORDS)
		json_append(&reading->body, "]");
	reading->completeness = ink_completeness(mask, &reading->ink_pixels);
	pixDestroy(&mask);

	if (req->flags & OCR_WANT_HOCR)
	{
		char	   *hocr = TessBaseAPIGetHOCRText(api, page_no - 1);
		char	   *mapped = hocr && !geometry_is_identity(geometry) ?
			geometry_map_hocr(geometry, hocr) : NULL;

		json_append(&reading->body, ",\"hocr\":");
		json_string(&reading->body, mapped ? mapped : hocr);
		free(mapped);
		TessDeleteText(hocr);
	}
	if (req->flags & OCR_WANT_TSV)
	{
		char	   *tsv = TessBaseAPIGetTsvText(api, page_no - 1);
		char	   *mapped = tsv && !geometry_is_identity(geometry) ?
			geometry_map_tsv(geometry, tsv) : NULL;

		json_append(&reading->body, ",\"tsv\":");
		json_string(&reading->body, mapped ? mapped : tsv);
		free(mapped);
		TessDeleteText(tsv);
	}
	TessBaseAPIClear(api);
}

/* Free what a reading holds */
static void
reading_free(PageReading *reading)
{
	free(reading->text);
	reading->text = NULL;
	json_free(&reading->body);
}

/* Recognise one page and append its JSON object to out */
static void
recognize_page(const OcrRequest *req, PIX *page, int page_no, int exif_orientation, JsonOut *out,
			   JsonOut *texts, double *confidence_sum, long *characters_sum)
{
	PrepareReport prep;
	PIX		   *prepared;
	PageReading reading;
	double		start;
	l_int32		xres = 0,
				yres = 0;
	bool		automatic = req->psm == OCR_PSM_AUTO;
	bool		second = false;

	prepared = engine_prepare_page(page, req->flags, ORIENT_DEFER, req->max_pixels, &prep);
	pixGetResolution(page, &xres, &yres);

	start = engine_now();
	read_page(req, prepared, automatic ? FIRST_LAYOUT : req->psm, page_no, &prep.geometry, &reading);
	if (prep.orientation_deferred && !engine_reading_plausible(&reading))
	{
		/* orientation detection leaned upright, and the reading does not look right: ask it fully */
		PrepareReport full;
		PIX		   *turned = engine_prepare_page(page, req->flags, ORIENT_FULL, req->max_pixels, &full);

		full.orientation_seconds += prep.orientation_seconds;
		full.seconds += prep.seconds;
		if (full.rotation != 0)
		{
			reading_free(&reading);
			pixDestroy(&prepared);
			prepared = turned;
			prep = full;
			read_page(req, prepared, automatic ? FIRST_LAYOUT : req->psm, page_no, &prep.geometry, &reading);
		}
		else
		{
			pixDestroy(&turned);
			prep.orientation_checked = full.orientation_checked;
			prep.rotation_confidence = full.rotation_confidence;
			prep.orientation_full_pass = true;
			prep.orientation_seconds = full.orientation_seconds;
			prep.seconds = full.seconds;
		}
	}
	if (automatic && reading.completeness < ALT_LAYOUT_BELOW)
	{
		PageReading other;

		read_page(req, prepared, ALT_LAYOUT, page_no, &prep.geometry, &other);
		second = true;
		if (other.good_characters > reading.good_characters * ALT_LAYOUT_GAIN)
		{
			reading_free(&reading);
			reading = other;
		}
		else
			reading_free(&other);
	}
	pixDestroy(&prepared);

	json_appendf(out, "%s{\"page\":%d,\"width\":%d,\"height\":%d,\"dpi\":%d,\"text\":",
				 page_no > 1 ? "," : "", page_no, pixGetWidth(page), pixGetHeight(page), xres);
	json_string(out, reading.text);
	if (page_no > 1)
		json_append(texts, "\f");
	json_append(texts, reading.text);
	json_append(out, reading.body.data ? reading.body.data : "");
	json_appendf(out, ",\"layout\":\"psm %d\",\"layouts_tried\":%d", reading.psm, second ? 2 : 1);
	json_appendf(out, ",\"completeness\":%.4f,\"text_probably_lost\":%s",
				 reading.completeness, reading.completeness < MIN_COMPLETENESS ? "true" : "false");
	json_appendf(out, ",\"confidence\":%d,\"characters\":%d,"
				 "\"exif_orientation\":%d,\"rotation\":%d,",
				 reading.confidence, reading.characters, exif_orientation, prep.rotation);
	if (prep.orientation_checked)
		json_appendf(out, "\"rotation_confidence\":%.2f,", prep.rotation_confidence);
	else
		json_append(out, "\"rotation_confidence\":null,");
	json_appendf(out, "\"skew\":%.2f,\"scale\":%.2f,"
				 "\"grayscale\":%s,\"normalized\":%s,\"denoised\":%s,\"text_height\":%d,"
				 "\"background_spread\":%d,\"background_level\":%d,\"speck_share\":%.3f",
				 prep.skew, prep.scale,
				 prep.grayscale ? "true" : "false", prep.normalized ? "true" : "false",
				 prep.denoised ? "true" : "false", prep.text_height,
				 prep.background_spread, prep.background_level, prep.speck_share);
	engine_verdict(&reading, &prep, out);
	json_appendf(out, ",\"orientation_seconds\":%.4f,\"preprocess_seconds\":%.4f,\"recognize_seconds\":%.4f}",
				 prep.orientation_seconds, prep.seconds, engine_now() - start);
	*confidence_sum += (double) reading.confidence * reading.characters;
	*characters_sum += reading.characters;
	reading_free(&reading);
}

/* Recognise every page of a request into a JSON result */
void
engine_recognize(const OcrRequest *req, PIXA *pages, int exif_orientation, JsonOut *out)
{
	int			n = pages ? pixaGetCount(pages) : engine_pdf_page_count();
	double		start = engine_now();
	double		confidence_sum = 0;
	long		characters_sum = 0;

	if (req->psm != OCR_PSM_AUTO && (req->psm < 0 || req->psm > 13 || req->psm == 0 || req->psm == 2))
		engine_fail("22023", "Use 1 or 3-13, or -1 to let the engine choose per page (the default).",
					"page segmentation mode %d does not recognise text", req->psm);
	load_languages(req->lang);

	progress_pages = n;
	progress_sent = -1;
	json_free(&all_text);
	json_init(&all_text);
	json_appendf(out, "{\"engine\":\"tesseract %s\",\"lang\":", TessVersion());
	json_string(out, req->lang);
	if (req->psm == OCR_PSM_AUTO)
		json_append(out, ",\"psm\":null");
	else
		json_appendf(out, ",\"psm\":%d", req->psm);
	json_appendf(out, ",\"preprocess\":%s,\"orientation\":%s,\"pages\":[",
				 (req->flags & OCR_PREPROCESS) ? "true" : "false",
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
