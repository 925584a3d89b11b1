/*
 * The backend's side of the OCR engine: start pg_scribe_ocr with its limits,
 * send it an image, relay its progress, and turn whatever happens to it
 * (an error, a crash, a timeout, a cancel) into an ERROR of this backend.
 *
 * The engine is a child of the backend that started it, kept for the
 * backend's life so that the model is loaded once.  While a request is under
 * way the backend waits on its latch and the engine's pipes; an ERROR or an
 * interrupt in that wait kills the engine, since a request cannot be taken
 * back, and the next call starts a new one.
 */
#include "base/pg_scribe.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/base64.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "client/ocr_client.h"

#define ENGINE_PROGRAM "pg_scribe_ocr"
#define STDERR_TAIL 2048

/* This backend's engine; pid 0 when none runs */
typedef struct EngineProcess
{
	pid_t		pid;
	int			request_fd;		/* we write requests */
	int			reply_fd;		/* we read frames */
	int			stderr_fd;		/* we read what it prints */
	char		stderr_tail[STDERR_TAIL];
	int			stderr_len;
} EngineProcess;

static EngineProcess engine = {0, -1, -1, -1, "", 0};
static bool engine_exit_registered = false;

/* Whether the engine has answered the request under way (it can take another) */
static bool engine_answered = true;

/* The flags of the request under way, to name what took too long */
static uint32 engine_request_flags = 0;

/* Close our ends of the engine's pipes */
static void
engine_close_pipes(void)
{
	if (engine.request_fd >= 0)
		close(engine.request_fd);
	if (engine.reply_fd >= 0)
		close(engine.reply_fd);
	if (engine.stderr_fd >= 0)
		close(engine.stderr_fd);
	engine.request_fd = engine.reply_fd = engine.stderr_fd = -1;
}

