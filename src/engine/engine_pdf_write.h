/*
 * Searchable PDFs (OCR_MAKE_PDF): each page's image, or a submitted PDF's
 * own page, with an invisible text layer of its words where they are on
 * the page, so that a viewer's search highlights them and pdftotext reads
 * them.
 *
 * Glossary:
 *   words       the request's words (engine_pdf_words.c), per page, with
 *               boxes in pixels of the page as it was recognised
 *   text layer  a content stream drawing the words in text render mode 3
 *               (invisible) in the glyphless font, each scaled to its box
 *   glyphless   tesseract's font of one empty glyph (pdf.ttf in tessdata):
 *               any character code draws nothing, and the ToUnicode map
 *               gives back the text
 */
#ifndef SCRIBE_ENGINE_PDF_WRITE_H
#define SCRIBE_ENGINE_PDF_WRITE_H

#include <stdbool.h>
#include <stddef.h>

/* One word: its line on the page and its box (pixels, top-left origin) */
typedef struct LayerWord
{
	int			line;
	int			left;
	int			top;
	int			width;
	int			height;
	const char *text;			/* UTF-8, in the LayerWords buffer */
} LayerWord;

/* The words of one page, and the size of the page their boxes are on */
typedef struct LayerPage
{
	int			page;			/* 1-based */
	int			width;
	int			height;
	int			rotation;		/* degrees clockwise that made the page upright */
	int			nwords;
	LayerWord    *words;
} LayerPage;

typedef struct LayerWords
{
	int			npages;
	LayerPage *pages;
	char	   *buffer;			/* the request's words, split in place */
} LayerWords;

/* engine_pdf_words.c */
extern LayerWords *pdf_words_parse(const char *data, size_t len, int max_page, const char **error);
extern const LayerPage *pdf_words_page(const LayerWords *words, int page_no);
extern void pdf_words_free(LayerWords *words);

#endif							/* SCRIBE_ENGINE_PDF_WRITE_H */
