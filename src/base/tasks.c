/*
 * The registry of the launcher's tasks (see wakeup.h): filled by _PG_init
 * in the postmaster, so that the launcher it forks finds it filled.
 */
#include "base/pg_scribe.h"

#include "base/wakeup.h"

/* Tasks pg_scribe registers: a fixed few */
#define LAUNCHER_MAX_TASKS 16

static ScribeLauncherTask launcher_tasks[LAUNCHER_MAX_TASKS];
static int	launcher_ntasks = 0;

/* Add a task for the launcher to run (server start only) */
void
scribe_launcher_task_register(const char *name, ScribeLauncherTaskFn run, ScribeLauncherWhen when)
{
	ScribeLauncherTask *task;

	if (launcher_ntasks == LAUNCHER_MAX_TASKS)
		elog(ERROR, "pg_scribe: too many launcher tasks");
	task = &launcher_tasks[launcher_ntasks++];
	task->name = name;
	task->run = run;
	task->when = when;
	task->due = 0;
	task->failing = false;
}

/* How many tasks are registered */
int
scribe_launcher_task_count(void)
{
	return launcher_ntasks;
}

/* The i-th task registered */
ScribeLauncherTask *
scribe_launcher_task(int i)
{
	Assert(i >= 0 && i < launcher_ntasks);
	return &launcher_tasks[i];
}