/* Kill the engine and reap it */
static void
engine_kill(void)
{
	if (engine.pid > 0)
	{
		kill(engine.pid, SIGKILL);
		while (waitpid(engine.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	engine.pid = 0;
	engine_close_pipes();
}

/* At backend exit: stop the engine with us */
static void
engine_at_exit(int code, Datum arg)
{
	engine_kill();
}

/* Move fd to a number >= 10, so that dup2 onto 0-4 cannot clobber it */
static int
fd_out_of_the_way(int fd)
{
	return fcntl(fd, F_DUPFD, 10);
}

/* In the forked child: set up descriptors and limits, then exec the engine */
static void
engine_exec(const char *path, int request_read, int reply_write, int stderr_write,
			char **envp) pg_attribute_noreturn();
static void
engine_exec(const char *path, int request_read, int reply_write, int stderr_write, char **envp)
{
	char	   *argv[] = {(char *) ENGINE_PROGRAM, NULL};
	sigset_t	all;
	struct rlimit rl;
	int			devnull;

	/* the server's handlers and blocked signals are not the engine's */
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	/* its own session: signals to the backend's group are not for it */
	setsid();
	/* die with the backend, whatever way it ends */
	prctl(PR_SET_PDEATHSIG, SIGKILL);

	request_read = fd_out_of_the_way(request_read);
	reply_write = fd_out_of_the_way(reply_write);
	stderr_write = fd_out_of_the_way(stderr_write);
	devnull = open("/dev/null", O_RDWR);
	if (request_read < 0 || reply_write < 0 || stderr_write < 0 || devnull < 0 ||
		dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(stderr_write, 2) < 0 ||
		dup2(request_read, OCR_ENGINE_REQUEST_FD) < 0 || dup2(reply_write, OCR_ENGINE_REPLY_FD) < 0)
		_exit(126);
	/* nothing else of the server's: sockets, files, the postmaster pipe */
	if (close_range(OCR_ENGINE_REPLY_FD + 1, ~0U, 0) != 0)
		for (int fd = OCR_ENGINE_REPLY_FD + 1; fd < 65536; fd++)
			close(fd);

	rl.rlim_cur = rl.rlim_max = (rlim_t) scribe_ocr_memory_limit * 1024 * 1024;
	setrlimit(RLIMIT_AS, &rl);
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);

	execve(path, argv, envp);
	dprintf(2, "could not execute \"%s\": %m\n", path);
	_exit(127);
}

/* Start an engine, or ERROR */
static void
engine_start(void)
{
	char		path[MAXPGPATH];
	int			request_pipe[2],
				reply_pipe[2],
				stderr_pipe[2];
	char	   *envp[5];
	int			envc = 0;
	pid_t		pid;

	snprintf(path, sizeof(path), "%s/%s", pkglib_path, ENGINE_PROGRAM);
	if (access(path, X_OK) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("the OCR engine \"%s\" is missing or not executable: %m", path),
				 errhint("Reinstall pg_scribe (make install) on this server.")));

	/*
	 * libgomp reads OMP_THREAD_LIMIT once, when it is loaded: the engine's
	 * environment is the only place it takes effect.
	 */
	envp[envc++] = psprintf("OMP_THREAD_LIMIT=%d", scribe_ocr_threads);
	envp[envc++] = pstrdup("LC_ALL=C");
	envp[envc++] = pstrdup("PATH=/usr/bin:/bin");
	envp[envc++] = psprintf("TESSDATA_PREFIX=%s", scribe_tessdata_dir);
	envp[envc] = NULL;

	if (pipe2(request_pipe, O_CLOEXEC) != 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create a pipe for the OCR engine: %m")));
	if (pipe2(reply_pipe, O_CLOEXEC) != 0)
	{
		close(request_pipe[0]);
		close(request_pipe[1]);
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create a pipe for the OCR engine: %m")));
	}
	if (pipe2(stderr_pipe, O_CLOEXEC) != 0)
	{
		close(request_pipe[0]);
		close(request_pipe[1]);
		close(reply_pipe[0]);
		close(reply_pipe[1]);
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create a pipe for the OCR engine: %m")));
	}

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		engine_exec(path, request_pipe[0], reply_pipe[1], stderr_pipe[1], envp);

	close(request_pipe[0]);
	close(reply_pipe[1]);
	close(stderr_pipe[1]);
	engine.request_fd = request_pipe[1];
	engine.reply_fd = reply_pipe[0];
	engine.stderr_fd = stderr_pipe[0];
	engine.stderr_len = 0;
	engine.stderr_tail[0] = '\0';
	if (pid < 0)
	{
		engine_close_pipes();
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start the OCR engine: %m")));
	}
	engine.pid = pid;
	for (int i = 0; i < 3; i++)
		fcntl(i == 0 ? engine.request_fd : i == 1 ? engine.reply_fd : engine.stderr_fd,
			  F_SETFL, O_NONBLOCK);
	if (!engine_exit_registered)
	{
		on_proc_exit(engine_at_exit, (Datum) 0);
		engine_exit_registered = true;
	}
	elog(DEBUG1, "started OCR engine %d (OMP_THREAD_LIMIT=%d, memory limit %d MB)",
		 (int) pid, scribe_ocr_threads, scribe_ocr_memory_limit);
}

/* Keep the last bytes the engine printed, for an error's detail */
static void
engine_drain_stderr(void)
{
	char		buf[1024];
	ssize_t		n;

	while (engine.stderr_fd >= 0 && (n = read(engine.stderr_fd, buf, sizeof(buf))) > 0)
	{
		/* keep the tail: what was there, shifted, then what came (buf < tail) */
		int			keep = Min(engine.stderr_len, STDERR_TAIL - 1 - (int) n);

		StaticAssertStmt(sizeof(buf) < STDERR_TAIL, "stderr buffer must be smaller than its tail");
		memmove(engine.stderr_tail, engine.stderr_tail + engine.stderr_len - keep, keep);
		memcpy(engine.stderr_tail + keep, buf, n);
		engine.stderr_len = keep + (int) n;
		engine.stderr_tail[engine.stderr_len] = '\0';
	}
}

/* The last line the engine printed, trimmed, or NULL */
static char *
engine_last_words(void)
{
	char	   *s = pstrdup(engine.stderr_tail);
	int			len = strlen(s);
	char	   *line;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\r'))
		s[--len] = '\0';
	if (len == 0)
		return NULL;
	line = strrchr(s, '\n');
	return line ? line + 1 : s;
}

/* The engine is gone mid-request: reap it and ERROR with what we know */
static void
engine_report_death(void) pg_attribute_noreturn();
static void
engine_report_death(void)
{
	int			status = 0;
	pid_t		pid = engine.pid;
	char	   *last_words;
	const char *hint;

	engine_drain_stderr();
	last_words = engine_last_words();
	/* it closed its pipe: it is exiting, or about to */
	for (int i = 0; i < 100; i++)
	{
		pid_t		r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno != EINTR))
			break;
		pg_usleep(10000);
		if (i == 99)
		{
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
	}
	engine.pid = 0;
	engine_close_pipes();

	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)
		hint = "The image used more CPU time than scribe.ocr_cpu_limit allows.";
	else if (last_words && strstr(last_words, "bad_alloc"))
		hint = "The engine ran out of memory: raise scribe.ocr_memory_limit, or send a smaller image.";
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		hint = "Something killed the engine: the kernel's out-of-memory killer, or an administrator.";
	else
		hint = "The image could not be recognised; the next OCR call starts a new engine.";

	if (WIFSIGNALED(status))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("the OCR engine (pid %d) was terminated by signal %d: %s",
						(int) pid, WTERMSIG(status), pg_strsignal(WTERMSIG(status))),
				 last_words ? errdetail("It last printed: %s", last_words) : 0,
				 errhint("%s", hint)));
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("the OCR engine (pid %d) exited with code %d", (int) pid,
					WIFEXITED(status) ? WEXITSTATUS(status) : -1),
			 last_words ? errdetail("It last printed: %s", last_words) : 0,
			 errhint("%s", hint)));
}

