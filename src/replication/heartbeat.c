/*
 * Heartbeat rows in scribe.heartbeat, one per node, kept fresh by each
 * node's launcher every scribe.heartbeat_interval.
 */
#include "base/pg_scribe.h"

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "replication/heartbeat.h"
#include "base/spi_plans.h"

int			scribe_heartbeat_interval = 10;
char	   *scribe_node_name = NULL;

static SPIPlanPtr plan_beat = NULL;

/* Accept node names that fit a PostgreSQL identifier */
static bool
check_node_name(char **newval, void **extra, GucSource source)
{
	if (strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("scribe.node_name is longer than %d bytes.", NAMEDATALEN - 1);
		return false;
	}
	return true;
}

/* Define the heartbeat GUCs */
void
scribe_heartbeat_define_gucs(void)
{
	DefineCustomIntVariable("scribe.heartbeat_interval",
							"Seconds between two updates of this node's row in scribe.heartbeat (0 disables).",
							"Replicas that subscribe to the table read from the primary's row how fresh their copy is.",
							&scribe_heartbeat_interval,
							10, 0, 3600,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("scribe.node_name",
							   "Name of this node in scribe.heartbeat; empty means the cluster's system identifier.",
							   NULL,
							   &scribe_node_name,
							   "",
							   PGC_POSTMASTER,
							   0,
							   check_node_name, NULL, NULL);
}

/* This node's name: scribe.node_name, or the system identifier when unset */
const char *
scribe_heartbeat_node_name(void)
{
	if (scribe_node_name != NULL && scribe_node_name[0] != '\0')
		return scribe_node_name;

	return psprintf(UINT64_FORMAT, GetSystemIdentifier());
}

/* Upsert this node's heartbeat row (inside the caller's transaction and SPI) */
static void
heartbeat_beat(void)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2];

	values[0] = CStringGetTextDatum(scribe_heartbeat_node_name());
	values[1] = CStringGetTextDatum(SCRIBE_VERSION);

	scribe_plan_execute(&plan_beat,
						"INSERT INTO scribe.heartbeat AS h (node_name, beat_at, library_version) "
						"VALUES ($1, now(), $2) "
						"ON CONFLICT (node_name) DO UPDATE "
						"SET beat_at = excluded.beat_at, library_version = excluded.library_version",
						2, argtypes, values, NULL, false, 0);
}

/* The launcher's heartbeat task: beat, and say when the next beat is due */
TimestampTz
scribe_heartbeat_task(TimestampTz now)
{
	if (scribe_heartbeat_interval <= 0)
		return 0;
	heartbeat_beat();
	return TimestampTzPlusMilliseconds(now, scribe_heartbeat_interval * 1000L);
}
