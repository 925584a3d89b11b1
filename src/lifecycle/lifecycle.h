/*
 * Lifecycle policies: tables, views and procedures kept in shape on a
 * schedule (src/sql/lifecycle.sql holds the policies' logic).
 *
 * Glossary:
 *   policy   a row of scribe.policies: a kind (partitions, purge, archive,
 *            orphans, refresh, sql), a target, settings checked by kind, a
 *            schedule (an interval or a cron expression), an owner
 *   run      one execution of a policy, a row of scribe.policy_runs: its
 *            plan (the actions to take, fixed when it starts), what it did,
 *            its status; at most one run of a policy is under way at a time
 *   action   one step of a run: one partition made or retired, one batch of
 *            rows purged, archived or orphaned, one refresh, one call; each
 *            is a job of kind "policy" on the built-in lifecycle queue, so
 *            its own transaction, retried with the queue's backoff
 *   clock    the time a run sees: now(), moved by scribe.policy_clock_offset
 *   schedule an interval, or a cron expression (client/cron.h: five
 *            fields or a macro such as @daily), always evaluated in UTC
 */
#ifndef SCRIBE_LIFECYCLE_H
#define SCRIBE_LIFECYCLE_H

#include "datatype/timestamp.h"

#include "client/cron.h"

/* GUCs */
extern int	scribe_policy_clock_offset;

/* policy_schedule.c */
extern void scribe_policy_define_gucs(void);
extern Size scribe_policy_shmem_size(void);
extern void scribe_policy_shmem_init(void);
extern TimestampTz scribe_policy_schedule_task(TimestampTz now);

#endif							/* SCRIBE_LIFECYCLE_H */
