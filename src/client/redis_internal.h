/*
 * What the files of the Redis tier share and nobody else needs: the parsed
 * target and the breaker's admission tickets.
 */
#ifndef SCRIBE_CACHE_REDIS_INTERNAL_H
#define SCRIBE_CACHE_REDIS_INTERNAL_H

#include "utils/guc.h"

#include "client/redis.h"

/* Limits of the parts of scribe.redis_url, terminators included */
#define REDIS_HOST_MAX 256
#define REDIS_SOCKET_PATH_MAX 108	/* sizeof(sun_path) on Linux */
#define REDIS_USER_MAX 128
#define REDIS_PASSWORD_MAX 512

/*
 * scribe.redis_url parsed: one malloc'd chunk, as the GUC machinery wants
 * the "extra" of a check hook to be, so fixed-size strings.
 */
typedef struct RedisTarget
{
	bool		is_unix;
	char		host[REDIS_HOST_MAX];	/* host name or address, or socket path */
	int			port;			/* 0 for a unix socket */
	int			db;				/* SELECT db after connecting, if not 0 */
	char		user[REDIS_USER_MAX];	/* empty: AUTH password (Redis < 6 style) */
	char		password[REDIS_PASSWORD_MAX];	/* empty: no AUTH */
	char		where[REDIS_HOST_MAX + 16]; /* "host:port" or the path, for messages */
} RedisTarget;

/* The current target, NULL when scribe.redis_url is empty */
extern const RedisTarget *redis_target;
/* Bumped each time scribe.redis_url is assigned: the connection is redone */
extern uint64 redis_target_generation;

/* cache_redis_url.c */
extern bool redis_check_url(char **newval, void **extra, GucSource source);
extern void redis_assign_url(const char *newval, void *extra);

/* What the breaker let one call do */
typedef struct RedisBreakerTicket
{
	bool		probe;			/* this call is the half-open probe */
	uint64		probe_word;		/* the breaker's word this probe installed */
	uint64		opened_word;	/* the word it replaced, to restore if undecided */
} RedisBreakerTicket;

/* cache_redis_breaker.c */
extern bool redis_breaker_admit(RedisBreakerTicket *ticket);
extern void redis_breaker_success(const RedisBreakerTicket *ticket);
extern void redis_breaker_failure(const RedisBreakerTicket *ticket, const char *error);
extern void redis_breaker_undecided(const RedisBreakerTicket *ticket, const char *error);
extern void redis_breaker_note_error(const char *error);

#endif							/* SCRIBE_CACHE_REDIS_INTERNAL_H */