/* ERROR with the engine's own error frame: SQLSTATE, message, hint */
static void
engine_report_error(const char *payload, uint32 len) pg_attribute_noreturn();
static void
engine_report_error(const char *payload, uint32 len)
{
	char	   *copy = palloc(len + 3);
	const char *message;
	const char *hint;

	memcpy(copy, payload, len);
	copy[len] = copy[len + 1] = copy[len + 2] = '\0';
	message = copy + strnlen(copy, len) + 1;
	hint = message + strlen(message) + 1;
	if (strlen(copy) != 5)
		copy = "XX000";
	ereport(ERROR,
			(errcode(MAKE_SQLSTATE(copy[0], copy[1], copy[2], copy[3], copy[4])),
			 errmsg("%s", message),
			 hint[0] ? errhint("%s", hint) : 0));
}

/* Wait for the engine's pipes, our latch or the deadline; ERROR at the deadline */
static void
engine_wait(bool want_write, TimestampTz deadline)
{
	WaitEventSet *set = CreateWaitEventSet(CurrentMemoryContext, 4);
	WaitEvent	event;
	long		timeout;

	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(set, WL_SOCKET_READABLE, engine.reply_fd, NULL, NULL);
	if (want_write)
		AddWaitEventToSet(set, WL_SOCKET_WRITEABLE, engine.request_fd, NULL, NULL);
	else
		AddWaitEventToSet(set, WL_SOCKET_READABLE, engine.stderr_fd, NULL, NULL);

	timeout = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
	if (timeout <= 0)
	{
		FreeWaitEventSet(set);
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("%s of the image took longer than scribe.ocr_timeout (%d ms)",
						(engine_request_flags & OCR_RECOMPRESS) ? "recompression" :
						(engine_request_flags & OCR_MAKE_PDF) ? "the searchable PDF" : "OCR", scribe_ocr_timeout),
				 errhint("Raise scribe.ocr_timeout, or send a smaller image.")));
	}
	(void) WaitEventSetWait(set, Min(timeout, 1000), &event, 1, PG_WAIT_EXTENSION);
	FreeWaitEventSet(set);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* Send the request, its image and its words; false if the engine is gone */
static bool
engine_send(const OcrRequest *request, const char *image, size_t len, const char *words,
			size_t words_len, TimestampTz deadline)
{
	const char *parts[3] = {(const char *) request, image, words};
	size_t		sizes[3] = {sizeof(OcrRequest), len, words_len};

	for (int part = 0; part < 3; part++)
	{
		size_t		done = 0;

		while (done < sizes[part])
		{
			ssize_t		n = write(engine.request_fd, parts[part] + done, sizes[part] - done);

			if (n > 0)
				done += n;
			else if (n < 0 && (errno == EAGAIN || errno == EINTR))
				engine_wait(true, deadline);
			else
				return false;	/* EPIPE: it died */
		}
	}
	return true;
}

