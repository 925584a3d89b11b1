/*
 * The registry of job kinds, and the jsonb helpers kinds share.
 */
#include "base/pg_scribe.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "jobs/job_kind.h"

/* The kinds registered from _PG_init, in the order the hint lists them */
#define MAX_JOB_KINDS 16
static const ScribeJobKind *job_kinds[MAX_JOB_KINDS];
static int	n_job_kinds = 0;

/* Register a job kind (from _PG_init: the registry names no kind) */
void
scribe_job_kind_register(const ScribeJobKind *kind)
{
	if (scribe_job_kind_find(kind->name) != NULL)
		return;					/* loaded again in this process */
	if (n_job_kinds >= MAX_JOB_KINDS)
		elog(ERROR, "too many job kinds");
	job_kinds[n_job_kinds++] = kind;
}

/* The kind of this name, or NULL */
const ScribeJobKind *
scribe_job_kind_find(const char *name)
{
	for (int i = 0; i < n_job_kinds; i++)
	{
		if (strcmp(job_kinds[i]->name, name) == 0)
			return job_kinds[i];
	}
	return NULL;
}

/* ERROR unless kind exists and accepts payload from role */
void
scribe_job_kind_validate(const char *kind, Jsonb *payload, Oid role)
{
	const ScribeJobKind *k = scribe_job_kind_find(kind);

	if (k == NULL)
	{
		StringInfoData names;

		initStringInfo(&names);
		for (int i = 0; i < n_job_kinds; i++)
			appendStringInfo(&names, "%s%s", i ? ", " : "", job_kinds[i]->name);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown job kind \"%s\"", kind),
				 errhint("The kinds are: %s; leave kind NULL for a message that applications claim.",
						 names.data)));
	}
	if (!JB_ROOT_IS_OBJECT(payload))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the payload of an %s job must be a jsonb object", kind),
				 errhint("See the reference for the fields of an %s job.", kind)));
	k->validate(payload, role);
}

/* The member key of a jsonb object, or NULL when absent or null */
static JsonbValue *
jsonb_member(Jsonb *object, const char *key)
{
	JsonbValue	k;
	JsonbValue *v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(&object->root, JB_FOBJECT, &k);
	return (v == NULL || v->type == jbvNull) ? NULL : v;
}

/* The member key of a jsonb object, as a Jsonb, or NULL when absent */
Jsonb *
scribe_jsonb_get(Jsonb *object, const char *key)
{
	JsonbValue *v = jsonb_member(object, key);

	return v ? JsonbValueToJsonb(v) : NULL;
}

/* The string member key of a jsonb object; ERROR if required and absent, or not a string */
char *
scribe_jsonb_get_string(Jsonb *object, const char *key, bool required, const char *kind)
{
	JsonbValue *v = jsonb_member(object, key);

	if (v == NULL)
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("an %s job needs \"%s\" in its payload", kind, key),
					 errhint("See the reference for the fields of an %s job.", kind)));
		return NULL;
	}
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" in the payload of an %s job must be a string", key, kind)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* The whole-number member key of a jsonb object; ERROR if absent or not one, with hint */
int64
scribe_jsonb_get_int64(Jsonb *object, const char *key, const char *kind, const char *hint)
{
	JsonbValue *v = jsonb_member(object, key);

	if (v == NULL || v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an %s job needs a numeric \"%s\" in its payload", kind, key),
				 errhint("%s", hint)));
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));
}

/* ERROR if a jsonb object has a member not in allowed (a NULL-terminated list) */
void
scribe_jsonb_check_keys(Jsonb *object, const char *const *allowed, const char *kind)
{
	JsonbIterator *it = JsonbIteratorInit(&object->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
			depth++;
		else if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
			depth--;
		else if (tok == WJB_KEY && depth == 1)
		{
			bool		known = false;

			for (const char *const *a = allowed; *a != NULL; a++)
			{
				if ((int) strlen(*a) == v.val.string.len &&
					strncmp(*a, v.val.string.val, v.val.string.len) == 0)
					known = true;
			}
			if (!known)
			{
				StringInfoData names;

				initStringInfo(&names);
				for (const char *const *a = allowed; *a != NULL; a++)
					appendStringInfo(&names, "%s%s", a == allowed ? "" : ", ", *a);
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown field \"%.*s\" in the payload of an %s job",
								v.val.string.len, v.val.string.val, kind),
						 errhint("An %s job's payload has these fields: %s.", kind, names.data)));
			}
		}
	}
}
static const ScribeJobRunner *job_runner = NULL;
static const ScribeJobRemoteWork *remote_work = NULL;

/* Register the process that runs jobs (the pool's worker, as it starts) */
void
scribe_job_set_runner(const ScribeJobRunner *runner)
{
	job_runner = runner;
}

/* Publish the running job's progress, in percent, where the runner shows it */
void
scribe_job_report_progress(int percent)
{
	if (job_runner != NULL)
		job_runner->report_progress(percent);
}

/* Tell the runner a job from elsewhere starts (kind, and what it does, for its status) */
void
scribe_job_begin(int64 job_id, int32 attempt, const char *kind, const char *activity)
{
	if (job_runner != NULL)
		job_runner->job_begin(job_id, attempt, kind, activity);
}

/* Tell the runner that job ended: done, or failed, or released unrun */
void
scribe_job_end(bool done, bool released)
{
	if (job_runner != NULL)
		job_runner->job_end(done, released);
}

/* Start the runner's time limit of the running job */
void
scribe_job_timer_start(int64 timeout_ms)
{
	if (job_runner != NULL)
		job_runner->timer_start(timeout_ms);
}

/* Stop the runner's time limit of the running job */
void
scribe_job_timer_stop(void)
{
	if (job_runner != NULL)
		job_runner->timer_stop();
}

/* Whether the runner is shutting down (a cancelled job is then given back) */
bool
scribe_job_stopping(void)
{
	return job_runner != NULL && job_runner->stopping();
}

/* Tell the runner how many remote jobs wait behind the one taken, so that it can scale */
void
scribe_job_remote_backlog(int64 backlog)
{
	if (job_runner != NULL)
		job_runner->remote_backlog(backlog);
}

/* Register the work a worker takes from elsewhere (from _PG_init) */
void
scribe_job_set_remote_work(const ScribeJobRemoteWork *work)
{
	remote_work = work;
}

/* The work a worker takes from elsewhere, or NULL */
const ScribeJobRemoteWork *
scribe_job_remote_work(void)
{
	return remote_work;
}
