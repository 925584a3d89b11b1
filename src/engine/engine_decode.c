/*
 * Decoding an image into its pages, as the engine does and as the decode
 * fuzzer (test/fuzz/fuzz_decode.c) exercises it.  No engine state here, so
 * that the fuzzer links this file alone.
 *
 * A multi-page TIFF is read one directory at a time, at most max_pages:
 * leptonica's pixaReadMemMultipageTiff loops forever on some 500-byte files
 * whose directory chain libtiff cannot follow (found by the fuzzer).
 */
#include <leptonica/allheaders.h>

#include "engine_decode.h"

/* The pages of an image, or NULL if none decodes; *format gets leptonica's format */
PIXA *
engine_decode_pages(const unsigned char *data, size_t len, unsigned max_pages, int *format)
{
	PIXA	   *pages;
	l_int32		f = IFF_UNKNOWN;

	*format = IFF_UNKNOWN;
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

		if (pix != NULL)
			pixaAddPix(pages, pix, L_INSERT);
	}
	if (pixaGetCount(pages) == 0)
		pixaDestroy(&pages);
	return pages;
}
