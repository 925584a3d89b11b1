/*
 * The launcher: the static background worker that supervises pg_scribe.
 * It runs the tasks that modules register (base/wakeup.h) and names none.
 */
#ifndef SCRIBE_LAUNCHER_H
#define SCRIBE_LAUNCHER_H

#include "datatype/timestamp.h"

/*
 * The launcher's life.  Transitions:
 *
 *   STOPPED  -> STARTING                 the postmaster starts the process
 *   STARTING -> WAITING_FOR_EXTENSION    connected to scribe.database
 *   STARTING -> WAITING_FOR_DATABASE     a check worker (connected to shared
 *                                        catalogs only) or the previous attempt
 *                                        to connect found no such database:
 *                                        wait for it while connected to shared
 *                                        catalogs only
 *   WAITING_FOR_DATABASE -> STOPPED      the database appeared: exit so that
 *                                        the postmaster restarts us connected
 *   WAITING_FOR_EXTENSION <-> RUNNING    CREATE / DROP EXTENSION pg_scribe
 *   any -> STOPPED                       SIGTERM (die), postmaster death
 */
typedef enum ScribeLauncherState
{
	LAUNCHER_STOPPED = 0,
	LAUNCHER_STARTING,
	LAUNCHER_WAITING_FOR_DATABASE,
	LAUNCHER_WAITING_FOR_EXTENSION,
	LAUNCHER_RUNNING
} ScribeLauncherState;

/* What health() and tests see of the launcher. */
typedef struct ScribeLauncherStatus
{
	int			pid;			/* 0 when no launcher runs */
	ScribeLauncherState state;
	TimestampTz started_at;
	TimestampTz state_since;
	int			restarts;		/* launcher starts since server start, minus one */
} ScribeLauncherStatus;

extern void scribe_launcher_register(void);
extern Size scribe_launcher_shmem_size(void);
extern void scribe_launcher_shmem_init(void);

extern void scribe_launcher_get_status(ScribeLauncherStatus *status);
extern const char *scribe_launcher_state_name(ScribeLauncherState state);

/* Entry points named in the worker registrations; must be exported. */
extern PGDLLEXPORT void scribe_launcher_main(Datum main_arg);
extern PGDLLEXPORT void scribe_launcher_check_main(Datum main_arg);

#endif							/* SCRIBE_LAUNCHER_H */
