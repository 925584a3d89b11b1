/*
 * PDFs with poppler-glib: open, the resolution each page is taken at, its
 * rendering to a PIX, its text layer as words.  Why poppler: see
 * docs/architecture.md, "PDFs in the engine".
 *
 * Coordinates: poppler reports page sizes, image areas and text boxes in
 * points (1/72 inch) of the page as displayed, its /Rotate applied, origin
 * at the top left; a page rendered at dpi is that size times dpi / 72.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* memmem */
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "engine_pdf.h"

/* An image covering at least this share of the page's width and height is "the page's image" */
#define PDF_COVER_SHARE 0.9

/* Whether the data is a PDF: "%PDF-" in its first PDF_SCAN_BYTES */
bool
engine_is_pdf(const unsigned char *data, size_t len)
{
	size_t		scan = len < PDF_SCAN_BYTES ? len : PDF_SCAN_BYTES;

	return data != NULL && memmem(data, scan, "%PDF-", 5) != NULL;
}

/*
 * Open a PDF from len bytes at data, which must outlive the PdfFile: on
 * PDF_OPENED *pdf is filled in (close it), otherwise why says what failed.
 */
PdfOpenStatus
engine_pdf_open(const unsigned char *data, size_t len, PdfFile *pdf, char *why, size_t why_len)
{
	GError	   *error = NULL;

	memset(pdf, 0, sizeof(*pdf));
	why[0] = '\0';
	pdf->bytes = g_bytes_new_static(data, len);
	pdf->doc = poppler_document_new_from_bytes(pdf->bytes, NULL, &error);
	if (pdf->doc == NULL)
	{
		PdfOpenStatus status = error && g_error_matches(error, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED) ?
			PDF_ENCRYPTED : PDF_BROKEN;

		snprintf(why, why_len, "%s", error && error->message ? error->message : "unknown error");
		if (error)
			g_error_free(error);
		g_bytes_unref(pdf->bytes);
		pdf->bytes = NULL;
		return status;
	}
	pdf->pages = poppler_document_get_n_pages(pdf->doc);
	if (pdf->pages <= 0)
	{
		snprintf(why, why_len, "it has no pages");
		engine_pdf_close(pdf);
		return PDF_BROKEN;
	}
	/* opened without a password: an owner password at most, restricting nothing we do */
	pdf->encrypted = memmem(data, len, "/Encrypt", 8) != NULL;
	return PDF_OPENED;
}

/* Close a PDF that engine_pdf_open opened */
void
engine_pdf_close(PdfFile *pdf)
{
	if (pdf->doc)
		g_object_unref(pdf->doc);
	if (pdf->bytes)
		g_bytes_unref(pdf->bytes);
	pdf->doc = NULL;
	pdf->bytes = NULL;
}

/*
 * The resolution to render a page at: a page that is one image covering it
 * (a scan) at the image's own resolution, clamped to 150-600 dpi, so that
 * OCR sees the scanner's pixels; anything else at 300 dpi.  Decodes the
 * page's largest image to learn its pixel size.
 */
double
engine_pdf_native_dpi(PopplerPage *page)
{
	double		page_w,
				page_h;
	GList	   *mappings;
	GList	   *l;
	int			cover_id = -1;
	int			covering = 0;
	double		area_long = 0;
	double		dpi = PDF_DEFAULT_DPI;

	poppler_page_get_size(page, &page_w, &page_h);
	mappings = poppler_page_get_image_mapping(page);
	for (l = mappings; l != NULL; l = l->next)
	{
		PopplerImageMapping *m = l->data;
		double		w = fabs(m->area.x2 - m->area.x1);
		double		h = fabs(m->area.y2 - m->area.y1);

		if (w >= page_w * PDF_COVER_SHARE && h >= page_h * PDF_COVER_SHARE)
		{
			covering++;
			cover_id = m->image_id;
			area_long = w > h ? w : h;
		}
	}
	poppler_page_free_image_mapping(mappings);

	/* two images stacked over the page (a scan and a mask) leave it ambiguous: 300 */
	if (covering == 1 && area_long > 0)
	{
		cairo_surface_t *image = poppler_page_get_image(page, cover_id);

		if (image != NULL)
		{
			int			w = cairo_image_surface_get_width(image);
			int			h = cairo_image_surface_get_height(image);

			/* the long sides match whatever way the image is placed */
			if (w > 0 && h > 0)
				dpi = (w > h ? w : h) / (area_long / 72.0);
			cairo_surface_destroy(image);
			dpi = floor(dpi + 0.5);
			if (dpi < PDF_MIN_NATIVE_DPI)
				dpi = PDF_MIN_NATIVE_DPI;
			if (dpi > PDF_MAX_NATIVE_DPI)
				dpi = PDF_MAX_NATIVE_DPI;
		}
	}
	return dpi;
}

