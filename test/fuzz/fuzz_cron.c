/*
 * fuzz_cron.c — libFuzzer target for scribe_cron_parse() and
 * scribe_cron_find_next().
 *
 * The input is the expression, exactly its bytes (libFuzzer hands over a
 * buffer of exactly the input's size, so AddressSanitizer catches a read
 * past the end).  It is parsed with buffers of every kind; a schedule that
 * parses is searched from a few fixed times and one taken from the input,
 * and every result is checked against the contract in cron.h and against
 * the slow oracle of cron_oracle.c.  A broken invariant aborts, which
 * libFuzzer (and the replay binary) report as a crash.
 */
#define _POSIX_C_SOURCE 200809L

#include "cron.h"
#include "cron_oracle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a broken invariant and abort, so the input is kept as a crash. */
static void
invariant_failed(const char *what, const uint8_t *data, size_t size, int64_t after, const char *error)
{
	fprintf(stderr, "cron invariant broken: %s (expression \"%.*s\", after %lld, error \"%s\")\n",
			what, (int) (size > 300 ? 300 : size), (const char *) data, (long long) after, error);
	abort();
}

/* Whether an error is NUL-terminated printable ASCII, never empty */
static int
error_is_text(const char *error, size_t size)
{
	size_t		len = strnlen(error, size);
	size_t		i;

	if (len == 0 || len == size)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char) error[i] < 0x20 || (unsigned char) error[i] >= 0x7f)
			return 0;
	return 1;
}

/* Search from after and check the run found against the contract and the oracle. */
static void
check_next(const ScribeCronSchedule *schedule, int64_t after, const uint8_t *data, size_t size)
{
	char		error[SCRIBE_CRON_ERROR_SIZE];
	int64_t		next = 0;
	int64_t		slow = 0;

	if (!scribe_cron_find_next(schedule, after, &next, error, sizeof(error)))
		invariant_failed("a schedule that parsed has no next run", data, size, after, error);
	if (error[0] != '\0')
		invariant_failed("an error left behind by a success", data, size, after, error);
	if (next <= after)
		invariant_failed("the next run is not after the time given", data, size, after, "");
	if (next % 60 != 0)
		invariant_failed("the next run is not the start of a minute", data, size, after, "");
	if (next - after > (int64_t) 41 * 366 * 86400)
		invariant_failed("the next run is more than 41 years away", data, size, after, "");
	if (!scribe_cron_matches(schedule, next) || !oracle_matches(schedule, next))
		invariant_failed("the next run does not match the schedule", data, size, after, "");
	/* nothing in between: the oracle, walking day by day, finds the same minute */
	if (!oracle_next(schedule, after, next, &slow) || slow != next)
		invariant_failed("the oracle finds an earlier run", data, size, after, "");
}

/* Parse one input; search from several times if it parses. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *expr = (const char *) data;
	ScribeCronSchedule schedule;
	ScribeCronSchedule again;
	char		error[SCRIBE_CRON_ERROR_SIZE];
	char		tiny[4];
	bool		parsed;
	uint64_t	hash = 1469598103934665603ULL;
	/* 1970, a leap day's last minute, the end of 2099, 1969, far past, far future */
	const int64_t fixed[] = {
		0, 1709251170, 4102444799, -1, -62135596800, SCRIBE_CRON_TIME_MAX
	};
	size_t		i;

	parsed = scribe_cron_parse(expr, size, &schedule, error, sizeof(error));
	if (parsed ? error[0] != '\0' : !error_is_text(error, sizeof(error)))
		invariant_failed("the error does not fit the result", data, size, 0, error);

	/* the same answer again, with a tiny buffer and with none */
	if (scribe_cron_parse(expr, size, &again, tiny, sizeof(tiny)) != parsed ||
		memchr(tiny, '\0', sizeof(tiny)) == NULL ||
		scribe_cron_parse(expr, size, &again, NULL, 0) != parsed ||
		memcmp(&schedule, &again, sizeof(schedule)) != 0)
		invariant_failed("parsing again gives another result", data, size, 0, error);
	if (!parsed)
		return 0;
	if (size > SCRIBE_CRON_MAX_LENGTH)
		invariant_failed("an expression over the length limit parsed", data, size, 0, "");

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_next(&schedule, fixed[i], data, size);
	/* and a time of the input's own, within 400 years of 1970 */
	for (i = 0; i < size; i++)
		hash = (hash ^ data[i]) * 1099511628211ULL;
	check_next(&schedule, (int64_t) (hash % (UINT64_C(400) * 366 * 86400)) - (int64_t) 200 * 366 * 86400,
			   data, size);
	return 0;
}
