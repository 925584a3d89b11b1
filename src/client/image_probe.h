/*
 * image_probe.h — identify an untrusted image and read its dimensions from
 * the header alone, before anything decodes it.
 *
 * Plain C99 with no PostgreSQL headers: it is compiled into the extension
 * and into the standalone fuzzer in test/fuzz.  It allocates nothing, keeps
 * no state, and reads only inside [data, data + len).
 *
 * The probe reports what the header claims; the caller compares
 * total_pixels and pages with its own limits, so a decompression bomb is
 * refused before a decoder allocates anything.
 */
#ifndef SCRIBE_IMAGE_PROBE_H
#define SCRIBE_IMAGE_PROBE_H

#include <stddef.h>
#include <stdint.h>

typedef enum ScribeImageFormat
{
	IMAGE_UNKNOWN = 0,
	IMAGE_PNG,
	IMAGE_JPEG,
	IMAGE_TIFF,
	IMAGE_BMP,
	IMAGE_PNM,
	IMAGE_GIF,
	IMAGE_WEBP,
	IMAGE_PDF
} ScribeImageFormat;

typedef enum ScribeProbeStatus
{
	PROBE_OK = 0,
	PROBE_EMPTY,				/* zero bytes */
	PROBE_UNKNOWN_FORMAT,		/* no signature we know */
	PROBE_UNSUPPORTED_FORMAT,	/* recognised but not an image we decode:
								 * PDF, PostScript, JPEG 2000, HEIC/AVIF,
								 * SVG/XML, BigTIFF, PAM, and what this
								 * leptonica cannot read: lossless or
								 * 12-bit JPEG, compressed or OS/2 BMP,
								 * animated WebP */
	PROBE_TRUNCATED,			/* the file ends before the header does, or
								 * before an uncompressed BMP/PNM raster */
	PROBE_CORRUPT,				/* the header is inconsistent */
	PROBE_ZERO_SIZE,			/* width or height is 0 */
	PROBE_TOO_MANY_PAGES		/* more than max_pages TIFF directories */
} ScribeProbeStatus;

/*
 * What the header says.  On PROBE_OK every field is filled in and width,
 * height and pages are at least 1.  On failure only format (when it was
 * recognised) and detail are meaningful.
 */
typedef struct ScribeImageInfo
{
	ScribeImageFormat format;
	uint32_t	width;			/* of the largest page */
	uint32_t	height;
	uint32_t	pages;			/* 1 except multi-page TIFF; an animated GIF
								 * or WebP counts 1: only the first frame is
								 * read */
	uint64_t	total_pixels;	/* sum of width * height over all pages,
								 * saturating at UINT64_MAX */
	uint16_t	bits_per_pixel; /* best effort, 0 if unknown */
	uint32_t	x_dpi;			/* 0 when the file does not say */
	uint32_t	y_dpi;
	uint8_t		orientation;	/* a JPEG's EXIF Orientation, 1-8 (1: as
								 * stored); 5-8 are turned a quarter: width
								 * and height above are the page as shown */
	char		detail[128];	/* on failure: what exactly is wrong */
} ScribeImageInfo;

/*
 * Probe len bytes at data.  max_pages bounds the TIFF directory walk
 * (0 means no limit beyond the probe's own work bound).  info is always
 * written.  Safe on any input, including data == NULL with len == 0.
 */
ScribeProbeStatus scribe_image_probe(const unsigned char *data, size_t len,
									 uint32_t max_pages, ScribeImageInfo *info);

/* image_exif.c: a JPEG file's EXIF Orientation (1-8), 1 when it has none or is not a JPEG */
int			scribe_jpeg_exif_orientation(const unsigned char *data, size_t len);

/* Lower-case short name of a format: "png", "jpeg", "tiff", ... */
const char *scribe_image_format_name(ScribeImageFormat f);

/* Short name of a status, for messages and tests: "ok", "truncated", ... */
const char *scribe_probe_status_name(ScribeProbeStatus s);

#endif							/* SCRIBE_IMAGE_PROBE_H */
