/*
 * The Redis circuit breaker, in shared memory, shared by every backend.
 *
 * Its state and the time it entered that state live in one 64-bit atomic
 * word (microseconds since 2000 << 2 | state), so that each transition is a
 * single compare-and-swap that also says when it happened:
 *
 *   closed    --N consecutive failures-->            open
 *   open      --cool-down over, first CAS wins-->    half-open (that backend probes)
 *   half-open --the probe succeeds-->                closed
 *   half-open --the probe fails-->                   open (a new cool-down)
 *   half-open --the probe ends undecided-->          open as before (next call probes)
 *   half-open --no verdict for a cool-down plus the probe's own timeouts
 *               (its backend died or errored out)--> half-open, another backend probing
 *
 * While open or half-open every other call is refused at once (counted as
 * short-circuited): a dead Redis costs one probe's timeout per cool-down,
 * not one timeout per call.  Counters are atomics; the last error text is
 * guarded by a spinlock.
 */
#include "base/pg_scribe.h"

#include "port/atomics.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "client/redis_internal.h"

typedef struct RedisBreakerShared
{
	pg_atomic_uint64 word;		/* state and since when: see breaker_word() */
	pg_atomic_uint32 consecutive_failures;
	pg_atomic_uint64 failures;
	pg_atomic_uint64 successes;
	pg_atomic_uint64 opened;
	pg_atomic_uint64 short_circuited;
	slock_t		error_lock;		/* guards last_error */
	char		last_error[SCRIBE_REDIS_ERROR_MAX];
} RedisBreakerShared;

static RedisBreakerShared *breaker = NULL;

/* Encode a state and the time it began into one word */
static inline uint64
breaker_word(ScribeRedisBreakerState state, TimestampTz since)
{
	return ((uint64) since << 2) | (uint64) state;
}

/* The state encoded in a word */
static inline ScribeRedisBreakerState
word_state(uint64 word)
{
	return (ScribeRedisBreakerState) (word & 3);
}

/* The time encoded in a word */
static inline TimestampTz
word_since(uint64 word)
{
	return (TimestampTz) (word >> 2);
}

/* Shared memory the breaker needs */
Size
scribe_redis_shmem_size(void)
{
	return MAXALIGN(sizeof(RedisBreakerShared));
}

/* Create or attach to the breaker (under AddinShmemInitLock) */
void
scribe_redis_shmem_init(void)
{
	bool		found;

	breaker = ShmemInitStruct("pg_scribe redis breaker", scribe_redis_shmem_size(), &found);
	if (found)
		return;
	memset(breaker, 0, sizeof(RedisBreakerShared));
	pg_atomic_init_u64(&breaker->word, breaker_word(SCRIBE_BREAKER_CLOSED, GetCurrentTimestamp()));
	pg_atomic_init_u32(&breaker->consecutive_failures, 0);
	pg_atomic_init_u64(&breaker->failures, 0);
	pg_atomic_init_u64(&breaker->successes, 0);
	pg_atomic_init_u64(&breaker->opened, 0);
	pg_atomic_init_u64(&breaker->short_circuited, 0);
	SpinLockInit(&breaker->error_lock);
}

/* Keep error as the last error, cut to fit */
void
redis_breaker_note_error(const char *error)
{
	if (breaker == NULL)
		return;
	SpinLockAcquire(&breaker->error_lock);
	strlcpy(breaker->last_error, error, sizeof(breaker->last_error));
	SpinLockRelease(&breaker->error_lock);
}

/* How long a probe may go without a verdict before another backend takes over, in µs */
static int64
probe_takeover_us(void)
{
	/* connect, then AUTH, SELECT and the command: each bounded by its timeout */
	return ((int64) scribe_redis_breaker_cooldown + scribe_redis_connect_timeout +
			3 * (int64) scribe_redis_command_timeout) * 1000;
}

/* Count a call refused by the breaker */
static bool
short_circuit(void)
{
	pg_atomic_fetch_add_u64(&breaker->short_circuited, 1);
	return false;
}

/*
 * May this call go to Redis?  True when the breaker is closed, or when this
 * call won the right to probe (ticket->probe); false, at once, otherwise.
 */
