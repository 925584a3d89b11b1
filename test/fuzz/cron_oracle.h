/*
 * cron_oracle.h — a slow, obviously right reading of a parsed cron
 * schedule, on the C library's calendar (gmtime_r) instead of
 * src/client/cron_next.c's arithmetic, for the unit cases and the fuzzer
 * to check scribe_cron_find_next() against.
 */
#ifndef CRON_ORACLE_H
#define CRON_ORACLE_H

#include "cron.h"

/* Whether the minute containing time runs, by gmtime_r's fields */
bool		oracle_matches(const ScribeCronSchedule *schedule, int64_t time);

/*
 * The first run strictly after after and at most limit, walking day by day
 * and, on a day that runs, minute by minute; false if there is none.
 */
bool		oracle_next(const ScribeCronSchedule *schedule, int64_t after, int64_t limit, int64_t *next);

#endif							/* CRON_ORACLE_H */
