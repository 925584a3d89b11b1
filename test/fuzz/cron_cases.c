/*
 * cron_cases.c — table-driven regression test for the cron parser and the
 * next-run search, src/client/cron.c and cron_next.c.
 *
 *   cron_cases
 *
 * Each row of next_cases must give exactly its next run (times in UTC,
 * written as text and turned into seconds by the C library's timegm, not
 * by the code under test), and the slow oracle of cron_oracle.c must agree
 * from that and a few more starting times.  Each row of error_cases must be
 * refused with exactly its message.  Ends with "N passed, N failed"; exits 1
 * on any failure.
 */
#define _DEFAULT_SOURCE

#include "cron.h"
#include "cron_oracle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* An expression, a time, and the first run after it */
typedef struct NextCase
{
	const char *expr;
	const char *after;			/* "YYYY-MM-DD HH:MM:SS", UTC */
	const char *expected;
} NextCase;

static const NextCase next_cases[] = {
	/* strictly after: a time on a run gives the next one; seconds only decide the minute */
	{"* * * * *", "2024-01-01 00:00:00", "2024-01-01 00:01:00"},
	{"* * * * *", "2024-01-01 00:00:59", "2024-01-01 00:01:00"},
	{"30 9 * * *", "2024-01-01 09:30:00", "2024-01-02 09:30:00"},
	{"30 9 * * *", "2024-01-01 09:29:59", "2024-01-01 09:30:00"},
	{"0 * * * *", "2024-01-01 00:00:00", "2024-01-01 01:00:00"},
	/* numbers, lists, ranges, steps */
	{"5,35 * * * *", "2024-01-01 00:05:00", "2024-01-01 00:35:00"},
	{"*/15 * * * *", "2024-01-01 00:14:00", "2024-01-01 00:15:00"},
	{"5-10/2 * * * *", "2024-01-01 00:07:00", "2024-01-01 00:09:00"},
	{"5-10/2 * * * *", "2024-01-01 00:09:00", "2024-01-01 01:05:00"},
	{"5/20 * * * *", "2024-01-01 00:46:00", "2024-01-01 01:05:00"},
	{"0 9-17 * * *", "2024-01-01 17:00:00", "2024-01-02 09:00:00"},
	{"0 */6 * * *", "2024-01-01 13:00:00", "2024-01-01 18:00:00"},
	{"15 2,14 * * *", "2024-01-01 14:15:00", "2024-01-02 02:15:00"},
	{"0 0 1,15 * *", "2024-01-02 00:00:00", "2024-01-15 00:00:00"},
	{"0 0 */10 * *", "2024-01-21 00:00:00", "2024-01-31 00:00:00"},
	{"0 0 1 */3 *", "2024-01-01 00:00:00", "2024-04-01 00:00:00"},
	{"1-5,50-55/5 0 * * *", "2024-01-01 00:05:00", "2024-01-01 00:50:00"},
	{"*,5 0 * * *", "2024-01-01 00:05:00", "2024-01-01 00:06:00"},
	/* month and day names, any case; 0 and 7 are Sunday */
	{"0 0 1 jan,JUL *", "2024-02-01 00:00:00", "2024-07-01 00:00:00"},
	{"0 0 1 Feb-Apr/2 *", "2024-03-01 00:00:00", "2024-04-01 00:00:00"},
	{"0 0 * * mon-fri", "2024-01-05 12:00:00", "2024-01-08 00:00:00"},
	{"0 0 * * 7", "2024-01-01 00:00:00", "2024-01-07 00:00:00"},
	{"0 0 * * 0", "2024-01-01 00:00:00", "2024-01-07 00:00:00"},
	{"0 0 * * SUN", "2024-01-01 00:00:00", "2024-01-07 00:00:00"},
	{"0 0 * * 5-7", "2024-01-05 00:00:00", "2024-01-06 00:00:00"},
	{"0 0 * * 6-7", "2024-01-06 00:00:00", "2024-01-07 00:00:00"},
	{"0 0 * * */2", "2024-01-01 00:00:00", "2024-01-02 00:00:00"},
	{"0 0 * * 1/2", "2024-01-05 00:00:00", "2024-01-08 00:00:00"},
	{"0 0 * * 7/2", "2024-01-01 00:00:00", "2024-01-07 00:00:00"},
	{"0 0 * * 1,fri", "2024-01-01 00:00:00", "2024-01-05 00:00:00"},
	/* both day fields restricted: either matches (the 13th is a Saturday, the 5th a Friday) */
	{"0 12 13 * fri", "2024-01-01 00:00:00", "2024-01-05 12:00:00"},
	{"0 12 13 * fri", "2024-01-06 00:00:00", "2024-01-12 12:00:00"},
	{"0 12 13 * fri", "2024-01-12 12:00:00", "2024-01-13 12:00:00"},
	{"0 0 30 2 mon", "2024-01-31 00:00:00", "2024-02-05 00:00:00"},
	/* a day of month starting with a star is unrestricted: both must match (odd Fridays) */
	{"0 12 */2 * fri", "2024-01-06 00:00:00", "2024-01-19 12:00:00"},
	{"0 12 * * fri", "2024-01-06 00:00:00", "2024-01-12 12:00:00"},
	{"0 12 13 * *", "2024-01-14 00:00:00", "2024-02-13 12:00:00"},
	/* February 29th, leap years and centuries */
	{"0 0 29 2 *", "2023-01-01 00:00:00", "2024-02-29 00:00:00"},
	{"0 0 29 2 *", "2024-03-01 00:00:00", "2028-02-29 00:00:00"},
	{"0 0 29 2 *", "2096-03-01 00:00:00", "2104-02-29 00:00:00"},
	{"0 0 29 2 *", "1897-01-01 00:00:00", "1904-02-29 00:00:00"},
	{"0 0 29 2 *", "1999-01-01 00:00:00", "2000-02-29 00:00:00"},
	{"0 0 * * *", "2024-02-28 00:00:00", "2024-02-29 00:00:00"},
	{"0 0 * * *", "2023-02-28 00:00:00", "2023-03-01 00:00:00"},
	{"0 0 * * *", "2100-02-28 12:00:00", "2100-03-01 00:00:00"},
	{"0 0 28-31 2 *", "2023-02-28 00:00:00", "2024-02-28 00:00:00"},
	/* the longest wait: February 29th on a Sunday, 2088 then 2128 */
	{"0 0 29 2 */7", "2088-03-01 00:00:00", "2128-02-29 00:00:00"},
	/* month ends */
	{"0 0 31 * *", "2024-01-31 00:00:00", "2024-03-31 00:00:00"},
	{"0 0 30 * *", "2024-01-30 00:00:00", "2024-03-30 00:00:00"},
	{"0 0 31 4-12 *", "2024-04-01 00:00:00", "2024-05-31 00:00:00"},
	/* year rollover */
	{"59 23 31 12 *", "2024-12-31 23:59:00", "2025-12-31 23:59:00"},
	{"0 0 1 1 *", "2024-12-31 23:59:59", "2025-01-01 00:00:00"},
	{"* * * * *", "2024-12-31 23:59:30", "2025-01-01 00:00:00"},
	/* macros */
	{"@yearly", "2024-12-31 23:59:59", "2025-01-01 00:00:00"},
	{"@annually", "2024-01-01 00:00:00", "2025-01-01 00:00:00"},
	{"@monthly", "2024-01-31 12:00:00", "2024-02-01 00:00:00"},
	{"@weekly", "2024-01-01 00:00:00", "2024-01-07 00:00:00"},
	{"@daily", "2024-02-28 00:00:00", "2024-02-29 00:00:00"},
	{"@midnight", "2024-02-29 23:59:59", "2024-03-01 00:00:00"},
	{"@HOURLY", "2024-01-01 23:30:00", "2024-01-02 00:00:00"},
	/* whitespace around and between fields */
	{"  0\t0  *  *  *\n", "2024-01-01 00:00:00", "2024-01-02 00:00:00"},
	{" @daily ", "2024-01-01 00:00:00", "2024-01-02 00:00:00"},
	/* before 1970 */
	{"0 0 1 1 *", "1969-12-31 23:59:59", "1970-01-01 00:00:00"},
	{"0 0 * * *", "1900-02-28 00:00:00", "1900-03-01 00:00:00"},
	{"*/5 * * * *", "1969-12-31 23:58:00", "1970-01-01 00:00:00"},
};

