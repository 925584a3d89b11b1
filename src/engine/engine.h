/*
 * pg_scribe_ocr: the OCR engine process.  A backend or worker starts it,
 * keeps it for its lifetime and sends it one image at a time over a pipe
 * (see ocr/ocr_protocol.h).  Tesseract and leptonica run only here, so that
 * their aborts, crashes and runaway allocations end this process, not the
 * database server.
 *
 * Glossary:
 *   request    one image and its options, answered by one result or error
 *   page       one image of a request (a multi-page TIFF has several)
 *   prepared   a page after preprocessing, as tesseract sees it
 *   original   a page as submitted, turned as its EXIF orientation says: the
 *              coordinates of every box and page size the engine reports
 *   rotation   the quarter turns that made a page upright, found by
 *              tesseract's orientation detection (OSD)
 *   recompress a request that converts and re-encodes the pages instead of
 *              recognising them (the archive's smaller copy of a scan)
 *   searchable PDF  a request that writes the pages with their words (found
 *              by an earlier request) as a PDF with an invisible text layer
 *   text layer a PDF page's own text; a page that carries one keeps it
 *              without OCR unless the request forces OCR
 */
#ifndef SCRIBE_ENGINE_H
#define SCRIBE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <leptonica/allheaders.h>

#include "client/ocr_protocol.h"
#include "engine_pdf_write.h"

/* Text whose median character height is under this (pixels) is small: OCR upscales it */
#define SMALL_TEXT_HEIGHT 14

/* A growing UTF-8 buffer that builds the JSON result */
typedef struct JsonOut
{
	char	   *data;
	size_t		len;
	size_t		cap;
} JsonOut;

/*
 * How a prepared page was made from the original, in this order: scaled to
 * scaled_width x scaled_height, turned clockwise by rotation degrees (0, 90,
 * 180 or 270), then rotated clockwise by skew degrees about its centre,
 * keeping its size.  Tesseract's boxes are on the prepared page; the
 * geometry maps them back (engine_geometry.c).
 */
typedef struct PageGeometry
{
	int			width;			/* the original */
	int			height;
	int			scaled_width;
	int			scaled_height;
	int			rotation;
	double		skew;
} PageGeometry;

/* How orientation detection runs (engine_orient.c) */
typedef enum OrientMode
{
	ORIENT_QUICK_FIRST,			/* a quick pass, the full one if it is not sure */
	ORIENT_DEFER,				/* a quick pass; if it leans upright, let the reading decide */
	ORIENT_FULL					/* the full pass only */
} OrientMode;

/* What preprocessing did to a page */
typedef struct PrepareReport
{
	bool		grayscale;
	bool		normalized;
	bool		noisy;			/* most dark components are specks */
	bool		denoised;		/* a median filter took the noise off */
	float		skew;			/* degrees the page was rotated back; 0 if not */
	float		skew_confidence;
	float		scale;			/* upscaling factor, 1 if none */
	int			background_spread;	/* gray levels between the lightest and darkest paper */
	int			background_level;	/* the paper's median gray level */
	float		speck_share;	/* share of specks among the dark components */
	int			components;		/* dark components of the page */
	int			text_height;	/* median character height (pixels), 0 if not measured */
	bool		orientation_checked;	/* orientation detection ran and found text */
	bool		orientation_full_pass;	/* the quick pass was not sure: the full one decided */
	bool		orientation_deferred;	/* the quick pass leaned upright: the reading decides */
	int			rotation;		/* degrees clockwise the page was turned upright */
	float		rotation_confidence;	/* OSD's confidence in the page's orientation */
	double		orientation_seconds;
	double		seconds;
	PageGeometry geometry;
} PrepareReport;

/* Below this share of character-sized ink inside recognised words, text was probably lost */
#define MIN_COMPLETENESS 0.90

/* One recognition of a prepared page with one layout (page segmentation mode) */
typedef struct PageReading
{
	int			psm;
	char	   *text;			/* malloc'd */
	JsonOut		body;			/* the page's words, hOCR and TSV members */
	int			confidence;		/* tesseract's mean word confidence */
	int			characters;		/* non-space characters recognised */
	int			words;			/* words with a letter or digit */
	int			garbage_words;	/* of which look like garbage (engine_word_is_garbage) */
	long		good_characters;	/* characters of the words that are not garbage */
	double		completeness;	/* share of character-sized ink inside words */
	long		ink_pixels;		/* character-sized ink on the page */
} PageReading;

/* engine_main.c */
extern void engine_send_progress(int percent);
extern void engine_fail(const char *sqlstate, const char *hint, const char *fmt,...)
			__attribute__((format(printf, 3, 4), noreturn));
extern double engine_now(void);
extern const char *engine_last_library_message(void);

/* engine_prepare.c */
extern PIX *engine_prepare_page(PIX *page, uint32_t flags, OrientMode orient, uint64_t max_pixels,
								PrepareReport *report);
extern PIX *engine_binarize(PIX *normalized, bool twice);
extern int	engine_text_height(PIX *binary);

/* engine_orient.c */
extern bool engine_detect_orientation(PIX *page, OrientMode mode, int *rotation, float *confidence,
									  bool *full_pass, bool *deferred);

/* engine_geometry.c */
extern bool geometry_is_identity(const PageGeometry *g);
extern void geometry_map_box(const PageGeometry *g, int *left, int *top, int *right, int *bottom);
extern char *geometry_map_hocr(const PageGeometry *g, const char *hocr);
extern char *geometry_map_tsv(const PageGeometry *g, const char *tsv);

/* engine_recognize.c (pages NULL: the request's PDF's, from engine_pdf_pages.c) */
extern void engine_recognize(const OcrRequest *req, PIXA *pages, int exif_orientation, JsonOut *out);

/* engine_pdf_pages.c */
extern void engine_pdf_request(const OcrRequest *req, const unsigned char *data, JsonOut *out);
extern void engine_pdf_release(void);
extern int	engine_pdf_page_count(void);
extern PIX *engine_pdf_render_page(const OcrRequest *req, int index);
extern bool engine_pdf_text_page(const OcrRequest *req, int index, JsonOut *out, JsonOut *texts);
/* engine_verdict.c */
extern bool engine_word_is_garbage(const char *word, bool numeric);
extern bool engine_reading_plausible(const PageReading *reading);
extern void engine_verdict(const PageReading *reading, const PrepareReport *prep, JsonOut *out);

/* engine_encode.c */
extern void engine_split_png(PIXA *pages, JsonOut *out);
extern void engine_recompress(const OcrRequest *req, PIXA *pages, JsonOut *out);

/* engine_pdf_write.c */
extern void engine_make_pdf(const OcrRequest *req, const unsigned char *image, const char *words,
							PIXA *pages, int format, int orientation, JsonOut *out);

/* engine_pdf_text.c */
extern void pdf_text_layer(JsonOut *out, const LayerPage *page, const char *font_name,
						   double width_pt, double height_pt, int base_rotation, double x0, double y0);

/* engine_json.c */
extern void json_init(JsonOut *out);
extern void json_append(JsonOut *out, const char *s);
extern void json_appendf(JsonOut *out, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern void json_string(JsonOut *out, const char *s);
extern void json_base64(JsonOut *out, const unsigned char *data, size_t len);
extern void json_free(JsonOut *out);

#endif							/* SCRIBE_ENGINE_H */