bool
redis_breaker_admit(RedisBreakerTicket *ticket)
{
	memset(ticket, 0, sizeof(*ticket));
	/* a backend of a server that did not preload us has no breaker: let it try */
	if (breaker == NULL)
		return true;

	for (;;)
	{
		uint64		word = pg_atomic_read_u64(&breaker->word);
		uint64		seen = word;
		TimestampTz now;
		int64		waited_us;

		if (word_state(word) == SCRIBE_BREAKER_CLOSED)
			return true;

		now = GetCurrentTimestamp();
		waited_us = now - word_since(word);
		if (word_state(word) == SCRIBE_BREAKER_OPEN &&
			waited_us < (int64) scribe_redis_breaker_cooldown * 1000)
			return short_circuit();
		if (word_state(word) == SCRIBE_BREAKER_HALF_OPEN && waited_us < probe_takeover_us())
			return short_circuit();

		/* the cool-down is over (or the probe vanished): exactly one CAS wins the probe */
		ticket->probe_word = breaker_word(SCRIBE_BREAKER_HALF_OPEN, now);
		if (pg_atomic_compare_exchange_u64(&breaker->word, &seen, ticket->probe_word))
		{
			ticket->probe = true;
			ticket->opened_word = word_state(word) == SCRIBE_BREAKER_OPEN ? word :
				breaker_word(SCRIBE_BREAKER_OPEN, word_since(word));
			return true;
		}
		/* another backend moved first: look again */
	}
}

/* Redis answered: a probe closes the breaker, any answer ends a failure streak */
void
redis_breaker_success(const RedisBreakerTicket *ticket)
{
	if (breaker == NULL)
		return;
	pg_atomic_fetch_add_u64(&breaker->successes, 1);
	/* read first: most calls find it 0 already and need not dirty the cache line */
	if (pg_atomic_read_u32(&breaker->consecutive_failures) != 0)
		pg_atomic_write_u32(&breaker->consecutive_failures, 0);
	if (ticket->probe)
	{
		uint64		expected = ticket->probe_word;

		/* fails only if another backend took the probe over: its verdict stands */
		(void) pg_atomic_compare_exchange_u64(&breaker->word, &expected,
											  breaker_word(SCRIBE_BREAKER_CLOSED, GetCurrentTimestamp()));
	}
}

/* Redis failed this call: count it, and open the breaker when it is time */
void
redis_breaker_failure(const RedisBreakerTicket *ticket, const char *error)
{
	uint64		expected;
	uint64		open_now;

	if (breaker == NULL)
		return;
	pg_atomic_fetch_add_u64(&breaker->failures, 1);
	redis_breaker_note_error(error);
	open_now = breaker_word(SCRIBE_BREAKER_OPEN, GetCurrentTimestamp());

	if (ticket->probe)
	{
		expected = ticket->probe_word;
		if (pg_atomic_compare_exchange_u64(&breaker->word, &expected, open_now))
			pg_atomic_fetch_add_u64(&breaker->opened, 1);
		return;
	}

	if (pg_atomic_add_fetch_u32(&breaker->consecutive_failures, 1) <
		(uint32) scribe_redis_breaker_failures)
		return;
	expected = pg_atomic_read_u64(&breaker->word);
	/* only a closed breaker opens here; the CAS makes sure it opens once */
	if (word_state(expected) == SCRIBE_BREAKER_CLOSED &&
		pg_atomic_compare_exchange_u64(&breaker->word, &expected, open_now))
	{
		pg_atomic_write_u32(&breaker->consecutive_failures, 0);
		pg_atomic_fetch_add_u64(&breaker->opened, 1);
	}
}

/*
 * The call ended without saying anything about Redis (interrupted by a
 * signal): a probe hands the breaker back as it found it, open, so that the
 * next call probes at once.
 */
void
redis_breaker_undecided(const RedisBreakerTicket *ticket, const char *error)
{
	if (breaker == NULL)
		return;
	redis_breaker_note_error(error);
	if (ticket->probe)
	{
		uint64		expected = ticket->probe_word;

		(void) pg_atomic_compare_exchange_u64(&breaker->word, &expected, ticket->opened_word);
	}
}

/* The breaker's state and counters, for scribe.redis_stats() */
void
scribe_redis_status(ScribeRedisStatus *status)
{
	uint64		word;

	memset(status, 0, sizeof(*status));
	status->configured = scribe_redis_configured();
	if (breaker == NULL)
	{
		status->state = SCRIBE_BREAKER_CLOSED;
		return;
	}
	word = pg_atomic_read_u64(&breaker->word);
	status->state = word_state(word);
	status->state_since = word_since(word);
	status->failures = (int64) pg_atomic_read_u64(&breaker->failures);
	status->successes = (int64) pg_atomic_read_u64(&breaker->successes);
	status->opened = (int64) pg_atomic_read_u64(&breaker->opened);
	status->short_circuited = (int64) pg_atomic_read_u64(&breaker->short_circuited);
	SpinLockAcquire(&breaker->error_lock);
	memcpy(status->last_error, breaker->last_error, sizeof(status->last_error));
	SpinLockRelease(&breaker->error_lock);
}
