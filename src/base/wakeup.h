/*
 * The launcher as the layers below it see it: its latch, set at once or when
 * the current transaction commits, and the registry of the tasks it runs.
 * Lower layers wake the launcher and register their periodic work here,
 * without knowing the launcher's code (src/launcher/), which runs whatever
 * is registered and names no module.
 */
#ifndef SCRIBE_WAKEUP_H
#define SCRIBE_WAKEUP_H

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/proc.h"

/* wakeup.c: the launcher's latch */
extern Size scribe_launcher_latch_shmem_size(void);
extern void scribe_launcher_latch_shmem_init(void);
extern void scribe_launcher_latch_attach(PGPROC *proc);
extern void scribe_launcher_wake(void);
extern void scribe_launcher_wake_at_commit(void);
extern void scribe_launcher_wake_at_commit_flag(pg_atomic_uint32 *flag);
extern void scribe_launcher_watch_objects(void);

/*
 * tasks.c: what the launcher runs.  A task returns when it next wants to
 * run (0: no wish); the launcher runs the tasks of each kind in the order
 * they were registered, which _PG_init fixes (src/pg_scribe.c).
 */
typedef TimestampTz (*ScribeLauncherTaskFn) (TimestampTz now);

typedef enum ScribeLauncherWhen
{
	SCRIBE_TASK_WHEN_DUE,		/* in a transaction with SPI, when due */
	SCRIBE_TASK_EVERY_WAKEUP,	/* in a transaction with SPI, at every wake-up:
								 * committers wake the launcher for it */
	SCRIBE_TASK_AFTER_OTHERS,	/* after those, outside any transaction (VACUUM),
								 * an ERROR logged */
	SCRIBE_TASK_AT_CONNECT,		/* once, connected to scribe.database */
	SCRIBE_TASK_UNINSTALLED		/* at every wake-up while the extension is not installed */
} ScribeLauncherWhen;

typedef struct ScribeLauncherTask
{
	const char *name;
	ScribeLauncherTaskFn run;
	ScribeLauncherWhen when;
	/* the launcher's bookkeeping */
	TimestampTz due;			/* 0: at the next cycle */
	bool		failing;		/* the last run failed: repeats are DEBUG1 */
} ScribeLauncherTask;

extern void scribe_launcher_task_register(const char *name, ScribeLauncherTaskFn run,
										  ScribeLauncherWhen when);
extern int	scribe_launcher_task_count(void);
extern ScribeLauncherTask *scribe_launcher_task(int i);

#endif							/* SCRIBE_WAKEUP_H */
