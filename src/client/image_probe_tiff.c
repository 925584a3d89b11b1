/*
 * image_probe_tiff.c — the TIFF part of the image header check: walk the
 * chain of directories, one per page, under a budget of entries examined
 * and with loop detection, so any input ends in bounded time.
 */
#include "image_probe_internal.h"

#include <string.h>

/* TIFF directories whose offsets are remembered for exact loop detection */
#define TIFF_TRACKED_IFDS 64
/* Directory entries examined per probe, so no file makes the walk slow */
#define TIFF_MAX_ENTRIES ((uint64_t) 1 << 21)

/* A TIFF file being read, with its byte order. */
typedef struct TiffFile
{
	const unsigned char *data;
	size_t		len;
	int			big_endian;
} TiffFile;

/* What one TIFF directory says about its page. */
typedef struct TiffPage
{
	uint32_t	width, height, bits_per_sample, samples, x_dpi, y_dpi;
	uint32_t	next_ifd;
} TiffPage;

/* 16-bit value at off in the file's byte order (caller checked bounds). */
static uint32_t
tiff_u16(const TiffFile *t, size_t off)
{
	return t->big_endian ? be16(t->data + off) : le16(t->data + off);
}

/* 32-bit value at off in the file's byte order (caller checked bounds). */
static uint32_t
tiff_u32(const TiffFile *t, size_t off)
{
	return t->big_endian ? be32(t->data + off) : le32(t->data + off);
}

/* First value of a SHORT or LONG entry; 0 if another type or out of file. */
static int
tiff_entry_uint(const TiffFile *t, size_t entry, uint32_t *value)
{
	uint32_t	type = tiff_u16(t, entry + 2);
	uint32_t	count = tiff_u32(t, entry + 4);
	size_t		item = type == 3 ? 2 : type == 4 ? 4 : 0;
	size_t		value_at = entry + 8;

	if (item == 0 || count == 0)
		return 0;
	/* Values that do not fit the 4-byte field live at the offset it holds */
	if ((uint64_t) count * item > 4)
	{
		value_at = tiff_u32(t, entry + 8);
		if (!has_bytes(t->len, value_at, item))
			return 0;
	}
	*value = item == 2 ? tiff_u16(t, value_at) : tiff_u32(t, value_at);
	return 1;
}

/* A RATIONAL resolution entry in dpi under ResolutionUnit unit (2 inch, 3 cm); 0 if unusable. */
static uint32_t
tiff_entry_dpi(const TiffFile *t, size_t entry, uint32_t unit)
{
	size_t		at;
	uint64_t	num, den;

	if (entry == 0 || tiff_u16(t, entry + 2) != 5 || tiff_u32(t, entry + 4) == 0 || (unit != 2 && unit != 3))
		return 0;
	at = tiff_u32(t, entry + 8);
	if (!has_bytes(t->len, at, 8) || (den = tiff_u32(t, at + 4)) == 0)
		return 0;
	num = tiff_u32(t, at);
	return unit == 2 ? clamp_u32((num + den / 2) / den) : clamp_u32((num * 254 + den * 50) / (den * 100));
}

/* The i-th value of a SHORT or LONG array entry whose values lie at values_at (caller checked bounds) */
static uint32_t
tiff_array_value(const TiffFile *t, size_t entry, size_t values_at, uint32_t i)
{
	return tiff_u16(t, entry + 2) == 3 ? tiff_u16(t, values_at + (size_t) i * 2) :
		tiff_u32(t, values_at + (size_t) i * 4);
}

/* Where a SHORT or LONG entry's values lie, or 0 if they do not lie in the file */
static size_t
tiff_array_at(const TiffFile *t, size_t entry, uint32_t *count)
{
	uint32_t	type = tiff_u16(t, entry + 2);
	size_t		item = type == 3 ? 2 : type == 4 ? 4 : 0;
	size_t		at = entry + 8;

	*count = tiff_u32(t, entry + 4);
	if (item == 0 || *count == 0)
		return 0;
	if ((uint64_t) *count * item > 4)
		at = tiff_u32(t, entry + 8);
	return has_bytes(t->len, at, (size_t) *count * item) ? at : 0;
}

/*
 * A page's image data (strips or tiles: offsets_entry and counts_entry) must
 * lie in the file: an upload cut short loses its last strips, which only a
 * decode would notice otherwise, in the worker, after the document was
 * accepted.  Each value examined is charged to the directory budget.
 */
