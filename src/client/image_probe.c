/*
 * image_probe.c — read an untrusted image's header without decoding it.
 *
 * Every read goes through has_bytes() first, all arithmetic on sizes is
 * unsigned and widened before it can overflow, and every loop advances by
 * at least one byte (or one TIFF directory, under a work budget), so any
 * input ends in bounded time.  See image_probe.h for the contract.
 */
#include "image_probe_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Write a failure's detail and hand its status back. */
ScribeProbeStatus
scribe_probe_fail(ScribeImageInfo *info, ScribeProbeStatus status, const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	(void) vsnprintf(info->detail, sizeof(info->detail), fmt, args);
	va_end(args);
	return status;
}

/* How far into the file "%PDF-" is looked for (readers allow junk first) */
#define PDF_SCAN_BYTES 1024
/* PNG's own limit on a side: 2^31 - 1 */
#define PNG_MAX_SIDE UINT32_C(0x7FFFFFFF)

/* Whitespace as PNM and XML define it (no locale, no signed-char trap). */
static int
is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* A four-byte chunk or box type printable in a detail: 'IHDR' or 0x....... */
static void
format_fourcc(const unsigned char *p, char out[16])
{
	int			printable = 1;
	int			i;

	for (i = 0; i < 4; i++)
		if (p[i] < 0x20 || p[i] > 0x7E || p[i] == '\'')
			printable = 0;
	if (printable)
		(void) snprintf(out, 16, "'%c%c%c%c'", p[0], p[1], p[2], p[3]);
	else
		(void) snprintf(out, 16, "0x%08" PRIX32, be32(p));
}

/* Record a one-page image's size, refusing a side of 0. */
static ScribeProbeStatus
accept_single_page(ScribeImageInfo *info, uint32_t width, uint32_t height)
{
	info->width = width;
	info->height = height;
	if (width == 0 || height == 0)
		return scribe_probe_fail(info, PROBE_ZERO_SIZE, "%s image is %" PRIu32 "x%" PRIu32 ": a side is 0",
						  scribe_image_format_name(info->format), width, height);
	info->pages = 1;
	info->total_pixels = (uint64_t) width * height;
	return PROBE_OK;
}

/*
 * PNG, from the first IDAT chunk at pos on: every chunk in the file, up to
 * IEND.  An upload cut short loses its end first; finding that here, chunk
 * headers only, costs microseconds, where the decoder would find it in the
 * worker after the document was accepted.
 */
static ScribeProbeStatus
png_check_end(const unsigned char *d, size_t len, size_t pos, ScribeImageInfo *info)
{
	while (has_bytes(len, pos, 8))
	{
		uint32_t	chunk_len = be32(d + pos);

		if (chunk_len > PNG_MAX_SIDE)
			return scribe_probe_fail(info, PROBE_CORRUPT, "PNG chunk at byte %zu claims %" PRIu32 " bytes", pos, chunk_len);
		if (!has_bytes(len, pos + 8, (size_t) chunk_len + 4))
			break;
		if (memcmp(d + pos + 4, "IEND", 4) == 0)
			return PROBE_OK;
		pos += 12 + (size_t) chunk_len;
	}
	return scribe_probe_fail(info, PROBE_TRUNCATED,
							 "PNG is truncated: the file ends at byte %zu, inside its image data (no IEND chunk)", len);
}

