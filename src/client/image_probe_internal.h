/*
 * image_probe_internal.h — what the parts of the image header check share:
 * the failure report, bounds checks and byte readers.  Plain C, no
 * PostgreSQL headers, like image_probe.h (the fuzz targets build it alone).
 */
#ifndef SCRIBE_IMAGE_PROBE_INTERNAL_H
#define SCRIBE_IMAGE_PROBE_INTERNAL_H

#include "image_probe.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define PROBE_PRINTF(fmt_index, first_arg) \
	__attribute__((format(printf, fmt_index, first_arg)))
#else
#define PROBE_PRINTF(fmt_index, first_arg)
#endif

/* True when count bytes starting at offset lie inside a len-byte input. */
static inline int
has_bytes(size_t len, size_t offset, size_t count)
{
	return offset <= len && count <= len - offset;
}

/*
 * Integers at p, which the caller has bounds-checked.  Bytes are widened to
 * uint32_t before shifting: a byte promoted to int and shifted by 24 could
 * overflow int, which is undefined.
 */
/* Big-endian 16-bit value */
static inline uint32_t be16(const unsigned char *p) { return ((uint32_t) p[0] << 8) | p[1]; }
/* Big-endian 32-bit value */
static inline uint32_t be32(const unsigned char *p) { return (be16(p) << 16) | be16(p + 2); }
/* Little-endian 16-bit value */
static inline uint32_t le16(const unsigned char *p) { return ((uint32_t) p[1] << 8) | p[0]; }
/* Little-endian 24-bit value */
static inline uint32_t le24(const unsigned char *p) { return ((uint32_t) p[2] << 16) | le16(p); }
/* Little-endian 32-bit value */
static inline uint32_t le32(const unsigned char *p) { return (le16(p + 2) << 16) | le16(p); }

/* A 64-bit quantity clamped to what a uint32_t holds. */
static inline uint32_t clamp_u32(uint64_t value) { return value > UINT32_MAX ? UINT32_MAX : (uint32_t) value; }
/* Dots per inch from dots per metre, rounded. */
static inline uint32_t dpi_from_per_metre(uint32_t ppm) { return clamp_u32(((uint64_t) ppm * 254 + 5000) / 10000); }
/* Dots per inch from dots per centimetre, rounded. */
static inline uint32_t dpi_from_per_cm(uint32_t per_cm) { return clamp_u32(((uint64_t) per_cm * 254 + 50) / 100); }

/* Write a failure's detail and hand its status back */
extern ScribeProbeStatus scribe_probe_fail(ScribeImageInfo *info, ScribeProbeStatus status,
										   const char *fmt,...) PROBE_PRINTF(3, 4);

/* image_probe_tiff.c: the chain of a TIFF's directories */
extern ScribeProbeStatus scribe_probe_tiff(const unsigned char *d, size_t len, uint32_t max_pages,
										   ScribeImageInfo *info);

#endif							/* SCRIBE_IMAGE_PROBE_INTERNAL_H */
