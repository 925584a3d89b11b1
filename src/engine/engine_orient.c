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

/*
 * OSD's cost is mostly classifying characters (tesseract's default, the
 * min_characters_to_try variable, is 50, up to five times that until it is
 * sure), plus a layout pass in proportion to the pixels.  Most pages are
 * upright, so a quick pass on QUICK_CHARACTERS characters goes first: if it
 * finds the page upright with at least QUICK_CONFIDENCE, that is the answer;
 * anything else (turned, unsure, nothing found) is decided by the full pass,
 * as before.  Measured with one thread: upright pages 0.12 -> 0.05 s
 * (640x480) and 0.37 -> 0.23 s (300 dpi, 3312x2550); turned pages pay both
 * passes (+35-50 %).  On tesseract's test pages and the project's scans,
 * each turned four ways, the quick pass never found a turned page upright,
 * and the full pass's decision was the quick pass's direction every time.
 */
#define QUICK_CHARACTERS "12"
#define FULL_CHARACTERS "50"
#define QUICK_CONFIDENCE 3.0f

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

/* One OSD pass with at most ~characters characters: false if it found no text */
static bool
detect(PIX *page, const char *characters, int *degrees, float *confidence)
{
	float		script_confidence = 0;
	const char *script = NULL;
	bool		found;

	*degrees = 0;
	*confidence = 0;
	TessBaseAPISetVariable(osd, "min_characters_to_try", characters);
	TessBaseAPISetImage2(osd, page);
	found = TessBaseAPIDetectOrientationScript(osd, degrees, confidence, &script, &script_confidence);
	TessBaseAPIClear(osd);
	if (!found)
		*confidence = 0;
	return found;
}

/*
 * Find how far the page must be turned clockwise to be upright (0, 90, 180
 * or 270 degrees): true with *rotation and OSD's *confidence if it found
 * text to judge by (*rotation is 0 when the confidence is too low to turn
 * the page), false if not or the osd model is not installed.  An upright
 * page's confidence is the quick pass's (3 and up, on fewer characters);
 * *full_pass says whether the quick pass was not sure.
 *
 * With mode ORIENT_DEFER, a quick pass that leans upright without being sure
 * (or finds no text) is left at that: *deferred is set, and the caller reads
 * the page upright and asks again with ORIENT_FULL only if the reading looks
 * wrong (engine_recognize.c), which costs less than the full pass on the many
 * upright pages the quick pass is unsure of (forms, skewed or sparse pages:
 * 0.3-0.4 s of CPU each at 200 dpi).  ORIENT_FULL skips the quick pass.
 */
bool
engine_detect_orientation(PIX *page, OrientMode mode, int *rotation, float *confidence,
						  bool *full_pass, bool *deferred)
{
	int			degrees = 0;
	bool		found = false;

	*rotation = 0;
	*confidence = 0;
	*full_pass = false;
	*deferred = false;
	if (!load_osd())
		return false;
	if (mode != ORIENT_FULL)
	{
		/* the quick pass: upright and sure of it is the common answer */
		found = detect(page, QUICK_CHARACTERS, &degrees, confidence);
		if (found && degrees == 0 && *confidence >= QUICK_CONFIDENCE)
			return true;
		if (mode == ORIENT_DEFER && (!found || degrees == 0))
		{
			*deferred = true;
			return found;
		}
	}
	*full_pass = true;
	if (!detect(page, FULL_CHARACTERS, &degrees, confidence))
		return false;
	/* OSD says how far the page is turned clockwise; turning it back is the rest of the turn */
	if (*confidence >= MIN_ORIENTATION_CONFIDENCE && degrees % 90 == 0)
		*rotation = (360 - degrees) % 360;
	return true;
}