/* The size in pixels of a page rendered at dpi (at least 1 x 1) */
void
engine_pdf_page_pixels(PopplerPage *page, double dpi, int *width, int *height)
{
	double		w,
				h;

	poppler_page_get_size(page, &w, &h);
	w = ceil(w * dpi / 72.0 - 0.01);
	h = ceil(h * dpi / 72.0 - 0.01);
	/* a page's size is the PDF's word: clamp before it becomes an int */
	*width = w < 1 || isnan(w) ? 1 : w > INT32_MAX / 2 ? INT32_MAX / 2 : (int) w;
	*height = h < 1 || isnan(h) ? 1 : h > INT32_MAX / 2 ? INT32_MAX / 2 : (int) h;
}

/*
 * dpi, lowered until the page fits max_pixels and cairo's largest surface;
 * below PDF_MIN_DPI when even that does not fit (the caller refuses it).
 */
double
engine_pdf_fit_dpi(PopplerPage *page, double dpi, uint64_t max_pixels)
{
	for (int tries = 0; tries < 64; tries++)
	{
		int			w,
					h;
		double		pixels;
		double		shrink = 1.0;

		engine_pdf_page_pixels(page, dpi, &w, &h);
		pixels = (double) w * h;
		if (pixels > (double) max_pixels)
			shrink = sqrt((double) max_pixels / pixels);
		if (w > PDF_MAX_SIDE && (double) PDF_MAX_SIDE / w < shrink)
			shrink = (double) PDF_MAX_SIDE / w;
		if (h > PDF_MAX_SIDE && (double) PDF_MAX_SIDE / h < shrink)
			shrink = (double) PDF_MAX_SIDE / h;
		if (shrink >= 1.0)
			return dpi;
		/* whole dpi, rounded down; the ceiling of the size may need one more step */
		dpi = floor(dpi * shrink) - (tries > 0 ? 1 : 0);
		if (dpi < 1)
			return 0;
	}
	return 0;
}

/*
 * A page rendered at dpi on white paper: an 8-bit gray PIX when the page
 * has no colour, else 32-bit RGB; its resolution set to dpi.  NULL if cairo
 * cannot make the surface.
 */
PIX *
engine_pdf_render(PopplerPage *page, double dpi)
{
	int			w,
				h;
	cairo_surface_t *surface;
	cairo_t    *cr;
	const unsigned char *data;
	int			stride;
	bool		gray = true;
	PIX		   *pix;
	l_uint32   *pix_data;
	int			wpl;

	engine_pdf_page_pixels(page, dpi, &w, &h);
	if (w > PDF_MAX_SIDE || h > PDF_MAX_SIDE)
		return NULL;
	surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
	if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
	{
		cairo_surface_destroy(surface);
		return NULL;
	}
	cr = cairo_create(surface);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_paint(cr);
	cairo_scale(cr, dpi / 72.0, dpi / 72.0);
	poppler_page_render(page, cr);
	cairo_destroy(cr);
	cairo_surface_flush(surface);

	data = cairo_image_surface_get_data(surface);
	stride = cairo_image_surface_get_stride(surface);
	/* RGB24: one native-endian 32-bit word a pixel, 0x00RRGGBB */
	for (int y = 0; y < h && gray; y++)
	{
		const uint32_t *row = (const uint32_t *) (data + (size_t) y * stride);

		for (int x = 0; x < w; x++)
		{
			uint32_t	p = row[x];

			if (((p >> 16) & 0xff) != ((p >> 8) & 0xff) || ((p >> 8) & 0xff) != (p & 0xff))
			{
				gray = false;
				break;
			}
		}
	}
	pix = pixCreate(w, h, gray ? 8 : 32);
	if (pix == NULL)
	{
		cairo_surface_destroy(surface);
		return NULL;
	}
	pix_data = pixGetData(pix);
	wpl = pixGetWpl(pix);
	for (int y = 0; y < h; y++)
	{
		const uint32_t *row = (const uint32_t *) (data + (size_t) y * stride);
		l_uint32   *line = pix_data + (size_t) y * wpl;

		for (int x = 0; x < w; x++)
		{
			if (gray)
				SET_DATA_BYTE(line, x, row[x] & 0xff);
			else
				/* leptonica: 0xRRGGBBAA */
				line[x] = (row[x] & 0xffffff) << 8;
		}
	}
	if (!gray)
		pixSetSpp(pix, 3);
	pixSetResolution(pix, (l_int32) floor(dpi + 0.5), (l_int32) floor(dpi + 0.5));
	cairo_surface_destroy(surface);
	return pix;
}

