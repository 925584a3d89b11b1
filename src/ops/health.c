/*
 * What scribe.version() and scribe.health() report: the library, the
 * preload, the node and the launcher.  health() itself is SQL, built from
 * these functions.
 */
#include "base/pg_scribe.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "launcher/launcher.h"
#include "replication/heartbeat.h"

PG_FUNCTION_INFO_V1(scribe_version);
PG_FUNCTION_INFO_V1(scribe_library_status);
PG_FUNCTION_INFO_V1(scribe_launcher_status);

/* Version of the loaded library */
Datum
scribe_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(SCRIBE_VERSION));
}

/* Build a tuple of the function's declared OUT columns */
static Datum
status_tuple(FunctionCallInfo fcinfo, Datum *values, bool *nulls)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls));
}

/* Whether the library was preloaded, and this node's name */
Datum
scribe_library_status(PG_FUNCTION_ARGS)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};

	values[0] = BoolGetDatum(scribe_preloaded);
	values[1] = CStringGetTextDatum(scribe_heartbeat_node_name());
	return status_tuple(fcinfo, values, nulls);
}

/* The launcher's pid, state and start times, from shared memory */
Datum
scribe_launcher_status(PG_FUNCTION_ARGS)
{
	ScribeLauncherStatus status;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	scribe_launcher_get_status(&status);

	values[0] = Int32GetDatum(status.pid);
	nulls[0] = status.pid == 0;
	values[1] = CStringGetTextDatum(scribe_launcher_state_name(status.state));
	values[2] = TimestampTzGetDatum(status.started_at);
	nulls[2] = status.started_at == 0;
	values[3] = TimestampTzGetDatum(status.state_since);
	nulls[3] = status.state_since == 0;
	values[4] = Int32GetDatum(status.restarts);
	return status_tuple(fcinfo, values, nulls);
}
