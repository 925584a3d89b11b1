/*
 * Lifecycle policies: data maintenance the launcher runs on a schedule.
 *
 * Glossary:
 *   schedule   when a policy runs: an interval, or a cron expression
 *              (lifecycle/cron.h: five fields or a macro such as @daily),
 *              always evaluated in UTC
 *   run        one time a schedule names: for a cron expression, the start
 *              of a minute
 */
#ifndef SCRIBE_LIFECYCLE_H
#define SCRIBE_LIFECYCLE_H

#include "datatype/timestamp.h"

#include "lifecycle/cron.h"

/*
 * The first run of cron expression expr (a C string) strictly after after.
 * On success set *next and return true.  Return false, with the reason in
 * error (errlen bytes; SCRIBE_CRON_ERROR_SIZE is enough), when expr does not
 * parse or can never run, after is infinite, or the next run would be past
 * the end of the timestamp range.  Never ERRORs and allocates nothing, so
 * the launcher can check each policy row and skip a bad one with a WARNING.
 */
extern bool scribe_cron_next_after(const char *expr, TimestampTz after, TimestampTz *next,
								   char *error, size_t errlen);

/*
 * ERROR (22023, with the expression format in the hint) unless expr is a
 * cron expression that parses and runs: what creating a policy checks.
 */
extern void scribe_cron_check_expression(const char *expr);

#endif							/* SCRIBE_LIFECYCLE_H */
