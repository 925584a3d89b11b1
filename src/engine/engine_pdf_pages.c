/*
 * A request whose file is a PDF: its pages, one at a time, for recognition
 * (engine_recognize takes them from here when it has no decoded pages), a
 * probe that renders nothing, and the pages as PNGs for the cloud tier.
 *
 * A page whose text layer carries text (PDF_MIN_TEXT_CHARACTERS letters
 * and digits) keeps it without OCR unless the request says OCR_FORCE_OCR:
 * its words and boxes come from poppler, in pixels of the page as it would
 * be rendered, so that they line up with the pages that were recognised.
 * Every other page is rendered (engine_pdf.c) and recognised like an image.
 *
 * Limits: scribe.max_image_pages bounds the pages; a page that would
 * exceed scribe.max_image_pixels at its resolution is rendered at the
 * highest resolution that fits (its dpi says which), and refused only if
 * that is below 72 dpi; the request's CPU limit bounds a costly page.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_pdf.h"

/* The PDF of the request under way, closed by the next (engine_fail jumps past any cleanup) */
static PdfFile request_pdf;
static bool request_pdf_open = false;
static PIXA *split_pages = NULL;

/* Close what the last PDF request left */
void
engine_pdf_release(void)
{
	if (request_pdf_open)
		engine_pdf_close(&request_pdf);
	request_pdf_open = false;
	if (split_pages)
		pixaDestroy(&split_pages);
}

/* Open the request's PDF, or fail the request with why not */
static void
open_pdf(const OcrRequest *req, const unsigned char *data)
{
	char		why[512];

	switch (engine_pdf_open(data, req->image_len, &request_pdf, why, sizeof(why)))
	{
		case PDF_OPENED:
			request_pdf_open = true;
			break;
		case PDF_ENCRYPTED:
			engine_fail("0A000", "Remove the password (for example: qpdf --decrypt --password=... in.pdf out.pdf) and submit the PDF again.",
						"the PDF is encrypted with a password");
		case PDF_BROKEN:
			engine_fail("22P03", "The file may be truncated or corrupt; check that it opens in a PDF viewer, or upload it again.",
						"the PDF could not be read: %s", why);
	}
	if ((uint32_t) request_pdf.pages > req->max_pages)
		engine_fail("54000", "Split the document, or ask a superuser to raise scribe.max_image_pages.",
					"the PDF has %d pages, more than scribe.max_image_pages (%u)", request_pdf.pages, req->max_pages);
}

/* Page index of the request's PDF (unref it) */
static PopplerPage *
get_page(int index)
{
	PopplerPage *page = poppler_document_get_page(request_pdf.doc, index);

	if (page == NULL)
		engine_fail("22P03", "The file may be truncated or corrupt; check that it opens in a PDF viewer.",
					"page %d of the PDF could not be read", index + 1);
	return page;
}

/* Fail the request: the page does not fit max_pixels even at PDF_MIN_DPI */
static void
page_too_large(PopplerPage *page, int page_no, uint64_t max_pixels) __attribute__((noreturn));
static void
page_too_large(PopplerPage *page, int page_no, uint64_t max_pixels)
{
	int			w,
				h;

	engine_pdf_page_pixels(page, PDF_MIN_DPI, &w, &h);
	g_object_unref(page);
	engine_fail("54000", "Ask a superuser to raise scribe.max_image_pixels, or split the page.",
				"page %d of the PDF is %d x %d pixels even at %d dpi, more than scribe.max_image_pixels (%llu) allows",
				page_no, w, h, PDF_MIN_DPI, (unsigned long long) max_pixels);
}

/* The dpi a page is taken at: its native resolution, lowered to fit the pixel limit */
static double
page_dpi(const OcrRequest *req, PopplerPage *page, int page_no)
{
	double		dpi = engine_pdf_fit_dpi(page, engine_pdf_native_dpi(page), req->max_pixels);

	if (dpi < PDF_MIN_DPI)
		page_too_large(page, page_no, req->max_pixels);
	return dpi;
}

/* The number of pages of the request's PDF */
int
engine_pdf_page_count(void)
{
	return request_pdf_open ? request_pdf.pages : 0;
}