static ScribeProbeStatus
tiff_check_data(const TiffFile *t, size_t offsets_entry, size_t counts_entry, uint32_t index,
				uint64_t *entries_examined, ScribeImageInfo *info)
{
	uint32_t	n_offsets, n_counts;
	size_t		offsets_at, counts_at;

	if (offsets_entry == 0 || counts_entry == 0)
		return PROBE_OK;		/* leptonica's decoder judges such a page */
	offsets_at = tiff_array_at(t, offsets_entry, &n_offsets);
	counts_at = tiff_array_at(t, counts_entry, &n_counts);
	if (offsets_at == 0 || counts_at == 0 || n_offsets != n_counts)
		return scribe_probe_fail(info, PROBE_TRUNCATED,
								 "TIFF page %" PRIu32 " is truncated: its strip table lies past the end of the file (%zu bytes)",
								 index + 1, t->len);
	*entries_examined += n_offsets;
	if (*entries_examined > TIFF_MAX_ENTRIES)
		return scribe_probe_fail(info, PROBE_CORRUPT, "TIFF directories hold more than %" PRIu64 " entries in all",
								 TIFF_MAX_ENTRIES);
	for (uint32_t i = 0; i < n_offsets; i++)
	{
		uint32_t	at = tiff_array_value(t, offsets_entry, offsets_at, i);
		uint32_t	count = tiff_array_value(t, counts_entry, counts_at, i);

		if (!has_bytes(t->len, at, count))
			return scribe_probe_fail(info, PROBE_TRUNCATED,
									 "TIFF page %" PRIu32 " is truncated: its strip %" PRIu32 " (%" PRIu32 " bytes at offset %" PRIu32 ") lies past the end of the file (%zu bytes)",
									 index + 1, i, count, at, t->len);
	}
	return PROBE_OK;
}

/* Read one directory of the main chain into page, charging its entries. */
static ScribeProbeStatus
tiff_read_ifd(const TiffFile *t, size_t offset, uint32_t index, uint64_t *entries_examined,
			  TiffPage *page, ScribeImageInfo *info)
{
	uint32_t	entries, i, unit = 2;
	size_t		x_entry = 0, y_entry = 0;	/* 0: no such tag */
	size_t		offsets_entry = 0, counts_entry = 0;
	int			has_width = 0, has_height = 0;

	memset(page, 0, sizeof(*page));
	page->bits_per_sample = 1;	/* the TIFF defaults */
	page->samples = 1;
	if (!has_bytes(t->len, offset, 2))
		return scribe_probe_fail(info, PROBE_TRUNCATED,
						  "TIFF directory %" PRIu32 " at offset %zu lies past the end of the file (%zu bytes)",
						  index, offset, t->len);
	entries = tiff_u16(t, offset);
	if (entries == 0)
		return scribe_probe_fail(info, PROBE_CORRUPT, "TIFF directory %" PRIu32 " at offset %zu has no entries", index, offset);
	if (!has_bytes(t->len, offset + 2, (size_t) entries * 12 + 4))
		return scribe_probe_fail(info, PROBE_TRUNCATED,
						  "TIFF directory %" PRIu32 " at offset %zu (%" PRIu32 " entries) is truncated at byte %zu",
						  index, offset, entries, t->len);
	*entries_examined += entries;
	if (*entries_examined > TIFF_MAX_ENTRIES)
		return scribe_probe_fail(info, PROBE_CORRUPT, "TIFF directories hold more than %" PRIu64 " entries in all",
						  TIFF_MAX_ENTRIES);

	for (i = 0; i < entries; i++)
	{
		size_t		entry = offset + 2 + (size_t) i * 12;

		switch (tiff_u16(t, entry))
		{
			case 256:			/* ImageWidth */
			case 257:			/* ImageLength */
				/* decoders disagree on which of two copies counts: refuse both */
				if ((tiff_u16(t, entry) == 256 && has_width) || (tiff_u16(t, entry) == 257 && has_height))
					return scribe_probe_fail(info, PROBE_CORRUPT, "TIFF directory %" PRIu32 " has two %s tags",
									  index, tiff_u16(t, entry) == 256 ? "ImageWidth" : "ImageLength");
				if (tiff_u16(t, entry) == 256)
					has_width = tiff_entry_uint(t, entry, &page->width);
				else
					has_height = tiff_entry_uint(t, entry, &page->height);
				break;
			case 258:			/* BitsPerSample: the first sample's */
				tiff_entry_uint(t, entry, &page->bits_per_sample);
				break;
			case 277:			/* SamplesPerPixel */
				tiff_entry_uint(t, entry, &page->samples);
				break;
			case 282:			/* XResolution */
				x_entry = entry;
				break;
			case 283:			/* YResolution */
				y_entry = entry;
				break;
			case 296:			/* ResolutionUnit */
				tiff_entry_uint(t, entry, &unit);
				break;
			case 273:			/* StripOffsets */
			case 324:			/* TileOffsets */
				offsets_entry = entry;
				break;
			case 279:			/* StripByteCounts */
			case 325:			/* TileByteCounts */
				counts_entry = entry;
				break;
		}
	}
	page->next_ifd = tiff_u32(t, offset + 2 + (size_t) entries * 12);
	page->x_dpi = tiff_entry_dpi(t, x_entry, unit);
	page->y_dpi = tiff_entry_dpi(t, y_entry, unit);
	if (!has_width || !has_height)
		return scribe_probe_fail(info, PROBE_CORRUPT, "TIFF directory %" PRIu32 " has no usable %s tag",
						  index, has_width ? "ImageLength" : "ImageWidth");
	if (page->width == 0 || page->height == 0)
		return scribe_probe_fail(info, PROBE_ZERO_SIZE, "TIFF page %" PRIu32 " is %" PRIu32 "x%" PRIu32 ": a side is 0",
						  index + 1, page->width, page->height);
	return tiff_check_data(t, offsets_entry, counts_entry, index, entries_examined, info);
}

