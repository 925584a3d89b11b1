/*
 * Checks that guard CREATE EXTENSION and every function that needs the
 * library loaded at server start.
 */
#include "base/pg_scribe.h"

#include "commands/dbcommands.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/varlena.h"

#include "base/install.h"
#include "base/wakeup.h"

PG_FUNCTION_INFO_V1(scribe_check_install);

char	   *scribe_database = NULL;

/* Define scribe.database, which the install check and the launcher read */
void
scribe_install_define_gucs(void)
{
	DefineCustomStringVariable("scribe.database",
							   "Database in which the pg_scribe launcher runs and the extension is installed.",
							   NULL,
							   &scribe_database,
							   "postgres",
							   PGC_POSTMASTER,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
}

/* Whether shared_preload_libraries names pg_scribe */
static bool
preload_listed(void)
{
	const char *value = GetConfigOption("shared_preload_libraries", true, false);
	char	   *copy = pstrdup(value ? value : "");
	List	   *names;
	ListCell   *lc;

	if (!SplitIdentifierString(copy, ',', &names))
		return false;
	foreach(lc, names)
	{
		if (strcmp((char *) lfirst(lc), "pg_scribe") == 0)
			return true;
	}
	return false;
}

/* Raise an ERROR naming shared_preload_libraries unless the server preloaded us */
void
scribe_require_preload(const char *what)
{
	/* listed, yet this copy was not preloaded: a new build replaced the file */
	if (!scribe_preloaded && preload_listed())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the pg_scribe library changed on disk since the server started"),
				 errdetail("%s needs the library the server preloaded, not the one installed since.", what),
				 errhint("Restart the server to load the new library, then run ALTER EXTENSION pg_scribe UPDATE.")));
	if (!scribe_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_scribe is not loaded through shared_preload_libraries"),
				 errdetail("%s needs the shared memory and background workers that pg_scribe sets up at server start.",
						   what),
				 errhint("Add pg_scribe to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/*
 * Whether this backend's database is scribe.database, the one the launcher
 * and its workers serve.  Asked once per backend: neither changes while it
 * runs (scribe.database is set at server start; a database cannot be
 * renamed while someone is connected to it).
 */
bool
scribe_database_is_served(void)
{
	static int	served = -1;

	if (served < 0)
		served = scribe_database != NULL &&
			strcmp(get_database_name(MyDatabaseId), scribe_database) == 0;
	return served == 1;
}

/*
 * ERROR unless this database is scribe.database: a job sent to a queue that
 * the workers consume would never run here.  The extension is left in a
 * database other than scribe.database only when the setting changed since
 * it was installed.
 */
void
scribe_require_served_database(const char *queue)
{
	const char *current;

	if (scribe_database_is_served())
		return;

	current = get_database_name(MyDatabaseId);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("queue \"%s\" is consumed by workers, which run in database \"%s\", not in \"%s\"",
					queue, scribe_database, current),
			 errdetail("A job sent here would never run: pg_scribe's launcher and workers serve scribe.database only."),
			 errhint("Send it in database \"%s\", or set scribe.database = %s in postgresql.conf and restart the server; "
					 "queues created with consumer => 'clients' work in any database.",
					 scribe_database, quote_literal_cstr(current))));
}

/*
 * Refuse CREATE EXTENSION without the preloaded library or outside
 * scribe.database, and wake the launcher when the install commits.
 */
Datum
scribe_check_install(PG_FUNCTION_ARGS)
{
	const char *current = get_database_name(MyDatabaseId);

	scribe_require_preload("CREATE EXTENSION pg_scribe");

	if (strcmp(current, scribe_database) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_scribe can only be installed in database \"%s\"", scribe_database),
				 errdetail("The pg_scribe launcher works in the database named by scribe.database, which is \"%s\".",
						   scribe_database),
				 errhint("Add scribe.database = %s to postgresql.conf and restart the server to use this database instead.",
						 quote_literal_cstr(current))));

	scribe_launcher_wake_at_commit();
	PG_RETURN_VOID();
}