/* Page index rendered for recognition (pixDestroy it) */
PIX *
engine_pdf_render_page(const OcrRequest *req, int index)
{
	PopplerPage *page = get_page(index);
	double		dpi = page_dpi(req, page, index + 1);
	PIX		   *pix = engine_pdf_render(page, dpi);

	g_object_unref(page);
	if (pix == NULL)
		engine_fail("53200", "Raise scribe.ocr_memory_limit, or lower scribe.max_image_pixels.",
					"page %d of the PDF could not be rendered at %.0f dpi", index + 1, dpi);
	return pix;
}

/* What a text-layer page's words are written into */
typedef struct WordsOut
{
	JsonOut    *json;			/* the words array, or NULL */
	JsonOut    *hocr;			/* hOCR lines and words, or NULL */
	JsonOut    *tsv;			/* TSV rows, or NULL */
	int			page_no;
	int			count;
	int			line;			/* the line being written, 0 before the first */
	int			word_in_line;
} WordsOut;

/* Write one word of a text layer as a words element, an hOCR word and a TSV row */
static void
write_word(const PdfWord *w, void *arg)
{
	WordsOut   *o = arg;

	if (o->json)
	{
		json_append(o->json, o->count ? ",{\"text\":" : "{\"text\":");
		json_string(o->json, w->text);
		json_appendf(o->json, ",\"confidence\":null,\"left\":%d,\"top\":%d,\"width\":%d,\"height\":%d,"
					 "\"block\":1,\"paragraph\":1,\"line\":%d}", w->left, w->top, w->width, w->height, w->line);
	}
	if (w->line != o->line)
	{
		o->word_in_line = 0;
		if (o->hocr)
			json_appendf(o->hocr, "%s     <span class='ocr_line' id='line_%d_%d'>\n",
						 o->line ? "     </span>\n" : "", o->page_no, w->line);
		o->line = w->line;
	}
	o->word_in_line++;
	o->count++;
	if (o->hocr)
	{
		char	   *escaped = g_markup_escape_text(w->text, -1);

		json_appendf(o->hocr, "      <span class='ocrx_word' id='word_%d_%d' title='bbox %d %d %d %d'>%s</span>\n",
					 o->page_no, o->count, w->left, w->top, w->left + w->width, w->top + w->height, escaped);
		g_free(escaped);
	}
	if (o->tsv)
	{
		/* a tab or newline inside a word would break the row */
		char	   *flat = g_strdup(w->text);

		g_strdelimit(flat, "\t\n\r", ' ');
		json_appendf(o->tsv, "5\t%d\t1\t1\t%d\t%d\t%d\t%d\t%d\t%d\t-1\t%s\n", o->page_no, w->line, o->word_in_line,
					 w->left, w->top, w->width, w->height, flat);
		g_free(flat);
	}
}

/*
 * If page index keeps its text layer, append its JSON object to out and its
 * text to texts (as engine_recognize does for a recognised page) and return
 * true; false when the page is to be rendered and recognised.
 */
