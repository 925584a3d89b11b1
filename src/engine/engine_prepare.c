/*
 * Preprocessing a page for tesseract, in leptonica: grayscale, background
 * normalisation (shadows, yellowed paper), upscaling of very small text, and
 * deskew.  Tesseract's defaults silently drop most of a page skewed by 2-4
 * degrees or half a page under a shadow while its mean confidence stays
 * high; these steps cost tens of milliseconds a page and recover them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* Components shorter than this (pixels) are specks, not characters */
#define SPECK_HEIGHT 4
/* Taller components are pictures or borders, not characters */
#define MAX_CHARACTER_HEIGHT 300
/* Small text (SMALL_TEXT_HEIGHT, engine.h) is upscaled towards this height */
#define TARGET_TEXT_HEIGHT 28
#define MAX_UPSCALE 4.0f
/* Below this leptonica skew confidence, the angle is noise: leave the page */
#define MIN_SKEW_CONFIDENCE 3.0f
#define MIN_SKEW_DEGREES 0.1f

/* Gray level under which a background-normalised pixel is ink (paper is 200) */
#define INK_THRESHOLD 160

/*
 * Binarize an 8 bpp page whose background normalisation made paper white;
 * with twice is true, at twice its resolution, interpolating before the
 * threshold so that the strokes of small text survive.
 */
PIX *
engine_binarize(PIX *normalized, bool twice)
{
	return twice ? pixScaleGray2xLIThresh(normalized, INK_THRESHOLD) :
		pixConvertTo1(normalized, INK_THRESHOLD);
}

/* Compare two ints for qsort */
static int
compare_int(const void *a, const void *b)
{
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	return (x > y) - (x < y);
}

/* The median height of character-sized components of a binary page, 0 if none */
int
engine_text_height(PIX *binary)
{
	BOXA	   *boxes = pixConnCompBB(binary, 8);
	int			n = boxes ? boxaGetCount(boxes) : 0;
	int			page_height = pixGetHeight(binary);
	int		   *heights;
	int			count = 0;
	int			median = 0;

	if (n == 0)
	{
		boxaDestroy(&boxes);
		return 0;
	}
	heights = malloc(sizeof(int) * (size_t) n);
	for (int i = 0; heights && i < n; i++)
	{
		l_int32		x,
					y,
					w,
					h;

		boxaGetBoxGeometry(boxes, i, &x, &y, &w, &h);
		/* skip specks, rules and pictures (a character is not half the page) */
		if (h >= SPECK_HEIGHT && h <= MAX_CHARACTER_HEIGHT && h <= page_height / 2 && w < h * 8)
			heights[count++] = h;
	}
	if (count > 0)
	{
		qsort(heights, (size_t) count, sizeof(int), compare_int);
		median = heights[count / 2];
	}
	free(heights);
	boxaDestroy(&boxes);
	return median;
}

