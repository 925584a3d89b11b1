/*
 * cron.c — parse a cron expression into a schedule.
 *
 * The expression is read once, left to right, and only inside [expr, expr +
 * len): it needs no NUL, and a NUL or any other unexpected byte is an error
 * like any other.  Numbers saturate instead of overflowing, every loop
 * advances by at least one byte, and every error names the field and what
 * is wrong in it.  See cron.h for the grammar and the contract.
 */
#include "cron_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FIELD_COUNT 5
/* Longest token quoted in an error; a longer one is cut and ends in "..." */
#define QUOTE_MAX 24
/* A number is out of range in every field long before this: stop counting */
#define NUMBER_CAP 1000000

/* What one field of the expression accepts */
typedef struct CronField
{
	const char *name;			/* as errors name it: "day of month" */
	int			min;			/* lowest value the text may use */
	int			max;			/* highest: 7 for the day of week, Sunday again */
	int			last;			/* where a star or "a/n" stops: 6 for the day of
								 * week, so a step from a star never counts
								 * Sunday twice */
	const char *const *names;	/* three-letter names of the values from
								 * names_first on, or NULL */
	int			names_first;
	const char *names_span;		/* the names in errors: "jan-dec" */
} CronField;

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL
};
static const char *const weekday_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

enum
{
	FIELD_MINUTE, FIELD_HOUR, FIELD_DAY_OF_MONTH, FIELD_MONTH, FIELD_DAY_OF_WEEK
};

static const CronField fields[FIELD_COUNT] = {
	{"minute", 0, 59, 59, NULL, 0, NULL},
	{"hour", 0, 23, 23, NULL, 0, NULL},
	{"day of month", 1, 31, 31, NULL, 0, NULL},
	{"month", 1, 12, 12, month_names, 1, "jan-dec"},
	{"day of week", 0, 7, 6, weekday_names, 0, "sun-sat"},
};

/* The macros and what they stand for */
typedef struct CronMacro
{
	const char *name;
	const char *fields;
} CronMacro;

