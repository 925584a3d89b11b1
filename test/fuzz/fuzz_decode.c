/*
 * fuzz_decode.c — libFuzzer target for the decode path: what the header
 * probe accepts is decoded by leptonica, as the OCR engine does, and the
 * decoded pages must be what the header promised (no page with more pixels
 * than the probe's largest), so that the backend's limits hold.  Leptonica's own crashes
 * would end only the engine process; this target finds them, and any input
 * where the probe and the decoder disagree.
 */
#include "image_probe.h"
#include "engine_decode.h"

#include <leptonica/allheaders.h>
#include <stdio.h>
#include <stdlib.h>

/* Decode no more than this: the backend's default is 100 million, fuzzing wants speed */
#define FUZZ_MAX_PIXELS (4u * 1024 * 1024)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int			LLVMFuzzerInitialize(int *argc, char ***argv);

/* Silence leptonica's error messages: they are expected on bad input */
static void
quiet(const char *msg)
{
	(void) msg;
}

/* Keep leptonica quiet */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	leptSetStderrHandler(quiet);
	return 0;
}

/* Probe, then decode what the probe accepts, and compare */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ScribeImageInfo info;
	l_int32		format;
	int			orientation;
	PIXA	   *pages = NULL;

	if (scribe_image_probe(data, size, 8, &info) != PROBE_OK ||
		(uint64_t) info.width * info.height > FUZZ_MAX_PIXELS)
		return 0;
	pages = engine_decode_pages(data, size, info.pages + 1, &format, &orientation);
	if (orientation < 1 || orientation > 8)
	{
		fprintf(stderr, "EXIF orientation %d is not 1-8\n", orientation);
		abort();
	}
	for (int i = 0; pages && i < pixaGetCount(pages); i++)
	{
		PIX		   *pix = pixaGetPix(pages, i, L_CLONE);
		uint64_t	pixels = (uint64_t) pixGetWidth(pix) * (uint64_t) pixGetHeight(pix);

		/* the limit the backend checks: pixels of the largest page */
		if (pixels > (uint64_t) info.width * info.height)
		{
			fprintf(stderr, "decoded page %d is %dx%d, more pixels than the largest page of the header, %ux%u\n",
					i + 1, pixGetWidth(pix), pixGetHeight(pix), info.width, info.height);
			abort();
		}
		if ((uint32_t) i >= info.pages)
		{
			fprintf(stderr, "decoded %d pages, the header said %u\n", pixaGetCount(pages), info.pages);
			abort();
		}
		pixDestroy(&pix);
	}
	pixaDestroy(&pages);
	return 0;
}
