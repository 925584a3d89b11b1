/*
 * The registry of job kinds, and the jsonb helpers kinds share.
 */
#include "pg_scribe.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "jobs/job_kind.h"

static const ScribeJobKind *const job_kinds[] = {
	&scribe_kind_sql,
	&scribe_kind_http,
	&scribe_kind_ocr,
	&scribe_kind_policy,
};

#define JOB_KINDS ((int) lengthof(job_kinds))

/* The kind of this name, or NULL */
const ScribeJobKind *
scribe_job_kind_find(const char *name)
{
	for (int i = 0; i < JOB_KINDS; i++)
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
		for (int i = 0; i < JOB_KINDS; i++)
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
