/*
 * cron.h — cron schedules: parse a standard 5-field cron expression and
 * find the first minute it names after a given time.
 *
 * Plain C99 with no PostgreSQL headers: it is compiled into the extension
 * and into the standalone unit cases and fuzzer in test/fuzz.  It allocates
 * nothing and keeps no state.
 *
 * Glossary:
 *   expression  the text: "minute hour day-of-month month day-of-week"
 *               (each a star, a number or name, a list a,b, a range a-b,
 *               or a step: a star or a-b or a, then a slash and n) or a
 *               macro (@daily, ...)
 *   schedule    a parsed expression: one bitmask of allowed values per field
 *   run         a minute the schedule names
 *
 * Times are seconds since the Unix epoch, and every calendar computation is
 * in UTC on the proleptic Gregorian calendar (pg_cron's default is GMT too):
 * "0 9 * * *" runs at 09:00 UTC, whatever the server's or the session's
 * time zone, and a run never happens twice or not at all on a daylight
 * saving change.
 */
#ifndef SCRIBE_CRON_H
#define SCRIBE_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest expression accepted, in bytes */
#define SCRIBE_CRON_MAX_LENGTH 256

/* A buffer of this size holds any error the parser or the search writes */
#define SCRIBE_CRON_ERROR_SIZE 256

/*
 * Times the search accepts: about 316,000 years either side of 1970, more
 * than PostgreSQL's timestamps span, and little enough that no arithmetic
 * on them overflows.
 */
#define SCRIBE_CRON_TIME_MIN (-INT64_C(10000000000000))
#define SCRIBE_CRON_TIME_MAX INT64_C(10000000000000)

/*
 * How far ahead the search looks.  A schedule that parsed runs within 40
 * years of any time (the longest wait: February 29th that must also be a
 * given weekday, as in 2088 and then 2128, 2100 being no leap year); only a
 * schedule built by hand that matches nothing reaches this.
 */
#define SCRIBE_CRON_HORIZON_YEARS 100

/*
 * A parsed expression.  Bit n of a mask set means value n is allowed.
 *
 * Vixie cron's rule for the two day fields: when both are restricted (their
 * text does not start with a star), a day runs if it matches either;
 * otherwise it must match both.  So "0 0 13 * fri" runs on every 13th and
 * every Friday, while a day of month of a star step (every second day from
 * the 1st) and "fri" run on odd days that are Fridays.
 */
typedef struct ScribeCronSchedule
{
	uint64_t	minutes;		/* bits 0-59 */
	uint32_t	hours;			/* bits 0-23 */
	uint32_t	days_of_month;	/* bits 1-31 */
	uint16_t	months;			/* bits 1-12 */
	uint8_t		days_of_week;	/* bits 0-6, 0 is Sunday (7 in the text) */
	bool		day_of_month_restricted;
	bool		day_of_week_restricted;
} ScribeCronSchedule;

/*
 * Parse len bytes at expr (no NUL needed; a NUL byte inside is an error).
 * On success fill schedule and return true.  On failure return false and
 * write what is wrong, naming the field ("minute 60 is out of range 0-59",
 * "expected 5 fields, found 4"), into error (errlen bytes, always
 * NUL-terminated when errlen > 0).  A schedule that can never run ("0 0 30
 * 2 *") is refused here too, so every schedule that parses has a next run.
 */
bool		scribe_cron_parse(const char *expr, size_t len, ScribeCronSchedule *schedule,
							  char *error, size_t errlen);

/*
 * The first run strictly after time after: the start of a minute the
 * schedule names, so seconds in after only decide whether its own minute
 * has begun (12:00:00 and 12:00:30 both give 12:01 for "* * * * *").
 * Returns false with an error when after is outside [SCRIBE_CRON_TIME_MIN,
 * SCRIBE_CRON_TIME_MAX] or no run comes within SCRIBE_CRON_HORIZON_YEARS.
 */
bool		scribe_cron_find_next(const ScribeCronSchedule *schedule, int64_t after,
								  int64_t *next, char *error, size_t errlen);

/*
 * Whether the minute containing time is a run of the schedule (false for a
 * time before SCRIBE_CRON_TIME_MIN or past any run the search can return).
 */
bool		scribe_cron_matches(const ScribeCronSchedule *schedule, int64_t time);

#endif							/* SCRIBE_CRON_H */
