/*
 * make_fixtures.c — writes the fuzz seed corpus and the hand-made bad
 * fixtures byte by byte, so they can be regenerated without any image
 * tool.  The outputs are committed; nothing in the build runs this.
 *
 *   make -C test/fuzz fixtures    (= make_fixtures corpus ../fixtures/bad)
 *
 * The seeds are real, decodable images (checked against leptonica when
 * they were made); the bad fixtures are what the probe must refuse or
 * flag.  Files the fuzzer found are added to test/fixtures/bad by hand and
 * are not written here.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A file being assembled, in one byte order. */
typedef struct Buf
{
	unsigned char data[8192];
	size_t		len;
	int			big_endian;
} Buf;

static const char *corpus_dir;
static const char *bad_dir;

/* Append n raw bytes. */
static void
put(Buf *b, const void *p, size_t n)
{
	if (b->len + n > sizeof(b->data))
	{
		fprintf(stderr, "fixture too large\n");
		exit(1);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* Append a string without its NUL. */
static void
puts_(Buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Append one byte. */
static void
put8(Buf *b, unsigned v)
{
	unsigned char c = (unsigned char) v;

	put(b, &c, 1);
}

/* Append a 16-bit value in the buffer's byte order. */
static void
put16(Buf *b, unsigned v)
{
	if (b->big_endian)
		put8(b, v >> 8), put8(b, v);
	else
		put8(b, v), put8(b, v >> 8);
}

/* Append a 32-bit value in the buffer's byte order. */
static void
put32(Buf *b, uint32_t v)
{
	if (b->big_endian)
		put16(b, v >> 16), put16(b, v & 0xFFFF);
	else
		put16(b, v & 0xFFFF), put16(b, v >> 16);
}

/* Overwrite a 32-bit value at off in the buffer's byte order. */
static void
patch32(Buf *b, size_t off, uint32_t v)
{
	size_t		save = b->len;

	b->len = off;
	put32(b, v);
	b->len = save;
}

/* Write the buffer to dir/name. */
static void
save(const char *dir, const char *name, const Buf *b)
{
	char		path[512];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0)
	{
		perror(path);
		exit(1);
	}
}

/* Reset a buffer for a new file. */
static void
start(Buf *b, int big_endian)
{
	b->len = 0;
	b->big_endian = big_endian;
}

/* ---- PNG ---- */

/* CRC-32 as PNG and zlib's crc32 compute it. */
static uint32_t
crc32_of(const unsigned char *p, size_t n)
{
	uint32_t	crc = 0xFFFFFFFFu;
	size_t		i;
	int			k;

	for (i = 0; i < n; i++)
	{
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
	}
	return crc ^ 0xFFFFFFFFu;
}

/* Append a PNG chunk with its length and CRC. */
static void
png_chunk(Buf *b, const char *type, const unsigned char *body, size_t n)
{
	size_t		type_at;

	put32(b, (uint32_t) n);
	type_at = b->len;
	put(b, type, 4);
	put(b, body, n);
	put32(b, crc32_of(b->data + type_at, n + 4));
}

/* Append an IHDR chunk. */
static void
png_ihdr(Buf *b, uint32_t w, uint32_t h, int depth, int color, int interlace)
{
	unsigned char ihdr[13] = {
		(unsigned char) (w >> 24), (unsigned char) (w >> 16), (unsigned char) (w >> 8), (unsigned char) w,
		(unsigned char) (h >> 24), (unsigned char) (h >> 16), (unsigned char) (h >> 8), (unsigned char) h,
		(unsigned char) depth, (unsigned char) color, 0, 0, (unsigned char) interlace
	};

	png_chunk(b, "IHDR", ihdr, 13);
}

/* Append an IDAT holding raw in one stored (uncompressed) deflate block. */
static void
png_idat_stored(Buf *b, const unsigned char *raw, size_t n)
{
	unsigned char z[2048];
	size_t		zl = 0;
	uint32_t	s1 = 1, s2 = 0;
	size_t		i;

	z[zl++] = 0x78;
	z[zl++] = 0x01;
	z[zl++] = 0x01;				/* final block, stored */
	z[zl++] = (unsigned char) n;
	z[zl++] = (unsigned char) (n >> 8);
	z[zl++] = (unsigned char) ~n;
	z[zl++] = (unsigned char) (~n >> 8);
	memcpy(z + zl, raw, n);
	zl += n;
	for (i = 0; i < n; i++)
	{
		s1 = (s1 + raw[i]) % 65521;
		s2 = (s2 + s1) % 65521;
	}
	z[zl++] = (unsigned char) (s2 >> 8);
	z[zl++] = (unsigned char) s2;
	z[zl++] = (unsigned char) (s1 >> 8);
	z[zl++] = (unsigned char) s1;
	png_chunk(b, "IDAT", z, zl);
}

/* Append a pHYs chunk in pixels per metre. */
static void
png_phys(Buf *b, uint32_t ppm)
{
	Buf			body;

	start(&body, 1);
	put32(&body, ppm);
	put32(&body, ppm);
	put8(&body, 1);
	png_chunk(b, "pHYs", body.data, body.len);
}

/* A whole PNG: rows of row_bytes zero pixels, each with filter byte 0. */
static void
png_image(Buf *b, uint32_t w, uint32_t h, int depth, int color, size_t row_bytes, int dpi_ppm)
{
	unsigned char raw[1024];
	size_t		n = (row_bytes + 1) * h;

	memset(raw, 0, n);
	start(b, 1);
	put(b, "\x89PNG\r\n\x1a\n", 8);
	png_ihdr(b, w, h, depth, color, 0);
	if (dpi_ppm)
		png_phys(b, (uint32_t) dpi_ppm);
	if (color == 3)
		png_chunk(b, "PLTE", (const unsigned char *) "\0\0\0\xff\xff\xff", 6);
	png_idat_stored(b, raw, n);
	png_chunk(b, "IEND", NULL, 0);
}

/* ---- JPEG ---- */

/*
 * A baseline JPEG of flat grey: one quantisation table of 1s and one-code
 * Huffman tables, so each block is DC category 0 ("0") and EOB ("0").
 */
static void
jpeg_image(Buf *b, unsigned w, unsigned h, int components, int units, unsigned density, int fill)
{
	unsigned	blocks = ((w + 7) / 8) * ((h + 7) / 8) * (unsigned) components;
	unsigned	bits = blocks * 2, i;
	int			c;

	start(b, 1);
	put16(b, 0xFFD8);
	put16(b, 0xFFE0);			/* JFIF APP0 */
	put16(b, 16);
	put(b, "JFIF\0\1\1", 7);
	put8(b, (unsigned) units);
	put16(b, density);
	put16(b, density);
	put16(b, 0);
	put16(b, 0xFFE1);			/* an application segment to walk over */
	put16(b, 2 + 6);
	put(b, "Exif\0\0", 6);
	put16(b, 0xFFDB);
	put16(b, 67);
	put8(b, 0);
	for (i = 0; i < 64; i++)
		put8(b, 1);
	if (fill)
		put8(b, 0xFF);			/* a fill byte before the marker */
	put16(b, 0xFFC0);
	put16(b, 8 + 3 * (unsigned) components);
	put8(b, 8);
	put16(b, h);
	put16(b, w);
	put8(b, (unsigned) components);
	for (c = 0; c < components; c++)
		put8(b, (unsigned) c + 1), put8(b, 0x11), put8(b, 0);
	put16(b, 0xFFC4);			/* DC table 0: one code, category 0 */
	put16(b, 20);
	put8(b, 0x00);
	put8(b, 1);
	for (i = 1; i < 16; i++)
		put8(b, 0);
	put8(b, 0x00);
	put16(b, 0xFFC4);			/* AC table 0: one code, EOB */
	put16(b, 20);
	put8(b, 0x10);
	put8(b, 1);
	for (i = 1; i < 16; i++)
		put8(b, 0);
	put8(b, 0x00);
	put16(b, 0xFFDA);
	put16(b, 6 + 2 * (unsigned) components);
	put8(b, (unsigned) components);
	for (c = 0; c < components; c++)
		put8(b, (unsigned) c + 1), put8(b, 0x00);
	put8(b, 0);
	put8(b, 63);
	put8(b, 0);
	/* all-zero codes, then 1-bits to pad the last byte */
	for (i = 0; i < bits / 8; i++)
		put8(b, 0);
	if (bits % 8)
		put8(b, 0xFFu >> (bits % 8));
	put16(b, 0xFFD9);
}

/* ---- TIFF ---- */

/* One page of a TIFF to build. */
typedef struct TiffSpec
{
	uint32_t	width, height;
	int			samples;		/* 1 grey or 3 RGB, 8 bits each */
	int			long_dims;		/* ImageWidth/Length as LONG, not SHORT */
	uint32_t	dpi;			/* 0: no resolution tags */
	uint32_t	strip_bytes;	/* 0: the real raster size */
} TiffSpec;

/* Append one IFD entry whose value fits in the 4-byte field. */
static void
tiff_entry(Buf *b, unsigned tag, unsigned type, uint32_t count, uint32_t value)
{
	put16(b, tag);
	put16(b, type);
	put32(b, count);
	if (type == 3 && count == 1)
		put16(b, value), put16(b, 0);
	else
		put32(b, value);
}

/*
 * Append pages to a TIFF whose header is already in b; returns the offset
 * of the last IFD's next pointer so callers can bend the chain.
 */
static size_t
tiff_pages(Buf *b, const TiffSpec *pages, int npages)
{
	size_t		next_at = 4;	/* the header's first-IFD pointer */
	int			p;

	for (p = 0; p < npages; p++)
	{
		const TiffSpec *s = &pages[p];
		uint32_t	raster = s->strip_bytes ? s->strip_bytes : s->width * s->height * (uint32_t) s->samples;
		uint32_t	strip_at, extra_at, ifd_at;
		unsigned	entries = 9 + (s->dpi ? 3 : 0);

		strip_at = (uint32_t) b->len;
		while (raster--)
			put8(b, 0x80);
		if (b->len & 1)
			put8(b, 0);
		extra_at = (uint32_t) b->len;	/* BitsPerSample array, rationals */
		put16(b, 8), put16(b, 8), put16(b, 8);
		put32(b, s->dpi), put32(b, 1);
		ifd_at = (uint32_t) b->len;
		patch32(b, next_at, ifd_at);
		put16(b, entries);
		tiff_entry(b, 256, s->long_dims ? 4 : 3, 1, s->width);
		tiff_entry(b, 257, s->long_dims ? 4 : 3, 1, s->height);
		if (s->samples == 3)
			tiff_entry(b, 258, 3, 3, extra_at);
		else
			tiff_entry(b, 258, 3, 1, 8);
		tiff_entry(b, 259, 3, 1, 1);	/* no compression */
		tiff_entry(b, 262, 3, 1, s->samples == 3 ? 2 : 1);
		tiff_entry(b, 273, 4, 1, strip_at);
		tiff_entry(b, 277, 3, 1, (uint32_t) s->samples);
		tiff_entry(b, 278, 4, 1, s->height);
		tiff_entry(b, 279, 4, 1, s->strip_bytes ? s->strip_bytes : s->width * s->height * (uint32_t) s->samples);
		if (s->dpi)
		{
			tiff_entry(b, 282, 5, 1, extra_at + 6);
			tiff_entry(b, 283, 5, 1, extra_at + 6);
			tiff_entry(b, 296, 3, 1, 2);
		}
		next_at = b->len;
		put32(b, 0);
	}
	return next_at;
}

/* Start a TIFF: byte order mark, 42, first IFD offset to patch. */
static void
tiff_header(Buf *b, int big_endian, unsigned version)
{
	start(b, big_endian);
	puts_(b, big_endian ? "MM" : "II");
	put16(b, version);
	put32(b, 0);
}

/* ---- BMP ---- */

/* A BMP with a 40-byte (or 12-byte core) header, palette for <= 8 bpp. */
static void
bmp_image(Buf *b, uint32_t w, int32_t h, int bpp, int core, uint32_t ppm, uint32_t raster_rows)
{
	uint32_t	colors = bpp <= 8 ? 2 : 0;
	uint32_t	header = core ? 12 : 40;
	uint32_t	entry = core ? 3 : 4;
	uint32_t	stride = (w * (uint32_t) bpp + 31) / 32 * 4;
	uint32_t	offset = 14 + header + colors * entry;
	uint32_t	i;

	start(b, 0);
	puts_(b, "BM");
	put32(b, offset + stride * raster_rows);
	put32(b, 0);
	put32(b, offset);
	put32(b, header);
	if (core)
	{
		put16(b, w), put16(b, (unsigned) h), put16(b, 1), put16(b, (unsigned) bpp);
	}
	else
	{
		put32(b, w);
		put32(b, (uint32_t) h);
		put16(b, 1);
		put16(b, (unsigned) bpp);
		put32(b, 0);			/* BI_RGB */
		put32(b, stride * raster_rows);
		put32(b, ppm);
		put32(b, ppm);
		put32(b, colors);
		put32(b, 0);
	}
	for (i = 0; i < colors; i++)
	{
		put8(b, i ? 255 : 0), put8(b, i ? 255 : 0), put8(b, i ? 255 : 0);
		if (!core)
			put8(b, 0);
	}
	for (i = 0; i < stride * raster_rows; i++)
		put8(b, bpp == 8 ? 0x01 : 0x55);	/* 8 bpp: an index inside the palette */
}

/* ---- GIF ---- */

/* A GIF whose pixels are all index 0, one LZW clear code before each. */
static void
gif_image(Buf *b, const char *version, unsigned screen_w, unsigned screen_h,
		  unsigned w, unsigned h, int with_gce)
{
	unsigned	pixels = w * h, i, bitpos = 0;
	unsigned char codes[256];
	size_t		ncodes;

	start(b, 0);
	puts_(b, version);
	put16(b, screen_w);
	put16(b, screen_h);
	put8(b, 0x80);				/* 2-colour global table */
	put8(b, 0);
	put8(b, 0);
	put(b, "\0\0\0\xff\xff\xff", 6);
	if (with_gce)
		put(b, "\x21\xf9\x04\x01\0\0\0\0", 8);
	put8(b, 0x2C);
	put16(b, 0), put16(b, 0), put16(b, w), put16(b, h);
	put8(b, 0);
	put8(b, 2);					/* LZW minimum code size: 3-bit codes */
	memset(codes, 0, sizeof(codes));
	for (i = 0; i <= pixels; i++)
	{
		unsigned	code = i < pixels ? 4 : 5;	/* clear; then 0 / EOI */
		int			k;

		for (k = 0; k < 3; k++, bitpos++)
			codes[bitpos / 8] |= (unsigned char) (((code >> k) & 1) << (bitpos % 8));
		if (i < pixels)
			bitpos += 3;		/* pixel index 0 */
	}
	ncodes = (bitpos + 7) / 8;
	put8(b, (unsigned) ncodes);
	put(b, codes, ncodes);
	put8(b, 0);
	put8(b, 0x3B);
}

/* ---- the files ---- */

/* Write the seed corpus: small valid images of every format. */
static void
write_seeds(void)
{
	Buf			b;
	static const TiffSpec three_pages[] = {
		{4, 3, 1, 0, 200, 0}, {8, 2, 1, 1, 0, 0}, {2, 2, 3, 0, 300, 0}
	};
	static const TiffSpec rgb_page[] = {{3, 2, 3, 1, 72, 0}};

	png_image(&b, 3, 2, 8, 0, 3, 11811);	/* 300 dpi */
	save(corpus_dir, "png-gray8-3x2-300dpi.png", &b);
	png_image(&b, 2, 2, 16, 6, 16, 0);
	save(corpus_dir, "png-rgba16-2x2.png", &b);
	png_image(&b, 5, 3, 4, 3, 3, 0);
	save(corpus_dir, "png-palette4-5x3.png", &b);

	jpeg_image(&b, 16, 8, 1, 1, 72, 0);
	save(corpus_dir, "jpeg-gray-16x8-72dpi.jpg", &b);
	jpeg_image(&b, 8, 16, 3, 2, 118, 1);	/* 118 dots/cm = 300 dpi */
	save(corpus_dir, "jpeg-ycc-8x16-300dpi.jpg", &b);

	tiff_header(&b, 0, 42);
	tiff_pages(&b, three_pages, 3);
	save(corpus_dir, "tiff-le-3pages.tif", &b);
	tiff_header(&b, 1, 42);
	tiff_pages(&b, rgb_page, 1);
	save(corpus_dir, "tiff-be-rgb-3x2-72dpi.tif", &b);

	bmp_image(&b, 3, 2, 24, 0, 2835, 2);	/* 72 dpi */
	save(corpus_dir, "bmp-24bit-3x2-72dpi.bmp", &b);
	bmp_image(&b, 4, -2, 8, 0, 0, 2);
	save(corpus_dir, "bmp-8bit-topdown-4x2.bmp", &b);

	start(&b, 1);
	puts_(&b, "P1\n# a comment\n4 2\n0 1 0 1\n1 0 1 0\n");
	save(corpus_dir, "pnm-p1-4x2.pbm", &b);
	start(&b, 1);
	puts_(&b, "P2 3 1 15\n0 7 15\n");
	save(corpus_dir, "pnm-p2-3x1.pgm", &b);
	start(&b, 1);
	puts_(&b, "P3\n2 1\n255\n255 0 0  0 0 255\n");
	save(corpus_dir, "pnm-p3-2x1.ppm", &b);
	start(&b, 1);
	puts_(&b, "P4\n16 4\n");
	put(&b, "\x55\x55\xaa\xaa\x55\x55\xaa\xaa", 8);	/* leptonica wants >= 12 bytes */
	save(corpus_dir, "pnm-p4-16x4.pbm", &b);
	start(&b, 1);
	puts_(&b, "P5\n#comment\n3 2\n255\n");
	put(&b, "\0\x40\x80\xc0\xff\x10", 6);
	save(corpus_dir, "pnm-p5-3x2.pgm", &b);
	start(&b, 1);
	puts_(&b, "P6 2 1 65535\n");
	put(&b, "\xff\xff\0\0\0\0\0\0\xff\xff\0\0", 12);
	save(corpus_dir, "pnm-p6-16bit-2x1.ppm", &b);

	gif_image(&b, "GIF89a", 1, 1, 1, 1, 1);
	save(corpus_dir, "gif89a-1x1.gif", &b);
	gif_image(&b, "GIF87a", 3, 2, 3, 2, 0);
	save(corpus_dir, "gif87a-3x2.gif", &b);

	/* The well-known 1x1 WebP test images (lossy, lossless, with alpha) */
	start(&b, 0);
	put(&b, "RIFF\x22\0\0\0WEBPVP8 \x16\0\0\0\x30\x01\0\x9d\x01\x2a\x01\0\x01\0"
		"\x0e\xc0\xfe\x25\xa4\0\x03\x70\0\0\0\0", 42);
	save(corpus_dir, "webp-vp8-1x1.webp", &b);
	start(&b, 0);
	put(&b, "RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0\x2f\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0", 34);
	save(corpus_dir, "webp-vp8l-1x1.webp", &b);
	start(&b, 0);
	put(&b, "RIFF\x4a\0\0\0WEBPVP8X\x0a\0\0\0\x10\0\0\0\0\0\0\0\0\0ALPH\x0c\0\0\0"
		"\x11\x07\x10\x11\xfd\x0f\x44\x44\xff\x03\0\0VP8 \x18\0\0\0\x14\x01\0\x9d\x01\x2a"
		"\x01\0\x01\0\0\0\xfe\0\0\x0d\xc0\0\xfe\xe6\xb5\0\0\0", 82);
	save(corpus_dir, "webp-vp8x-alpha-1x1.webp", &b);
}

/* Write the bad fixtures: each one a way an upload can be wrong. */
static void
write_bad(void)
{
	Buf			b;
	size_t		next_at;
	int			i;
	static const TiffSpec small[] = {{2, 2, 1, 0, 0, 0}, {2, 2, 1, 0, 0, 0}};
	static const TiffSpec bomb[] = {{60000, 60000, 1, 1, 0, 16}};
	TiffSpec	pages12[12];

	start(&b, 1);
	save(bad_dir, "empty.png", &b);

	png_image(&b, 3, 2, 8, 0, 3, 0);
	b.len = 20;					/* signature, IHDR length and type, 4 bytes of width */
	save(bad_dir, "truncated.png", &b);

	start(&b, 1);
	put16(&b, 0xFFD8);
	puts_(&b, "this is not a JPEG marker segment at all");
	save(bad_dir, "corrupt.jpg", &b);

	png_image(&b, 0, 2, 8, 0, 0, 0);
	save(bad_dir, "zero-width.png", &b);

	/* 10^10 pixels claimed; the IDAT is a valid start of a zlib stream */
	start(&b, 1);
	put(&b, "\x89PNG\r\n\x1a\n", 8);
	png_ihdr(&b, 100000, 100000, 8, 2, 0);
	png_chunk(&b, "IDAT", (const unsigned char *) "\x78\xda\xed\xc1\x01\x0d\0\0\0\xc2\xa0\xf7\x4f\x6d", 14);
	png_chunk(&b, "IEND", NULL, 0);
	save(bad_dir, "huge-dimensions.png", &b);

	tiff_header(&b, 0, 42);
	tiff_pages(&b, bomb, 1);
	save(bad_dir, "bomb.tiff", &b);

	tiff_header(&b, 0, 42);
	next_at = tiff_pages(&b, small, 1);
	patch32(&b, next_at, 8 + 4 + 6 + 8);	/* its own IFD: past strip and extras */
	save(bad_dir, "loop.tiff", &b);

	start(&b, 1);
	puts_(&b, "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
		  "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
		  "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >> endobj\n"
		  "trailer << /Root 1 0 R >>\n%%EOF\n");
	save(bad_dir, "document.pdf", &b);

	start(&b, 1);
	puts_(&b, "Dear OCR service,\nthis is plain text, not a picture of text.\n");
	save(bad_dir, "not-an-image.txt", &b);

	/* ---- beyond the brief's list ---- */
	png_image(&b, 3, 2, 8, 0, 3, 0);
	b.len = 33;
	save(bad_dir, "png-ihdr-only.png", &b);

	png_image(&b, 3, 2, 4, 2, 3, 0);	/* RGB at 4 bits: not allowed */
	save(bad_dir, "png-rgb-depth4.png", &b);

	png_image(&b, 3, 2, 8, 0, 3, 0);
	memmove(b.data + 5, b.data + 6, b.len - 6);	/* CRLF became LF */
	b.len--;
	save(bad_dir, "png-crlf-mangled.png", &b);

	png_image(&b, 3, 2, 8, 0, 3, 0);
	memcpy(b.data + 12, "IDAT", 4);
	save(bad_dir, "png-idat-before-ihdr.png", &b);

	jpeg_image(&b, 16, 8, 1, 1, 72, 0);
	for (i = 0; i + 1 < (int) b.len; i++)
		if (b.data[i] == 0xFF && b.data[i + 1] == 0xC0)
			b.data[i + 5] = 0, b.data[i + 6] = 0;	/* height 0: "see DNL" */
	save(bad_dir, "jpeg-height0-dnl.jpg", &b);

	start(&b, 1);
	put(&b, "\xff\xd8\xff\xe1\x7f\xf0" "Exif\0\0", 12);
	save(bad_dir, "jpeg-segment-overruns-file.jpg", &b);

	start(&b, 1);
	put(&b, "\xff\xd8\xff\xe0\0\x10JFIF\0\1\1\0\0\1\0\1\0\0\xff\xd9", 22);
	save(bad_dir, "jpeg-eoi-before-frame.jpg", &b);

	jpeg_image(&b, 16, 8, 1, 1, 72, 0);
	for (i = 0; i + 1 < (int) b.len; i++)
		if (b.data[i] == 0xFF && b.data[i + 1] == 0xC0)
			b.data[i + 1] = 0xC3;
	save(bad_dir, "jpeg-lossless-sof3.jpg", &b);

	tiff_header(&b, 0, 43);
	put32(&b, 16);
	save(bad_dir, "bigtiff.tif", &b);

	tiff_header(&b, 1, 42);
	next_at = tiff_pages(&b, small, 2);
	patch32(&b, next_at, 8 + 4 + 6 + 8);	/* page 2 points back to page 1 */
	save(bad_dir, "tiff-two-page-loop.tif", &b);

	tiff_header(&b, 0, 42);
	next_at = tiff_pages(&b, small, 1);
	patch32(&b, next_at, 0x00FFFFF0);
	save(bad_dir, "tiff-next-ifd-past-end.tif", &b);

	for (i = 0; i < 12; i++)
		pages12[i] = small[0];
	tiff_header(&b, 0, 42);
	tiff_pages(&b, pages12, 12);
	save(bad_dir, "tiff-12-pages.tif", &b);

	tiff_header(&b, 0, 42);
	tiff_pages(&b, small, 1);
	b.data[8 + 4 + 6 + 8 + 2] = 0x44;	/* first tag 256 becomes 324 */
	save(bad_dir, "tiff-no-image-width.tif", &b);

	bmp_image(&b, 2, 2, 24, 0, 0, 2);
	b.data[22] = 0, b.data[23] = 0, b.data[24] = 0, b.data[25] = 0x80;
	save(bad_dir, "bmp-height-int32-min.bmp", &b);

	bmp_image(&b, 60000, 60000, 24, 0, 0, 0);
	save(bad_dir, "bmp-raster-missing.bmp", &b);

	bmp_image(&b, 8, 8, 1, 1, 0, 8);	/* leptonica reads only 40/108/124-byte headers */
	save(bad_dir, "bmp-os2-core-header.bmp", &b);

	bmp_image(&b, 4, 2, 8, 0, 0, 2);
	b.data[30] = 1;				/* BI_RLE8, which leptonica cannot read */
	save(bad_dir, "bmp-rle8.bmp", &b);

	start(&b, 1);
	puts_(&b, "P7\nWIDTH 2\nHEIGHT 2\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n\1\2\3\4");
	save(bad_dir, "pam-p7.pam", &b);

	start(&b, 1);
	puts_(&b, "P5\n99999999999 1\n255\n\0");
	save(bad_dir, "pnm-width-overflow.pgm", &b);

	start(&b, 1);
	puts_(&b, "P6\n50000 50000\n255\n\0\0\0");
	save(bad_dir, "pnm-raster-missing.ppm", &b);

	gif_image(&b, "GIF89a", 0, 0, 0, 1, 0);
	save(bad_dir, "gif-zero-size.gif", &b);

	start(&b, 0);
	put(&b, "RIFF\x1e\0\0\0WEBPVP8X\x0a\0\0\0\x12\0\0\0\x09\0\0\x09\0\0", 30);
	save(bad_dir, "webp-animated.webp", &b);

	start(&b, 1);
	puts_(&b, "%!PS-Adobe-3.0\n%%BoundingBox: 0 0 72 72\nshowpage\n");
	save(bad_dir, "postscript.ps", &b);

	start(&b, 1);
	put(&b, "\0\0\0\x18" "ftypheic\0\0\0\0mif1heic", 24);
	save(bad_dir, "photo.heic", &b);

	start(&b, 1);
	put(&b, "\0\0\0\x1c" "ftypavif\0\0\0\0avifmif1miaf", 28);
	save(bad_dir, "photo.avif", &b);

	start(&b, 1);
	put(&b, "\0\0\0\x0cjP  \r\n\x87\n\0\0\0\x14" "ftypjp2 \0\0\0\0jp2 ", 32);
	save(bad_dir, "scan.jp2", &b);

	start(&b, 1);
	puts_(&b, "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
		  "width=\"10\" height=\"10\"><text y=\"8\">hi</text></svg>\n");
	save(bad_dir, "drawing.svg", &b);

	start(&b, 1);
	for (i = 0; i < 500; i++)
		put8(&b, 'x');
	puts_(&b, "\n%PDF-1.7\n%%EOF\n");
	save(bad_dir, "pdf-after-junk.pdf", &b);
}

/* make_fixtures CORPUS_DIR BAD_DIR */
int
main(int argc, char **argv)
{
	if (argc != 3)
	{
		fprintf(stderr, "usage: %s CORPUS_DIR BAD_DIR\n", argv[0]);
		return 2;
	}
	corpus_dir = argv[1];
	bad_dir = argv[2];
	write_seeds();
	write_bad();
	return 0;
}