/* PNG: signature, IHDR first, then the chunk list (pHYs for the resolution) to IEND. */
static ScribeProbeStatus
probe_png(const unsigned char *d, size_t len, ScribeImageInfo *info)
{
	uint32_t	width, height, depth, color, channels;
	size_t		pos;
	char		name[16];
	ScribeProbeStatus status;

	info->format = IMAGE_PNG;
	if (len < 8)
		return scribe_probe_fail(info, PROBE_TRUNCATED, "PNG signature is truncated at byte %zu", len);
	if (memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0)
		return scribe_probe_fail(info, PROBE_CORRUPT, "PNG signature is damaged (line endings converted in transfer?)");
	if (len < 16)
		return scribe_probe_fail(info, PROBE_TRUNCATED, "PNG IHDR chunk is truncated at byte %zu", len);
	if (memcmp(d + 12, "IHDR", 4) != 0)
	{
		format_fourcc(d + 12, name);
		return scribe_probe_fail(info, PROBE_CORRUPT, "PNG first chunk is %s, not IHDR", name);
	}
	if (be32(d + 8) != 13)
		return scribe_probe_fail(info, PROBE_CORRUPT, "PNG IHDR chunk length is %" PRIu32 ", not 13", be32(d + 8));
	if (len < 29)
		return scribe_probe_fail(info, PROBE_TRUNCATED, "PNG IHDR chunk is truncated at byte %zu", len);

	width = be32(d + 16);
	height = be32(d + 20);
	depth = d[24];
	color = d[25];
	if (width > PNG_MAX_SIDE || height > PNG_MAX_SIDE)
		return scribe_probe_fail(info, PROBE_CORRUPT, "PNG size %" PRIu32 "x%" PRIu32 " exceeds 2^31-1", width, height);
	/* Bit depths each color type allows (PNG specification, table 11.1) */
	channels = color > 6 ? 0 : (uint32_t) "\1\0\3\1\2\0\4"[color];
	if (depth == 0 || depth > 16 || (depth & (depth - 1)) != 0 || (color != 0 && color != 3 && depth < 8) ||
		(color == 3 && depth == 16))
		channels = 0;
	if (channels == 0)
		return scribe_probe_fail(info, PROBE_CORRUPT, "PNG bit depth %" PRIu32 " with color type %" PRIu32 " is invalid",
						  depth, color);
	if (d[26] != 0 || d[27] != 0 || d[28] > 1)
		return scribe_probe_fail(info, PROBE_CORRUPT,
						  "PNG IHDR compression %u, filter %u or interlace %u is invalid", d[26], d[27], d[28]);
	info->bits_per_pixel = (uint16_t) (depth * channels);
	status = accept_single_page(info, width, height);
	if (status != PROBE_OK)
		return status;

	/* Walk the chunks after IHDR (and its CRC) to the first IDAT. */
	pos = 33;
	while (has_bytes(len, pos, 8))
	{
		uint32_t	chunk_len = be32(d + pos);
		const unsigned char *type = d + pos + 4;

		if (chunk_len > PNG_MAX_SIDE)
			return scribe_probe_fail(info, PROBE_CORRUPT, "PNG chunk at byte %zu claims %" PRIu32 " bytes", pos, chunk_len);
		if (memcmp(type, "IDAT", 4) == 0)
			return png_check_end(d, len, pos, info);
		if (memcmp(type, "IEND", 4) == 0)
			return scribe_probe_fail(info, PROBE_CORRUPT, "PNG IEND at byte %zu comes before any IDAT", pos);
		if (memcmp(type, "pHYs", 4) == 0 && chunk_len == 9 &&
			has_bytes(len, pos + 8, 9) && d[pos + 16] == 1)
		{
			info->x_dpi = dpi_from_per_metre(be32(d + pos + 8));
			info->y_dpi = dpi_from_per_metre(be32(d + pos + 12));
		}
		if (!has_bytes(len, pos + 8, (size_t) chunk_len + 4))
		{
			format_fourcc(type, name);
			return scribe_probe_fail(info, PROBE_TRUNCATED,
							  "PNG chunk %s at byte %zu is truncated at byte %zu, before any IDAT", name, pos, len);
		}
		pos += 12 + (size_t) chunk_len;
	}
	return scribe_probe_fail(info, PROBE_TRUNCATED, "PNG has no IDAT chunk: the file ends at byte %zu", len);
}

/*
 * JPEG, from the segment after the frame header at pos: the segments to the
 * first scan, then an end-of-image marker after it.  Byte stuffing keeps
 * 0xFF 0xD9 out of the entropy-coded data, so the last one in the file is
 * the image's end (an EXIF thumbnail's comes before the frame header); an
 * upload cut short has none after its first scan.  One pass over the bytes,
 * no decoding.
 */
