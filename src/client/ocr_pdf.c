/*
 * A PDF, seen from the backend: nothing here reads it.  The header check
 * lets a PDF through on its "%PDF-" (ocr_image.c); what it holds, and
 * whether it opens at all, is the engine's probe (OCR_PROBE), which parses
 * it in the engine process and renders nothing.
 */
#include "base/pg_scribe.h"

#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

#include "client/ocr_client.h"

/* A number of the probe's result as an int32 */
static int32
probe_int(Jsonb *probe, const char *key)
{
	return DatumGetInt32(DirectFunctionCall1(numeric_int4,
											 NumericGetDatum(scribe_ocr_result_member(probe, key, jbvNumeric, "PDF probe")->val.numeric)));
}

/*
 * Ask the engine what a PDF holds, within scribe.max_image_pages and
 * max_image_pixels: info gets its pages, page 1's size in pixels and the
 * dpi it would be rendered at; the result is the numbers (from 1) of the
 * pages that carry a text layer.  ERROR, with the engine's SQLSTATE, for an
 * encrypted, broken or too large PDF.
 */
List *
scribe_ocr_pdf_probe(const char *data, size_t len, ScribeImageInfo *info)
{
	OcrRequest	request;
	Jsonb	   *probe;
	JsonbValue *with_text;
	List	   *pages = NIL;

	memset(&request, 0, sizeof(request));
	request.flags = OCR_PROBE;
	probe = scribe_ocr_engine_call(&request, data, len, NULL);

	info->format = IMAGE_PDF;
	info->pages = probe_int(probe, "pages");
	info->width = probe_int(probe, "width");
	info->height = probe_int(probe, "height");
	info->x_dpi = info->y_dpi = probe_int(probe, "dpi");
	info->bits_per_pixel = 0;
	info->total_pixels = (uint64) info->width * info->height;
	with_text = getKeyJsonValueFromContainer(&probe->root, "pages_with_text", strlen("pages_with_text"), NULL);
	if (with_text != NULL && with_text->type == jbvBinary)
	{
		JsonbContainer *list = with_text->val.binary.data;

		for (uint32 i = 0; i < JsonContainerSize(list); i++)
		{
			JsonbValue *v = getIthJsonbValueFromContainer(list, i);

			if (v->type == jbvNumeric)
				pages = lappend_int(pages, DatumGetInt32(DirectFunctionCall1(numeric_int4,
																			 NumericGetDatum(v->val.numeric))));
		}
	}
	return pages;
}
