/*
 * cron_oracle.c — the slow reading of a schedule; see cron_oracle.h.
 */
#define _POSIX_C_SOURCE 200809L

#include "cron_oracle.h"

#include <time.h>

/* gmtime_r of time; false if the C library cannot break it down */
static bool
broken_down(int64_t time, struct tm *tm)
{
	time_t		t = (time_t) time;

	return gmtime_r(&t, tm) != NULL;
}

/* Whether the day of tm runs, by the two day fields and vixie cron's rule */
static bool
oracle_day_matches(const ScribeCronSchedule *schedule, const struct tm *tm)
{
	bool		by_day_of_month = (schedule->days_of_month >> tm->tm_mday) & 1;
	bool		by_weekday = (schedule->days_of_week >> tm->tm_wday) & 1;

	if (!((schedule->months >> (tm->tm_mon + 1)) & 1))
		return false;
	if (schedule->day_of_month_restricted && schedule->day_of_week_restricted)
		return by_day_of_month || by_weekday;
	return by_day_of_month && by_weekday;
}

/* Whether the minute containing time runs */
bool
oracle_matches(const ScribeCronSchedule *schedule, int64_t time)
{
	struct tm	tm;

	return broken_down(time, &tm) && oracle_day_matches(schedule, &tm) &&
		((schedule->hours >> tm.tm_hour) & 1) && ((schedule->minutes >> tm.tm_min) & 1);
}

/* The first run in (after, limit], day by day */
bool
oracle_next(const ScribeCronSchedule *schedule, int64_t after, int64_t limit, int64_t *next)
{
	/* the start of the minute after after's (after may be negative) */
	int64_t		t = (after >= 0 ? after / 60 : -((-after + 59) / 60)) * 60 + 60;

	while (t <= limit)
	{
		struct tm	tm;

		if (!broken_down(t, &tm))
			return false;
		if (!oracle_day_matches(schedule, &tm))
		{
			/* to the next midnight */
			t += 86400 - (int64_t) (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
			continue;
		}
		if (((schedule->hours >> tm.tm_hour) & 1) && ((schedule->minutes >> tm.tm_min) & 1))
		{
			*next = t;
			return true;
		}
		t += 60;
	}
	return false;
}
