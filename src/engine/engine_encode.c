/*
 * Encoding decoded pages back into image files, without recognition: each
 * page as a PNG for the cloud tier (OCR_SPLIT_PNG), and recompression
 * (OCR_RECOMPRESS): every page converted to 8-bit gray, to 1-bit or left at
 * its depth, then encoded as one PNG, JPEG or (multi-page) TIFF G4 file, the
 * archive's smaller copy of a scan.
 */
#include <stdlib.h>

#include "engine.h"

/*
 * zlib's level for the PNG of a recompression: the archive's copy is written
 * once and kept, so its best compression is worth its time.  On the sample
 * scans' gray pages, 2-4 % smaller than leptonica's default (6), at 3-5
 * times its encoding time (0.03-0.3 s a page instead of 0.01-0.07).
 */
#define ARCHIVE_PNG_LEVEL 9

/*
 * What a recompression holds while it runs, released by the next one:
 * engine_fail jumps back to the request loop past any cleanup here.
 */
static PIXA *converted = NULL;
static l_uint8 *encoded = NULL;

/* Encode one page as PNG or JPEG into *data (lept_free it); false if leptonica cannot */
static bool
encode_page(PIX *page, OcrRecompressFormat format, int quality, l_uint8 **data, size_t *size)
{
	*data = NULL;
	*size = 0;
	if (format == OCR_FORMAT_JPEG)
		return pixWriteMemJpeg(data, size, page, quality, 0) == 0;
	return pixWriteMemPng(data, size, page, 0.0) == 0;
}

/* Fail the request: a page could not be encoded or converted */
static void
page_failed(const char *what, int page_no, const char *name) __attribute__((noreturn));
static void
page_failed(const char *what, int page_no, const char *name)
{
	const char *library = engine_last_library_message();

	engine_fail("XX000", NULL, "page %d could not be %s %s%s%s", page_no, what, name,
				library[0] ? ": " : "", library);
}

/* Encode every page as PNG, for a cloud service that takes one image per request */
void
engine_split_png(PIXA *pages, JsonOut *out)
{
	int			n = pixaGetCount(pages);

	json_append(out, "{\"pages\":[");
	for (int i = 0; i < n; i++)
	{
		PIX		   *page = pixaGetPix(pages, i, L_CLONE);
		l_uint8    *png = NULL;
		size_t		size = 0;
		bool		ok = encode_page(page, OCR_FORMAT_PNG, 0, &png, &size);

		pixDestroy(&page);
		if (!ok)
			page_failed("encoded as", i + 1, "png");
		json_append(out, i ? "," : "");
		json_base64(out, png, size);
		lept_free(png);
	}
	json_append(out, "]}");
}

/*
 * A 1-bit copy of a page in which text stays legible: the binarization of
 * OCR's preprocessing (background normalisation, then a fixed threshold),
 * at twice the resolution when the text is small, since thresholding small
 * strokes at their own resolution breaks them (the sample scan of small
 * text: 1.6 % character errors in OCR of the copy, 0.2 % at twice the size).
 */
static PIX *
binarize_page(PIX *page, uint64_t max_pixels)
{
	PIX		   *gray;
	PIX		   *normalized;
	PIX		   *binary;
	uint64_t	pixels = (uint64_t) pixGetWidth(page) * pixGetHeight(page);
	int			text_height;
	int			scale = 1;
	l_int32		xres = 0,
				yres = 0;

	if (pixGetDepth(page) == 1)
		return pixGetColormap(page) ? pixRemoveColormap(page, REMOVE_CMAP_TO_BINARY) : pixClone(page);

	gray = pixConvertTo8(page, 0);
	if (gray == NULL)
		return NULL;
	/* paper made white and shadows evened out, so that one threshold fits the whole page */
	normalized = pixBackgroundNormSimple(gray, NULL, NULL);
	if (normalized == NULL)
		normalized = pixClone(gray);
	pixDestroy(&gray);

	binary = engine_binarize(normalized, false);
	text_height = binary ? engine_text_height(binary) : 0;
	if (text_height > 0 && text_height < SMALL_TEXT_HEIGHT && pixels * 4 <= max_pixels)
	{
		PIX		   *twice = engine_binarize(normalized, true);

		if (twice != NULL)
		{
			pixDestroy(&binary);
			binary = twice;
			scale = 2;
		}
	}
	pixGetResolution(page, &xres, &yres);
	if (binary != NULL)
		pixSetResolution(binary, xres * scale, yres * scale);
	pixDestroy(&normalized);
	return binary;
}

/* Fail unless every page's depth is one format can hold as it is (mode keep) */
static void
check_kept_depths(PIXA *pages, OcrRecompressFormat format)
{
	for (int i = 0; i < pixaGetCount(pages); i++)
	{
		l_int32		depth = 0;

		pixaGetPixDimensions(pages, i, NULL, NULL, &depth);
		if (format == OCR_FORMAT_TIFF_G4 && depth != 1)
			engine_fail("22023", "Use mode => 'bw' to binarize it, or format => 'png'.",
						"page %d has %d bits per pixel, but TIFF G4 holds only 1-bit pages", i + 1, depth);
		if (format == OCR_FORMAT_JPEG && depth == 1)
			engine_fail("22023", "Use mode => 'gray' for JPEG, or format => 'tiff_g4' or 'png' for a 1-bit image.",
						"page %d is 1-bit, which JPEG cannot hold", i + 1);
	}
}