static ScribeProbeStatus
jpeg_check_end(const unsigned char *d, size_t len, size_t pos, ScribeImageInfo *info)
{
	for (;;)
	{
		uint32_t	marker;
		size_t		seg_len;

		while (pos < len && d[pos] == 0xFF)
			pos++;
		if (pos >= len)
			return scribe_probe_fail(info, PROBE_TRUNCATED, "JPEG is truncated: the file ends at byte %zu, before its image data", len);
		marker = d[pos++];
		if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
			continue;
		if (marker == 0xD9)
			return scribe_probe_fail(info, PROBE_CORRUPT, "JPEG end of image at byte %zu before any scan", pos - 2);
		if (!has_bytes(len, pos, 2) || (seg_len = be16(d + pos)) < 2 || !has_bytes(len, pos, seg_len))
			return scribe_probe_fail(info, PROBE_TRUNCATED,
									 "JPEG is truncated: segment 0xFF%02" PRIX32 " at byte %zu does not fit in the file's %zu bytes",
									 marker, pos - 2, len);
		pos += seg_len;
		if (marker == 0xDA)
			break;
		if (pos < len && d[pos] != 0xFF)
			return scribe_probe_fail(info, PROBE_CORRUPT, "JPEG has 0x%02X at byte %zu where a marker belongs", d[pos], pos);
	}
	for (size_t i = len - 1; i > pos; i--)
		if (d[i] == 0xD9 && d[i - 1] == 0xFF)
			return PROBE_OK;
	return scribe_probe_fail(info, PROBE_TRUNCATED,
							 "JPEG is truncated: the file ends at byte %zu, inside its image data (no end-of-image marker)", len);
}

/* The size of a JPEG page as a viewer shows it: EXIF orientations 5-8 turn it a quarter */
static void
jpeg_apply_orientation(const unsigned char *d, size_t len, ScribeImageInfo *info)
{
	uint32_t	swap;

	info->orientation = (uint8_t) scribe_jpeg_exif_orientation(d, len);
	if (info->orientation < 5)
		return;
	swap = info->width;
	info->width = info->height;
	info->height = swap;
	swap = info->x_dpi;
	info->x_dpi = info->y_dpi;
	info->y_dpi = swap;
}

