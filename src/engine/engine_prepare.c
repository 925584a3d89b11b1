/*
 * Preprocessing a page for tesseract, in leptonica, decided per page from
 * what the page is: grayscale; background normalisation of uneven or dark
 * paper (shadows, yellowed paper); denoising of noisy pages with large
 * text; upscaling of very small text; deskew of pages skewed 2 degrees or
 * more.  Tesseract's defaults silently drop most of a page skewed by 3-4
 * degrees or half a page under a shadow while its mean confidence stays
 * high; these steps recover them, and leave clean pages as they are.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* Components shorter than this (pixels) are specks, not characters */
#define SPECK_HEIGHT 4
/* Taller components are pictures or borders, not characters */
#define MAX_CHARACTER_HEIGHT 300
#define TARGET_TEXT_HEIGHT 20
#define MAX_UPSCALE 4.0f
/*
 * Below this leptonica skew confidence, the angle is noise: leave the page.
 * Under MIN_SKEW_DEGREES tesseract's line finding follows the skew itself,
 * and rotating the page only blurs its glyphs (rotating by shears instead
 * was worse): on the bench, pages at -0.8, 1.0 and -1.6 degrees read 90.8,
 * 99.6 and 96.1 % as they are, 89.2, 99.4 and 95.0 % deskewed; at 2-2.5
 * degrees deskewing gained 0.7 points once and lost 0.3-0.7 twice; at 3
 * degrees and more tesseract drops lines (the project's skewed letter).
 */
#define MIN_SKEW_CONFIDENCE 3.0f
#define MIN_SKEW_DEGREES 2.0f

/* Gray level under which a background-normalised pixel is ink (paper is 200) */
#define INK_THRESHOLD 160

/*
 * A page's background is normalised when the paper's brightness varies by
 * more than UNEVEN_BACKGROUND gray levels across the page (5th to 95th
 * percentile of leptonica's background map: a shadow, a fold, a lamp) or
 * its median is darker than DARK_BACKGROUND (tinted or yellowed paper).  A
 * clean page is left as it is: normalising it gained nothing on the bench
 * and cost strokes of fine print (a deposition's margin line numbers became
 * garbage; a table page 98.2 -> 97.1 %).
 */
#define UNEVEN_BACKGROUND 40
#define DARK_BACKGROUND 170
/* A page is noisy when more than NOISY_SPECKS of its (over MIN_NOISE_COMPONENTS) dark components are specks */
#define NOISY_SPECKS 0.5f
#define MIN_NOISE_COMPONENTS 2000
/* ... and is denoised if its text is at least this high (pixels) */
#define DENOISE_TEXT_HEIGHT 16
/*
 * Only text under UPSCALE_TEXT_HEIGHT pixels (the median height of
 * character-sized components, measured on the upright page as it is) is
 * upscaled, towards TARGET_TEXT_HEIGHT: tesseract reads 12-13 px text as
 * well or better as it is (a table page at 13 px: 98.2 % as it is, 94.1 %
 * upscaled), and 10 px text (10 pt at 150 dpi) 98.4-99.1 % as it is against
 * 99.0-100 % upscaled twice, for 1.5-2 times the CPU time; under 10 px (a
 * 75-100 dpi scan) it starts losing words.
 */
#define UPSCALE_TEXT_HEIGHT 10

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

/*
 * What the page is, measured on its gray image: how uneven and how dark
 * its background (the spread and median of leptonica's background map,
 * tiles of paper without ink) and how noisy (the share of specks among
 * its dark components).
 */
