/*
 * fuzz_image_probe.c — libFuzzer target for scribe_image_probe().
 *
 * Each input is probed twice, with a page limit and without, and the
 * results are checked against the contract in image_probe.h; a broken
 * invariant aborts, which libFuzzer (and the replay binary) report as a
 * crash.  AddressSanitizer catches reads outside the input, because
 * libFuzzer hands over a buffer of exactly the input's size.
 */
#include "image_probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The page limit of the first probe: small, so the limit path is explored */
#define FUZZ_MAX_PAGES 4

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a broken invariant and abort, so the input is kept as a crash. */
static void
invariant_failed(const char *what, ScribeProbeStatus status, const ScribeImageInfo *info)
{
	fprintf(stderr, "image_probe invariant broken: %s (status %s, %s %ux%u, %u pages, detail \"%.128s\")\n",
			what, scribe_probe_status_name(status), scribe_image_format_name(info->format),
			(unsigned) info->width, (unsigned) info->height, (unsigned) info->pages, info->detail);
	abort();
}

/* Check what any probe result must satisfy. */
static void
check_result(ScribeProbeStatus status, const ScribeImageInfo *info, uint32_t max_pages)
{
	if ((unsigned) status > PROBE_TOO_MANY_PAGES)
		invariant_failed("status out of range", status, info);
	if ((unsigned) info->format > IMAGE_PDF)
		invariant_failed("format out of range", status, info);
	if (memchr(info->detail, '\0', sizeof(info->detail)) == NULL)
		invariant_failed("detail is not NUL-terminated", status, info);
	if (status != PROBE_OK)
	{
		if (info->detail[0] == '\0')
			invariant_failed("a failure without a detail", status, info);
		return;
	}
	if (info->width < 1 || info->height < 1 || info->pages < 1)
		invariant_failed("PROBE_OK with a side or the page count below 1", status, info);
	if (info->total_pixels < (uint64_t) info->width * info->height)
		invariant_failed("total_pixels below width * height", status, info);
	if (info->pages == 1 && info->total_pixels != (uint64_t) info->width * info->height)
		invariant_failed("one page, but total_pixels is not width * height", status, info);
	if (max_pages != 0 && info->pages > max_pages)
		invariant_failed("more pages than max_pages", status, info);
	if (info->format == IMAGE_UNKNOWN || info->format == IMAGE_PDF)
		invariant_failed("PROBE_OK for an unknown format or a PDF", status, info);
}

/* Probe one input with and without a page limit and compare. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ScribeImageInfo limited, unlimited;
	ScribeProbeStatus limited_status, unlimited_status;

	limited_status = scribe_image_probe(data, size, FUZZ_MAX_PAGES, &limited);
	check_result(limited_status, &limited, FUZZ_MAX_PAGES);
	unlimited_status = scribe_image_probe(data, size, 0, &unlimited);
	check_result(unlimited_status, &unlimited, 0);

	/* A page limit can only turn success into PROBE_TOO_MANY_PAGES */
	if (limited_status == PROBE_OK &&
		(unlimited_status != PROBE_OK || memcmp(&limited, &unlimited, sizeof(limited)) != 0))
		invariant_failed("the page limit changed a successful result", unlimited_status, &unlimited);
	if (limited_status != PROBE_OK && limited_status != PROBE_TOO_MANY_PAGES &&
		limited_status != unlimited_status)
		invariant_failed("the page limit changed a failure", unlimited_status, &unlimited);
	return 0;
}