/* JPEG: walk the marker segments from SOI to the frame header, then check the data reaches its end. */
static ScribeProbeStatus
probe_jpeg(const unsigned char *d, size_t len, ScribeImageInfo *info)
{
	size_t		pos = 2;
	ScribeProbeStatus status;

	info->format = IMAGE_JPEG;
	for (;;)
	{
		uint32_t	marker;
		size_t		seg_at, seg_len;

		if (pos >= len)
			return scribe_probe_fail(info, PROBE_TRUNCATED, "JPEG ends at byte %zu before any frame header (SOF)", len);
		if (d[pos] != 0xFF)
			return scribe_probe_fail(info, PROBE_CORRUPT, "JPEG has 0x%02X at byte %zu where a marker belongs", d[pos], pos);
		while (pos < len && d[pos] == 0xFF)
			pos++;				/* 0xFF fill bytes may precede a marker */
		if (pos >= len)
			return scribe_probe_fail(info, PROBE_TRUNCATED, "JPEG ends at byte %zu inside a marker", len);
		marker = d[pos++];
		if (marker == 0x00 || marker == 0xD8)
			return scribe_probe_fail(info, PROBE_CORRUPT, "JPEG marker 0xFF%02" PRIX32 " at byte %zu is out of place",
							  marker, pos - 2);
		if (marker == 0xD9)
			return scribe_probe_fail(info, PROBE_CORRUPT, "JPEG end of image at byte %zu before any frame header", pos - 2);
		if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
			continue;			/* TEM and RSTn stand alone, no length */

		seg_at = pos;
		if (!has_bytes(len, seg_at, 2))
			return scribe_probe_fail(info, PROBE_TRUNCATED, "JPEG segment 0xFF%02" PRIX32 " is truncated at byte %zu",
							  marker, len);
		seg_len = be16(d + seg_at);
		if (seg_len < 2)
			return scribe_probe_fail(info, PROBE_CORRUPT, "JPEG segment 0xFF%02" PRIX32 " at byte %zu has length %zu",
							  marker, seg_at - 2, seg_len);
		if (marker == 0xDA)
			return scribe_probe_fail(info, PROBE_CORRUPT, "JPEG scan at byte %zu comes before any frame header", seg_at - 2);

		/* SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC) */
		if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC)
		{
			uint32_t	precision, height, width, components;

			if (!has_bytes(len, seg_at, 8))
				return scribe_probe_fail(info, PROBE_TRUNCATED, "JPEG frame header is truncated at byte %zu", len);
			precision = d[seg_at + 2];
			height = be16(d + seg_at + 3);
			width = be16(d + seg_at + 5);
			components = d[seg_at + 7];
			if (components == 0 || seg_len != 8 + 3 * (size_t) components)
				return scribe_probe_fail(info, PROBE_CORRUPT,
								  "JPEG frame header length %zu does not fit its %" PRIu32 " components",
								  seg_len, components);
			info->bits_per_pixel = (uint16_t) (precision * components);
			if (height == 0)
				return scribe_probe_fail(info, PROBE_ZERO_SIZE,
								  "JPEG height is 0 (deferred to a DNL marker, which is not supported)");
			status = accept_single_page(info, width, height);
			/* libjpeg(-turbo 2.1) decodes 8-bit baseline, extended, progressive, arithmetic */
			if (status == PROBE_OK && marker != 0xC0 && marker != 0xC1 && marker != 0xC2 &&
				marker != 0xC9 && marker != 0xCA)
				return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT,
								  "JPEG process SOF%" PRIu32 " (lossless or hierarchical) is not supported", marker - 0xC0);
			if (status == PROBE_OK && precision != 8)
				return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT,
								  "JPEG with %" PRIu32 "-bit samples is not supported, only 8-bit", precision);
			if (status == PROBE_OK && !has_bytes(len, seg_at, seg_len))
				return scribe_probe_fail(info, PROBE_TRUNCATED, "JPEG frame header is truncated at byte %zu", len);
			if (status == PROBE_OK)
				status = jpeg_check_end(d, len, seg_at + seg_len, info);
			if (status == PROBE_OK)
				jpeg_apply_orientation(d, len, info);
			return status;
		}

		/* APP0 "JFIF\0": version(2) units(1) Xdensity(2) Ydensity(2) */
		if (marker == 0xE0 && seg_len >= 14 && has_bytes(len, seg_at, 14) &&
			memcmp(d + seg_at + 2, "JFIF\0", 5) == 0)
		{
			uint32_t	units = d[seg_at + 9];
			uint32_t	x_density = be16(d + seg_at + 10);
			uint32_t	y_density = be16(d + seg_at + 12);

			info->x_dpi = units == 1 ? x_density : units == 2 ? dpi_from_per_cm(x_density) : 0;
			info->y_dpi = units == 1 ? y_density : units == 2 ? dpi_from_per_cm(y_density) : 0;
		}
		if (!has_bytes(len, seg_at, seg_len))
			return scribe_probe_fail(info, PROBE_TRUNCATED,
							  "JPEG segment 0xFF%02" PRIX32 " at byte %zu claims %zu bytes; the file ends at byte %zu",
							  marker, seg_at - 2, seg_len, len);
		pos = seg_at + seg_len;
	}
}

