/*
 * scribe.replication_subscribe() and scribe.replication_unsubscribe(): make this node a read replica
 * of a primary, and a primary again.
 *
 * CREATE SUBSCRIPTION refuses to make its replication slot inside a
 * transaction block, which a function call always is; so the slot is made on
 * the primary from here, through the same libpqwalreceiver connection the
 * server itself uses, and the subscription is created with create_slot =
 * false.  The slot is made last, so that any earlier error leaves nothing on
 * the primary.  Its name carries this node's system identifier: every
 * replica of a primary needs a slot of its own there.
 */
#include "base/pg_scribe.h"

#include "access/xlog.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "replication/slot.h"
#include "replication/walreceiver.h"
#include "utils/builtins.h"

#include "base/wakeup.h"
#include "replication/replica.h"
#include "base/spi_plans.h"

PG_FUNCTION_INFO_V1(scribe_subscribe);
PG_FUNCTION_INFO_V1(scribe_unsubscribe);

/* The name of this node's slot on its primary */
static char *
replica_slot_name(void)
{
	return psprintf("scribe_" UINT64_FORMAT, GetSystemIdentifier());
}

/* Connect to the primary as a logical replication client, or ERROR */
static WalReceiverConn *
replica_connect(const char *conninfo)
{
	WalReceiverConn *conn;
	char	   *err = NULL;

	load_file("libpqwalreceiver", false);
	conn = walrcv_connect(conninfo, true, "pg_scribe", &err);
	if (conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not connect to the primary: %s", err),
				 errhint("The conninfo must reach the primary as a role with the REPLICATION attribute, and its pg_hba.conf must allow it.")));
	return conn;
}

/* Run a query on the primary that returns one text column; the first value or NULL */
static char *
replica_remote_value(WalReceiverConn *conn, const char *sql)
{
	Oid			types[1] = {TEXTOID};
	WalRcvExecResult *res = walrcv_exec(conn, sql, 1, types);
	TupleTableSlot *slot;
	char	   *value = NULL;

	if (res->status != WALRCV_OK_TUPLES)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not query the primary: %s", res->err)));
	slot = MakeSingleTupleTableSlot(res->tupledesc, &TTSOpsMinimalTuple);
	if (tuplestore_gettupleslot(res->tuplestore, true, false, slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, 1, &isnull);

		if (!isnull)
			value = TextDatumGetCString(d);
	}
	ExecDropSingleTupleTableSlot(slot);
	walrcv_clear_result(res);
	return value;
}

/* ERROR unless the primary publishes the publication with logical WAL */
static void
replica_check_primary(WalReceiverConn *conn, const char *publication)
{
	char	   *found;

	found = replica_remote_value(conn, psprintf("SELECT current_setting('wal_level') || ',' || "
												"EXISTS (SELECT FROM pg_catalog.pg_publication WHERE pubname = %s)",
												quote_literal_cstr(publication)));
	if (found == NULL || strncmp(found, "logical,", 8) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the primary's wal_level is not logical"),
				 errhint("Set wal_level = logical on the primary and restart it.")));
	if (strcmp(found + 8, "true") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the primary has no publication \"%s\"", publication),
				 errhint("Run SELECT scribe.replication_publish() on the primary first.")));
}

/* Make this node's slot on the primary; a stale one of ours that nothing uses is replaced */
static void
replica_create_slot(WalReceiverConn *conn, const char *slot)
{
	char	   *active;

	active = replica_remote_value(conn, psprintf("SELECT active::text FROM pg_catalog.pg_replication_slots "
												 "WHERE slot_name = %s", quote_literal_cstr(slot)));
	if (active != NULL && strcmp(active, "true") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("replication slot \"%s\" is in use on the primary", slot),
				 errhint("Another subscription of this node streams from it: scribe.replication_unsubscribe() first, or drop that subscription.")));
	if (active != NULL)
	{
		ereport(NOTICE,
				(errmsg("replacing the unused replication slot \"%s\" left on the primary by an earlier subscription", slot)));
		ReplicationSlotDropAtPubNode(conn, unconstify(char *, slot), true);
	}
	(void) walrcv_create_slot(conn, slot, false, false, CRS_NOEXPORT_SNAPSHOT, NULL);
}

/* ERROR if a table a replica receives already has rows here */
static void
replica_check_empty(void)
{
	static SPIPlanPtr plan = NULL;

	scribe_plan_execute(&plan,
						"SELECT 'documents' WHERE EXISTS (SELECT FROM scribe.documents) "
						"UNION ALL SELECT 'document_pages' WHERE EXISTS (SELECT FROM scribe.document_pages) "
						"UNION ALL SELECT 'ocr_ledger' WHERE EXISTS (SELECT FROM scribe.ocr_ledger)",
						0, NULL, NULL, NULL, true, 1);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("scribe.%s has rows of its own on this node",
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errhint("A replica receives its copy of the primary's documents: subscribe from a fresh installation (DROP EXTENSION pg_scribe CASCADE; CREATE EXTENSION pg_scribe).")));
}

/* The subscription that makes this node a replica, with its slot and conninfo; false if none */
static bool
replica_current(char **subscription, char **slot, char **conninfo)
{
	static SPIPlanPtr plan = NULL;

	scribe_plan_execute(&plan,
						"SELECT r.subscription::text, r.slot_name, s.subconninfo "
						"FROM scribe.subscriptions r LEFT JOIN pg_subscription s "
						"  ON s.subname = r.subscription "
						"  AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
						"FOR UPDATE OF r",
						0, NULL, NULL, NULL, false, 1);
	if (SPI_processed == 0)
		return false;
	*subscription = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	*slot = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	*conninfo = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	return true;
}

