/*
 * Recompression of an image by this backend's OCR engine:
 * scribe.image_recompress, which the archive lifecycle policy calls too.  The arguments and the image's header are checked here,
 * before any engine starts; the engine decodes, converts and encodes, since
 * leptonica never runs in a server process.
 */
#include "base/pg_scribe.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "client/ocr_client.h"

#define FORMATS_HINT "Use 'png', 'tiff_g4' (1-bit, multi-page) or 'jpeg'."
#define MODES_HINT "Use 'gray' (8-bit grayscale), 'bw' (1-bit) or 'keep' (the image's own depth)."

PG_FUNCTION_INFO_V1(scribe_recompress_image);

/*
 * The value named by a image_recompress argument: what ("format" or
 * "mode") is the argument, name_of the protocol's names of its values
 */
static uint32
parse_name(const char *what, const char *name, const char *(*name_of) (uint32_t), const char *hint)
{
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the recompression %s must not be NULL", what),
				 errhint("%s", hint)));
	for (uint32 value = 1; name_of(value) != NULL; value++)
		if (strcmp(name, name_of(value)) == 0)
			return value;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown recompression %s \"%s\"", what, name),
			 errhint("%s", hint)));
}

/* ERROR unless quality is one JPEG takes and format can hold what mode makes of any image */
static void
check_combination(const char *format, OcrRecompressFormat f, const char *mode, OcrRecompressMode m,
				  int quality)
{
	if (quality < 1 || quality > 100)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JPEG quality must be between 1 and 100, not %d", quality),
				 errhint("75 is the default; 85-95 keeps finer detail, 50-75 makes smaller files.")));
	if (ocr_recompress_fits(m, f))
		return;
	if (f == OCR_FORMAT_JPEG)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("format \"%s\" cannot hold mode \"%s\": JPEG has no 1-bit images", format, mode),
				 errhint("Use format => 'tiff_g4' (smallest) or 'png' for mode => 'bw', or mode => 'gray' for JPEG.")));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("format \"%s\" cannot hold mode \"%s\": TIFF G4 holds only 1-bit images", format, mode),
			 errhint("Use mode => 'bw' for TIFF G4, or format => 'png' or 'jpeg' for mode => 'gray'.")));
}

/* ERROR unless format can hold this image as mode makes it, as far as its header tells */
static void
check_image_fits(const ScribeImageInfo *image, const char *format, OcrRecompressFormat f,
				 OcrRecompressMode m)
{
	if (image->pages > 1 && f != OCR_FORMAT_TIFF_G4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a %u-page image cannot be recompressed to %s, which holds one page",
						image->pages, format),
				 errhint("Use format => 'tiff_g4' with mode => 'bw' to keep every page in one file.")));
	if (m != OCR_MODE_KEEP || image->bits_per_pixel == 0)
		return;
	/* the engine checks every page again: a TIFF's pages may differ */
	if (f == OCR_FORMAT_TIFF_G4 && image->bits_per_pixel != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the image has %d bits per pixel, but TIFF G4 holds only 1-bit images",
						image->bits_per_pixel),
				 errhint("Use mode => 'bw' to binarize it, or format => 'png'.")));
	if (f == OCR_FORMAT_JPEG && image->bits_per_pixel == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the image is 1-bit, which JPEG cannot hold"),
				 errhint("Use mode => 'gray' for JPEG, or format => 'tiff_g4' or 'png' for a 1-bit image.")));
}

/* A number of the engine's result, as a double */
static double
result_number(Jsonb *result, const char *key)
{
	JsonbValue *v = scribe_ocr_result_member(result, key, jbvNumeric, "recompression result");

	return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
}

/*
 * Recompress an image in this backend's OCR engine: every page converted
 * per mode ("gray", "bw" or "keep") and encoded per format ("png",
 * "tiff_g4" or "jpeg", with quality 1-100).  The new file, palloc'd (what
 * was made of it in a DEBUG1 message).  ERROR on bad arguments or an image
 * OCR would refuse, before any engine starts.
 */
static bytea *
image_recompress(const char *image, size_t len, const char *format, const char *mode, int quality)
{
	OcrRecompressFormat f = parse_name("format", format, ocr_recompress_format_name, FORMATS_HINT);
	OcrRecompressMode m = parse_name("mode", mode, ocr_recompress_mode_name, MODES_HINT);
	ScribeImageInfo header;
	OcrRequest	request;
	Jsonb	   *result;
	bytea	   *out;

	check_combination(format, f, mode, m, quality);
	scribe_ocr_check_image(image, len, &header);
	if (header.format == IMAGE_PDF)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("PDF files cannot be recompressed"),
				 errhint("An archive policy keeps a PDF document as it is; recompress images only.")));
	check_image_fits(&header, format, f, m);

	memset(&request, 0, sizeof(request));
	request.flags = OCR_RECOMPRESS;
	request.recompress_format = f;
	request.recompress_mode = m;
	request.jpeg_quality = quality;
	result = scribe_ocr_engine_call(&request, image, len, NULL);

	out = scribe_ocr_result_bytes(result, "image", "recompression result");

	elog(DEBUG1, "recompressed to %s, mode %s: %d pages of up to %d x %d pixels, %d bits per pixel, "
		 "%zu bytes to %zu in %.3f s", format, mode, (int) result_number(result, "pages"),
		 (int) result_number(result, "width"), (int) result_number(result, "height"),
		 (int) result_number(result, "bits_per_pixel"), len, (size_t) (VARSIZE(out) - VARHDRSZ),
		 result_number(result, "seconds"));
	return out;
}

/* scribe.image_recompress(image, format, mode, quality): the image encoded anew */
Datum
scribe_recompress_image(PG_FUNCTION_ARGS)
{
	bytea	   *image = PG_GETARG_BYTEA_PP(0);

	PG_RETURN_BYTEA_P(image_recompress(VARDATA_ANY(image), VARSIZE_ANY_EXHDR(image),
									   text_to_cstring(PG_GETARG_TEXT_PP(1)),
									   text_to_cstring(PG_GETARG_TEXT_PP(2)),
									   PG_GETARG_INT32(3)));
}