static void
analyse_page(PIX *gray, PrepareReport *report)
{
	PIX		   *map = NULL;
	PIX		   *binary;
	l_uint32	low = 255,
				mid = 255,
				high = 255;

	/* the tiles and thresholds of pixBackgroundNormSimple, which normalises with this map */
	if (pixGetBackgroundGrayMap(gray, NULL, 10, 15, 60, 40, &map) == 0 && map != NULL)
	{
		pixGetRankValue(map, 1, 0.05f, &low);
		pixGetRankValue(map, 1, 0.5f, &mid);
		pixGetRankValue(map, 1, 0.95f, &high);
	}
	pixDestroy(&map);
	report->background_spread = (int) L_MIN(high, 255) - (int) L_MIN(low, 255);
	report->background_level = (int) L_MIN(mid, 255);

	binary = pixConvertTo1(gray, INK_THRESHOLD);
	report->speck_share = 0;
	if (binary != NULL)
	{
		BOXA	   *boxes = pixConnCompBB(binary, 8);
		int			n = boxes ? boxaGetCount(boxes) : 0;
		int			specks = 0;

		for (int i = 0; i < n; i++)
		{
			l_int32		w,
						h;

			boxaGetBoxGeometry(boxes, i, NULL, NULL, &w, &h);
			if (w < 3 && h < 3)
				specks++;
		}
		report->speck_share = n > 0 ? (float) specks / n : 0;
		report->components = n;
		boxaDestroy(&boxes);
	}
	pixDestroy(&binary);
}

/*
 * Take the noise off a noisy page with a 3x3 median filter, if its text is
 * large enough to keep its strokes through it (measured on the filtered
 * copy: the noise itself makes the page's components look small): at 300
 * dpi the filter turns a page tesseract reads nothing of (grey noise, sigma
 * 40) into one it reads 80 % of; on text under DENOISE_TEXT_HEIGHT pixels it
 * eats strokes (95 % -> 59 %), and the page is left as it is.
 */
static void
denoise_if_noisy(PIX *gray, PrepareReport *report)
{
	PIX		   *smooth;
	PIX		   *binary;
	int			height;

	if (report->speck_share <= NOISY_SPECKS || report->components <= MIN_NOISE_COMPONENTS)
		return;
	report->noisy = true;
	smooth = pixMedianFilter(gray, 3, 3);
	if (smooth == NULL)
		return;
	binary = engine_binarize(smooth, false);
	height = binary ? engine_text_height(binary) : 0;
	pixDestroy(&binary);
	if (height >= DENOISE_TEXT_HEIGHT)
	{
		pixCopy(gray, smooth);
		report->denoised = true;
	}
	pixDestroy(&smooth);
}

/* The page's background normalised if it is uneven or dark, else the page itself (a new reference) */
static PIX *
normalize_if_needed(PIX *gray, PrepareReport *report)
{
	PIX		   *work;

	if (report->background_spread <= UNEVEN_BACKGROUND && report->background_level >= DARK_BACKGROUND)
		return pixClone(gray);
	work = pixBackgroundNormSimple(gray, NULL, NULL);
	if (work == NULL)
		return pixClone(gray);
	report->normalized = true;
	return work;
}

/*
 * Upscale the page if its text is too small for tesseract's page layout
 * (it wants characters ~20-30 pixels high): the gray page is scaled, then
 * normalised again if it was, since normalising at low resolution first
 * loses strokes (the 75 dpi test page: 1.2 % errors against 0.4 %).
 */
static PIX *
upscale_if_small(PIX *gray, PIX *work, uint64_t max_pixels, PrepareReport *report)
{
	PIX		   *binary = engine_binarize(work, false);
	int			text_height = binary ? engine_text_height(binary) : 0;
	float		scale;
	double		pixels;
	PIX		   *scaled;
	l_int32		xres,
				yres;

	pixDestroy(&binary);
	report->text_height = text_height;
	if (text_height <= 0 || text_height >= UPSCALE_TEXT_HEIGHT)
		return work;
	scale = fminf((float) TARGET_TEXT_HEIGHT / (float) text_height, MAX_UPSCALE);
	pixels = (double) pixGetWidth(gray) * pixGetHeight(gray) * scale * scale;
	if (pixels > (double) max_pixels)
		scale = (float) sqrt((double) max_pixels / ((double) pixGetWidth(gray) * pixGetHeight(gray)));
	scaled = scale > 1.1f ? pixScale(gray, scale, scale) : NULL;
	if (scaled == NULL)
		return work;
	pixGetResolution(gray, &xres, &yres);
	if (xres > 0 && yres > 0)
		pixSetResolution(scaled, (l_int32) lroundf(xres * scale), (l_int32) lroundf(yres * scale));
	report->scale = scale;
	pixDestroy(&work);
	if (report->normalized)
	{
		work = pixBackgroundNormSimple(scaled, NULL, NULL);
		if (work != NULL)
		{
			pixDestroy(&scaled);
			return work;
		}
	}
	return scaled;
}