/* Run a utility statement built from quoted names */
static void
replica_utility(const char *sql)
{
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "pg_scribe could not run \"%s\"", sql);
}

/*
 * scribe.replication_subscribe(conninfo, publication, subscription, disable_on_error):
 * subscribe to the primary and take the replica role; returns the slot name.
 */
Datum
scribe_subscribe(PG_FUNCTION_ARGS)
{
	char	   *conninfo;
	char	   *publication;
	char	   *subscription;
	bool		disable_on_error;
	char	   *slot = replica_slot_name();
	char	   *current;
	char	   *current_slot;
	char	   *current_conninfo;
	WalReceiverConn *conn;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("conninfo, publication, subscription and disable_on_error must not be NULL")));
	conninfo = text_to_cstring(PG_GETARG_TEXT_PP(0));
	publication = NameStr(*PG_GETARG_NAME(1));
	subscription = NameStr(*PG_GETARG_NAME(2));
	disable_on_error = PG_GETARG_BOOL(3);
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may subscribe this node to a primary")));

	SPI_connect();
	if (replica_current(&current, &current_slot, &current_conninfo))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("this node is already a replica, through subscription \"%s\"", current),
				 errhint("Run SELECT scribe.replication_unsubscribe() first.")));
	replica_check_empty();

	conn = replica_connect(conninfo);
	PG_TRY();
	{
		static SPIPlanPtr record_plan = NULL;
		Oid			types[3] = {NAMEOID, NAMEOID, TEXTOID};
		Datum		values[3];

		replica_check_primary(conn, publication);
		replica_utility(psprintf("CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION %s "
								 "WITH (create_slot = false, slot_name = %s, disable_on_error = %s)",
								 quote_identifier(subscription), quote_literal_cstr(conninfo),
								 quote_identifier(publication), quote_literal_cstr(slot),
								 disable_on_error ? "true" : "false"));

		values[0] = DirectFunctionCall1(namein, CStringGetDatum(subscription));
		values[1] = DirectFunctionCall1(namein, CStringGetDatum(publication));
		values[2] = CStringGetTextDatum(slot);
		scribe_plan_execute(&record_plan,
							"INSERT INTO scribe.subscriptions (subscription, publication, slot_name) "
							"VALUES ($1, $2, $3)", 3, types, values, NULL, false, 0);

		replica_create_slot(conn, slot);
	}
	PG_FINALLY();
	{
		walrcv_disconnect(conn);
	}
	PG_END_TRY();
	SPI_finish();

	/* the launcher stops the workers and the policies once we commit */
	scribe_launcher_wake_at_commit();
	PG_RETURN_TEXT_P(cstring_to_text(slot));
}

/* Drop the slot on the primary; a primary out of reach only gets a WARNING */
static void
replica_drop_slot(const char *conninfo, const char *slot)
{
	WalReceiverConn *conn;
	char	   *err = NULL;

	load_file("libpqwalreceiver", false);
	conn = walrcv_connect(conninfo, true, "pg_scribe", &err);
	if (conn == NULL)
	{
		ereport(WARNING,
				(errmsg("could not connect to the primary to drop replication slot \"%s\": %s", slot, err),
				 errhint("The slot keeps WAL on the primary: drop it there with SELECT pg_drop_replication_slot('%s').", slot)));
		return;
	}
	PG_TRY();
	{
		ReplicationSlotDropAtPubNode(conn, unconstify(char *, slot), true);
	}
	PG_FINALLY();
	{
		walrcv_disconnect(conn);
	}
	PG_END_TRY();
}

/* scribe.replication_unsubscribe(): drop the subscription and its slot; this node is a primary again */
Datum
scribe_unsubscribe(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr forget_plan = NULL;
	char	   *subscription;
	char	   *slot;
	char	   *conninfo;
	const char *quoted;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may unsubscribe this node")));

	SPI_connect();
	if (!replica_current(&subscription, &slot, &conninfo))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this node is not a replica"),
				 errhint("scribe.replication_subscribe(conninfo) makes it one.")));
	quoted = quote_identifier(subscription);

	/* detached from its slot, the subscription may be dropped inside a transaction */
	if (conninfo != NULL)
	{
		replica_utility(psprintf("ALTER SUBSCRIPTION %s DISABLE", quoted));
		replica_utility(psprintf("ALTER SUBSCRIPTION %s SET (slot_name = NONE)", quoted));
		replica_utility(psprintf("DROP SUBSCRIPTION %s", quoted));
	}
	/* the rows received carry the primary's identities: new ones start past them */
	scribe_plan_execute(&forget_plan,
						"WITH gone AS (DELETE FROM scribe.subscriptions RETURNING 1) "
						"SELECT setval(pg_get_serial_sequence('scribe.documents', 'document_id'), "
						"         coalesce((SELECT max(document_id) FROM scribe.documents), 0) + 1, false), "
						"       setval(pg_get_serial_sequence('scribe.ocr_ledger', 'entry_id'), "
						"         coalesce((SELECT max(entry_id) FROM scribe.ocr_ledger), 0) + 1, false) "
						"FROM gone",
						0, NULL, NULL, NULL, false, 0);
	if (conninfo != NULL)
		replica_drop_slot(conninfo, slot);
	SPI_finish();

	scribe_launcher_wake_at_commit();
	PG_RETURN_VOID();
}
