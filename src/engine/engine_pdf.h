/*
 * PDFs in the engine (engine_pdf.c), with poppler-glib: open, choose each
 * page's resolution, render a page to a leptonica PIX, read a page's text
 * layer.  No engine state here, so that the PDF fuzzer
 * (test/fuzz/fuzz_pdf.c) links this file alone.
 */
#ifndef SCRIBE_ENGINE_PDF_H
#define SCRIBE_ENGINE_PDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <leptonica/allheaders.h>
#include <poppler.h>

/* How far into the file "%PDF-" is looked for (readers allow junk first), as the header probe does */
#define PDF_SCAN_BYTES 1024

/* A page that is one image covering it is rendered at the image's resolution, within these */
#define PDF_MIN_NATIVE_DPI 150
#define PDF_MAX_NATIVE_DPI 600
/* Any other page */
#define PDF_DEFAULT_DPI 300
/* A page that fits scribe.max_image_pixels only below this is refused: its text would be unreadable */
#define PDF_MIN_DPI 72
/* cairo's largest image surface, in either direction */
#define PDF_MAX_SIDE 32767

/* A page's own text counts as its text (no OCR) with at least this many letters and digits */
#define PDF_MIN_TEXT_CHARACTERS 20

/* An open PDF */
typedef struct PdfFile
{
	PopplerDocument *doc;
	GBytes	   *bytes;
	int			pages;
	bool		encrypted;		/* has an /Encrypt dictionary (and opened without a password) */
} PdfFile;

typedef enum PdfOpenStatus
{
	PDF_OPENED = 0,
	PDF_ENCRYPTED,				/* needs a password */
	PDF_BROKEN					/* poppler could not read it, or it has no pages */
} PdfOpenStatus;

/* One word of a page's text layer, in pixels of the page rendered at some dpi */
typedef struct PdfWord
{
	const char *text;			/* UTF-8, NUL-terminated */
	int			left;
	int			top;
	int			width;
	int			height;
	int			line;			/* 1-based, in the order of the text */
} PdfWord;

typedef void (*PdfWordCallback) (const PdfWord *word, void *arg);

extern bool engine_is_pdf(const unsigned char *data, size_t len);
extern PdfOpenStatus engine_pdf_open(const unsigned char *data, size_t len, PdfFile *pdf,
									 char *why, size_t why_len);
extern void engine_pdf_close(PdfFile *pdf);
extern double engine_pdf_native_dpi(PopplerPage *page);
extern void engine_pdf_page_pixels(PopplerPage *page, double dpi, int *width, int *height);
extern double engine_pdf_fit_dpi(PopplerPage *page, double dpi, uint64_t max_pixels);
extern PIX *engine_pdf_render(PopplerPage *page, double dpi);
extern int	engine_pdf_text_characters(const char *text);
extern void engine_pdf_words(PopplerPage *page, const char *text, double dpi,
							 PdfWordCallback callback, void *arg);

#endif							/* SCRIBE_ENGINE_PDF_H */