/* Gray, background-normalised and, if its text is small, upscaled: the page as preprocessing makes it */
static PIX *
normalize_page(PIX *page, uint64_t max_pixels, PrepareReport *report)
{
	PIX		   *gray;
	PIX		   *work;
	PIX		   *binary;
	int			text_height;

	/*
	 * grayscale: colour carries nothing for recognition, and a binary page
	 * turns gray too, so that deskewing interpolates instead of shearing
	 */
	gray = pixConvertTo8(page, 0);
	report->grayscale = pixGetDepth(page) != 8 || pixGetColormap(page) != NULL;
	if (gray == NULL)
		engine_fail("22P03", NULL, "the image could not be converted to grayscale");

	/* background normalisation: even out shadows and paper tone */
	work = pixBackgroundNormSimple(gray, NULL, NULL);

	/*
	 * upscale very small text: tesseract wants characters ~20-30 pixels
	 * high.  The height is measured on the normalised page, but the scan is
	 * upscaled before it is normalised again: normalising at low resolution
	 * first loses strokes (the 75 dpi test page: 1.2 % errors against 0.4 %).
	 */
	binary = engine_binarize(work ? work : gray, false);
	text_height = binary ? engine_text_height(binary) : 0;
	pixDestroy(&binary);
	if (text_height > 0 && text_height < SMALL_TEXT_HEIGHT)
	{
		float		scale = fminf((float) TARGET_TEXT_HEIGHT / (float) text_height, MAX_UPSCALE);
		double		pixels = (double) pixGetWidth(gray) * pixGetHeight(gray) * scale * scale;
		PIX		   *scaled;

		if (pixels > (double) max_pixels)
			scale = (float) sqrt((double) max_pixels / ((double) pixGetWidth(gray) * pixGetHeight(gray)));
		scaled = scale > 1.1f ? pixScale(gray, scale, scale) : NULL;
		if (scaled != NULL)
		{
			l_int32		xres,
						yres;

			pixGetResolution(gray, &xres, &yres);
			if (xres > 0 && yres > 0)
				pixSetResolution(scaled, (l_int32) lroundf(xres * scale), (l_int32) lroundf(yres * scale));
			pixDestroy(&gray);
			gray = scaled;
			report->scale = scale;
			pixDestroy(&work);
			work = pixBackgroundNormSimple(gray, NULL, NULL);
		}
	}
	if (work != NULL)
	{
		pixDestroy(&gray);
		gray = work;
		report->normalized = true;
	}
	return gray;
}

/* Turn the page upright if orientation detection says it is not */
static PIX *
orient_page(PIX *page, PrepareReport *report)
{
	double		start = engine_now();
	PIX		   *turned;

	report->orientation_checked = engine_detect_orientation(page, &report->rotation,
															&report->rotation_confidence);
	report->orientation_seconds = engine_now() - start;
	if (report->rotation == 0)
		return page;
	turned = pixRotateOrth(page, report->rotation / 90);
	if (turned == NULL)
	{
		report->rotation = 0;
		return page;
	}
	pixDestroy(&page);
	return turned;
}

/* Deskew: find the angle on the binary page, rotate the gray one */
static PIX *
deskew_page(PIX *gray, PrepareReport *report)
{
	PIX		   *binary = engine_binarize(gray, false);
	PIX		   *work;
	float		angle = 0,
				confidence = 0;

	if (binary != NULL && pixFindSkew(binary, &angle, &confidence) == 0 &&
		confidence >= MIN_SKEW_CONFIDENCE && fabsf(angle) >= MIN_SKEW_DEGREES)
	{
		work = pixRotate(gray, (float) (angle * M_PI / 180.0), L_ROTATE_AREA_MAP,
						 L_BRING_IN_WHITE, 0, 0);
		if (work != NULL)
		{
			pixDestroy(&gray);
			gray = work;
			report->skew = angle;
			report->skew_confidence = confidence;
		}
	}
	pixDestroy(&binary);
	return gray;
}

/*
 * Return the page as tesseract should see it, and what was done to it:
 * with OCR_PREPROCESS, grayscale, normalised and upscaled; with OCR_ORIENT,
 * turned upright; with OCR_PREPROCESS again, deskewed.  The report's
 * geometry maps boxes on the result back to the page.
 */
PIX *
engine_prepare_page(PIX *page, uint32_t flags, uint64_t max_pixels, PrepareReport *report)
{
	double		start = engine_now();
	PIX		   *work;

	memset(report, 0, sizeof(*report));
	report->scale = 1;
	report->geometry.width = pixGetWidth(page);
	report->geometry.height = pixGetHeight(page);

	work = (flags & OCR_PREPROCESS) ? normalize_page(page, max_pixels, report) : pixClone(page);
	report->geometry.scaled_width = pixGetWidth(work);
	report->geometry.scaled_height = pixGetHeight(work);
	if (flags & OCR_ORIENT)
		work = orient_page(work, report);
	report->geometry.rotation = report->rotation;
	if (flags & OCR_PREPROCESS)
		work = deskew_page(work, report);
	report->geometry.skew = report->skew;

	report->seconds = engine_now() - start;
	return work;
}
