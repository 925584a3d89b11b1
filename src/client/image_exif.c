/*
 * image_exif.c — a JPEG's EXIF Orientation tag: how a viewer turns the
 * stored pixels for display.  Read by the header check (the size it reports
 * is the page as shown) and by the engine's decoder (which turns the page).
 * Plain C, like the rest of the image check: the fuzzers build it alone.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "image_probe.h"

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
scribe_jpeg_exif_orientation(const unsigned char *data, size_t len)
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