/* BMP: file header, info header, and a raster that fits in the file. */
static ScribeProbeStatus
probe_bmp(const unsigned char *d, size_t len, ScribeImageInfo *info)
{
	uint32_t	header_size, pixel_offset, raw_width, raw_height, height, bpp;
	uint32_t	compression = 0;
	uint64_t	row_bits, stride, needed;
	ScribeProbeStatus status;

	info->format = IMAGE_BMP;
	if (len < 18)
		return scribe_probe_fail(info, PROBE_TRUNCATED, "BMP file header is truncated at byte %zu", len);
	pixel_offset = le32(d + 10);
	header_size = le32(d + 14);
	if (header_size != 12 && header_size != 40 && header_size != 56 &&
		header_size != 108 && header_size != 124)
		return scribe_probe_fail(info, PROBE_CORRUPT,
						  "BMP info header size %" PRIu32 " is not 12, 40, 56, 108 or 124", header_size);
	if (!has_bytes(len, 14, header_size))
		return scribe_probe_fail(info, PROBE_TRUNCATED, "BMP info header is truncated at byte %zu", len);

	if (header_size == 12)
	{
		/* OS/2 BITMAPCOREHEADER: unsigned 16-bit sides, always bottom-up */
		raw_width = le16(d + 18);
		raw_height = le16(d + 20);
		bpp = le16(d + 24);
	}
	else
	{
		raw_width = le32(d + 18);
		raw_height = le32(d + 22);
		bpp = le16(d + 28);
		compression = le32(d + 30);
		/* pixels per metre are signed; a negative one says nothing */
		if (le32(d + 38) < 0x80000000u)
			info->x_dpi = dpi_from_per_metre(le32(d + 38));
		if (le32(d + 42) < 0x80000000u)
			info->y_dpi = dpi_from_per_metre(le32(d + 42));
	}
	if (raw_width >= 0x80000000u)
		return scribe_probe_fail(info, PROBE_CORRUPT, "BMP width is negative");
	if (raw_height == 0x80000000u)
		return scribe_probe_fail(info, PROBE_CORRUPT, "BMP height -2147483648 has no absolute value");
	/* A negative height means rows are stored top-down; negate unsigned */
	height = raw_height >= 0x80000000u ? 0u - raw_height : raw_height;
	info->width = raw_width;
	info->height = height;

	/* What leptonica's BMP reader refuses, refused here with a clearer reason */
	if (header_size == 12 || header_size == 56)
		return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT,
						  "BMP with a %" PRIu32 "-byte info header is not supported (only 40, 108 or 124)", header_size);
	if (compression != 0)
		return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT,
						  "compressed BMP (compression %" PRIu32 ") is not supported, only uncompressed", compression);
	if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
		return scribe_probe_fail(info, PROBE_CORRUPT, "BMP bits per pixel %" PRIu32 " is invalid", bpp);
	info->bits_per_pixel = (uint16_t) bpp;
	status = accept_single_page(info, raw_width, height);
	if (status != PROBE_OK)
		return status;

	/*
	 * The raster must be in the file: a decoder allocates the whole image
	 * before it reads, so a 54-byte header claiming 60000x60000 would cost
	 * gigabytes.  The last row's padding may be missing.  Both sides are
	 * below 2^31 and bpp <= 32, so stride < 2^33 and needed < 2^64.
	 */
	row_bits = (uint64_t) raw_width * bpp;
	stride = (row_bits + 31) / 32 * 4;
	needed = stride * (height - 1) + (row_bits + 7) / 8;
	if (pixel_offset > len || needed > len - pixel_offset)
		return scribe_probe_fail(info, PROBE_TRUNCATED,
						  "BMP pixels need %" PRIu64 " bytes from byte %" PRIu32 "; the file has %zu",
						  needed, pixel_offset, len);
	return PROBE_OK;
}

/* Read one PNM header number after whitespace and comments. */
static ScribeProbeStatus
pnm_read_number(const unsigned char *d, size_t len, size_t *pos, uint32_t *value,
				const char *what, ScribeImageInfo *info)
{
	size_t		p = *pos, start;
	uint64_t	v = 0;

	for (;;)
	{
		while (p < len && is_space(d[p]))
			p++;
		if (p >= len || d[p] != '#')
			break;
		while (p < len && d[p] != '\n' && d[p] != '\r')
			p++;				/* a comment runs to the end of its line */
	}
	if (p >= len)
		return scribe_probe_fail(info, PROBE_TRUNCATED, "PNM header is truncated at byte %zu before the %s", len, what);
	if (d[p] < '0' || d[p] > '9')
		return scribe_probe_fail(info, PROBE_CORRUPT, "PNM %s at byte %zu is not a number", what, p);
	start = p;
	while (p < len && d[p] >= '0' && d[p] <= '9')
	{
		v = v * 10 + (uint32_t) (d[p] - '0');
		if (v > UINT32_MAX)
			return scribe_probe_fail(info, PROBE_CORRUPT, "PNM %s at byte %zu is larger than 4294967295", what, start);
		p++;
	}
	if (p >= len)
		return scribe_probe_fail(info, PROBE_TRUNCATED, "PNM header is truncated at byte %zu in the %s", len, what);
	if (!is_space(d[p]) && d[p] != '#')
		return scribe_probe_fail(info, PROBE_CORRUPT, "PNM %s is followed by 0x%02X at byte %zu", what, d[p], p);
	*value = (uint32_t) v;
	*pos = p;
	return PROBE_OK;
}

