/*
 * fuzz_pdf.c — libFuzzer target for PDFs as the OCR engine reads them
 * (src/engine/engine_pdf.c with poppler-glib): open, the probe's look at
 * every page's text layer, page 1's resolution and its rendering at a low
 * resolution, its words.  Poppler's own crashes would end only the engine
 * process; this target finds them, and any input where our side reads out
 * of bounds or renders more pixels than the limit it was given.
 */
#include "engine_pdf.h"

#include <leptonica/allheaders.h>
#include <stdio.h>
#include <stdlib.h>

/* Render no more than this: fuzzing wants speed, not resolution */
#define FUZZ_MAX_PIXELS (1024u * 1024)
#define FUZZ_DPI 36
/* The text layers of this many pages at most */
#define FUZZ_MAX_PAGES 4

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int			LLVMFuzzerInitialize(int *argc, char ***argv);

/* Keep leptonica quiet */
static void
quiet(const char *msg)
{
	(void) msg;
}

/* Silence leptonica; poppler's syntax errors go to stderr, which libFuzzer's -close_fd_mask hides */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	leptSetStderrHandler(quiet);
	return 0;
}

/* A word must lie where a word can be: counted, with a sane box */
static void
check_word(const PdfWord *w, void *arg)
{
	(*(int *) arg)++;
	if (w->text == NULL || w->text[0] == '\0' || w->line < 1)
	{
		fprintf(stderr, "a word without text or line\n");
		abort();
	}
}

/* Open, probe and render page 1 as the engine does */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PdfFile		pdf;
	char		why[256];
	PopplerPage *page;
	double		dpi;
	PIX		   *pix;
	int			words = 0;

	if (!engine_is_pdf(data, size) || engine_pdf_open(data, size, &pdf, why, sizeof(why)) != PDF_OPENED)
		return 0;
	for (int i = 0; i < pdf.pages && i < FUZZ_MAX_PAGES; i++)
	{
		PopplerPage *p = poppler_document_get_page(pdf.doc, i);
		char	   *text = p ? poppler_page_get_text(p) : NULL;

		(void) engine_pdf_text_characters(text);
		g_free(text);
		if (p)
			g_object_unref(p);
	}
	page = poppler_document_get_page(pdf.doc, 0);
	if (page == NULL)
	{
		engine_pdf_close(&pdf);
		return 0;
	}
	dpi = engine_pdf_native_dpi(page);
	if (dpi < PDF_MIN_NATIVE_DPI && dpi != PDF_DEFAULT_DPI)
	{
		fprintf(stderr, "native dpi %f below %d\n", dpi, PDF_MIN_NATIVE_DPI);
		abort();
	}
	dpi = engine_pdf_fit_dpi(page, FUZZ_DPI, FUZZ_MAX_PIXELS);
	if (dpi >= 1)
	{
		int			w,
					h;
		char	   *text = poppler_page_get_text(page);

		engine_pdf_page_pixels(page, dpi, &w, &h);
		if ((uint64_t) w * h > FUZZ_MAX_PIXELS)
		{
			fprintf(stderr, "fit to %u pixels, %d x %d at %f dpi\n", FUZZ_MAX_PIXELS, w, h, dpi);
			abort();
		}
		pix = engine_pdf_render(page, dpi);
		if (pix && (pixGetWidth(pix) != w || pixGetHeight(pix) != h))
		{
			fprintf(stderr, "rendered %d x %d, expected %d x %d\n", pixGetWidth(pix), pixGetHeight(pix), w, h);
			abort();
		}
		pixDestroy(&pix);
		engine_pdf_words(page, text, dpi, check_word, &words);
		g_free(text);
	}
	g_object_unref(page);
	engine_pdf_close(&pdf);
	return 0;
}