/* An expression and the error it must give */
typedef struct ErrorCase
{
	const char *expr;
	const char *error;
} ErrorCase;

static const ErrorCase error_cases[] = {
	{"", "the expression is empty"},
	{" \t\n", "the expression is empty"},
	{"* * * *", "expected 5 fields, found 4"},
	{"*", "expected 5 fields, found 1"},
	{"0 * * * * *", "expected 5 fields, found 6 (a seconds or a year field is not supported)"},
	{"0 0 1 1 * 2025", "expected 5 fields, found 6 (a seconds or a year field is not supported)"},
	{"60 * * * *", "minute 60 is out of range 0-59"},
	{"* 24 * * *", "hour 24 is out of range 0-23"},
	{"* * 0 * *", "day of month 0 is out of range 1-31"},
	{"* * 32 * *", "day of month 32 is out of range 1-31"},
	{"* * * 0 *", "month 0 is out of range 1-12"},
	{"* * * 13 *", "month 13 is out of range 1-12"},
	{"* * * * 8", "day of week 8 is out of range 0-7"},
	{"1-60 * * * *", "minute 60 is out of range 0-59"},
	{"99999999999999999999 * * * *", "minute 99999999999999999999 is out of range 0-59"},
	{"999999999999999999999999999 * * * *", "minute 999999999999999999999999... is out of range 0-59"},
	{"1,,2 * * * *", "minute: empty item in a list"},
	{",1 * * * *", "minute: empty item in a list"},
	{"* 1, * * *", "hour: empty item in a list"},
	{"1- * * * *", "minute range \"1-\" has no end"},
	{"1-,2 * * * *", "minute range \"1-\" has no end"},
	{"1-/2 * * * *", "minute range \"1-\" has no end"},
	{"-5 * * * *", "minute: expected a number, found \"-\""},
	{"* * * /2 *", "month: expected a number or a name, found \"/\""},
	{"*/0 * * * *", "minute step 0 must be at least 1"},
	{"*/61 * * * *", "minute step 61 is out of range 1-60"},
	{"* */25 * * *", "hour step 25 is out of range 1-24"},
	{"* * * jan-feb/13 *", "month step 13 is out of range 1-12"},
	{"* * * * */8", "day of week step 8 is out of range 1-7"},
	{"*/ * * * *", "minute: expected a step number after \"*/\", found the end of the field"},
	{"5/x * * * *", "minute: expected a step number after \"5/\", found \"x\""},
	{"30-10 * * * *", "minute range \"30-10\" is reversed"},
	{"* * * dec-jan *", "month range \"dec-jan\" is reversed"},
	{"* * * * sat-sun", "day of week range \"sat-sun\" is reversed (Sunday is also 7)"},
	{"* * * * 5-1", "day of week range \"5-1\" is reversed"},
	{"*x * * * *", "minute: unexpected \"x\" after \"*\""},
	{"** * * * *", "minute: unexpected \"*\" after \"*\""},
	{"1-5-7 * * * *", "minute: unexpected \"-\" after \"1-5\""},
	{"*/5/2 * * * *", "minute: unexpected \"/\" after \"*/5\""},
	{"* * * * 1x", "day of week: unexpected \"x\" after \"1\""},
	{"* * * * mon1", "day of week: unexpected \"1\" after \"mon\""},
	{"* * * foo *", "month \"foo\" is neither a number 1-12 nor a name jan-dec"},
	{"* * * january *", "month \"january\" is neither a number 1-12 nor a name jan-dec"},
	{"* * * * monday", "day of week \"monday\" is neither a number 0-7 nor a name sun-sat"},
	{"* * * * jan", "day of week \"jan\" is neither a number 0-7 nor a name sun-sat"},
	{"* noon * * *", "hour \"noon\" is not a number 0-23"},
	{"* * L * *", "day of month \"L\" is not a number 1-31"},
	{"* * * * 5#3", "day of week: unexpected \"#\" after \"5\""},
	{"* * ? * *", "day of month: expected a number, found \"?\""},
	{"* * * * \xc3\xa9", "day of week: expected a number or a name, found byte 0xC3"},
	{"0 0 30 2 *", "the schedule never runs: day of month 30 is past the end of every month it names (the longest has 29 days)"},
	{"0 0 31 4,6,9,11 *", "the schedule never runs: day of month 31 is past the end of every month it names (the longest has 30 days)"},
	{"0 0 30,31 feb */2", "the schedule never runs: day of month 30 is past the end of every month it names (the longest has 29 days)"},
	{"@daily 5", "unexpected text after @daily: a macro stands for all 5 fields"},
	{"@often", "unknown macro \"@often\"; expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"},
	{"@", "unknown macro \"@\"; expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"},
	{"@reboot", "@reboot is not supported: a schedule names times, not server starts"},
};