/* The letters and digits of a page's text: at least PDF_MIN_TEXT_CHARACTERS means it carries text */
int
engine_pdf_text_characters(const char *text)
{
	int			n = 0;

	if (text == NULL || !g_utf8_validate(text, -1, NULL))
		return 0;
	for (const char *p = text; *p; p = g_utf8_next_char(p))
		if (g_unichar_isalnum(g_utf8_get_char(p)))
			n++;
	return n;
}

/*
 * Call callback for each word of a page's text layer (text: the page's
 * poppler_page_get_text), its box in pixels of the page rendered at dpi.
 * poppler's layout has one rectangle per character of that text; words are
 * the runs between white space.
 */
void
engine_pdf_words(PopplerPage *page, const char *text, double dpi, PdfWordCallback callback, void *arg)
{
	PopplerRectangle *rects = NULL;
	guint		n_rects = 0;
	double		scale = dpi / 72.0;
	size_t		len;
	char	   *word;
	size_t		word_len = 0;
	double		x1 = 0,
				y1 = 0,
				x2 = 0,
				y2 = 0;
	int			line = 1;
	guint		i = 0;
	bool		have_box = false;

	if (text == NULL || !g_utf8_validate(text, -1, NULL) ||
		!poppler_page_get_text_layout(page, &rects, &n_rects))
		return;
	len = strlen(text);
	word = malloc(len + 1);
	if (word == NULL)
	{
		g_free(rects);
		return;
	}
	for (const char *p = text;; p = g_utf8_next_char(p), i++)
	{
		gunichar	c = *p ? g_utf8_get_char(p) : 0;
		bool		space = c == 0 || g_unichar_isspace(c);
		const char *next;

		if (space && word_len > 0)
		{
			PdfWord		w;

			word[word_len] = '\0';
			w.text = word;
			w.left = (int) floor(x1 * scale);
			w.top = (int) floor(y1 * scale);
			w.width = (int) ceil(x2 * scale) - w.left;
			w.height = (int) ceil(y2 * scale) - w.top;
			w.line = line;
			/* a word poppler gave no box is text, not a place: the page's text keeps it */
			if (have_box)
				callback(&w, arg);
			word_len = 0;
			have_box = false;
		}
		if (c == 0)
			break;
		if (c == '\n')
			line++;
		if (space)
			continue;
		if (i < n_rects)
		{
			PopplerRectangle *r = &rects[i];
			double		left = fmin(r->x1, r->x2),
						right = fmax(r->x1, r->x2),
						top = fmin(r->y1, r->y2),
						bottom = fmax(r->y1, r->y2);

			x1 = have_box ? fmin(x1, left) : left;
			y1 = have_box ? fmin(y1, top) : top;
			x2 = have_box ? fmax(x2, right) : right;
			y2 = have_box ? fmax(y2, bottom) : bottom;
			have_box = true;
		}
		next = g_utf8_next_char(p);
		memcpy(word + word_len, p, (size_t) (next - p));
		word_len += (size_t) (next - p);
	}
	free(word);
	g_free(rects);
}
