/*
 * Orientation of a page: tesseract's orientation and script detection (the
 * legacy "osd" model), with a handle of its own, loaded on the first page
 * that asks and kept.  A page turned a quarter or half turn is otherwise
 * read as confident garbage: tesseract's test page upside down or turned
 * left comes back at mean confidence ~40 with nothing that says it is lost.
 */
#include <tesseract/capi.h>

#include "engine.h"

/*
 * Below this confidence (OSD's margin between the best orientation and the
 * next), the page is left as it is.  Pages of text, upright or turned, score
 * 9-30 (tesseract's test pages, the project's scans); a page with a few
 * words is not detected at all.
 */
#define MIN_ORIENTATION_CONFIDENCE 2.0f

static TessBaseAPI *osd = NULL;
static bool osd_missing = false;

/* Load the osd model unless it is loaded; false if it is not installed */
static bool
load_osd(void)
{
	if (osd != NULL)
		return true;
	if (osd_missing)
		return false;
	osd = TessBaseAPICreate();
	if (TessBaseAPIInit2(osd, NULL, "osd", OEM_TESSERACT_ONLY) != 0)
	{
		TessBaseAPIDelete(osd);
		osd = NULL;
		osd_missing = true;
		return false;
	}
	TessBaseAPISetVariable(osd, "debug_file", "/dev/null");
	TessBaseAPISetPageSegMode(osd, PSM_OSD_ONLY);
	return true;
}

/*
 * Find how far the page must be turned clockwise to be upright (0, 90, 180
 * or 270 degrees): true with *rotation and OSD's *confidence if it found
 * text to judge by (*rotation is 0 when the confidence is too low to turn
 * the page), false if not or the osd model is not installed.
 */
bool
engine_detect_orientation(PIX *page, int *rotation, float *confidence)
{
	int			degrees = 0;
	float		script_confidence = 0;
	const char *script = NULL;
	bool		found;

	*rotation = 0;
	*confidence = 0;
	if (!load_osd())
		return false;
	TessBaseAPISetImage2(osd, page);
	found = TessBaseAPIDetectOrientationScript(osd, &degrees, confidence, &script, &script_confidence);
	TessBaseAPIClear(osd);
	if (!found)
	{
		*confidence = 0;
		return false;
	}
	/* OSD says how far the page is turned clockwise; turning it back is the rest of the turn */
	if (*confidence >= MIN_ORIENTATION_CONFIDENCE && degrees % 90 == 0)
		*rotation = (360 - degrees) % 360;
	return true;
}
