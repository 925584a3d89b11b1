/*
 * The policy job kind: one action of a lifecycle policy's run.  The
 * launcher and scribe.policy_run() enqueue these on the lifecycle
 * queue; the payload is {"run_id": n}.  scribe._policy_step() takes the
 * run's next action, does it as the policy's owner (scribe._run_as: a
 * security-restricted operation, its settings undone) and queues the job of
 * the action after, so every action is a transaction of its own.  A failed
 * action is recorded in the run and retried with the queue's backoff; on
 * the last attempt, or for an error retrying cannot fix, the run fails.
 */
#include "base/pg_scribe.h"

#include "catalog/pg_type_d.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "jobs/job_kind.h"
#include "base/spi_plans.h"

static const char *const policy_fields[] = {"run_id", NULL};

/* The run_id of a policy job's payload, or ERROR */
static int64
policy_run_id(Jsonb *payload)
{
	return scribe_jsonb_get_int64(payload, "run_id", "policy",
								  "Start runs with scribe.policy_run(); the launcher starts the scheduled ones.");
}

/* Validate a policy job at enqueue: only the launcher and scribe.policy_run make them */
static void
policy_validate(Jsonb *payload, Oid role)
{
	scribe_jsonb_check_keys(payload, policy_fields, "policy");
	(void) policy_run_id(payload);
	if (!superuser_arg(role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("policy jobs are enqueued by the launcher and scribe.policy_run()"),
				 errhint("Call scribe.policy_run(name) instead.")));
}

/*
 * Whether an action's error is one retrying cannot fix: a target gone or
 * changed, a permission withdrawn (class 42).  A lock timeout, a deadlock
 * or a full disk may pass.
 */
static bool
policy_error_is_permanent(int sqlerrcode)
{
	return ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION;
}

/* Record a failed attempt in the run; final: the run failed */
static void
policy_record_failure(int64 run_id, const char *message, bool final)
{
	static SPIPlanPtr plan = NULL;
	Oid			types[3] = {INT8OID, TEXTOID, BOOLOID};
	Datum		values[3] = {Int64GetDatum(run_id), CStringGetTextDatum(message), BoolGetDatum(final)};

	scribe_plan_execute(&plan, "SELECT scribe._policy_failed($1, $2, $3)", 3, types, values, NULL, false, 0);
}

/* One action of a run, its step's summary */
typedef struct PolicyStep
{
	int64		run_id;
	MemoryContext resultcxt;	/* where the summary is copied */
	Jsonb	   *summary;
} PolicyStep;

/*
 * Take the run's next action (scribe._policy_step), for scribe_subxact_try.  A
 * call that leads to the owner's code: through scribe_plan_call, whose
 * search_path is a setting the owner's own functions may change, not an
 * override that would make them ignore their SET search_path.
 */
static void
policy_step(void *arg)
{
	static SPIPlanPtr plan = NULL;
	PolicyStep *step = arg;
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(step->run_id)};
	bool		isnull;
	Datum		d;

	scribe_plan_call(&plan, "SELECT scribe._policy_step($1)", 1, types, values, NULL, 1);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		MemoryContext old = MemoryContextSwitchTo(step->resultcxt);

		step->summary = DatumGetJsonbPCopy(d);
		MemoryContextSwitchTo(old);
	}
}

/* Run one action of a policy's run */
static ScribeJobOutcome
policy_execute(const ScribeJob *job, int64 timeout_ms, Jsonb **result, char **error)
{
	PolicyStep	step = {.run_id = policy_run_id(job->payload), .resultcxt = CurrentMemoryContext};
	char	   *failure;
	int			sqlerrcode;
	bool		final;

	/* SPI's memory goes at SPI_finish: *result and *error are the caller's */
	SPI_connect();
	/* a failed action must not lose the failure's record: run it in a subtransaction */
	failure = scribe_subxact_try(policy_step, &step, &sqlerrcode);
	if (failure != NULL)
	{
		final = policy_error_is_permanent(sqlerrcode) || job->attempt >= job->max_attempts;
		policy_record_failure(step.run_id, failure, final);
		*error = MemoryContextStrdup(step.resultcxt, failure);
	}
	SPI_finish();

	MemoryContextSwitchTo(step.resultcxt);
	if (failure == NULL)
	{
		*result = step.summary;
		return JOB_DONE;
	}
	return final ? JOB_FAILED : JOB_RETRY;
}

const ScribeJobKind scribe_kind_policy = {
	.name = "policy",
	.validate = policy_validate,
	.execute = policy_execute,
	/* an action sets its constraints IMMEDIATE (see _policy_act) */
	.own_transaction = true,
};
