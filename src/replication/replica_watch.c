/*
 * The launcher's watch over the replica role: it reads, every cycle, whether
 * this node subscribes through scribe.replication_subscribe(), so that the pool and the
 * policy schedule (later tasks of the same cycle) stand still on a replica;
 * and it logs when the subscription stops (disable_on_error), when its
 * apply worker reports new errors, and when it streams again.
 */
#include "base/pg_scribe.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "replication/replica.h"
#include "base/spi_plans.h"

/* How often the subscription is looked at when nothing else wakes the launcher */
#define REPLICA_WATCH_MS 2000

bool		scribe_replica_active = false;

/* What the previous look found, to log changes only */
static bool watched_enabled = true;
static int64 watched_errors = -1;

/* The launcher's task: refresh the role, and log what changed in the subscription */
TimestampTz
scribe_replica_watch_task(TimestampTz now)
{
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	char	   *name;
	bool		enabled;
	int64		errors;

	scribe_plan_execute(&plan,
						"SELECT r.subscription::text, s.subenabled, "
						"  coalesce(st.apply_error_count + st.sync_error_count, 0) "
						"FROM scribe.subscriptions r "
						"LEFT JOIN pg_subscription s ON s.subname = r.subscription "
						"  AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
						"LEFT JOIN pg_stat_subscription_stats st ON st.subid = s.oid",
						0, NULL, NULL, NULL, true, 1);
	if (SPI_processed == 0)
	{
		if (scribe_replica_active)
			ereport(LOG, (errmsg("pg_scribe: this node is no longer a replica; its workers and policies run")));
		scribe_replica_active = false;
		watched_enabled = true;
		watched_errors = -1;
		return TimestampTzPlusMilliseconds(now, REPLICA_WATCH_MS);
	}

	name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	enabled = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull)
		enabled = false;		/* the subscription was dropped behind our back */
	errors = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));

	if (!scribe_replica_active)
		ereport(LOG, (errmsg("pg_scribe: this node is a replica through subscription \"%s\"; its workers and policies stand still", name)));
	scribe_replica_active = true;

	if (watched_errors >= 0 && errors > watched_errors)
		ereport(WARNING,
				(errmsg("pg_scribe: subscription \"%s\" reported " INT64_FORMAT " new apply error(s)",
						name, errors - watched_errors),
				 errhint("The server log holds each error; scribe.replication_status() shows the subscription.")));
	if (watched_enabled && !enabled)
		ereport(WARNING,
				(errmsg("pg_scribe: subscription \"%s\" is disabled: this replica no longer receives the primary's changes", name),
				 errhint("Fix the cause the server log names (a conflicting row, say), then ALTER SUBSCRIPTION %s ENABLE.", quote_identifier(name))));
	else if (!watched_enabled && enabled)
		ereport(LOG, (errmsg("pg_scribe: subscription \"%s\" is enabled again", name)));
	watched_enabled = enabled;
	watched_errors = errors;
	return TimestampTzPlusMilliseconds(now, REPLICA_WATCH_MS);
}
