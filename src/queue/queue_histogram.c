/*
 * The histograms of the queue statistics: job wait and run times in buckets
 * whose bounds grow by a factor of sqrt(2) from 100 microseconds, so that 64
 * buckets span 100 us to about 3.5 days, each at most 1.42 times its lower bound;
 * and the durations they count, saturated.
 */
#include "base/pg_scribe.h"

#include <math.h>

#include "common/int.h"

#include "queue/queue_stats.h"

/*
 * Microseconds from one time to a later one: 0 when it is not later, and
 * PG_INT64_MAX when the difference overflows (an infinite or extreme time in
 * a row restored or written by hand), so that no job's times can make the
 * statistics fail
 */
int64
scribe_queue_elapsed_us(TimestampTz from, TimestampTz to)
{
	int64		us;

	if (to <= from)
		return 0;
	if (TIMESTAMP_IS_NOBEGIN(from) || TIMESTAMP_IS_NOEND(to) || pg_sub_s64_overflow(to, from, &us))
		return PG_INT64_MAX;
	return us;
}

/* Histogram bucket of a duration in microseconds */
int
scribe_queue_hist_bucket(int64 us)
{
	int			i;

	if (us <= 100)
		return 0;
	i = (int) ceil(2.0 * log2((double) us / 100.0));
	return Min(i, SCRIBE_HIST_BUCKETS - 1);
}

/* Upper bound of a histogram bucket, in microseconds */
static double
hist_bound(int i)
{
	return 100.0 * pow(2.0, i / 2.0);
}

/* Upper bound of a histogram bucket, in seconds */
double
scribe_queue_hist_bound(int bucket)
{
	return hist_bound(bucket) / 1e6;
}

/* A percentile of a histogram in microseconds, interpolated inside its bucket */
int64
scribe_queue_hist_percentile(const uint64 *hist, uint64 total, double fraction)
{
	double		rank = fraction * total;
	uint64		seen = 0;

	for (int i = 0; i < SCRIBE_HIST_BUCKETS; i++)
	{
		if (hist[i] > 0 && seen + hist[i] >= rank)
		{
			double		lower = (i == 0) ? 0 : hist_bound(i - 1);
			double		upper = hist_bound(i);
			double		within = (rank - seen) / hist[i];

			return (int64) (lower + (upper - lower) * Max(within, 0.0));
		}
		seen += hist[i];
	}
	return (int64) hist_bound(SCRIBE_HIST_BUCKETS - 1);
}
