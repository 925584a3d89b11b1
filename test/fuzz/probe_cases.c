/*
 * probe_cases.c — table-driven regression test for scribe_image_probe().
 *
 *   probe_cases REPO_ROOT
 *
 * Every file of test/fixtures/bad and test/fuzz/corpus must have a row in
 * the table below (a new fixture without one fails the run), and probing
 * it must give exactly the row's status, format and, for PROBE_OK, size,
 * pages, bits per pixel and dpi.  Each seed's prefixes must come out as
 * PROBE_OK with the same size or as PROBE_TRUNCATED, never anything else.
 * Ends with "N passed, N failed"; exits 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include "image_probe.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The page limit every case is probed with */
#define CASES_MAX_PAGES 10

/* What probing one file must give; size fields are checked on PROBE_OK only. */
typedef struct ProbeCase
{
	const char *path;			/* relative to the repository root */
	ScribeProbeStatus status;
	ScribeImageFormat format;
	uint32_t	width, height, pages;
	uint16_t	bits_per_pixel;
	uint32_t	dpi;			/* x and y alike */
} ProbeCase;

/* A row for a file the probe refuses: no size to compare */
#define REFUSED(path, status, format) {path, status, format, 0, 0, 0, 0, 0}

#define BAD "test/fixtures/bad/"
#define SEED "test/fuzz/corpus/"