/* Read up to len bytes into buf; -1 when the engine is gone */
static ssize_t
engine_read_some(char *buf, size_t len, TimestampTz deadline)
{
	for (;;)
	{
		ssize_t		n = read(engine.reply_fd, buf, len);

		if (n > 0)
			return n;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
		engine_drain_stderr();
		engine_wait(false, deadline);
	}
}

/* Read exactly len bytes; false when the engine is gone */
static bool
engine_read(char *buf, size_t len, TimestampTz deadline)
{
	size_t		done = 0;

	while (done < len)
	{
		ssize_t		n = engine_read_some(buf + done, len - done, deadline);

		if (n < 0)
			return false;
		done += n;
	}
	return true;
}

/* Run one request through the engine; the result frame's JSON, or ERROR */
static char *
engine_converse(const OcrRequest *request, const char *image, size_t len, const char *words,
				size_t words_len, ScribeOcrProgress progress)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), scribe_ocr_timeout);

	if (!engine_send(request, image, len, words, words_len, deadline))
		engine_report_death();
	for (;;)
	{
		OcrFrame	frame;
		char	   *payload;

		if (!engine_read((char *) &frame, sizeof(frame), deadline))
			engine_report_death();
		if (frame.len > OCR_MAX_FRAME)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("the OCR engine sent a %u-byte frame", frame.len)));
		payload = palloc(frame.len + 1);
		if (!engine_read(payload, frame.len, deadline))
			engine_report_death();
		payload[frame.len] = '\0';

		switch ((OcrFrameType) frame.type)
		{
			case OCR_FRAME_PROGRESS:
				if (progress && frame.len == sizeof(int32))
					progress(*(int32 *) payload);
				pfree(payload);
				break;
			case OCR_FRAME_RESULT:
				engine_answered = true;
				return payload;
			case OCR_FRAME_ERROR:
				engine_answered = true;
				engine_report_error(payload, frame.len);
			default:
				ereport(ERROR,
						(errcode(ERRCODE_PROTOCOL_VIOLATION),
						 errmsg("the OCR engine sent a frame of unknown type %u", frame.type)));
		}
	}
}

/* ERROR unless lang and psm are options the engine accepts */
void
scribe_ocr_check_options(const char *lang, int psm)
{
	if (lang == NULL || lang[0] == '\0' || strlen(lang) >= OCR_LANG_MAX ||
		strspn(lang, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-") != strlen(lang))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid OCR language \"%s\"", lang ? lang : ""),
				 errhint("Languages are tesseract codes joined by +, such as eng or eng+deu.")));
	/* a language's model is a file: say which are there before starting anything */
	{
		List	   *installed = scribe_ocr_installed_languages();
		char	   *parts = pstrdup(lang);
		char	   *save = NULL;

		for (char *part = strtok_r(parts, "+", &save); part; part = strtok_r(NULL, "+", &save))
		{
			ListCell   *lc;
			bool		found = false;

			foreach(lc, installed)
				found |= strcmp(lfirst(lc), part) == 0;
			if (!found)
			{
				StringInfoData names;

				initStringInfo(&names);
				foreach(lc, installed)
					appendStringInfo(&names, "%s%s", names.len ? ", " : "", (char *) lfirst(lc));
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("OCR language \"%s\" is not installed", part),
						 errdetail("Installed in %s: %s.", scribe_tessdata_dir, names.len ? names.data : "none"),
						 errhint("Debian packages a language as tesseract-ocr-<code>, such as tesseract-ocr-deu.")));
			}
		}
	}
	if (psm < 1 || psm > 13 || psm == 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("page segmentation mode %d does not recognise text", psm),
				 errhint("Use NULL (the default: the engine chooses per page), 1 or 3-13: 3 a page of text, 6 a single block, 7 a single line, 11 sparse text.")));
}

/*
 * Run a request through this backend's engine, starting one if none runs:
 * the caller fills in what the request asks (flags and their fields), this
 * the protocol and the limits.  The engine's JSON result as jsonb, or ERROR.
 */
Jsonb *
scribe_ocr_engine_call(OcrRequest *request, const char *image, size_t len,
					   ScribeOcrProgress progress)
{
	return scribe_ocr_engine_call_words(request, image, len, NULL, 0, progress);
}