#define COUNT(table) (sizeof(table) / sizeof((table)[0]))

static int	passed;
static int	failed;

/* Count a failure and say why. */
static void
fail(const char *what, const char *fmt,...)
{
	va_list		args;

	failed++;
	printf("FAIL %s: ", what);
	va_start(args, fmt);
	vprintf(fmt, args);
	va_end(args);
	printf("\n");
}

/* Seconds since 1970 of "YYYY-MM-DD HH:MM:SS" in UTC; exits on a bad row */
static int64_t
parse_time(const char *text)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(text, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
	{
		fprintf(stderr, "bad time in the table: %s\n", text);
		exit(2);
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t) timegm(&tm);
}

/* A time as "YYYY-MM-DD HH:MM:SS" UTC, in out (32 bytes) */
static const char *
format_time(int64_t time, char *out)
{
	time_t		t = (time_t) time;
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, 32, "(%lld)", (long long) time);
	return out;
}

/* An expression for the log, control and non-ASCII bytes as '?', in out (64 bytes) */
static const char *
printable(const char *expr, char *out)
{
	size_t		i;

	for (i = 0; expr[i] != '\0' && i < 63; i++)
		out[i] = (unsigned char) expr[i] >= 0x20 && (unsigned char) expr[i] < 0x7f ? expr[i] : '?';
	out[i] = '\0';
	return out;
}

