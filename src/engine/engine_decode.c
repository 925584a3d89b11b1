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

/* The JPEG markers that end the search for EXIF: start of scan, end of image */
#define JPEG_SOS 0xDA
#define JPEG_EOI 0xD9
/* The EXIF tag of the orientation, in IFD0 */
#define EXIF_ORIENTATION_TAG 0x0112
#define TIFF_SHORT 3

/* A 16- or 32-bit value of the TIFF structure inside an EXIF segment */
static uint32_t
exif_value(const unsigned char *p, int bytes, bool big_endian)
{
	uint32_t	v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint32_t) p[big_endian ? i : bytes - 1 - i] << (8 * (bytes - 1 - i));
	return v;
}

/* The Orientation of an EXIF segment's TIFF structure (tiff, len bytes), 1 if none */
static int
exif_tiff_orientation(const unsigned char *tiff, size_t len)
{
	bool		big_endian;
	uint32_t	ifd;
	uint32_t	entries;

	if (len < 8)
		return 1;
	if (tiff[0] == 'M' && tiff[1] == 'M')
		big_endian = true;
	else if (tiff[0] == 'I' && tiff[1] == 'I')
		big_endian = false;
	else
		return 1;
	if (exif_value(tiff + 2, 2, big_endian) != 42)
		return 1;
	ifd = exif_value(tiff + 4, 4, big_endian);
	if (ifd > len - 2)
		return 1;
	entries = exif_value(tiff + ifd, 2, big_endian);
	for (uint32_t i = 0; i < entries; i++)
	{
		size_t		at = (size_t) ifd + 2 + (size_t) i * 12;
		uint32_t	value;

		if (at + 12 > len)
			break;
		if (exif_value(tiff + at, 2, big_endian) != EXIF_ORIENTATION_TAG)
			continue;
		if (exif_value(tiff + at + 2, 2, big_endian) != TIFF_SHORT ||
			exif_value(tiff + at + 4, 4, big_endian) != 1)
			return 1;
		/* a SHORT sits in the first two bytes of the value field */
		value = exif_value(tiff + at + 8, 2, big_endian);
		return value >= 1 && value <= 8 ? (int) value : 1;
	}
	return 1;
}

/* The EXIF Orientation (1-8) of a JPEG file, 1 when it has none or is not a JPEG */
int
engine_exif_orientation(const unsigned char *data, size_t len)
{
	size_t		at = 2;

	if (len < 4 || data[0] != 0xFF || data[1] != 0xD8)
		return 1;
	/* the segments before the scan: marker, 16-bit length (itself included), payload */
	while (at + 4 <= len)
	{
		unsigned	marker;
		size_t		size;

		if (data[at] != 0xFF)
			return 1;
		marker = data[at + 1];
		if (marker == 0xFF)
		{
			at++;				/* fill byte */
			continue;
		}
		if (marker == JPEG_SOS || marker == JPEG_EOI)
			return 1;
		if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
		{
			at += 2;			/* markers without a length */
			continue;
		}
		size = (size_t) data[at + 2] << 8 | data[at + 3];
		if (size < 2 || at + 2 + size > len)
			return 1;
		if (marker == 0xE1 && size >= 2 + 6 + 8 && memcmp(data + at + 4, "Exif\0\0", 6) == 0)
			return exif_tiff_orientation(data + at + 10, size - 8);
		at += 2 + size;
	}
	return 1;
}

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
			int			exif = engine_exif_orientation(data, len);

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