/* TIFF: walk the main IFD chain, counting pages and guarding against loops. */
ScribeProbeStatus
scribe_probe_tiff(const unsigned char *d, size_t len, uint32_t max_pages, ScribeImageInfo *info)
{
	TiffFile	t = {d, len, d[0] == 'M'};
	uint32_t	tracked[TIFF_TRACKED_IFDS];
	uint32_t	ntracked = 0, offset, i;
	/* Brent's cycle detection: no memory, catches loops past the tracked ones */
	uint32_t	brent_saved, brent_power = 1, brent_steps = 0;
	uint64_t	entries_examined = 0, largest = 0;

	info->format = IMAGE_TIFF;
	if (len < 8)
		return scribe_probe_fail(info, PROBE_TRUNCATED, "TIFF header is truncated at byte %zu", len);
	if (tiff_u16(&t, 2) == 43)
		return scribe_probe_fail(info, PROBE_UNSUPPORTED_FORMAT, "BigTIFF (version 43) is not supported");
	offset = tiff_u32(&t, 4);
	if (offset == 0)
		return scribe_probe_fail(info, PROBE_CORRUPT, "TIFF has no image directory (first IFD offset is 0)");
	brent_saved = offset;

	while (offset != 0)
	{
		TiffPage	page;
		uint64_t	pixels, bits;
		ScribeProbeStatus status;

		if (max_pages != 0 && info->pages >= max_pages)
			return scribe_probe_fail(info, PROBE_TOO_MANY_PAGES, "TIFF has more than %" PRIu32 " pages", max_pages);
		status = tiff_read_ifd(&t, offset, info->pages, &entries_examined, &page, info);
		if (status != PROBE_OK)
			return status;

		info->pages++;
		pixels = (uint64_t) page.width * page.height;
		info->total_pixels = pixels > UINT64_MAX - info->total_pixels ?
			UINT64_MAX : info->total_pixels + pixels;
		if (pixels > largest)
		{
			largest = pixels;
			info->width = page.width;
			info->height = page.height;
			bits = (uint64_t) page.bits_per_sample * page.samples;
			info->bits_per_pixel = bits > UINT16_MAX ? UINT16_MAX : (uint16_t) bits;
			info->x_dpi = page.x_dpi;
			info->y_dpi = page.y_dpi;
		}

		if (page.next_ifd == 0)
			break;
		if (ntracked < TIFF_TRACKED_IFDS)
			tracked[ntracked++] = offset;
		for (i = 0; i < ntracked; i++)
			if (tracked[i] == page.next_ifd)
				break;
		if (i < ntracked || page.next_ifd == brent_saved)
			return scribe_probe_fail(info, PROBE_CORRUPT,
							  "TIFF directory chain loops: directory %" PRIu32 " points back to offset %" PRIu32,
							  info->pages - 1, page.next_ifd);
		if (++brent_steps == brent_power)
		{
			brent_saved = page.next_ifd;
			brent_power *= 2;
			brent_steps = 0;
		}
		offset = page.next_ifd;
	}
	return PROBE_OK;
}