/* Run a request whose image is followed by words (OCR_MAKE_PDF), as scribe_ocr_engine_call */
Jsonb *
scribe_ocr_engine_call_words(OcrRequest *request, const char *image, size_t len,
							 const char *words, size_t words_len, ScribeOcrProgress progress)
{
	char	   *json = NULL;

	request->magic = OCR_PROTOCOL_MAGIC;
	request->version = OCR_PROTOCOL_VERSION;
	request->max_pages = scribe_max_image_pages;
	request->cpu_seconds = scribe_ocr_cpu_limit;
	request->max_pixels = scribe_max_image_pixels;
	request->image_len = len;
	request->words_len = words_len;

	if (engine.pid == 0)
		engine_start();

	engine_answered = false;
	engine_request_flags = request->flags;
	PG_TRY();
	{
		json = engine_converse(request, image, len, words, words_len, progress);
	}
	PG_CATCH();
	{
		/*
		 * After its error frame the engine waits for the next request;
		 * anything else (cancel, timeout, death) leaves it mid-request: it
		 * cannot be taken back, so the engine goes.
		 */
		if (!engine_answered)
			engine_kill();
		PG_RE_THROW();
	}
	PG_END_TRY();

	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
}

/*
 * Recognise an image whose header scribe_ocr_check_image accepted; the
 * engine's JSON result as jsonb.
 */
Jsonb *
scribe_ocr_run(const char *image, size_t len, const ScribeOcrOptions *options,
			   ScribeOcrProgress progress)
{
	OcrRequest	request;

	/* the automatic layout is the engine's choice among modes that recognise text */
	scribe_ocr_check_options(options->lang, options->psm == OCR_PSM_AUTO ? 3 : options->psm);
	memset(&request, 0, sizeof(request));
	request.flags = options->flags | (scribe_ocr_detect_orientation ? OCR_ORIENT : 0);
	request.psm = options->psm;
	strlcpy(request.lang, options->lang, sizeof(request.lang));
	return scribe_ocr_engine_call(&request, image, len, progress);
}

/* Order two C strings of a List */
static int
compare_names(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/* The languages whose models are in scribe.ocr_tessdata_dir, sorted */
List *
scribe_ocr_installed_languages(void)
{
	List	   *names = NIL;
	DIR		   *dir = AllocateDir(scribe_tessdata_dir);
	struct dirent *de;

	while (dir != NULL && (de = ReadDirExtended(dir, scribe_tessdata_dir, LOG)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		const char *suffix = ".traineddata";

		if (len > strlen(suffix) && strcmp(de->d_name + len - strlen(suffix), suffix) == 0)
			names = lappend(names, pnstrdup(de->d_name, len - strlen(suffix)));
	}
	if (dir != NULL)
		FreeDir(dir);
	list_sort(names, compare_names);
	return names;
}

/* A member of the engine's result (what names the result in errors); ERROR if missing or not of type */
JsonbValue *
scribe_ocr_result_member(Jsonb *result, const char *key, enum jbvType type, const char *what)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&result->root, key, strlen(key), NULL);

	if (v == NULL || v->type != type)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("the OCR engine's %s has no valid \"%s\"", what, key),
				 errhint("The engine and the library may be from different builds: reinstall pg_scribe.")));
	return v;
}

/* The bytes of a base64 member of the engine's result (a recompressed image, a searchable PDF), palloc'd */
bytea *
scribe_ocr_result_bytes(Jsonb *result, const char *key, const char *what)
{
	JsonbValue *encoded = scribe_ocr_result_member(result, key, jbvString, what);
	bytea	   *out;
	int			size;

	out = palloc(VARHDRSZ + pg_b64_dec_len(encoded->val.string.len));
	size = pg_b64_decode(encoded->val.string.val, encoded->val.string.len, VARDATA(out),
						 pg_b64_dec_len(encoded->val.string.len));
	if (size < 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("the OCR engine's %s is not valid base64", what)));
	SET_VARSIZE(out, VARHDRSZ + size);
	return out;
}

/* The pid of this backend's engine, 0 if none runs */
int
scribe_ocr_engine_pid(void)
{
	return engine.pid;
}
