/*
 * Writing the Prometheus text exposition format 0.0.4: HELP and TYPE lines,
 * samples with escaped label values, values as Go's ParseFloat reads them.
 */
#include "base/pg_scribe.h"

#include <math.h>

#include "ops/metrics.h"

/* Append s with backslash and newline escaped, and double quotes too if quotes is set */
static void
append_escaped(StringInfo out, const char *s, bool quotes)
{
	for (; *s; s++)
	{
		if (*s == '\\')
			appendStringInfoString(out, "\\\\");
		else if (*s == '\n')
			appendStringInfoString(out, "\\n");
		else if (*s == '"' && quotes)
			appendStringInfoString(out, "\\\"");
		else
			appendStringInfoChar(out, *s);
	}
}

/* Append a sample value: integers exactly, NaN and infinities by their names */
static void
append_value(StringInfo out, double value)
{
	if (isnan(value))
		appendStringInfoString(out, "NaN");
	else if (isinf(value))
		appendStringInfoString(out, value > 0 ? "+Inf" : "-Inf");
	else if (value == floor(value) && fabs(value) < 1e15)
		appendStringInfo(out, "%.0f", value);
	else
		appendStringInfo(out, "%.15g", value);
}

/* Start a family: its HELP and TYPE lines */
void
scribe_metrics_family(StringInfo out, const char *name, const char *type, const char *help)
{
	appendStringInfo(out, "# HELP %s ", name);
	append_escaped(out, help, false);
	appendStringInfo(out, "\n# TYPE %s %s\n", name, type);
}

/*
 * Append a sample of family name (suffix: "_bucket", "_sum", "_count" of a
 * histogram, or ""), with its labels, le last when given, and its value
 */
void
scribe_metrics_sample(StringInfo out, const char *name, const char *suffix, int nlabels,
					  const char *const *names, const char *const *values, const char *le,
					  double value)
{
	bool		any = false;

	appendStringInfoString(out, name);
	appendStringInfoString(out, suffix);
	for (int i = 0; i < nlabels; i++)
	{
		appendStringInfoString(out, any ? "," : "{");
		appendStringInfo(out, "%s=\"", names[i]);
		append_escaped(out, values[i] ? values[i] : "", true);
		appendStringInfoChar(out, '"');
		any = true;
	}
	if (le != NULL)
	{
		appendStringInfo(out, "%sle=\"%s\"", any ? "," : "{", le);
		any = true;
	}
	if (any)
		appendStringInfoChar(out, '}');
	appendStringInfoChar(out, ' ');
	append_value(out, value);
	appendStringInfoChar(out, '\n');
}

/*
 * Append a histogram's samples: a bucket per bound with the cumulative
 * count (bounds ascending), the +Inf bucket, the sum and the count
 */
void
scribe_metrics_histogram(StringInfo out, const char *name, int nlabels, const char *const *names,
						 const char *const *values, int nbounds, const double *bounds,
						 const uint64 *cumulative, uint64 count, double sum)
{
	char		le[32];

	for (int b = 0; b < nbounds; b++)
	{
		snprintf(le, sizeof(le), "%.10g", bounds[b]);
		scribe_metrics_sample(out, name, "_bucket", nlabels, names, values, le, (double) cumulative[b]);
	}
	scribe_metrics_sample(out, name, "_bucket", nlabels, names, values, "+Inf", (double) count);
	scribe_metrics_sample(out, name, "_sum", nlabels, names, values, NULL, sum);
	scribe_metrics_sample(out, name, "_count", nlabels, names, values, NULL, (double) count);
}