/* The page at its own depth, in a form format holds (check_kept_depths passed) */
static PIX *
keep_page(PIX *page, OcrRecompressFormat format)
{
	int			depth = pixGetDepth(page);

	if (format == OCR_FORMAT_TIFF_G4)
		return pixGetColormap(page) ? pixRemoveColormap(page, REMOVE_CMAP_TO_BINARY) : pixClone(page);
	if (format == OCR_FORMAT_JPEG)
	{
		/* JPEG holds 8-bit gray or 24-bit color: no palette, no 2, 4 or 16 bits */
		if (pixGetColormap(page))
			return pixRemoveColormap(page, REMOVE_CMAP_BASED_ON_SRC);
		return depth == 8 || depth == 32 ? pixClone(page) : pixConvertTo8(page, 0);
	}
	return pixClone(page);
}

/* The page converted as the request's mode asks, or NULL if leptonica cannot */
static PIX *
convert_page(const OcrRequest *req, PIX *page)
{
	PIX		   *result;

	switch ((OcrRecompressMode) req->recompress_mode)
	{
		case OCR_MODE_GRAY:
			result = pixConvertTo8(page, 0);
			break;
		case OCR_MODE_BW:
			/* sets the resolution itself: it may double it */
			return binarize_page(page, req->max_pixels);
		case OCR_MODE_KEEP:
		default:
			result = keep_page(page, (OcrRecompressFormat) req->recompress_format);
			break;
	}
	/* the file should say the scan's resolution, whatever the conversion kept */
	if (result != NULL && pixGetXRes(result) == 0)
		pixCopyResolution(result, page);
	return result;
}

/* Bits per pixel of a page as format stores it */
static int
stored_bits(PIX *page, OcrRecompressFormat format)
{
	if (pixGetDepth(page) != 32)
		return pixGetDepth(page);
	/* leptonica keeps RGB in 32 bits; JPEG stores no alpha */
	return format == OCR_FORMAT_JPEG ? 24 : 8 * pixGetSpp(page);
}

/*
 * Convert and re-encode the pages of a request into one file, as a JSON
 * result: the facts, then the file in base64.
 */
void
engine_recompress(const OcrRequest *req, PIXA *pages, JsonOut *out)
{
	double		start = engine_now();
	OcrRecompressFormat format = (OcrRecompressFormat) req->recompress_format;
	int			n = pixaGetCount(pages);
	size_t		size = 0;
	int			width = 0,
				height = 0,
				bits;
	PIX		   *first;

	if (converted)
		pixaDestroy(&converted);
	lept_free(encoded);
	encoded = NULL;

	/* the backend checked all this; a request from anything else is refused, not guessed at */
	if (ocr_recompress_format_name(format) == NULL || ocr_recompress_mode_name(req->recompress_mode) == NULL ||
		!ocr_recompress_fits(req->recompress_mode, format) ||
		(format == OCR_FORMAT_JPEG && (req->jpeg_quality < 1 || req->jpeg_quality > 100)))
		engine_fail("22023", NULL, "invalid recompression request (format %u, mode %u, quality %u)",
					req->recompress_format, req->recompress_mode, req->jpeg_quality);
	if (n > 1 && format != OCR_FORMAT_TIFF_G4)
		engine_fail("22023", "Use format => 'tiff_g4' with mode => 'bw' to keep every page in one file.",
					"a %d-page image cannot be recompressed to %s, which holds one page", n, ocr_recompress_format_name(format));

	if (req->recompress_mode == OCR_MODE_KEEP)
		check_kept_depths(pages, format);

	converted = pixaCreate(n);
	for (int i = 0; i < n; i++)
	{
		PIX		   *page = pixaGetPix(pages, i, L_CLONE);
		PIX		   *result = convert_page(req, page);

		pixDestroy(&page);
		if (result == NULL)
			page_failed("converted to mode", i + 1, ocr_recompress_mode_name(req->recompress_mode));
		/* the largest page's dimensions */
		if ((int64_t) pixGetWidth(result) * pixGetHeight(result) > (int64_t) width * height)
		{
			width = pixGetWidth(result);
			height = pixGetHeight(result);
		}
		pixaAddPix(converted, result, L_INSERT);
	}

	first = pixaGetPix(converted, 0, L_CLONE);
	bits = stored_bits(first, format);
	if (format == OCR_FORMAT_TIFF_G4)
	{
		pixDestroy(&first);
		/* every page is 1-bit here, which leptonica's multi-page writer stores as G4 */
		if (pixaWriteMemMultipageTiff(&encoded, &size, converted) != 0)
			page_failed("encoded as", 1, ocr_recompress_format_name(format));
	}
	else
	{
		bool		ok;

		if (format == OCR_FORMAT_PNG)
			pixSetZlibCompression(first, ARCHIVE_PNG_LEVEL);
		ok = encode_page(first, format, (int) req->jpeg_quality, &encoded, &size);

		pixDestroy(&first);
		if (!ok)
			page_failed("encoded as", 1, ocr_recompress_format_name(format));
	}

	json_appendf(out, "{\"format\":\"%s\",\"mode\":\"%s\",\"pages\":%d,\"width\":%d,\"height\":%d,"
				 "\"bits_per_pixel\":%d,\"bytes_before\":%llu,\"bytes_after\":%zu,\"seconds\":%.4f,\"image\":",
				 ocr_recompress_format_name(format), ocr_recompress_mode_name(req->recompress_mode), n, width, height,
				 bits, (unsigned long long) req->image_len, size, engine_now() - start);
	json_base64(out, encoded, size);
	json_append(out, "}");

	pixaDestroy(&converted);
	lept_free(encoded);
	encoded = NULL;
}
