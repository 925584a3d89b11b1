/*
 * Decoding an image into its pages, as the engine does and as the decode
 * fuzzer (test/fuzz/fuzz_decode.c) exercises it.  No engine state here, so
 * that the fuzzer links this file alone.
 *
 * A multi-page TIFF is read one directory at a time, at most max_pages:
 * leptonica's pixaReadMemMultipageTiff loops forever on some 500-byte files
 * whose directory chain libtiff cannot follow (found by the fuzzer).
 *
 * A JPEG's pixels are stored as the camera held them; its EXIF Orientation
 * tag says how to turn them for display, and leptonica ignores it.  The page
 * is turned here, so that everything after (recognition, boxes, page size,
 * recompression) sees the image as a viewer shows it.  Leptonica applies a
 * TIFF's own Orientation tag itself.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <leptonica/allheaders.h>

#include "engine_decode.h"
#include "client/image_probe.h"

/*
 * The page turned as EXIF orientation says a viewer shows it (a new PIX), or
 * NULL if leptonica cannot.  2: mirrored, 3: upside down, 4: flipped, 5:
 * transposed, 6: to be turned 90 degrees clockwise, 7: transversed, 8: to
 * be turned 90 degrees counter-clockwise.
 */
PIX *
engine_apply_orientation(PIX *pix, int orientation)
{
	PIX		   *turned;
	PIX		   *result;

	switch (orientation)
	{
		case 2:
			return pixFlipLR(NULL, pix);
		case 3:
			return pixRotate180(NULL, pix);
		case 4:
			return pixFlipTB(NULL, pix);
		case 5:
		case 7:
			turned = pixRotate90(pix, 1);
			if (turned == NULL)
				return NULL;
			result = orientation == 5 ? pixFlipLR(NULL, turned) : pixFlipTB(NULL, turned);
			pixDestroy(&turned);
			break;
		case 6:
			result = pixRotate90(pix, 1);
			break;
		case 8:
			result = pixRotate90(pix, -1);
			break;
		default:
			return pixCopy(NULL, pix);
	}
	/* a quarter turn swaps the resolutions too */
	if (result != NULL)
		pixSetResolution(result, pixGetYRes(pix), pixGetXRes(pix));
	return result;
}

/*
 * The pages of an image, or NULL if none decodes; *format gets leptonica's
 * format and *orientation the EXIF orientation the page was turned by (1:
 * none).
 */
PIXA *
engine_decode_pages(const unsigned char *data, size_t len, unsigned max_pages, int *format,
					int *orientation)
{
	PIXA	   *pages;
	l_int32		f = IFF_UNKNOWN;

	*format = IFF_UNKNOWN;
	*orientation = 1;
	if (len < 12 || findFileFormatBuffer(data, &f) != 0 || f == IFF_UNKNOWN)
		return NULL;
	*format = f;
	pages = pixaCreate(1);
	if (L_FORMAT_IS_TIFF(f))
	{
		for (unsigned i = 0; i < max_pages; i++)
		{
			PIX		   *pix = pixReadMemTiff(data, len, (l_int32) i);

			if (pix == NULL)
				break;
			pixaAddPix(pages, pix, L_INSERT);
		}
	}
	else
	{
		PIX		   *pix = pixReadMem(data, len);

		if (pix != NULL && f == IFF_JFIF_JPEG)
		{
			int			exif = scribe_jpeg_exif_orientation(data, len);

			if (exif != 1)
			{
				PIX		   *turned = engine_apply_orientation(pix, exif);

				pixDestroy(&pix);
				pix = turned;
				*orientation = exif;
			}
		}
		if (pix != NULL)
			pixaAddPix(pages, pix, L_INSERT);
	}
	if (pixaGetCount(pages) == 0)
		pixaDestroy(&pages);
	return pages;
}
