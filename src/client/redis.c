/*
 * The Redis tier (L2): settings, the per-backend connection, and the
 * operations the cache layer calls (see redis.h for what each result
 * means to it).
 *
 * Every operation is a "call": the breaker admits it or refuses it at once;
 * an admitted call connects if needed (AUTH, SELECT), sends its commands,
 * reads every reply, then tells the breaker how Redis did.  Any transport
 * error or timeout drops the connection: a reply that arrives late must
 * never be read as the answer to the next call.  An ERROR escaping mid-call
 * (out of memory, an interrupt) leaves the connection marked in use, and the
 * next call drops it for the same reason.
 *
 * hiredis 0.14 (Debian 12): redisConnectWithTimeout bounds the connect only;
 * redisSetTimeout sets SO_RCVTIMEO/SO_SNDTIMEO, which bound each socket read
 * and write, so a command against a Redis that accepts but never answers
 * fails after scribe.redis_command_timeout.  Host names are resolved by
 * getaddrinfo() before the connect timeout starts: prefer an address or a
 * name in /etc/hosts.  No TLS, no RESP3.
 */
#include "base/pg_scribe.h"

#include <errno.h>
#include <limits.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "client/redis_internal.h"

char	   *scribe_redis_url = NULL;
int			scribe_redis_connect_timeout = 50;
int			scribe_redis_command_timeout = 50;
int			scribe_redis_breaker_failures = 5;
int			scribe_redis_breaker_cooldown = 5000;

/* This backend's connection, NULL until the first call needs it */
static redisContext *redis_conn = NULL;
/* redis_target_generation when redis_conn was opened */
static uint64 redis_conn_generation = 0;
/* The command timeout applied to redis_conn, in ms */
static int	redis_conn_timeout_ms = 0;
/* True from sending a command until its last reply is read */
static bool redis_conn_in_use = false;

/* One call in progress */
typedef struct RedisCall
{
	const char *command;		/* for messages: "GET", "SET", ... */
	RedisBreakerTicket ticket;
} RedisCall;