/* Turn the page (and its gray original) upright if orientation detection says it is not */
static PIX *
orient_page(PIX *page, PIX **gray, OrientMode mode, PrepareReport *report)
{
	double		start = engine_now();
	PIX		   *turned;

	report->orientation_checked = engine_detect_orientation(page, mode, &report->rotation,
															&report->rotation_confidence,
															&report->orientation_full_pass,
															&report->orientation_deferred);
	report->orientation_seconds += engine_now() - start;
	if (report->rotation == 0)
		return page;
	turned = pixRotateOrth(page, report->rotation / 90);
	if (turned == NULL)
	{
		report->rotation = 0;
		return page;
	}
	pixDestroy(&page);
	if (*gray != NULL)
	{
		PIX		   *g = pixRotateOrth(*gray, report->rotation / 90);

		pixDestroy(gray);
		*gray = g;
	}
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
 * Return the page as tesseract should see it, and what was done to it
 * (orient: how orientation detection runs).
 * With OCR_PREPROCESS: grayscale, background normalised if the page needs
 * it (uneven or dark) and denoised if it is noisy; with OCR_ORIENT, turned
 * upright; with OCR_PREPROCESS again, upscaled if its text is too small
 * (measured on the upright page: a page on its side has its characters'
 * widths for heights; if orientation detection found no text, it looks
 * again at the upscaled page) and deskewed.  The report's geometry maps boxes on the result back to
 * the page: upscaling after the quarter turn is the same as before it.
 */
PIX *
engine_prepare_page(PIX *page, uint32_t flags, OrientMode orient, uint64_t max_pixels, PrepareReport *report)
{
	double		start = engine_now();
	PIX		   *gray = NULL;
	PIX		   *work;
	bool		sideways;

	memset(report, 0, sizeof(*report));
	report->scale = 1;
	report->geometry.width = pixGetWidth(page);
	report->geometry.height = pixGetHeight(page);

	if (flags & OCR_PREPROCESS)
	{
		/*
		 * grayscale: colour carries nothing for recognition, and a binary
		 * page turns gray too, so that deskewing interpolates instead of
		 * shearing
		 */
		gray = pixConvertTo8(page, 0);
		if (gray == NULL)
			engine_fail("22P03", NULL, "the image could not be converted to grayscale");
		report->grayscale = pixGetDepth(page) != 8 || pixGetColormap(page) != NULL;
		analyse_page(gray, report);
		denoise_if_noisy(gray, report);
		work = normalize_if_needed(gray, report);
	}
	else
		work = pixClone(page);
	if (flags & OCR_ORIENT)
		work = orient_page(work, &gray, orient, report);
	if (flags & OCR_PREPROCESS)
	{
		work = upscale_if_small(gray, work, max_pixels, report);
		/* text too small for orientation detection to find: try again at its new size */
		if ((flags & OCR_ORIENT) && !report->orientation_checked && report->scale > 1)
			work = orient_page(work, &gray, orient, report);
		work = deskew_page(work, report);
	}
	report->geometry.rotation = report->rotation;
	pixDestroy(&gray);
	sideways = report->rotation == 90 || report->rotation == 270;
	if (report->scale == 1)
	{
		report->geometry.scaled_width = report->geometry.width;
		report->geometry.scaled_height = report->geometry.height;
	}
	else if (sideways)
	{
		report->geometry.scaled_width = pixGetHeight(work);
		report->geometry.scaled_height = pixGetWidth(work);
	}
	else
	{
		report->geometry.scaled_width = pixGetWidth(work);
		report->geometry.scaled_height = pixGetHeight(work);
	}
	report->geometry.skew = report->skew;

	report->seconds = engine_now() - start;
	return work;
}