/* Compare the search with the oracle from after, up to the horizon. */
static int
agrees_with_oracle(const char *expr, const ScribeCronSchedule *schedule, int64_t after)
{
	int64_t		next = 0;
	int64_t		slow = 0;
	char		error[SCRIBE_CRON_ERROR_SIZE];
	char		a[32], b[32], c[32];
	bool		found = scribe_cron_find_next(schedule, after, &next, error, sizeof(error));
	bool		slow_found = oracle_next(schedule, after,
										 after + (int64_t) SCRIBE_CRON_HORIZON_YEARS * 366 * 86400, &slow);

	if (found != slow_found || (found && next != slow))
	{
		fail(expr, "after %s the search gives %s (%s), the oracle %s", format_time(after, a),
			 found ? format_time(next, b) : "nothing", error, slow_found ? format_time(slow, c) : "nothing");
		return 0;
	}
	return 1;
}

/* Run one row of next_cases. */
static void
run_next_case(const NextCase *c)
{
	ScribeCronSchedule schedule;
	char		error[SCRIBE_CRON_ERROR_SIZE];
	char		got[32];
	int64_t		after = parse_time(c->after);
	int64_t		expected = parse_time(c->expected);
	int64_t		next = 0;
	char		shown[64];
	/* more starting points for the oracle: a leap day, a century, a Sunday night, 1970 */
	static const char *const extra[] = {
		"2024-02-28 23:59:30", "2100-02-27 00:00:00", "2023-12-31 23:00:00", "1970-01-01 00:00:00"
	};
	size_t		i;

	if (!scribe_cron_parse(c->expr, strlen(c->expr), &schedule, error, sizeof(error)))
	{
		fail(c->expr, "does not parse: %s", error);
		return;
	}
	if (!scribe_cron_find_next(&schedule, after, &next, error, sizeof(error)))
	{
		fail(c->expr, "after %s: no next run (%s)", c->after, error);
		return;
	}
	if (next != expected)
	{
		fail(c->expr, "after %s: expected %s, got %s", c->after, c->expected, format_time(next, got));
		return;
	}
	if (!scribe_cron_matches(&schedule, next) || !oracle_matches(&schedule, next) ||
		scribe_cron_matches(&schedule, next - 60) != oracle_matches(&schedule, next - 60))
	{
		fail(c->expr, "scribe_cron_matches() and the oracle disagree around %s", c->expected);
		return;
	}
	if (!agrees_with_oracle(c->expr, &schedule, after))
		return;
	for (i = 0; i < COUNT(extra); i++)
		if (!agrees_with_oracle(c->expr, &schedule, parse_time(extra[i])))
			return;
	passed++;
	printf("ok   %-24s after %s  %s\n", printable(c->expr, shown), c->after, c->expected);
}