bool
engine_pdf_text_page(const OcrRequest *req, int index, JsonOut *out, JsonOut *texts)
{
	PopplerPage *page;
	char	   *text;
	int			page_no = index + 1;
	double		start = engine_now();
	double		dpi;
	int			w,
				h;
	int			characters = 0;
	JsonOut		hocr,
				tsv;
	WordsOut	words = {0};

	if (req->flags & OCR_FORCE_OCR)
		return false;
	page = get_page(index);
	text = poppler_page_get_text(page);
	if (engine_pdf_text_characters(text) < PDF_MIN_TEXT_CHARACTERS)
	{
		g_free(text);
		g_object_unref(page);
		return false;
	}
	dpi = page_dpi(req, page, page_no);
	engine_pdf_page_pixels(page, dpi, &w, &h);

	json_appendf(out, "%s{\"page\":%d,\"width\":%d,\"height\":%d,\"dpi\":%.0f,\"text\":",
				 page_no > 1 ? "," : "", page_no, w, h, dpi);
	json_string(out, text);
	if (page_no > 1)
		json_append(texts, "\f");
	json_append(texts, text);
	for (const unsigned char *c = (const unsigned char *) text; *c; c++)
		if ((*c & 0xC0) != 0x80 && *c != ' ' && *c != '\n' && *c != '\t' && *c != '\r' && *c != '\f')
			characters++;

	json_init(&hocr);
	json_init(&tsv);
	words.page_no = page_no;
	words.json = (req->flags & OCR_WANT_WORDS) && !(req->flags & OCR_TEXT_ONLY) ? out : NULL;
	words.hocr = (req->flags & OCR_WANT_HOCR) ? &hocr : NULL;
	words.tsv = (req->flags & OCR_WANT_TSV) ? &tsv : NULL;
	if (words.json)
		json_append(out, ",\"words\":[");
	if (words.json || words.hocr || words.tsv)
		engine_pdf_words(page, text, dpi, write_word, &words);
	if (words.json)
		json_append(out, "]");
	if (words.hocr)
	{
		JsonOut		page_hocr;

		json_init(&page_hocr);
		json_appendf(&page_hocr, "  <div class='ocr_page' id='page_%d' title='image \"\"; bbox 0 0 %d %d; ppageno %d; scan_res %.0f %.0f'>\n",
					 page_no, w, h, index, dpi, dpi);
		if (words.count > 0)
			json_appendf(&page_hocr, "   <div class='ocr_carea' id='block_%d_1'>\n    <p class='ocr_par' id='par_%d_1'>\n%s     </span>\n    </p>\n   </div>\n",
						 page_no, page_no, hocr.data);
		json_append(&page_hocr, "  </div>\n");
		json_append(out, ",\"hocr\":");
		json_string(out, page_hocr.data);
		json_free(&page_hocr);
	}
	if (words.tsv)
	{
		JsonOut		page_tsv;

		json_init(&page_tsv);
		json_appendf(&page_tsv, "1\t%d\t0\t0\t0\t0\t0\t0\t%d\t%d\t-1\t\n%s", page_no, w, h, tsv.data);
		json_append(out, ",\"tsv\":");
		json_string(out, page_tsv.data);
		json_free(&page_tsv);
	}
	json_free(&hocr);
	json_free(&tsv);
	json_appendf(out, ",\"text_source\":\"text_layer\",\"confidence\":null,\"characters\":%d,"
				 "\"exif_orientation\":1,\"rotation\":0,\"rotation_confidence\":null,"
				 "\"preprocess_seconds\":0,\"recognize_seconds\":%.4f}",
				 characters, engine_now() - start);
	g_free(text);
	g_object_unref(page);
	return true;
}

/* Answer a probe: pages, encryption, which pages carry text, and page 1's size as it would be rendered */
static void
probe(const OcrRequest *req, JsonOut *out)
{
	PopplerPage *first;
	double		dpi;
	int			w,
				h;
	bool		any = false;

	json_appendf(out, "{\"format\":\"pdf\",\"pages\":%d,\"encrypted\":%s,\"pages_with_text\":[",
				 request_pdf.pages, request_pdf.encrypted ? "true" : "false");
	for (int i = 0; i < request_pdf.pages; i++)
	{
		PopplerPage *page = get_page(i);
		char	   *text = poppler_page_get_text(page);

		/* what OCR would refuse, the probe refuses: a page too large even at the lowest resolution */
		if (engine_pdf_fit_dpi(page, PDF_MIN_DPI, req->max_pixels) < PDF_MIN_DPI)
		{
			g_free(text);
			page_too_large(page, i + 1, req->max_pixels);
		}
		if (engine_pdf_text_characters(text) >= PDF_MIN_TEXT_CHARACTERS)
		{
			json_appendf(out, "%s%d", any ? "," : "", i + 1);
			any = true;
		}
		g_free(text);
		g_object_unref(page);
	}
	first = get_page(0);
	dpi = page_dpi(req, first, 1);
	engine_pdf_page_pixels(first, dpi, &w, &h);
	g_object_unref(first);
	json_appendf(out, "],\"width\":%d,\"height\":%d,\"dpi\":%.0f}", w, h, dpi);
}

/*
 * Run a request whose file is a PDF (data: req->image_len bytes, kept until
 * the request ends): a probe, PNGs of its pages, or recognition.
 */
void
engine_pdf_request(const OcrRequest *req, const unsigned char *data, JsonOut *out)
{
	if (req->flags & OCR_RECOMPRESS)
		engine_fail("0A000", "An archive policy keeps a PDF as it is.", "PDF files cannot be recompressed");
	open_pdf(req, data);
	if (req->flags & OCR_PROBE)
		probe(req, out);
	else if (req->flags & OCR_SPLIT_PNG)
	{
		split_pages = pixaCreate(request_pdf.pages);
		for (int i = 0; i < request_pdf.pages; i++)
			pixaAddPix(split_pages, engine_pdf_render_page(req, i), L_INSERT);
		engine_split_png(split_pages, out);
	}
	else
		engine_recognize(req, NULL, 1, out);
}
