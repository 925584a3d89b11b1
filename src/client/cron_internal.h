/*
 * cron_internal.h — what the cron parser (cron.c) and the search
 * (cron_next.c) share.  Plain C99, like cron.h.
 */
#ifndef SCRIBE_CRON_INTERNAL_H
#define SCRIBE_CRON_INTERNAL_H

#include "cron.h"

#if defined(__GNUC__) || defined(__clang__)
#define CRON_PRINTF(fmt_index, first_arg) \
	__attribute__((format(printf, fmt_index, first_arg)))
#else
#define CRON_PRINTF(fmt_index, first_arg)
#endif

/* Write an error into error (errlen bytes; nothing if 0) and return false */
extern bool scribe_cron_fail(char *error, size_t errlen, const char *fmt,...) CRON_PRINTF(3, 4);

#endif							/* SCRIBE_CRON_INTERNAL_H */
