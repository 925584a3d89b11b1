/*
 * Cron schedules in the server: scribe.cron_next(), which the policies'
 * scheduling (src/sql/lifecycle.sql) calls too.
 *
 * The parser and the search (cron.c, cron_next.c) count seconds since
 * 1970 in UTC; a timestamptz counts microseconds since 2000.  Runs fall on
 * whole minutes, so the conversion back is exact, and the search's own
 * range is wider than timestamptz's, so only the end of timestamptz can
 * leave a schedule without a next run.
 */
#include "base/pg_scribe.h"

#include "common/int.h"
#include "fmgr.h"
#include "utils/timestamp.h"

#include "lifecycle/lifecycle.h"

/* Seconds from 1970-01-01 (the Unix epoch) to 2000-01-01 (PostgreSQL's) */
#define POSTGRES_EPOCH_IN_UNIX_SECONDS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

#define CRON_FORMAT_HINT \
	"A cron expression has 5 fields, in UTC: minute (0-59), hour (0-23), day of month (1-31), " \
	"month (1-12 or jan-dec), day of week (0-7 or sun-sat; 0 and 7 are Sunday). Each is *, a value, " \
	"a list a,b, a range a-b, or a step */n, a-b/n or a/n. Macros: @yearly, @monthly, @weekly, " \
	"@daily, @hourly. Example: '*/15 9-17 * * mon-fri'."

PG_FUNCTION_INFO_V1(scribe_cron_next);

/* Seconds since 1970 of the second a finite timestamp falls in */
static int64
unix_seconds(TimestampTz time)
{
	int64		seconds = time / USECS_PER_SEC;

	/* round towards minus infinity: 1969-12-31 23:59:59.5 is in second -1 */
	if (time % USECS_PER_SEC < 0)
		seconds--;
	return seconds + POSTGRES_EPOCH_IN_UNIX_SECONDS;
}

/* The timestamp of seconds since 1970; false past the timestamp range */
static bool
timestamptz_from_unix_seconds(int64 seconds, TimestampTz *time)
{
	return !pg_mul_s64_overflow(seconds - POSTGRES_EPOCH_IN_UNIX_SECONDS, USECS_PER_SEC, time) &&
		IS_VALID_TIMESTAMP(*time);
}

/* The first run of a parsed schedule strictly after a finite after; false if past the range */
static bool
next_run(const ScribeCronSchedule *schedule, TimestampTz after, TimestampTz *next,
		 char *error, size_t errlen)
{
	int64		next_seconds;

	if (!scribe_cron_find_next(schedule, unix_seconds(after), &next_seconds, error, errlen))
		return false;
	if (!timestamptz_from_unix_seconds(next_seconds, next))
	{
		snprintf(error, errlen, "the next run is past the end of the timestamp range");
		return false;
	}
	return true;
}

/* Parse len bytes at expr into schedule, or ERROR 22023 */
static void
parse_or_error(const char *expr, size_t len, ScribeCronSchedule *schedule)
{
	char		error[SCRIBE_CRON_ERROR_SIZE];

	if (scribe_cron_parse(expr, len, schedule, error, sizeof(error)))
		return;
	/* an over-long expression is not repeated in the message */
	if (len > SCRIBE_CRON_MAX_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid cron expression: %s", error),
				 errhint(CRON_FORMAT_HINT)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid cron expression \"%.*s\": %s", (int) len, expr, error),
			 errhint(CRON_FORMAT_HINT)));
}

/* scribe.cron_next(schedule, after) -> the first run strictly after after */
Datum
scribe_cron_next(PG_FUNCTION_ARGS)
{
	text	   *expr = PG_GETARG_TEXT_PP(0);
	TimestampTz after = PG_GETARG_TIMESTAMPTZ(1);
	ScribeCronSchedule schedule;
	char		error[SCRIBE_CRON_ERROR_SIZE];
	TimestampTz next;

	parse_or_error(VARDATA_ANY(expr), VARSIZE_ANY_EXHDR(expr), &schedule);
	if (TIMESTAMP_NOT_FINITE(after))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("there is no run after %s", TIMESTAMP_IS_NOBEGIN(after) ? "-infinity" : "infinity"),
				 errhint("Pass a finite time, or leave after out for now().")));
	if (!next_run(&schedule, after, &next, error, sizeof(error)))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s", error),
				 errhint("Timestamps end in 294276 AD.")));
	PG_RETURN_TIMESTAMPTZ(next);
}
