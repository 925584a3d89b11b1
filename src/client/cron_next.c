/*
 * cron_next.c — find a schedule's next run, with integer calendar
 * arithmetic in UTC.
 *
 * The search walks months, then the days of a month, then hours and
 * minutes, and jumps over whatever the schedule rules out: a month it does
 * not name costs one step, a day one step, an hour one bit scan.  A yearly
 * schedule is found in a few dozen steps, not half a million minutes.
 *
 * Dates are on the proleptic Gregorian calendar, as PostgreSQL's are; the
 * conversions between dates and day numbers are Howard Hinnant's
 * days_from_civil and civil_from_days, exact for every int64 day in range.
 */
#include "cron_internal.h"

#include <inttypes.h>

#define SECONDS_PER_MINUTE 60
#define SECONDS_PER_HOUR 3600
#define SECONDS_PER_DAY 86400
#define MINUTES_PER_DAY 1440
/* 1970-01-01 was a Thursday (Sunday is 0) */
#define EPOCH_WEEKDAY 4
/* Days from 0000-03-01 to 1970-01-01, and in a 400-year cycle */
#define DAYS_TO_EPOCH 719468
#define DAYS_PER_ERA 146097

/* The bits each mask may use */
#define VALID_MINUTES ((UINT64_C(1) << 60) - 1)
#define VALID_HOURS ((UINT32_C(1) << 24) - 1)
#define VALID_DAYS_OF_MONTH (UINT32_C(0xFFFFFFFF) & ~UINT32_C(1))
#define VALID_MONTHS ((uint16_t) 0x1FFE)
#define VALID_DAYS_OF_WEEK ((uint8_t) 0x7F)

/* A date and a time of day, broken down */
typedef struct CronTime
{
	int64_t		year;
	int			month;			/* 1-12 */
	int			day;			/* 1-31 */
	int			hour;			/* 0-23 */
	int			minute;			/* 0-59 */
} CronTime;