/* Define the Redis GUCs */
void
scribe_redis_define_gucs(void)
{
	DefineCustomStringVariable("scribe.redis_url",
							   "Redis of the cache's second tier: redis://[:password@]host[:port][/db] or unix:///path.",
							   "Empty (the default): no Redis; the shared-memory tier alone serves.",
							   &scribe_redis_url,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   redis_check_url, redis_assign_url, NULL);
	DefineCustomIntVariable("scribe.redis_connect_timeout",
							"Time a connection to Redis may take to open.",
							"Host names are resolved before it starts.",
							&scribe_redis_connect_timeout,
							50, 1, 60000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.redis_command_timeout",
							"Time Redis may take to answer, per socket read or write.",
							"A call that times out counts as a failure of Redis.",
							&scribe_redis_command_timeout,
							50, 1, 60000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.redis_breaker_failures",
							"Consecutive Redis failures that open the circuit breaker.",
							"While it is open, calls skip Redis without waiting.",
							&scribe_redis_breaker_failures,
							5, 1, 1000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.redis_breaker_cooldown",
							"Time the circuit breaker stays open before one call probes Redis again.",
							NULL,
							&scribe_redis_breaker_cooldown,
							5000, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/* True when scribe.redis_url names a Redis */
bool
scribe_redis_configured(void)
{
	return redis_target != NULL;
}

/* A timeout in milliseconds as hiredis wants it */
static struct timeval
ms_to_timeval(int ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

/* Close this backend's connection, if any */
void
scribe_redis_disconnect(void)
{
	if (redis_conn != NULL)
		redisFree(redis_conn);
	redis_conn = NULL;
	redis_conn_in_use = false;
}

/* A failed call: drop the connection, tell the breaker, honour interrupts */
static ScribeRedisResult
call_failed(RedisCall *call, char *error, bool interrupted)
{
	scribe_redis_disconnect();
	if (interrupted)
		redis_breaker_undecided(&call->ticket, error);
	else
		redis_breaker_failure(&call->ticket, error);
	pfree(error);
	CHECK_FOR_INTERRUPTS();
	return SCRIBE_REDIS_UNAVAILABLE;
}

/* A call that failed in the connection (saved_errno: errno right after hiredis returned) */
static ScribeRedisResult
call_failed_in_transport(RedisCall *call, redisContext *c, int saved_errno)
{
	const char *where = redis_target->where;
	char	   *error;

	if (c->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK))
		error = psprintf("Redis at %s did not answer %s within scribe.redis_command_timeout (%d ms)",
						 where, call->command, redis_conn_timeout_ms);
	else if (c->err == REDIS_ERR_EOF)
		error = psprintf("Redis at %s closed the connection during %s", where, call->command);
	else
		error = psprintf("Redis at %s failed during %s: %s", where, call->command,
						 c->errstr[0] ? c->errstr : "unknown error");
	/* a signal cut the wait short: that says nothing about Redis */
	return call_failed(call, error, c->err == REDIS_ERR_IO && saved_errno == EINTR);
}

/* A call Redis answered: the connection is in sync again */
static void
call_succeeded(RedisCall *call)
{
	redis_conn_in_use = false;
	redis_breaker_success(&call->ticket);
	CHECK_FOR_INTERRUPTS();
}

/*
 * Whether an error reply means Redis serves nobody now (a failure of Redis)
 * rather than refusing this one call (a rejection: WRONGTYPE, OOM, ERR ...)
 */
static bool
error_reply_is_failure(const redisReply *reply)
{
	static const char *const failure_prefixes[] = {
		"LOADING", "BUSY", "NOAUTH", "WRONGPASS", "MASTERDOWN", NULL
	};

	for (const char *const *p = failure_prefixes; *p; p++)
		if (reply->len >= strlen(*p) && strncmp(reply->str, *p, strlen(*p)) == 0)
			return true;
	return false;
}

/* Text of an error reply, or a description of an unexpected reply type */
static char *
describe_reply(RedisCall *call, const redisReply *reply)
{
	if (reply->type == REDIS_REPLY_ERROR)
		return psprintf("Redis at %s refused %s: %.*s", redis_target->where, call->command,
						(int) Min(reply->len, SCRIBE_REDIS_ERROR_MAX), reply->str);
	return psprintf("Redis at %s answered %s with an unexpected reply (type %d)",
					redis_target->where, call->command, reply->type);
}

/*
 * A reply of the wrong kind for its command (frees it): a failure of Redis
 * for LOADING and the like, recorded, else a rejection of this key, noted.
 * *failed tells the caller to stop: the call is over and the connection gone.
 */
static ScribeRedisResult
unexpected_reply(RedisCall *call, redisReply *reply, bool *failed)
{
	char	   *error = describe_reply(call, reply);
	bool		failure = reply->type == REDIS_REPLY_ERROR && error_reply_is_failure(reply);

	freeReplyObject(reply);
	if (failure)
	{
		*failed = true;
		return call_failed(call, error, false);
	}
	*failed = false;
	redis_breaker_note_error(error);
	pfree(error);
	return SCRIBE_REDIS_REJECTED;
}

/*
 * Check the reply to AUTH or SELECT on a new connection, freeing it; false
 * (recorded as a failure: a wrong password fails every call) if it is not OK
 */
static bool
setup_reply_ok(RedisCall *call, redisContext *c, redisReply *reply)
{
	char	   *error;

	if (reply == NULL)
	{
		call_failed_in_transport(call, c, errno);
		return false;
	}
	if (reply->type == REDIS_REPLY_STATUS)
	{
		freeReplyObject(reply);
		return true;
	}
	error = describe_reply(call, reply);
	freeReplyObject(reply);
	call_failed(call, error, false);
	return false;
}

/* Open the connection: connect, AUTH, SELECT; false once the failure is recorded */
static bool
redis_connect(RedisCall *call)
{
	const RedisTarget *target = redis_target;
	struct timeval connect_tv = ms_to_timeval(scribe_redis_connect_timeout);
	redisContext *c;
	redisReply *reply;
	int			saved_errno;
	const char *command = call->command;

	if (target->is_unix)
		c = redisConnectUnixWithTimeout(target->host, connect_tv);
	else
		c = redisConnectWithTimeout(target->host, target->port, connect_tv);
	saved_errno = errno;
	if (c == NULL)
	{
		call_failed(call, pstrdup("out of memory for a Redis connection"), false);
		return false;
	}
	redis_conn = c;
	redis_conn_generation = redis_target_generation;
	redis_conn_timeout_ms = scribe_redis_command_timeout;
	redis_conn_in_use = true;
	if (c->err)
	{
		call_failed(call, psprintf("could not connect to Redis at %s: %s", target->where, c->errstr),
					c->err == REDIS_ERR_IO && saved_errno == EINTR);
		return false;
	}
	if (redisSetTimeout(c, ms_to_timeval(redis_conn_timeout_ms)) != REDIS_OK)
	{
		call_failed_in_transport(call, c, errno);
		return false;
	}

	if (target->password[0] != '\0')
	{
		call->command = "AUTH";
		if (target->user[0] != '\0')
			reply = redisCommand(c, "AUTH %s %s", target->user, target->password);
		else
			reply = redisCommand(c, "AUTH %s", target->password);
		if (!setup_reply_ok(call, c, reply))
			return false;
	}
	if (target->db != 0)
	{
		call->command = "SELECT";
		reply = redisCommand(c, "SELECT %d", target->db);
		if (!setup_reply_ok(call, c, reply))
			return false;
	}
	call->command = command;
	return true;
}

/*
 * Start a call: false (the result is UNAVAILABLE) when Redis is not
 * configured, the breaker refuses, or connecting failed.
 */
static bool
call_begin(RedisCall *call, const char *command)
{
	call->command = command;
	memset(&call->ticket, 0, sizeof(call->ticket));
	if (redis_target == NULL)
		return false;
	/* mid-reply after an ERROR, or opened for another URL: start afresh */
	if (redis_conn != NULL &&
		(redis_conn_in_use || redis_conn_generation != redis_target_generation))
		scribe_redis_disconnect();
	if (!redis_breaker_admit(&call->ticket))
		return false;
	if (redis_conn == NULL)
		return redis_connect(call);

	if (redis_conn_timeout_ms != scribe_redis_command_timeout)
	{
		redis_conn_timeout_ms = scribe_redis_command_timeout;
		if (redisSetTimeout(redis_conn, ms_to_timeval(redis_conn_timeout_ms)) != REDIS_OK)
		{
			call_failed_in_transport(call, redis_conn, errno);
			return false;
		}
	}
	redis_conn_in_use = true;
	return true;
}

/* Copy a string reply's bytes into value (frees the reply, even on ERROR) */
static void
copy_string_reply(redisReply *reply, StringInfo value)
{
	PG_TRY();
	{
		resetStringInfo(value);
		appendBinaryStringInfo(value, reply->str, (int) reply->len);
	}
	PG_CATCH();
	{
		freeReplyObject(reply);
		PG_RE_THROW();
	}
	PG_END_TRY();
	freeReplyObject(reply);
}

/* Whether a string reply fits a StringInfo (and so a bytea) */
static bool
string_reply_fits(const redisReply *reply)
{
	return reply->len < (size_t) (MaxAllocSize - VARHDRSZ - 1);
}

/*
 * How a call reads one reply (and frees it): the result for its command;
 * *failed when the reply ended the call (Redis failed, the connection is
 * gone).  out is where the reader puts what the reply carries, if anything.
 */
typedef ScribeRedisResult (*RedisReplyReader) (RedisCall *call, redisReply *reply, void *out,
											   bool *failed);

/* The words of one command of a fixed shape (SET key value PX ttl at most) */
#define REDIS_MAX_ARGS 5
typedef struct RedisArgs
{
	int			argc;
	const char *argv[REDIS_MAX_ARGS];
	size_t		argvlen[REDIS_MAX_ARGS];
	char		ttl[32];		/* SET's PX, in text */
} RedisArgs;

/* Add a word of len bytes to args */
static void
add_arg(RedisArgs *args, const char *word, size_t len)
{
	Assert(args->argc < REDIS_MAX_ARGS);
	args->argv[args->argc] = word;
	args->argvlen[args->argc] = len;
	args->argc++;
}

/* GET key, in args */
static void
get_args(RedisArgs *args, const char *key, int key_len)
{
	args->argc = 0;
	add_arg(args, "GET", 3);
	add_arg(args, key, (size_t) key_len);
}

/* SET key value [PX ttl_ms], in args (ttl_ms 0: no expiry) */
static void
set_args(RedisArgs *args, const char *key, int key_len, const char *value, int value_len, int64 ttl_ms)
{
	args->argc = 0;
	add_arg(args, "SET", 3);
	add_arg(args, key, (size_t) key_len);
	add_arg(args, value, (size_t) value_len);
	if (ttl_ms <= 0)
		return;
	snprintf(args->ttl, sizeof(args->ttl), INT64_FORMAT, ttl_ms);
	add_arg(args, "PX", 2);
	add_arg(args, args->ttl, strlen(args->ttl));
}

/*
 * One call of one command: admitted by the breaker, sent, its reply read by
 * read_reply into out, and the breaker told how Redis did.  UNAVAILABLE when
 * the call could not be made or failed; else what read_reply says.
 */
static ScribeRedisResult
redis_command(const char *command, int argc, const char **argv, const size_t *argvlen,
			  RedisReplyReader read_reply, void *out)
{
	RedisCall	call;
	redisReply *reply;
	ScribeRedisResult result;
	bool		failed;

	if (!call_begin(&call, command))
		return SCRIBE_REDIS_UNAVAILABLE;
	if (redisAppendCommandArgv(redis_conn, argc, argv, argvlen) != REDIS_OK ||
		redisGetReply(redis_conn, (void **) &reply) != REDIS_OK)
		return call_failed_in_transport(&call, redis_conn, errno);
	result = read_reply(&call, reply, out, &failed);
	if (!failed)
		call_succeeded(&call);
	return result;
}

/* Entry i of a pipelined call: the words of its command, in args */
typedef void (*RedisPipelineArgs) (void *entries, int i, RedisArgs *args);
/* Entry i of a pipelined call: read its reply (as a RedisReplyReader does) */
typedef ScribeRedisResult (*RedisPipelineReader) (RedisCall *call, redisReply *reply, void *entries,
												  int i, bool *failed);

/*
 * One call of n commands of one kind, pipelined: SCRIBE_REDIS_PIPELINE_BATCH
 * commands written at once, then their replies read in order, each by
 * read_reply.  OK (each entry's own result is read_reply's business), or
 * UNAVAILABLE for the whole call.
 */
static ScribeRedisResult
redis_pipeline(const char *command, int n, RedisPipelineArgs command_args,
			   RedisPipelineReader read_reply, void *entries)
{
	RedisCall	call;
	RedisArgs	args;

	if (!call_begin(&call, command))
		return SCRIBE_REDIS_UNAVAILABLE;
	for (int start = 0; start < n; start += SCRIBE_REDIS_PIPELINE_BATCH)
	{
		int			end = Min(start + SCRIBE_REDIS_PIPELINE_BATCH, n);

		for (int i = start; i < end; i++)
		{
			command_args(entries, i, &args);
			if (redisAppendCommandArgv(redis_conn, args.argc, args.argv, args.argvlen) != REDIS_OK)
				return call_failed_in_transport(&call, redis_conn, errno);
		}
		for (int i = start; i < end; i++)
		{
			redisReply *reply;
			bool		failed;

			if (redisGetReply(redis_conn, (void **) &reply) != REDIS_OK)
				return call_failed_in_transport(&call, redis_conn, errno);
			(void) read_reply(&call, reply, entries, i, &failed);
			if (failed)
				return SCRIBE_REDIS_UNAVAILABLE;
		}
	}
	call_succeeded(&call);
	return SCRIBE_REDIS_OK;
}

/*
 * A GET's reply: a HIT (the value in the StringInfo out), a MISS, or a
 * rejection; a failure ends the call (*failed).
 */
static ScribeRedisResult
get_reply(RedisCall *call, redisReply *reply, void *out, bool *failed)
{
	*failed = false;
	if (reply->type == REDIS_REPLY_NIL)
	{
		freeReplyObject(reply);
		return SCRIBE_REDIS_MISS;
	}
	if (reply->type == REDIS_REPLY_STRING && !string_reply_fits(reply))
	{
		char	   *error = psprintf("Redis at %s returned a value of %zu bytes to GET, more than a bytea holds",
									 redis_target->where, reply->len);

		freeReplyObject(reply);
		redis_breaker_note_error(error);
		pfree(error);
		return SCRIBE_REDIS_REJECTED;
	}
	if (reply->type == REDIS_REPLY_STRING)
	{
		copy_string_reply(reply, (StringInfo) out);
		return SCRIBE_REDIS_HIT;
	}
	return unexpected_reply(call, reply, failed);
}

/* GET key: HIT with the value in value (reset first), MISS, REJECTED or UNAVAILABLE */
ScribeRedisResult
scribe_redis_get(const char *key, int key_len, StringInfo value)
{
	RedisArgs	args;

	get_args(&args, key, key_len);
	return redis_command("GET", args.argc, args.argv, args.argvlen, get_reply, value);
}

/* Refuse a negative TTL: a mistake of the caller, not of Redis */
static void
check_ttl(int64 ttl_ms)
{
	if (ttl_ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cache TTL must not be negative"),
				 errhint("Give a TTL in milliseconds, or 0 for a value that does not expire.")));
}

/* A SET's reply: OK or a rejection; a failure ends the call (*failed) */
static ScribeRedisResult
set_reply(RedisCall *call, redisReply *reply, void *out, bool *failed)
{
	*failed = false;
	if (reply->type == REDIS_REPLY_STATUS)
	{
		freeReplyObject(reply);
		return SCRIBE_REDIS_OK;
	}
	return unexpected_reply(call, reply, failed);
}

/* SET key value [PX ttl_ms] (ttl_ms 0: no expiry): OK, REJECTED or UNAVAILABLE */
ScribeRedisResult
scribe_redis_set(const char *key, int key_len, const char *value, int value_len, int64 ttl_ms)
{
	RedisArgs	args;

	check_ttl(ttl_ms);
	set_args(&args, key, key_len, value, value_len, ttl_ms);
	return redis_command("SET", args.argc, args.argv, args.argvlen, set_reply, NULL);
}

/* An INTEGER reply's value (DEL, INCR) in the int64 out, or a rejection; a failure ends the call */
static ScribeRedisResult
integer_reply(RedisCall *call, redisReply *reply, void *out, bool *failed)
{
	*failed = false;
	if (reply->type == REDIS_REPLY_INTEGER)
	{
		*(int64 *) out = (int64) reply->integer;
		freeReplyObject(reply);
		return SCRIBE_REDIS_OK;
	}
	return unexpected_reply(call, reply, failed);
}

/* DEL keys...: OK with the number removed in *deleted, REJECTED or UNAVAILABLE */
ScribeRedisResult
scribe_redis_delete(int nkeys, const ScribeRedisKey *keys, int64 *deleted)
{
	ScribeRedisResult result;
	const char **argv;
	size_t	   *argvlen;

	*deleted = 0;
	if (nkeys <= 0)
		return scribe_redis_configured() ? SCRIBE_REDIS_OK : SCRIBE_REDIS_UNAVAILABLE;
	argv = palloc((nkeys + 1) * sizeof(char *));
	argvlen = palloc((nkeys + 1) * sizeof(size_t));
	argv[0] = "DEL";
	argvlen[0] = 3;
	for (int i = 0; i < nkeys; i++)
	{
		argv[i + 1] = keys[i].data;
		argvlen[i + 1] = (size_t) keys[i].len;
	}
	result = redis_command("DEL", nkeys + 1, argv, argvlen, integer_reply, deleted);
	pfree(argv);
	pfree(argvlen);
	return result;
}

/* INCR key (a namespace version, say): OK with the new value, REJECTED or UNAVAILABLE */
ScribeRedisResult
scribe_redis_incr(const char *key, int key_len, int64 *value)
{
	const char *argv[2] = {"INCR", key};
	size_t		argvlen[2] = {4, (size_t) key_len};

	*value = 0;
	return redis_command("INCR", 2, argv, argvlen, integer_reply, value);
}

/* A multi-get: its keys, each key's answer, and the buffer a value is read into */
typedef struct MultiGet
{
	const ScribeRedisKey *keys;
	ScribeRedisFetched *fetched;
	StringInfoData value;
} MultiGet;

/* GET of a multi-get's key i */
static void
multi_get_args(void *entries, int i, RedisArgs *args)
{
	MultiGet   *mget = (MultiGet *) entries;

	get_args(args, mget->keys[i].data, mget->keys[i].len);
}

/* The reply to a multi-get's GET of key i, into fetched[i] (a value copied out) */
static ScribeRedisResult
multi_get_reply(RedisCall *call, redisReply *reply, void *entries, int i, bool *failed)
{
	MultiGet   *mget = (MultiGet *) entries;
	ScribeRedisFetched *fetched = &mget->fetched[i];

	fetched->result = get_reply(call, reply, &mget->value, failed);
	if (fetched->result == SCRIBE_REDIS_HIT)
	{
		fetched->value = palloc(mget->value.len + 1);
		memcpy(fetched->value, mget->value.data, mget->value.len);
		fetched->value_len = mget->value.len;
	}
	return fetched->result;
}

/*
 * GET of many keys, pipelined.  OK with each key's HIT, MISS or REJECTED in
 * fetched[i] (values palloc'd), or UNAVAILABLE for the whole call, when
 * fetched[] means nothing.
 */
ScribeRedisResult
scribe_redis_multi_get(int nkeys, const ScribeRedisKey *keys, ScribeRedisFetched *fetched)
{
	MultiGet	mget = {.keys = keys,.fetched = fetched};
	ScribeRedisResult result;

	memset(fetched, 0, sizeof(ScribeRedisFetched) * Max(nkeys, 0));
	initStringInfo(&mget.value);
	result = redis_pipeline("GET", nkeys, multi_get_args, multi_get_reply, &mget);
	pfree(mget.value.data);
	return result;
}

/* A set-many: its entries and each one's result */
typedef struct SetMany
{
	const ScribeRedisEntry *entries;
	ScribeRedisResult *results;
} SetMany;

/* SET of a set-many's entry i */
static void
set_many_args(void *entries, int i, RedisArgs *args)
{
	const ScribeRedisEntry *entry = &((SetMany *) entries)->entries[i];

	set_args(args, entry->key, entry->key_len, entry->value, entry->value_len, entry->ttl_ms);
}

/* The reply to a set-many's SET of entry i, into results[i] */
static ScribeRedisResult
set_many_reply(RedisCall *call, redisReply *reply, void *entries, int i, bool *failed)
{
	SetMany    *many = (SetMany *) entries;

	many->results[i] = set_reply(call, reply, NULL, failed);
	return many->results[i];
}

/*
 * SET of many entries, pipelined (warming): OK with each entry's OK or
 * REJECTED in results[i], or UNAVAILABLE for the whole call (some entries
 * may have been stored).
 */
ScribeRedisResult
scribe_redis_set_many(int nentries, const ScribeRedisEntry *entries, ScribeRedisResult *results)
{
	SetMany		many = {.entries = entries,.results = results};

	for (int i = 0; i < nentries; i++)
		check_ttl(entries[i].ttl_ms);
	return redis_pipeline("SET", nentries, set_many_args, set_many_reply, &many);
}
