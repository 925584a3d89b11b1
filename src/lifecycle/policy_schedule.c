/*
 * The launcher's lifecycle task: start the runs of the policies that are
 * due (scribe._schedule_policies() does it, a policy at a time, skipping a
 * bad one with a WARNING), then sleep until the next one is due or a
 * change of the policies wakes the launcher.  The task runs at every
 * wake-up of the launcher but only reads the policies when one is due or
 * they changed, which a flag in shared memory tells.
 */
#include "base/pg_scribe.h"

#include "port/atomics.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "base/wakeup.h"
#include "lifecycle/lifecycle.h"
#include "replication/replica.h"
#include "base/spi_plans.h"

PG_FUNCTION_INFO_V1(scribe_policies_changed);

int			scribe_policy_clock_offset = 0;

/* Set when policies change; the launcher clears it when it reads them */
static pg_atomic_uint32 *policies_changed = NULL;

/* Shared memory of the flag */
Size
scribe_policy_shmem_size(void)
{
	return MAXALIGN(sizeof(pg_atomic_uint32));
}

/* Create or attach to the flag (shmem_startup_hook, AddinShmemInitLock held) */
void
scribe_policy_shmem_init(void)
{
	bool		found;

	policies_changed = ShmemInitStruct("pg_scribe policies", scribe_policy_shmem_size(), &found);
	if (!found)
		pg_atomic_init_u32(policies_changed, 1);
}

/* Define the lifecycle GUCs */
void
scribe_policy_define_gucs(void)
{
	DefineCustomIntVariable("scribe.policy_clock_offset",
							"Moves the time lifecycle policies see, for tests and rehearsals.",
							"A run of a policy acts as if now() were this much later (or earlier, negative): "
							"which partitions to make and retire, which rows are old enough. Schedules keep real time.",
							&scribe_policy_clock_offset,
							0, -INT_MAX, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
}

/* Start the due policies' runs (every wake-up); when the next is due (0: none) */
TimestampTz
scribe_policy_schedule_task(TimestampTz now)
{
	static SPIPlanPtr plan = NULL;
	static TimestampTz next = 0;
	bool		isnull;
	TimestampTz due;

	/* on a replica the primary's policies change the rows; read them again once promoted */
	if (scribe_replica_active)
	{
		next = 0;
		return 0;
	}
	if (next != 0 && now < next && pg_atomic_read_u32(policies_changed) == 0)
		return next;
	pg_atomic_write_u32(policies_changed, 0);
	scribe_plan_execute(&plan, "SELECT scribe._schedule_policies()", 0, NULL, NULL, NULL, false, 1);
	due = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	next = isnull ? 0 : Max(due, now);
	return next;
}

/* scribe._policies_changed(): have the launcher read the policies again, after the commit */
Datum
scribe_policies_changed(PG_FUNCTION_ARGS)
{
	if (policies_changed != NULL)
		scribe_launcher_wake_at_commit_flag(policies_changed);
	else
		scribe_launcher_wake_at_commit();
	PG_RETURN_VOID();
}