/* PNM P1-P6: ASCII header, then a raster that must fit in the file. */
static ScribeProbeStatus
probe_pnm(const unsigned char *d, size_t len, ScribeImageInfo *info)
{
	uint32_t	kind = (uint32_t) (d[1] - '0');
	int			bilevel = kind == 1 || kind == 4;
	uint32_t	channels = (kind == 3 || kind == 6) ? 3 : 1;
	uint32_t	width = 0, height = 0, maxval = 1;
	uint64_t	samples, needed;
	size_t		pos = 2;
	ScribeProbeStatus status;

	info->format = IMAGE_PNM;
	if (kind == 7)
		return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT, "PAM (P7) images are not supported");
	if ((status = pnm_read_number(d, len, &pos, &width, "width", info)) != PROBE_OK ||
		(status = pnm_read_number(d, len, &pos, &height, "height", info)) != PROBE_OK ||
		(!bilevel && (status = pnm_read_number(d, len, &pos, &maxval, "maxval", info)) != PROBE_OK))
		return status;
	if (maxval == 0 || maxval > 65535)
		return scribe_probe_fail(info, PROBE_CORRUPT, "PNM maxval %" PRIu32 " is not between 1 and 65535", maxval);
	info->bits_per_pixel = (uint16_t) (bilevel ? 1 : channels * (maxval > 255 ? 16 : 8));
	status = accept_single_page(info, width, height);
	if (status != PROBE_OK)
		return status;

	/*
	 * One whitespace byte ends the header (already seen by the reader); the
	 * raster must fit in what is left, as for BMP.  ASCII rasters need at
	 * least one byte per sample.  width * height < 2^64 always; the factor
	 * of up to 6 bytes per pixel is checked.
	 */
	pos++;
	samples = (uint64_t) width * height;
	if (kind == 4)
		needed = ((uint64_t) width + 7) / 8 * height;
	else
	{
		uint32_t	bytes_per_pixel = channels * ((kind == 5 || kind == 6) && maxval > 255 ? 2 : 1);

		needed = samples > UINT64_MAX / bytes_per_pixel ? UINT64_MAX : samples * bytes_per_pixel;
	}
	if (needed > len - pos)
		return scribe_probe_fail(info, PROBE_TRUNCATED, "PNM raster needs %" PRIu64 " bytes from byte %zu; the file has %zu",
						  needed, pos, len);
	return PROBE_OK;
}

/* GIF: logical screen, then the first image descriptor (the decoder's size). */
static ScribeProbeStatus
probe_gif(const unsigned char *d, size_t len, ScribeImageInfo *info)
{
	uint32_t	width, height, flags;
	size_t		pos = 13;

	info->format = IMAGE_GIF;
	if (len < 13)
		return scribe_probe_fail(info, PROBE_TRUNCATED, "GIF logical screen descriptor is truncated at byte %zu", len);
	width = le16(d + 6);
	height = le16(d + 8);
	flags = d[10];
	info->bits_per_pixel = 8;
	if (flags & 0x80)
	{
		info->bits_per_pixel = (uint16_t) ((flags & 7) + 1);
		pos += (size_t) 3 << ((flags & 7) + 1);	/* global color table */
	}
	/* Skip extensions (0x21 label, sub-blocks to a 0 size) to an image (0x2C) */
	while (pos < len && d[pos] == 0x21)
	{
		pos += 2;
		while (pos < len && d[pos] != 0)
			pos += (size_t) d[pos] + 1;
		pos++;
	}
	if (pos >= len)
		return scribe_probe_fail(info, PROBE_TRUNCATED, "GIF ends at byte %zu before its first image", len);
	if (d[pos] != 0x2C)
		return scribe_probe_fail(info, PROBE_CORRUPT, "GIF has 0x%02X at byte %zu where an image belongs", d[pos], pos);
	if (!has_bytes(len, pos, 10))
		return scribe_probe_fail(info, PROBE_TRUNCATED, "GIF image descriptor is truncated at byte %zu", len);
	/* Decoders allocate the frame's own size, which may exceed the screen */
	if (le16(d + pos + 5) > width)
		width = le16(d + pos + 5);
	if (le16(d + pos + 7) > height)
		height = le16(d + pos + 7);
	return accept_single_page(info, width, height);
}

