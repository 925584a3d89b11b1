/*
 * The header check of an image, in the backend, before the engine decodes
 * it: the size, the format, the pixels and the pages it claims.
 */
#include "base/pg_scribe.h"

#include "client/ocr_client.h"

#define IMAGE_FORMATS_HINT "Send a PNG, JPEG, TIFF, BMP, PNM, GIF or WebP image."

/*
 * ERROR unless the image's header is one the engine may decode.  A PDF
 * passes with its format alone (pages, width and height 0): only the engine
 * opens it (scribe_ocr_pdf_probe).
 */
void
scribe_ocr_check_image(const char *data, size_t len, ScribeImageInfo *info)
{
	ScribeProbeStatus status;

	if (len > (size_t) scribe_max_image_bytes)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the image is %zu bytes, more than scribe.max_image_bytes (%d)",
						len, scribe_max_image_bytes),
				 errhint("Scale or compress the image, or ask a superuser to raise scribe.max_image_bytes.")));

	status = scribe_image_probe((const unsigned char *) data, len, scribe_max_image_pages, info);
	if (status == PROBE_UNSUPPORTED_FORMAT && info->format == IMAGE_PDF)
	{
		info->width = info->height = info->pages = 0;
		info->total_pixels = 0;
		info->bits_per_pixel = 0;
		info->x_dpi = info->y_dpi = 0;
		info->detail[0] = '\0';
		return;
	}
	if (status != PROBE_OK)
	{
		const char *format = scribe_image_format_name(info->format);
		int			code = ERRCODE_INVALID_BINARY_REPRESENTATION;
		char	   *message;
		const char *hint = "Check that the file opens in an image viewer.";

		switch (status)
		{
			case PROBE_EMPTY:
				code = ERRCODE_INVALID_PARAMETER_VALUE;
				message = pstrdup("the image is empty");
				hint = IMAGE_FORMATS_HINT;
				break;
			case PROBE_UNKNOWN_FORMAT:
				message = pstrdup("the image format is not recognised");
				hint = IMAGE_FORMATS_HINT;
				break;
			case PROBE_UNSUPPORTED_FORMAT:
				code = ERRCODE_FEATURE_NOT_SUPPORTED;
				message = psprintf("this file cannot be recognised: %s", info->detail);
				hint = IMAGE_FORMATS_HINT;
				break;
			case PROBE_TRUNCATED:
				message = psprintf("the %s image is truncated", format);
				hint = "Upload the whole file again.";
				break;
			case PROBE_CORRUPT:
				message = psprintf("the %s image is corrupt", format);
				break;
			case PROBE_ZERO_SIZE:
				message = psprintf("the %s image has no pixels", format);
				break;
			case PROBE_TOO_MANY_PAGES:
				code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
				message = psprintf("the image has more pages than scribe.max_image_pages (%d)",
								   scribe_max_image_pages);
				hint = "Split the document, or ask a superuser to raise scribe.max_image_pages.";
				break;
			default:
				message = psprintf("the image was refused (%s)", scribe_probe_status_name(status));
				break;
		}
		ereport(ERROR,
				(errcode(code),
				 errmsg_internal("%s", message),
				 info->detail[0] && status != PROBE_EMPTY && status != PROBE_UNSUPPORTED_FORMAT ? errdetail_internal("%s", info->detail) : 0,
				 errhint("%s", hint)));
	}

	if ((uint64) info->width * info->height > (uint64) scribe_max_image_pixels)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the image is %u x %u pixels, more than scribe.max_image_pixels (%d)",
						info->width, info->height, scribe_max_image_pixels),
				 errdetail("Its header is checked before decoding, so that a small file cannot decode to gigabytes."),
				 errhint("Scale the image down (300 dpi is plenty for OCR), or ask a superuser to raise scribe.max_image_pixels.")));
}
