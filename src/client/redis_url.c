/*
 * scribe.redis_url: parsed once, when it is set, by the GUC check hook, so a
 * malformed URL is an ERROR for whoever sets it (or a LOG line on reload,
 * the old value staying in force) rather than a failure on every call.
 *
 * Accepted:
 *   redis://[[user]:password@]host[:port][/db]     port 6379, db 0 by default
 *   unix://[[user]:password@]/path/to/redis.sock[?db=N]
 * Host may be a name, an IPv4 address or an IPv6 address in brackets.
 * User and password may be percent-encoded (%40 for @).  Messages never
 * repeat the URL: it may hold a password.
 */
#include "base/pg_scribe.h"

#include <ctype.h>
#include <limits.h>

#include "client/redis_internal.h"

#define REDIS_DEFAULT_PORT 6379

const RedisTarget *redis_target = NULL;
uint64		redis_target_generation = 0;

/* Report a malformed URL without repeating it (it may hold a password) */
static bool
url_problem(const char *problem, const char *hint)
{
	GUC_check_errmsg("invalid value for parameter \"scribe.redis_url\": %s", problem);
	GUC_check_errhint("%s", hint);
	return false;
}

/* Value of one hexadecimal digit, or -1 */
static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode src[0..len) into dst (size dstsize); false if malformed or too long */
static bool
percent_decode(const char *src, size_t len, char *dst, size_t dstsize)
{
	size_t		out = 0;

	for (size_t i = 0; i < len; i++)
	{
		char		c = src[i];

		if (c == '%')
		{
			int			hi;
			int			lo;

			if (i + 2 >= len)
				return false;
			hi = hex_digit(src[i + 1]);
			lo = hex_digit(src[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (char) (hi * 16 + lo);
			i += 2;
			/* a NUL would cut the password short without anyone noticing */
			if (c == '\0')
				return false;
		}
		if (out + 1 >= dstsize)
			return false;
		dst[out++] = c;
	}
	dst[out] = '\0';
	return true;
}

/* A decimal number in [min, max] made of digits only */
static bool
parse_bounded_int(const char *s, size_t len, int min, int max, int *value)
{
	int64		n = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		n = n * 10 + (s[i] - '0');
	}
	if (n < min || n > max)
		return false;
	*value = (int) n;
	return true;
}

/* Split "[user]:password@" off the front of rest; false (reported) if malformed */
static bool
parse_userinfo(const char **rest, const char *end, RedisTarget *target)
{
	const char *at = NULL;
	const char *colon;

	/* the last @ ends the user information: host, port, path and db have none */
	for (const char *p = *rest; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return true;

	colon = memchr(*rest, ':', at - *rest);
	if (colon == NULL)
		return url_problem("the user information has no password",
						   "Write redis://:password@host:port or redis://user:password@host:port; "
						   "percent-encode @, : and / inside the password.");
	if (!percent_decode(*rest, colon - *rest, target->user, sizeof(target->user)))
		return url_problem("the user name is malformed or too long",
						   "Percent-encode special characters (%40 for @); user names have at most 127 bytes.");
	if (!percent_decode(colon + 1, at - colon - 1, target->password, sizeof(target->password)))
		return url_problem("the password is malformed or too long",
						   "Percent-encode special characters (%40 for @, %25 for %); passwords have at most 511 bytes.");
	if (target->password[0] == '\0')
		return url_problem("the password is empty",
						   "Leave out \":@\" altogether when Redis needs no password.");
	*rest = at + 1;
	return true;
}

/* Parse host[:port][/db] of a redis:// URL */
static bool
parse_tcp(const char *rest, const char *end, RedisTarget *target)
{
	const char *host_end;
	const char *slash = memchr(rest, '/', end - rest);
	const char *authority_end = slash ? slash : end;
	size_t		hostlen;

	target->port = REDIS_DEFAULT_PORT;
	if (*rest == '[')
	{
		/* [IPv6 address] */
		const char *close = memchr(rest, ']', authority_end - rest);

		if (close == NULL)
			return url_problem("an IPv6 address lacks its closing bracket",
							   "Write IPv6 addresses in brackets: redis://[::1]:6379.");
		hostlen = close - rest - 1;
		if (hostlen == 0 || hostlen >= sizeof(target->host))
			return url_problem("the IPv6 address is empty or too long", "Write redis://[::1]:6379.");
		memcpy(target->host, rest + 1, hostlen);
		host_end = close + 1;
		if (host_end != authority_end && *host_end != ':')
			return url_problem("unexpected characters after the IPv6 address",
							   "Write redis://[::1]:6379.");
	}
	else
	{
		host_end = memchr(rest, ':', authority_end - rest);
		if (host_end == NULL)
			host_end = authority_end;
		hostlen = host_end - rest;
		if (hostlen == 0)
			return url_problem("the URL has no host", "Write redis://host:port, for example redis://127.0.0.1:6379.");
		if (hostlen >= sizeof(target->host))
			return url_problem("the host name is too long", "Host names have at most 255 bytes.");
		memcpy(target->host, rest, hostlen);
	}
	target->host[hostlen] = '\0';
	for (const char *c = target->host; *c; c++)
		if (!(isalnum((unsigned char) *c) || *c == '.' || *c == '-' || *c == '_' || *c == ':' || *c == '%'))
			return url_problem("the host contains characters a host name or address cannot",
							   "Write redis://host:port; a password goes before an @: redis://:password@host:port.");

	if (host_end < authority_end &&
		!parse_bounded_int(host_end + 1, authority_end - host_end - 1, 1, 65535, &target->port))
		return url_problem("the port must be a number from 1 to 65535",
						   "Write redis://host:port, for example redis://127.0.0.1:6379.");

	/* "/" alone, or nothing, is database 0 */
	if (slash != NULL && end - slash > 1 &&
		!parse_bounded_int(slash + 1, end - slash - 1, 0, INT_MAX, &target->db))
		return url_problem("the database must be a non-negative number",
						   "Write redis://host:port/db, for example redis://127.0.0.1:6379/2.");
	snprintf(target->where, sizeof(target->where),
			 strchr(target->host, ':') ? "[%s]:%d" : "%s:%d", target->host, target->port);
	return true;
}

/* Parse /path[?db=N] of a unix:// URL */
static bool
parse_unix(const char *rest, const char *end, RedisTarget *target)
{
	const char *query = memchr(rest, '?', end - rest);
	const char *path_end = query ? query : end;
	size_t		pathlen = path_end - rest;

	if (pathlen < 2 || rest[0] != '/')
		return url_problem("a unix socket URL needs an absolute path",
						   "Write unix:///path/to/redis.sock (three slashes).");
	if (pathlen >= sizeof(target->host) || pathlen >= REDIS_SOCKET_PATH_MAX)
		return url_problem("the socket path is too long",
						   "Unix socket paths have at most 107 bytes.");
	memcpy(target->host, rest, pathlen);
	target->host[pathlen] = '\0';
	if (query != NULL &&
		(end - query < 5 || strncmp(query, "?db=", 4) != 0 ||
		 !parse_bounded_int(query + 4, end - query - 4, 0, INT_MAX, &target->db)))
		return url_problem("the only query parameter of a unix socket URL is db=N",
						   "Write unix:///path/to/redis.sock?db=2.");
	target->is_unix = true;
	strlcpy(target->where, target->host, sizeof(target->where));
	return true;
}

/* Check hook of scribe.redis_url: parse it into a RedisTarget (the extra) */
bool
redis_check_url(char **newval, void **extra, GucSource source)
{
	const char *url = *newval;
	const char *end;
	const char *rest;
	RedisTarget parsed;
	RedisTarget *target;

	if (url == NULL || url[0] == '\0')
	{
		*extra = NULL;
		return true;
	}
	memset(&parsed, 0, sizeof(parsed));
	end = url + strlen(url);

	for (const char *c = url; c < end; c++)
		if (isspace((unsigned char) *c) || iscntrl((unsigned char) *c))
			return url_problem("the URL contains white space or control characters",
							   "Write redis://host:port or unix:///path/to/redis.sock, with nothing around it.");

	if (pg_strncasecmp(url, "redis://", 8) == 0)
		rest = url + 8;
	else if (pg_strncasecmp(url, "unix://", 7) == 0)
		rest = url + 7;
	else if (pg_strncasecmp(url, "rediss://", 9) == 0)
		return url_problem("TLS (rediss://) is not supported",
						   "Debian 12's hiredis 0.14 has no TLS: reach Redis over a unix socket, "
						   "a private network, or a local TLS tunnel (stunnel) with redis://127.0.0.1:port.");
	else
		return url_problem("the URL must start with redis:// or unix://",
						   "Write redis://[:password@]host[:port][/db] or unix:///path/to/redis.sock, "
						   "or set it to '' to run without Redis.");

	if (!parse_userinfo(&rest, end, &parsed))
		return false;
	if (url[0] == 'u' || url[0] == 'U')
	{
		if (!parse_unix(rest, end, &parsed))
			return false;
	}
	else if (!parse_tcp(rest, end, &parsed))
		return false;

	/* the GUC machinery releases an extra with free() */
	target = malloc(sizeof(RedisTarget));
	if (target == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errmsg("out of memory");
		return false;
	}
	memcpy(target, &parsed, sizeof(RedisTarget));
	*extra = target;
	return true;
}

/* Assign hook of scribe.redis_url: make the parsed target current */
void
redis_assign_url(const char *newval, void *extra)
{
	redis_target = (const RedisTarget *) extra;
	/* the connection compares generations, so it follows a new URL at its next call */
	redis_target_generation++;
}