/* WebP: RIFF header, then a VP8, VP8L or VP8X first chunk. */
static ScribeProbeStatus
probe_webp_header(const unsigned char *d, size_t len, ScribeImageInfo *info)
{
	const unsigned char *chunk = d + 20;
	char		name[16];

	info->format = IMAGE_WEBP;
	if (len < 20)
		return scribe_probe_fail(info, PROBE_TRUNCATED, "WebP first chunk header is truncated at byte %zu", len);

	if (memcmp(d + 12, "VP8 ", 4) == 0)
	{
		if (len < 30)
			return scribe_probe_fail(info, PROBE_TRUNCATED, "WebP VP8 frame header is truncated at byte %zu", len);
		if ((chunk[0] & 1) != 0 || memcmp(chunk + 3, "\x9d\x01\x2a", 3) != 0)
			return scribe_probe_fail(info, PROBE_CORRUPT, "WebP VP8 data does not start with a key frame");
		info->bits_per_pixel = 24;
		return accept_single_page(info, le16(chunk + 6) & 0x3FFF, le16(chunk + 8) & 0x3FFF);
	}
	if (memcmp(d + 12, "VP8L", 4) == 0)
	{
		uint32_t	bits;

		if (len < 25)
			return scribe_probe_fail(info, PROBE_TRUNCATED, "WebP VP8L header is truncated at byte %zu", len);
		bits = le32(chunk + 1);
		if (chunk[0] != 0x2F || (bits >> 29) != 0)
			return scribe_probe_fail(info, PROBE_CORRUPT, "WebP VP8L signature or version is invalid");
		info->bits_per_pixel = 32;
		return accept_single_page(info, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
	}
	if (memcmp(d + 12, "VP8X", 4) == 0)
	{
		if (len < 30)
			return scribe_probe_fail(info, PROBE_TRUNCATED, "WebP VP8X header is truncated at byte %zu", len);
		if (chunk[0] & 0x02)
			return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT, "animated WebP is not supported");
		info->bits_per_pixel = (chunk[0] & 0x10) ? 32 : 24;
		/* The container allows 2^24 a side, but at most 2^32-1 pixels */
		if ((uint64_t) (le24(chunk + 4) + 1) * (le24(chunk + 7) + 1) > UINT32_MAX)
			return scribe_probe_fail(info, PROBE_CORRUPT, "WebP canvas %" PRIu32 "x%" PRIu32 " exceeds 2^32-1 pixels",
							  le24(chunk + 4) + 1, le24(chunk + 7) + 1);
		return accept_single_page(info, le24(chunk + 4) + 1, le24(chunk + 7) + 1);
	}
	format_fourcc(d + 12, name);
	return scribe_probe_fail(info, PROBE_CORRUPT, "WebP first chunk %s is not VP8, VP8L or VP8X", name);
}

/* WebP: the first chunk's header, then the file's length against the RIFF header's. */
static ScribeProbeStatus
probe_webp(const unsigned char *d, size_t len, ScribeImageInfo *info)
{
	ScribeProbeStatus status = probe_webp_header(d, len, info);

	/* the RIFF header gives the file's length: an upload cut short is shorter */
	if (status == PROBE_OK && (uint64_t) le32(d + 4) + 8 > len)
		return scribe_probe_fail(info, PROBE_TRUNCATED, "WebP is truncated: its RIFF header claims %" PRIu64 " bytes; the file has %zu",
								 (uint64_t) le32(d + 4) + 8, len);
	return status;
}

/* True when needle occurs in the first limit bytes of d. */
static int
starts_within(const unsigned char *d, size_t len, size_t limit, const char *needle)
{
	size_t		n = strlen(needle);
	size_t		i;

	for (i = 0; i < limit && has_bytes(len, i, n); i++)
		if (memcmp(d + i, needle, n) == 0)
			return 1;
	return 0;
}