/* Run one row of error_cases. */
static void
run_error_case(const ErrorCase *c)
{
	ScribeCronSchedule schedule;
	char		error[SCRIBE_CRON_ERROR_SIZE];
	char		shown[64];

	if (scribe_cron_parse(c->expr, strlen(c->expr), &schedule, error, sizeof(error)))
		fail(c->expr, "parsed, expected \"%s\"", c->error);
	else if (strcmp(error, c->error) != 0)
		fail(c->expr, "expected \"%s\", got \"%s\"", c->error, error);
	else if (schedule.minutes != 0 || schedule.months != 0)
		fail(c->expr, "a refused expression left a schedule behind");
	else
	{
		passed++;
		printf("ok   %-24s %s\n", printable(c->expr, shown), error);
	}
}

/* Cases no table row covers: lengths, NUL bytes, small buffers, the search's own errors. */
static void
run_builtin_cases(void)
{
	ScribeCronSchedule schedule;
	ScribeCronSchedule never;
	char		error[SCRIBE_CRON_ERROR_SIZE];
	char		tiny[8];
	char		longest[SCRIBE_CRON_MAX_LENGTH + 2];
	int64_t		next;

	/* 256 bytes are accepted, 257 are not */
	memset(longest, ' ', sizeof(longest));
	memcpy(longest, "* * * * *", 9);
	if (!scribe_cron_parse(longest, SCRIBE_CRON_MAX_LENGTH, &schedule, error, sizeof(error)))
		fail("(length)", "256 bytes are refused: %s", error);
	else if (scribe_cron_parse(longest, SCRIBE_CRON_MAX_LENGTH + 1, &schedule, error, sizeof(error)) ||
			 strcmp(error, "the expression is too long (257 bytes, at most 256)") != 0)
		fail("(length)", "257 bytes give \"%s\"", error);
	else
		passed++;

	/* the length is what counts: a NUL inside is an unexpected byte, one after is not read */
	if (scribe_cron_parse("* * * * 1\0", 10, &schedule, error, sizeof(error)) ||
		strcmp(error, "day of week: unexpected byte 0x00 after \"1\"") != 0)
		fail("(nul)", "a NUL inside gives \"%s\"", error);
	else if (!scribe_cron_parse("* * * * 1\0x", 9, &schedule, error, sizeof(error)) || error[0] != '\0')
		fail("(nul)", "the byte after len was read: \"%s\"", error);
	else if (scribe_cron_parse(NULL, 0, &schedule, error, sizeof(error)) ||
			 strcmp(error, "the expression is empty") != 0)
		fail("(nul)", "NULL gives \"%s\"", error);
	else
		passed++;

	/* a short buffer gets a cut, terminated message; none at all is fine */
	if (scribe_cron_parse("60 * * * *", 10, &schedule, tiny, sizeof(tiny)) ||
		strcmp(tiny, "minute ") != 0 ||
		scribe_cron_parse("60 * * * *", 10, &schedule, NULL, 0))
		fail("(buffer)", "a short buffer gives \"%s\"", tiny);
	else
		passed++;

	/* what the parser fills in: Sunday as 7 is bit 0; a star leaves a day field unrestricted */
	if (!scribe_cron_parse("0 0 */2 1,12 7", 14, &schedule, error, sizeof(error)) ||
		schedule.minutes != 1 || schedule.hours != 1 || schedule.days_of_month != 0xAAAAAAAAu ||
		schedule.months != ((1 << 1) | (1 << 12)) || schedule.days_of_week != 1 ||
		schedule.day_of_month_restricted || !schedule.day_of_week_restricted)
		fail("0 0 */2 1,12 7", "wrong schedule or error \"%s\"", error);
	else if (!scribe_cron_parse("@hourly", 7, &schedule, error, sizeof(error)) ||
			 schedule.minutes != 1 || schedule.hours != 0xFFFFFF ||
			 schedule.days_of_month != 0xFFFFFFFEu || schedule.months != 0x1FFE ||
			 schedule.days_of_week != 0x7F || schedule.day_of_month_restricted ||
			 schedule.day_of_week_restricted)
		fail("@hourly", "wrong schedule or error \"%s\"", error);
	else
		passed++;

	/* the search: times out of range, a schedule built by hand that never runs */
	if (scribe_cron_find_next(&schedule, SCRIBE_CRON_TIME_MAX + 1, &next, error, sizeof(error)) ||
		strstr(error, "is out of range") == NULL ||
		scribe_cron_find_next(&schedule, SCRIBE_CRON_TIME_MIN - 1, &next, error, sizeof(error)) ||
		!scribe_cron_find_next(&schedule, SCRIBE_CRON_TIME_MAX, &next, error, sizeof(error)) ||
		!scribe_cron_find_next(&schedule, SCRIBE_CRON_TIME_MIN, &next, error, sizeof(error)))
		fail("(range)", "the bounds of the search are wrong: \"%s\"", error);
	else
		passed++;

	never = schedule;
	never.days_of_month = 1u << 30;
	never.months = 1u << 2;
	never.day_of_month_restricted = true;
	never.day_of_week_restricted = false;
	if (scribe_cron_find_next(&never, 0, &next, error, sizeof(error)) ||
		strcmp(error, "the schedule has no next run: none in the 100 years after 0 seconds since 1970") != 0)
		fail("(never)", "February 30th gives \"%s\"", error);
	else
	{
		never.minutes = 0;
		if (scribe_cron_find_next(&never, 0, &next, error, sizeof(error)) ||
			strcmp(error, "the schedule has no next run: a field allows no value") != 0)
			fail("(empty)", "an empty minute field gives \"%s\"", error);
		else
			passed++;
	}
}

/* cron_cases */
int
main(void)
{
	size_t		i;

	for (i = 0; i < COUNT(next_cases); i++)
		run_next_case(&next_cases[i]);
	for (i = 0; i < COUNT(error_cases); i++)
		run_error_case(&error_cases[i]);
	run_builtin_cases();
	/* "N passed, N failed" first, like probe_cases, which runs before */
	printf("%d passed, %d failed (cron parser and search)\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