/* a / b rounded towards minus infinity (b > 0) */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* a mod b in [0, b) (b > 0) */
static int64_t
floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static bool
is_leap_year(int64_t year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* Days in a month of a year */
static int
days_in_month(int64_t year, int month)
{
	static const int lengths[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return month == 2 && is_leap_year(year) ? 29 : lengths[month];
}

/* Days since 1970-01-01 of a date */
static int64_t
days_from_civil(int64_t year, int month, int day)
{
	/* years start on March 1st here, so that February 29th is a year's last day */
	int64_t		y = month <= 2 ? year - 1 : year;
	int64_t		era = floor_div(y, 400);
	int64_t		year_of_era = y - era * 400;
	int64_t		day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
	int64_t		day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;

	return era * DAYS_PER_ERA + day_of_era - DAYS_TO_EPOCH;
}

/* The date of a day since 1970-01-01 */
static void
civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
	int64_t		z = days + DAYS_TO_EPOCH;
	int64_t		era = floor_div(z, DAYS_PER_ERA);
	int64_t		day_of_era = z - era * DAYS_PER_ERA;
	int64_t		year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524
							   - day_of_era / 146096) / 365;
	int64_t		day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	int64_t		month_from_march = (5 * day_of_year + 2) / 153;

	*day = (int) (day_of_year - (153 * month_from_march + 2) / 5 + 1);
	*month = (int) (month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
	*year = year_of_era + era * 400 + (*month <= 2 ? 1 : 0);
}

/* Break seconds since the epoch down to their minute */
static void
break_down(int64_t time, CronTime *t, int64_t *days)
{
	int64_t		minutes = floor_div(time, SECONDS_PER_MINUTE);
	int			minute_of_day;

	*days = floor_div(minutes, MINUTES_PER_DAY);
	minute_of_day = (int) (minutes - *days * MINUTES_PER_DAY);
	t->hour = minute_of_day / 60;
	t->minute = minute_of_day % 60;
	civil_from_days(*days, &t->year, &t->month, &t->day);
}

/* The weekday (0 is Sunday) of a day since 1970-01-01 */
static int
weekday_of(int64_t days)
{
	return (int) floor_mod(days + EPOCH_WEEKDAY, 7);
}

/* The lowest value from..last whose bit is set in mask, or -1 */
static int
next_bit(uint64_t mask, int from, int last)
{
	int			value;

	for (value = from; value <= last; value++)
		if ((mask >> value) & 1)
			return value;
	return -1;
}

/* Whether a day runs, by its day of month and weekday (vixie cron's rule, see cron.h) */
static bool
day_matches(const ScribeCronSchedule *schedule, int day, int weekday)
{
	bool		by_day_of_month = (schedule->days_of_month >> day) & 1;
	bool		by_weekday = (schedule->days_of_week >> weekday) & 1;

	if (schedule->day_of_month_restricted && schedule->day_of_week_restricted)
		return by_day_of_month || by_weekday;
	return by_day_of_month && by_weekday;
}

/* On a day that runs, the first hour and minute at or after from's; false if none is left that day */
static bool
first_run_of_day(const ScribeCronSchedule *schedule, const CronTime *from, int *hour, int *minute)
{
	int			h = next_bit(schedule->hours, from->hour, 23);
	int			m;

	if (h == from->hour)
	{
		m = next_bit(schedule->minutes, from->minute, 59);
		if (m >= 0)
		{
			*hour = h;
			*minute = m;
			return true;
		}
		h = next_bit(schedule->hours, from->hour + 1, 23);
	}
	if (h < 0)
		return false;
	*hour = h;
	*minute = next_bit(schedule->minutes, 0, 59);
	return *minute >= 0;
}

/* The first run in from's month at or after from; false if none is left that month */
static bool
first_run_of_month(const ScribeCronSchedule *schedule, CronTime *from, int64_t *run)
{
	int			last_day = days_in_month(from->year, from->month);
	int64_t		days = days_from_civil(from->year, from->month, from->day);
	int			weekday = weekday_of(days);
	int			hour;
	int			minute;

	for (; from->day <= last_day; from->day++, days++, weekday = (weekday + 1) % 7)
	{
		if (day_matches(schedule, from->day, weekday) &&
			first_run_of_day(schedule, from, &hour, &minute))
		{
			*run = days * SECONDS_PER_DAY + hour * SECONDS_PER_HOUR + minute * SECONDS_PER_MINUTE;
			return true;
		}
		from->hour = 0;
		from->minute = 0;
	}
	return false;
}

/* Move from to the start of the next month */
static void
next_month(CronTime *from)
{
	from->day = 1;
	from->hour = 0;
	from->minute = 0;
	if (++from->month > 12)
	{
		from->month = 1;
		from->year++;
	}
}

/* The first run strictly after after; see cron.h. */
bool
scribe_cron_find_next(const ScribeCronSchedule *schedule, int64_t after, int64_t *next,
					  char *error, size_t errlen)
{
	CronTime	from;
	int64_t		days;
	int64_t		last_year;

	if (error != NULL && errlen > 0)
		error[0] = '\0';
	if (after < SCRIBE_CRON_TIME_MIN || after > SCRIBE_CRON_TIME_MAX)
		return scribe_cron_fail(error, errlen, "time %" PRId64 " is out of range (%" PRId64 " to %" PRId64
								" seconds since 1970)", after, SCRIBE_CRON_TIME_MIN, SCRIBE_CRON_TIME_MAX);
	if ((schedule->minutes & VALID_MINUTES) == 0 || (schedule->hours & VALID_HOURS) == 0 ||
		(schedule->days_of_month & VALID_DAYS_OF_MONTH) == 0 ||
		(schedule->months & VALID_MONTHS) == 0 || (schedule->days_of_week & VALID_DAYS_OF_WEEK) == 0)
		return scribe_cron_fail(error, errlen, "the schedule has no next run: a field allows no value");

	/* from the start of the minute after the one holding after */
	break_down(floor_div(after, SECONDS_PER_MINUTE) * SECONDS_PER_MINUTE + SECONDS_PER_MINUTE,
			   &from, &days);
	last_year = from.year + SCRIBE_CRON_HORIZON_YEARS;
	while (from.year <= last_year)
	{
		int			month = next_bit(schedule->months, from.month, 12);

		if (month < 0)
		{
			from.month = 12;
			next_month(&from);
			continue;
		}
		if (month != from.month)
		{
			from.month = month;
			from.day = 1;
			from.hour = 0;
			from.minute = 0;
		}
		if (first_run_of_month(schedule, &from, next))
			return true;
		next_month(&from);
	}
	return scribe_cron_fail(error, errlen, "the schedule has no next run: none in the %d years after %" PRId64
							" seconds since 1970", SCRIBE_CRON_HORIZON_YEARS, after);
}

/* Whether the minute containing time runs; see cron.h. */
bool
scribe_cron_matches(const ScribeCronSchedule *schedule, int64_t time)
{
	CronTime	t;
	int64_t		days;

	/* any run the search can return, which may lie past SCRIBE_CRON_TIME_MAX */
	if (time < SCRIBE_CRON_TIME_MIN ||
		time > SCRIBE_CRON_TIME_MAX + (int64_t) (SCRIBE_CRON_HORIZON_YEARS + 1) * 366 * SECONDS_PER_DAY)
		return false;
	break_down(time, &t, &days);
	return ((schedule->minutes >> t.minute) & 1) && ((schedule->hours >> t.hour) & 1) &&
		((schedule->months >> t.month) & 1) && day_matches(schedule, t.day, weekday_of(days));
}
