/*
 * Decoding an image's bytes into pages (engine_decode.c).
 */
#ifndef SCRIBE_ENGINE_DECODE_H
#define SCRIBE_ENGINE_DECODE_H

#include <stddef.h>

#include <leptonica/allheaders.h>

extern PIXA *engine_decode_pages(const unsigned char *data, size_t len, unsigned max_pages, int *format,
								 int *orientation);
extern PIX *engine_apply_orientation(PIX *pix, int orientation);

#endif							/* SCRIBE_ENGINE_DECODE_H */