/* Recognise documents and images we refuse: PDF, PostScript, JPEG 2000, ISO media, XML. */
static ScribeProbeStatus
probe_unsupported(const unsigned char *d, size_t len, ScribeImageInfo *info)
{
	size_t		pos = 0;

	if (len >= 12 && memcmp(d, "\0\0\0\x0cjP  \r\n\x87\n", 12) == 0)
		return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT, "JPEG 2000 (JP2) images are not supported");
	if (len >= 4 && memcmp(d, "\xff\x4f\xff\x51", 4) == 0)
		return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT, "JPEG 2000 codestreams are not supported");
	if (len >= 12 && memcmp(d + 4, "ftyp", 4) == 0)
	{
		const unsigned char *brand = d + 8;

		if (memcmp(brand, "avif", 4) == 0 || memcmp(brand, "avis", 4) == 0)
			return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT, "AVIF images are not supported");
		if (memcmp(brand, "hei", 3) == 0 || memcmp(brand, "hev", 3) == 0 ||
			memcmp(brand, "mif1", 4) == 0 || memcmp(brand, "msf1", 4) == 0)
			return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT, "HEIC/HEIF images are not supported");
		return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT, "ISO media files (MP4, QuickTime) are not images");
	}
	if (len >= 4 && (memcmp(d, "%!PS", 4) == 0 || memcmp(d, "\xc5\xd0\xd3\xc6", 4) == 0))
		return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT, "PostScript documents are not supported");
	if (starts_within(d, len, PDF_SCAN_BYTES, "%PDF-"))
	{
		info->format = IMAGE_PDF;
		return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT,
						  "PDF documents are not supported: convert the pages to images first");
	}
	if (len >= 3 && memcmp(d, "\xef\xbb\xbf", 3) == 0)
		pos = 3;				/* UTF-8 byte order mark */
	while (pos < len && is_space(d[pos]))
		pos++;
	if (pos < len && d[pos] == '<')
	{
		if (starts_within(d, len, PDF_SCAN_BYTES, "<svg"))
			return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT, "SVG images are not supported");
		return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT, "XML or HTML text is not an image");
	}
	return PROBE_UNKNOWN_FORMAT;
}

/* Identify the image in data[0..len) and read its header into info. */
ScribeProbeStatus
scribe_image_probe(const unsigned char *data, size_t len, uint32_t max_pages, ScribeImageInfo *info)
{
	ScribeProbeStatus status;

	memset(info, 0, sizeof(*info));
	info->orientation = 1;
	if (len == 0 || data == NULL)
		return scribe_probe_fail(info, PROBE_EMPTY, "the image is empty (0 bytes)");

	if (len >= 4 && memcmp(data, "\x89PNG", 4) == 0)
		return probe_png(data, len, info);
	if (len >= 2 && data[0] == 0xFF && data[1] == 0xD8)
		return probe_jpeg(data, len, info);
	if (len >= 4 && (memcmp(data, "II*\0", 4) == 0 || memcmp(data, "MM\0*", 4) == 0 ||
					 memcmp(data, "II+\0", 4) == 0 || memcmp(data, "MM\0+", 4) == 0))
		return scribe_probe_tiff(data, len, max_pages, info);
	if (len >= 2 && data[0] == 'B' && data[1] == 'M')
		return probe_bmp(data, len, info);
	if (len >= 6 && (memcmp(data, "GIF87a", 6) == 0 || memcmp(data, "GIF89a", 6) == 0))
		return probe_gif(data, len, info);
	if (len >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
		return probe_webp(data, len, info);
	/* 'P', a kind digit, then whitespace or a comment (or nothing yet) */
	if (len >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '7' &&
		(len == 2 || is_space(data[2]) || data[2] == '#'))
		return probe_pnm(data, len, info);

	status = probe_unsupported(data, len, info);
	if (status != PROBE_UNKNOWN_FORMAT)
		return status;
	return scribe_probe_fail(info, PROBE_UNKNOWN_FORMAT,
					  "not a PNG, JPEG, TIFF, BMP, PNM, GIF or WebP image (starts with %02X %02X %02X %02X)",
					  data[0], len > 1 ? data[1] : 0, len > 2 ? data[2] : 0, len > 3 ? data[3] : 0);
}

/* Lower-case short name of a format. */
const char *
scribe_image_format_name(ScribeImageFormat f)
{
	static const char *const names[] = {"unknown", "png", "jpeg", "tiff", "bmp", "pnm", "gif", "webp", "pdf"};

	return (unsigned) f < sizeof(names) / sizeof(names[0]) ? names[f] : "unknown";
}

/* Short name of a probe status. */
const char *
scribe_probe_status_name(ScribeProbeStatus s)
{
	static const char *const names[] = {"ok", "empty", "unknown_format", "unsupported_format",
	"truncated", "corrupt", "zero_size", "too_many_pages"};

	return (unsigned) s < sizeof(names) / sizeof(names[0]) ? names[s] : "invalid";
}