static const ProbeCase cases[] = {
	/* ---- seeds: valid images, decodable by leptonica ---- */
	{SEED "png-gray8-3x2-300dpi.png", PROBE_OK, IMAGE_PNG, 3, 2, 1, 8, 300},
	{SEED "png-rgba16-2x2.png", PROBE_OK, IMAGE_PNG, 2, 2, 1, 64, 0},
	{SEED "png-palette4-5x3.png", PROBE_OK, IMAGE_PNG, 5, 3, 1, 4, 0},
	{SEED "jpeg-gray-16x8-72dpi.jpg", PROBE_OK, IMAGE_JPEG, 16, 8, 1, 8, 72},
	{SEED "jpeg-ycc-8x16-300dpi.jpg", PROBE_OK, IMAGE_JPEG, 8, 16, 1, 24, 300},
	{SEED "tiff-le-3pages.tif", PROBE_OK, IMAGE_TIFF, 8, 2, 3, 8, 0},
	{SEED "tiff-be-rgb-3x2-72dpi.tif", PROBE_OK, IMAGE_TIFF, 3, 2, 1, 24, 72},
	{SEED "bmp-24bit-3x2-72dpi.bmp", PROBE_OK, IMAGE_BMP, 3, 2, 1, 24, 72},
	{SEED "bmp-8bit-topdown-4x2.bmp", PROBE_OK, IMAGE_BMP, 4, 2, 1, 8, 0},
	{SEED "pnm-p1-4x2.pbm", PROBE_OK, IMAGE_PNM, 4, 2, 1, 1, 0},
	{SEED "pnm-p2-3x1.pgm", PROBE_OK, IMAGE_PNM, 3, 1, 1, 8, 0},
	{SEED "pnm-p3-2x1.ppm", PROBE_OK, IMAGE_PNM, 2, 1, 1, 24, 0},
	{SEED "pnm-p4-16x4.pbm", PROBE_OK, IMAGE_PNM, 16, 4, 1, 1, 0},
	{SEED "pnm-p5-3x2.pgm", PROBE_OK, IMAGE_PNM, 3, 2, 1, 8, 0},
	{SEED "pnm-p6-16bit-2x1.ppm", PROBE_OK, IMAGE_PNM, 2, 1, 1, 48, 0},
	{SEED "gif89a-1x1.gif", PROBE_OK, IMAGE_GIF, 1, 1, 1, 1, 0},
	{SEED "gif87a-3x2.gif", PROBE_OK, IMAGE_GIF, 3, 2, 1, 1, 0},
	{SEED "webp-vp8-1x1.webp", PROBE_OK, IMAGE_WEBP, 1, 1, 1, 24, 0},
	{SEED "webp-vp8l-1x1.webp", PROBE_OK, IMAGE_WEBP, 1, 1, 1, 32, 0},
	{SEED "webp-vp8x-alpha-1x1.webp", PROBE_OK, IMAGE_WEBP, 1, 1, 1, 32, 0},

	/* ---- the brief's bad fixtures ---- */
	REFUSED(BAD "empty.png", PROBE_EMPTY, IMAGE_UNKNOWN),
	REFUSED(BAD "truncated.png", PROBE_TRUNCATED, IMAGE_PNG),
	/* uploads cut short after a sound header: found without decoding */
	REFUSED(BAD "jpeg-cut-in-scan.jpg", PROBE_TRUNCATED, IMAGE_JPEG),
	REFUSED(BAD "png-cut-in-idat.png", PROBE_TRUNCATED, IMAGE_PNG),
	REFUSED(BAD "tiff-strip-past-end.tif", PROBE_TRUNCATED, IMAGE_TIFF),
	REFUSED(BAD "webp-cut-short.webp", PROBE_TRUNCATED, IMAGE_WEBP),
	REFUSED(BAD "corrupt.jpg", PROBE_CORRUPT, IMAGE_JPEG),
	REFUSED(BAD "zero-width.png", PROBE_ZERO_SIZE, IMAGE_PNG),
	/* headers the caller must refuse by its pixel limit: the probe says OK */
	{BAD "huge-dimensions.png", PROBE_OK, IMAGE_PNG, 100000, 100000, 1, 24, 0},
	{BAD "bomb.tiff", PROBE_OK, IMAGE_TIFF, 60000, 60000, 1, 8, 0},
	REFUSED(BAD "loop.tiff", PROBE_CORRUPT, IMAGE_TIFF),
	REFUSED(BAD "document.pdf", PROBE_UNSUPPORTED_FORMAT, IMAGE_PDF),
	REFUSED(BAD "not-an-image.txt", PROBE_UNKNOWN_FORMAT, IMAGE_UNKNOWN),

	/* ---- more ways to be wrong ---- */
	REFUSED(BAD "png-ihdr-only.png", PROBE_TRUNCATED, IMAGE_PNG),
	REFUSED(BAD "png-rgb-depth4.png", PROBE_CORRUPT, IMAGE_PNG),
	REFUSED(BAD "png-crlf-mangled.png", PROBE_CORRUPT, IMAGE_PNG),
	REFUSED(BAD "png-idat-before-ihdr.png", PROBE_CORRUPT, IMAGE_PNG),
	REFUSED(BAD "jpeg-height0-dnl.jpg", PROBE_ZERO_SIZE, IMAGE_JPEG),
	REFUSED(BAD "jpeg-segment-overruns-file.jpg", PROBE_TRUNCATED, IMAGE_JPEG),
	REFUSED(BAD "jpeg-eoi-before-frame.jpg", PROBE_CORRUPT, IMAGE_JPEG),
	REFUSED(BAD "jpeg-lossless-sof3.jpg", PROBE_UNSUPPORTED_FORMAT, IMAGE_JPEG),
	REFUSED(BAD "bigtiff.tif", PROBE_UNSUPPORTED_FORMAT, IMAGE_TIFF),
	REFUSED(BAD "tiff-two-page-loop.tif", PROBE_CORRUPT, IMAGE_TIFF),
	REFUSED(BAD "tiff-duplicate-image-length.tif", PROBE_CORRUPT, IMAGE_TIFF),
	REFUSED(BAD "tiff-next-ifd-past-end.tif", PROBE_TRUNCATED, IMAGE_TIFF),
	REFUSED(BAD "tiff-12-pages.tif", PROBE_TOO_MANY_PAGES, IMAGE_TIFF),
	REFUSED(BAD "tiff-no-image-width.tif", PROBE_CORRUPT, IMAGE_TIFF),
	REFUSED(BAD "bmp-height-int32-min.bmp", PROBE_CORRUPT, IMAGE_BMP),
	REFUSED(BAD "bmp-raster-missing.bmp", PROBE_TRUNCATED, IMAGE_BMP),
	REFUSED(BAD "bmp-os2-core-header.bmp", PROBE_UNSUPPORTED_FORMAT, IMAGE_BMP),
	REFUSED(BAD "bmp-rle8.bmp", PROBE_UNSUPPORTED_FORMAT, IMAGE_BMP),
	REFUSED(BAD "pnm-width-overflow.pgm", PROBE_CORRUPT, IMAGE_PNM),
	REFUSED(BAD "pnm-raster-missing.ppm", PROBE_TRUNCATED, IMAGE_PNM),
	REFUSED(BAD "pam-p7.pam", PROBE_UNSUPPORTED_FORMAT, IMAGE_PNM),
	REFUSED(BAD "gif-zero-size.gif", PROBE_ZERO_SIZE, IMAGE_GIF),
	REFUSED(BAD "webp-animated.webp", PROBE_UNSUPPORTED_FORMAT, IMAGE_WEBP),
	REFUSED(BAD "postscript.ps", PROBE_UNSUPPORTED_FORMAT, IMAGE_UNKNOWN),
	REFUSED(BAD "photo.heic", PROBE_UNSUPPORTED_FORMAT, IMAGE_UNKNOWN),
	REFUSED(BAD "photo.avif", PROBE_UNSUPPORTED_FORMAT, IMAGE_UNKNOWN),
	REFUSED(BAD "scan.jp2", PROBE_UNSUPPORTED_FORMAT, IMAGE_UNKNOWN),
	REFUSED(BAD "drawing.svg", PROBE_UNSUPPORTED_FORMAT, IMAGE_UNKNOWN),
	REFUSED(BAD "pdf-after-junk.pdf", PROBE_UNSUPPORTED_FORMAT, IMAGE_PDF),
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static int	passed;
static int	failed;

/* Count a failure and say why. */
static void
fail(const char *path, const char *fmt,...)
{
	va_list		args;

	failed++;
	printf("FAIL %s: ", path);
	va_start(args, fmt);
	vprintf(fmt, args);
	va_end(args);
	printf("\n");
}

/* Read a whole file into a buffer of exactly its size; NULL if unreadable. */
static unsigned char *
read_file(const char *path, size_t *size)
{
	FILE	   *f = fopen(path, "rb");
	unsigned char *data;
	long		n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		return NULL;
	*size = (size_t) n;
	data = malloc(*size ? *size : 1);
	if (data != NULL && fread(data, 1, *size, f) != *size)
	{
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

/* Every prefix of a valid seed is PROBE_OK with the same size, or PROBE_TRUNCATED. */
static int
check_prefixes(const ProbeCase *c, const unsigned char *data, size_t size)
{
	size_t		n;

	/* Below 12 bytes a prefix may not even be recognisable */
	for (n = 12; n < size; n++)
	{
		ScribeImageInfo info;
		ScribeProbeStatus status = scribe_image_probe(data, n, CASES_MAX_PAGES, &info);

		if (status == PROBE_TRUNCATED)
			continue;
		if (status != PROBE_OK || info.width != c->width || info.height != c->height)
		{
			fail(c->path, "its %zu-byte prefix gives %s %ux%u (%s)", n, scribe_probe_status_name(status),
				 (unsigned) info.width, (unsigned) info.height, info.detail);
			return 0;
		}
	}
	return 1;
}

/* Probe one case's file and compare with its row. */
static void
run_case(const char *root, const ProbeCase *c)
{
	char		path[4096];
	size_t		size;
	unsigned char *data;
	ScribeImageInfo info;
	ScribeProbeStatus status;
	int			ok;

	snprintf(path, sizeof(path), "%s/%s", root, c->path);
	data = read_file(path, &size);
	if (data == NULL)
	{
		fail(c->path, "cannot read %s", path);
		return;
	}
	status = scribe_image_probe(data, size, CASES_MAX_PAGES, &info);
	ok = status == c->status && info.format == c->format;
	if (ok && status == PROBE_OK)
		ok = info.width == c->width && info.height == c->height && info.pages == c->pages &&
			info.bits_per_pixel == c->bits_per_pixel && info.x_dpi == c->dpi && info.y_dpi == c->dpi;
	if (!ok)
		fail(c->path, "expected %s %s %ux%u %u pages %u bpp %u dpi; got %s %s %ux%u %u pages %u bpp %u/%u dpi (%s)",
			 scribe_probe_status_name(c->status), scribe_image_format_name(c->format),
			 (unsigned) c->width, (unsigned) c->height, (unsigned) c->pages,
			 (unsigned) c->bits_per_pixel, (unsigned) c->dpi,
			 scribe_probe_status_name(status), scribe_image_format_name(info.format),
			 (unsigned) info.width, (unsigned) info.height, (unsigned) info.pages,
			 (unsigned) info.bits_per_pixel, (unsigned) info.x_dpi, (unsigned) info.y_dpi, info.detail);
	else if (status != PROBE_OK && info.detail[0] == '\0')
		fail(c->path, "%s without a detail", scribe_probe_status_name(status));
	else if (strncmp(c->path, SEED, strlen(SEED)) == 0 && !check_prefixes(c, data, size))
		;						/* check_prefixes reported it */
	else
	{
		passed++;
		printf("ok   %-48s %-18s %s\n", c->path, scribe_probe_status_name(status),
			   status == PROBE_OK ? "" : info.detail);
	}
	free(data);
}

/* Fail for each file of root/dir that has no row in the table. */
static void
check_all_listed(const char *root, const char *dir)
{
	char		path[4096];
	DIR		   *d;
	struct dirent *entry;

	snprintf(path, sizeof(path), "%s/%s", root, dir);
	d = opendir(path);
	if (d == NULL)
	{
		fail(dir, "cannot open the directory");
		return;
	}
	while ((entry = readdir(d)) != NULL)
	{
		size_t		i;

		if (entry->d_name[0] == '.' || strcmp(entry->d_name, "README") == 0)
			continue;
		snprintf(path, sizeof(path), "%s%s", dir, entry->d_name);
		for (i = 0; i < NCASES; i++)
			if (strcmp(cases[i].path, path) == 0)
				break;
		if (i == NCASES)
			fail(path, "has no row in probe_cases.c: add its expected status");
	}
	closedir(d);
}

/* Write a little-endian 16- or 32-bit value. */
static void
put_le(unsigned char *p, uint32_t value, int bytes)
{
	int			i;

	for (i = 0; i < bytes; i++)
		p[i] = (unsigned char) (value >> (8 * i));
}

/*
 * Build in buf a little-endian TIFF of npages directories of entries each
 * (ImageWidth and ImageLength 1, the rest tag 0), one after the other; the
 * last one's next pointer goes to directory loop_to, or nowhere if < 0.
 * Returns the length.
 */
static size_t
build_tiff_chain(unsigned char *buf, uint32_t npages, uint32_t entries, long loop_to)
{
	size_t		ifd_size = 2 + (size_t) entries * 12 + 4;
	uint32_t	i;

	memset(buf, 0, 8 + ifd_size * npages);
	memcpy(buf, "II*\0", 4);
	put_le(buf + 4, 8, 4);
	for (i = 0; i < npages; i++)
	{
		unsigned char *ifd = buf + 8 + ifd_size * i;
		uint32_t	next = i + 1 < npages ? (uint32_t) (8 + ifd_size * (i + 1)) :
			loop_to >= 0 ? (uint32_t) (8 + ifd_size * (size_t) loop_to) : 0;

		put_le(ifd, entries, 2);
		put_le(ifd + 2, 256, 2), put_le(ifd + 4, 3, 2), put_le(ifd + 6, 1, 4), put_le(ifd + 10, 1, 2);
		put_le(ifd + 14, 257, 2), put_le(ifd + 16, 3, 2), put_le(ifd + 18, 1, 4), put_le(ifd + 22, 1, 2);
		put_le(ifd + ifd_size - 4, next, 4);
	}
	return 8 + ifd_size * npages;
}

/* The TIFF walk's bounds without a page limit: loop detection past the tracked directories, and the work budget. */
static void
run_tiff_walk_cases(void)
{
	/* 40 directories of 65535 entries: more than the 2^21-entry budget */
	size_t		big = 8 + (2 + (size_t) 65535 * 12 + 4) * 40;
	unsigned char *buf = malloc(big);
	ScribeImageInfo info;
	ScribeProbeStatus status;
	size_t		len;

	if (buf == NULL)
	{
		fail("(tiff walk)", "out of memory");
		return;
	}
	len = build_tiff_chain(buf, 300, 2, -1);
	status = scribe_image_probe(buf, len, 0, &info);
	if (status != PROBE_OK || info.pages != 300 || info.total_pixels != 300)
		fail("(tiff walk)", "a 300-page chain gives %s, %u pages", scribe_probe_status_name(status),
			 (unsigned) info.pages);
	else
		passed++;

	/* 300 directories, the last pointing back to the 200th: past the 64 tracked ones */
	len = build_tiff_chain(buf, 300, 2, 199);
	status = scribe_image_probe(buf, len, 0, &info);
	if (status != PROBE_CORRUPT || strstr(info.detail, "loops") == NULL)
		fail("(tiff walk)", "a loop after 300 directories gives %s (%s)", scribe_probe_status_name(status),
			 info.detail);
	else
		passed++;

	len = build_tiff_chain(buf, 40, 65535, -1);
	status = scribe_image_probe(buf, len, 0, &info);
	if (status != PROBE_CORRUPT || strstr(info.detail, "entries in all") == NULL)
		fail("(tiff walk)", "2.6 million directory entries give %s (%s)", scribe_probe_status_name(status),
			 info.detail);
	else
		passed++;
	free(buf);
}

/* Probes that need no file: the empty and NULL inputs, and the names. */
static void
run_builtin_cases(void)
{
	ScribeImageInfo info;

	if (scribe_image_probe(NULL, 0, 0, &info) != PROBE_EMPTY ||
		scribe_image_probe((const unsigned char *) "x", 0, 0, &info) != PROBE_EMPTY)
		fail("(builtin)", "a 0-byte input is not PROBE_EMPTY");
	else if (strcmp(scribe_image_format_name(IMAGE_JPEG), "jpeg") != 0 ||
			 strcmp(scribe_image_format_name((ScribeImageFormat) 99), "unknown") != 0 ||
			 strcmp(scribe_probe_status_name(PROBE_TOO_MANY_PAGES), "too_many_pages") != 0)
		fail("(builtin)", "format or status names are wrong");
	else if (scribe_image_probe((const unsigned char *) "II*\0\x08\0\0\0", 8, 1, &info) != PROBE_TRUNCATED)
		fail("(builtin)", "a TIFF whose first IFD is past the end is not PROBE_TRUNCATED");
	else
		passed++;
}

/* probe_cases REPO_ROOT */
int
main(int argc, char **argv)
{
	const char *root = argc > 1 ? argv[1] : ".";
	size_t		i;

	for (i = 0; i < NCASES; i++)
		run_case(root, &cases[i]);
	run_builtin_cases();
	run_tiff_walk_cases();
	check_all_listed(root, BAD);
	check_all_listed(root, SEED);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