static const CronMacro macros[] = {
	{"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
	{"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"},
	{"@daily", "0 0 * * *"},
	{"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

#define MACRO_COUNT (sizeof(macros) / sizeof(macros[0]))

/* Where the parser is in one field */
typedef struct FieldParser
{
	const CronField *field;
	const char *p;				/* next byte to read */
	const char *end;			/* end of the field */
	char	   *error;
	size_t		errlen;
} FieldParser;

/* Write an error and return false; see cron_internal.h. */
bool
scribe_cron_fail(char *error, size_t errlen, const char *fmt,...)
{
	va_list		args;

	if (error == NULL || errlen == 0)
		return false;
	va_start(args, fmt);
	(void) vsnprintf(error, errlen, fmt, args);
	va_end(args);
	return false;
}

/* Whether c separates fields */
static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char
to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

/* Whether the n bytes at s are word, ignoring case */
static bool
equals_ignoring_case(const char *s, size_t n, const char *word)
{
	size_t		i;

	if (strlen(word) != n)
		return false;
	for (i = 0; i < n; i++)
		if (to_lower(s[i]) != word[i])
			return false;
	return true;
}

/*
 * Copy n bytes at s into out (QUOTE_MAX + 4 bytes) for an error: bytes that
 * are not printable ASCII become '?', so errors are always valid text.
 */
static const char *
quote_token(const char *s, size_t n, char *out)
{
	size_t		i;
	size_t		shown = n > QUOTE_MAX ? QUOTE_MAX : n;

	for (i = 0; i < shown; i++)
		out[i] = (unsigned char) s[i] >= 0x20 && (unsigned char) s[i] < 0x7f ? s[i] : '?';
	out[shown] = '\0';
	if (shown < n)
		memcpy(out + shown, "...", 4);
	return out;
}

/* Describe the byte at the parser's position for an error: "\"x\"", "byte 0x00" or "the end" */
static const char *
describe_next(const FieldParser *ps, char out[16])
{
	unsigned char c;

	if (ps->p >= ps->end)
		return "the end of the field";
	c = (unsigned char) *ps->p;
	if (c >= 0x20 && c < 0x7f)
		snprintf(out, 16, "\"%c\"", c);
	else
		snprintf(out, 16, "byte 0x%02X", c);
	return out;
}

static bool
at(const FieldParser *ps, char c)
{
	return ps->p < ps->end && *ps->p == c;
}

/* Read a run of digits as a number, which stops growing at NUMBER_CAP. */
static long
read_digits(FieldParser *ps)
{
	long		n = 0;

	while (ps->p < ps->end && is_digit(*ps->p))
	{
		if (n < NUMBER_CAP)
			n = n * 10 + (*ps->p - '0');
		ps->p++;
	}
	return n;
}

/* Read a number or a name of the field and check its range. */
static bool
read_value(FieldParser *ps, int *value)
{
	const CronField *f = ps->field;
	const char *start = ps->p;
	char		quoted[QUOTE_MAX + 4];
	char		found[16];
	long		n;
	int			i;

	if (ps->p < ps->end && is_digit(*ps->p))
	{
		n = read_digits(ps);
		if (n < f->min || n > f->max)
			return scribe_cron_fail(ps->error, ps->errlen, "%s %s is out of range %d-%d", f->name,
									quote_token(start, (size_t) (ps->p - start), quoted), f->min, f->max);
		*value = (int) n;
		return true;
	}
	if (ps->p < ps->end && is_letter(*ps->p))
	{
		while (ps->p < ps->end && is_letter(*ps->p))
			ps->p++;
		quote_token(start, (size_t) (ps->p - start), quoted);
		if (f->names == NULL)
			return scribe_cron_fail(ps->error, ps->errlen, "%s \"%s\" is not a number %d-%d",
									f->name, quoted, f->min, f->max);
		for (i = 0; f->names[i] != NULL; i++)
			if (equals_ignoring_case(start, (size_t) (ps->p - start), f->names[i]))
			{
				*value = f->names_first + i;
				return true;
			}
		return scribe_cron_fail(ps->error, ps->errlen, "%s \"%s\" is neither a number %d-%d nor a name %s",
								f->name, quoted, f->min, f->max, f->names_span);
	}
	return scribe_cron_fail(ps->error, ps->errlen, "%s: expected a %s, found %s", f->name,
							f->names != NULL ? "number or a name" : "number", describe_next(ps, found));
}

/* Read the step after a slash: 1 up to the number of values of the field. */
static bool
read_step(FieldParser *ps, const char *item_start, int *step)
{
	const CronField *f = ps->field;
	const char *start = ps->p;
	int			values = f->last - f->min + 1;
	char		quoted[QUOTE_MAX + 4];
	char		found[16];
	long		n;

	if (!(ps->p < ps->end && is_digit(*ps->p)))
		return scribe_cron_fail(ps->error, ps->errlen, "%s: expected a step number after \"%s\", found %s",
								f->name, quote_token(item_start, (size_t) (ps->p - item_start), quoted),
								describe_next(ps, found));
	n = read_digits(ps);
	quote_token(start, (size_t) (ps->p - start), quoted);
	if (n == 0)
		return scribe_cron_fail(ps->error, ps->errlen, "%s step %s must be at least 1", f->name, quoted);
	if (n > values)
		return scribe_cron_fail(ps->error, ps->errlen, "%s step %s is out of range 1-%d", f->name, quoted, values);
	*step = (int) n;
	return true;
}

/* Parse one item of a field's list (*, a, a-b, each with an optional /n) into mask. */
static bool
parse_item(FieldParser *ps, uint64_t *mask)
{
	const CronField *f = ps->field;
	const char *start = ps->p;
	char		quoted[QUOTE_MAX + 4];
	char		found[16];
	int			low;
	int			high;
	int			step = 1;
	int			value;

	if (ps->p == ps->end || *ps->p == ',')
		return scribe_cron_fail(ps->error, ps->errlen, "%s: empty item in a list", f->name);
	if (at(ps, '*'))
	{
		ps->p++;
		low = f->min;
		high = f->last;
	}
	else
	{
		if (!read_value(ps, &low))
			return false;
		high = low;
		if (at(ps, '-'))
		{
			ps->p++;
			if (ps->p == ps->end || at(ps, ',') || at(ps, '/'))
				return scribe_cron_fail(ps->error, ps->errlen, "%s range \"%s\" has no end", f->name,
										quote_token(start, (size_t) (ps->p - start), quoted));
			if (!read_value(ps, &high))
				return false;
			if (low > high)
				return scribe_cron_fail(ps->error, ps->errlen, "%s range \"%s\" is reversed%s", f->name,
										quote_token(start, (size_t) (ps->p - start), quoted),
										f == &fields[FIELD_DAY_OF_WEEK] && high == 0 ?
										" (Sunday is also 7)" : "");
		}
		else if (at(ps, '/') && low < f->last)
			high = f->last;		/* "a/n": from a to the end of the field */
	}
	if (at(ps, '/'))
	{
		ps->p++;
		if (!read_step(ps, start, &step))
			return false;
	}
	if (ps->p < ps->end && !at(ps, ','))
		return scribe_cron_fail(ps->error, ps->errlen, "%s: unexpected %s after \"%s\"", f->name,
								describe_next(ps, found), quote_token(start, (size_t) (ps->p - start), quoted));

	for (value = low; value <= high; value += step)
		*mask |= (uint64_t) 1 << value;
	return true;
}

/* Parse the field at [start, end) as a comma-separated list into mask. */
static bool
parse_field(const CronField *field, const char *start, const char *end, uint64_t *mask,
			char *error, size_t errlen)
{
	FieldParser ps = {field, start, end, error, errlen};

	*mask = 0;
	for (;;)
	{
		if (!parse_item(&ps, mask))
			return false;
		if (ps.p == ps.end)
			return true;
		ps.p++;					/* the comma */
	}
}

/* Split [p, end) at whitespace; the first FIELD_COUNT fields' bounds go to starts and ends. */
static int
split_fields(const char *p, const char *end, const char **starts, const char **ends)
{
	int			count = 0;

	while (p < end)
	{
		while (p < end && is_space(*p))
			p++;
		if (p == end)
			break;
		if (count < FIELD_COUNT)
			starts[count] = p;
		while (p < end && !is_space(*p))
			p++;
		if (count < FIELD_COUNT)
			ends[count] = p;
		count++;
	}
	return count;
}

/* Parse five whitespace-separated fields at [p, end). */
static bool
parse_fields(const char *p, const char *end, ScribeCronSchedule *schedule, char *error, size_t errlen)
{
	const char *starts[FIELD_COUNT];
	const char *ends[FIELD_COUNT];
	uint64_t	masks[FIELD_COUNT];
	int			count = split_fields(p, end, starts, ends);
	int			i;

	if (count != FIELD_COUNT)
		return scribe_cron_fail(error, errlen, "expected %d fields, found %d%s", FIELD_COUNT, count,
								count > FIELD_COUNT ? " (a seconds or a year field is not supported)" : "");
	for (i = 0; i < FIELD_COUNT; i++)
		if (!parse_field(&fields[i], starts[i], ends[i], &masks[i], error, errlen))
			return false;

	/* Sunday is 0 and 7 */
	if (masks[FIELD_DAY_OF_WEEK] & ((uint64_t) 1 << 7))
		masks[FIELD_DAY_OF_WEEK] = (masks[FIELD_DAY_OF_WEEK] | 1) & ~((uint64_t) 1 << 7);

	schedule->minutes = masks[FIELD_MINUTE];
	schedule->hours = (uint32_t) masks[FIELD_HOUR];
	schedule->days_of_month = (uint32_t) masks[FIELD_DAY_OF_MONTH];
	schedule->months = (uint16_t) masks[FIELD_MONTH];
	schedule->days_of_week = (uint8_t) masks[FIELD_DAY_OF_WEEK];
	schedule->day_of_month_restricted = *starts[FIELD_DAY_OF_MONTH] != '*';
	schedule->day_of_week_restricted = *starts[FIELD_DAY_OF_WEEK] != '*';
	return true;
}

/* Parse a macro (the word at [p, end), nothing after it). */
static bool
parse_macro(const char *p, const char *end, ScribeCronSchedule *schedule, char *error, size_t errlen)
{
	const char *word_end = p;
	char		quoted[QUOTE_MAX + 4];
	size_t		i;

	while (word_end < end && !is_space(*word_end))
		word_end++;
	quote_token(p, (size_t) (word_end - p), quoted);
	for (i = 0; i < MACRO_COUNT; i++)
		if (equals_ignoring_case(p, (size_t) (word_end - p), macros[i].name))
		{
			if (word_end != end)
				return scribe_cron_fail(error, errlen, "unexpected text after %s: a macro stands for all 5 fields",
										macros[i].name);
			return parse_fields(macros[i].fields, macros[i].fields + strlen(macros[i].fields),
								schedule, error, errlen);
		}
	if (equals_ignoring_case(p, (size_t) (word_end - p), "@reboot"))
		return scribe_cron_fail(error, errlen, "@reboot is not supported: a schedule names times, not server starts");
	return scribe_cron_fail(error, errlen, "unknown macro \"%s\"; expected @yearly, @annually, @monthly, "
							"@weekly, @daily, @midnight or @hourly", quoted);
}

/* The most days month (1-12) ever has: February has 29 in leap years */
static int
longest_month_length(int month)
{
	static const int lengths[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return lengths[month];
}

/*
 * Refuse a schedule that can never run.  Only the days of month can rule
 * out every day, and only when they must match (the days of week are a
 * star): in every month each weekday comes round, and in enough years
 * every date falls on each weekday, February 29th included.
 */
static bool
check_runs(const ScribeCronSchedule *schedule, char *error, size_t errlen)
{
	int			longest = 0;
	int			first_day = 1;
	int			month;

	if (schedule->day_of_month_restricted && schedule->day_of_week_restricted)
		return true;
	for (month = 1; month <= 12; month++)
		if ((schedule->months >> month) & 1 && longest_month_length(month) > longest)
			longest = longest_month_length(month);
	while (first_day <= 31 && !((schedule->days_of_month >> first_day) & 1))
		first_day++;
	if (first_day > longest)
		return scribe_cron_fail(error, errlen, "the schedule never runs: day of month %d is past the end of "
								"every month it names (the longest has %d days)", first_day, longest);
	return true;
}

/* Parse len bytes at expr into schedule; see cron.h. */
bool
scribe_cron_parse(const char *expr, size_t len, ScribeCronSchedule *schedule,
				  char *error, size_t errlen)
{
	const char *p;
	const char *end;
	bool		parsed;

	if (error != NULL && errlen > 0)
		error[0] = '\0';
	memset(schedule, 0, sizeof(*schedule));
	/* (a NULL pointer plus 0 would be undefined) */
	if (expr == NULL)
	{
		expr = "";
		len = 0;
	}
	if (len > SCRIBE_CRON_MAX_LENGTH)
		return scribe_cron_fail(error, errlen, "the expression is too long (%zu bytes, at most %d)",
								len, SCRIBE_CRON_MAX_LENGTH);
	p = expr;
	end = expr + len;
	while (p < end && is_space(*p))
		p++;
	while (end > p && is_space(end[-1]))
		end--;
	if (p == end)
		return scribe_cron_fail(error, errlen, "the expression is empty");

	parsed = *p == '@' ? parse_macro(p, end, schedule, error, errlen) :
		parse_fields(p, end, schedule, error, errlen);
	if (!parsed || !check_runs(schedule, error, errlen))
	{
		memset(schedule, 0, sizeof(*schedule));
		return false;
	}
	return true;
}
