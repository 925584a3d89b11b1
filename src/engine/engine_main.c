/*
 * The engine's request loop: read a request from the backend, decode the
 * image, recognise, split or recompress it or make a searchable PDF of it, answer, and wait for the next one.  A
 * failure the engine can describe is an error frame and the engine stays;
 * anything else (abort, signal, CPU or memory limit) ends the process and
 * the backend reports it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <tesseract/capi.h>

#include "engine.h"
#include "engine_decode.h"
#include "engine_pdf.h"

/* Where engine_fail returns to: the top of the request loop */
static sigjmp_buf request_failed;
static bool in_request = false;

/* What the current request holds, released at the top of the loop */
static unsigned char *request_image = NULL;
static PIXA *request_pages = NULL;
static int	request_orientation = 1;	/* the EXIF orientation the page was turned by */
static int	request_format = IFF_UNKNOWN;	/* leptonica's name of the image's format */
static char *request_words = NULL;	/* OCR_MAKE_PDF: the words, NUL-terminated */
static JsonOut request_out;

/* The last error leptonica printed, for an error's detail */
static char library_message[512];

/* Write all of buf to the backend, or exit: the backend is gone */
static void
write_all(const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0)
	{
		ssize_t		n = write(OCR_ENGINE_REPLY_FD, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		p += n;
		len -= (size_t) n;
	}
}

/* Read exactly len bytes from the backend; false at a clean end of input */
static bool
read_all(void *buf, size_t len)
{
	char	   *p = buf;
	size_t		done = 0;

	while (done < len)
	{
		ssize_t		n = read(OCR_ENGINE_REQUEST_FD, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && done == 0)
			return false;
		if (n <= 0)
			_exit(0);			/* the backend went away mid-request */
		done += (size_t) n;
	}
	return true;
}

/* Send one frame */
static void
send_frame(OcrFrameType type, const void *payload, size_t len)
{
	OcrFrame	frame = {.type = type, .len = (uint32_t) len};

	write_all(&frame, sizeof(frame));
	if (len > 0)
		write_all(payload, len);
}

/* Tell the backend how far the request has come */
void
engine_send_progress(int percent)
{
	int32_t		p = percent;

	send_frame(OCR_FRAME_PROGRESS, &p, sizeof(p));
}

/* Answer the request with an error and return to the request loop */
void
engine_fail(const char *sqlstate, const char *hint, const char *fmt,...)
{
	char		message[1024];
	char		payload[2048];
	size_t		len = 0;
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);

	memcpy(payload, sqlstate, 5);
	payload[5] = '\0';
	len = 6;
	len += (size_t) snprintf(payload + len, sizeof(payload) - len, "%s", message) + 1;
	if (len < sizeof(payload))
		len += (size_t) snprintf(payload + len, sizeof(payload) - len, "%s", hint ? hint : "") + 1;
	if (len > sizeof(payload))
		len = sizeof(payload);
	payload[sizeof(payload) - 1] = '\0';
	send_frame(OCR_FRAME_ERROR, payload, len);

	if (!in_request)
		_exit(1);
	siglongjmp(request_failed, 1);
}

/* Seconds on a monotonic clock */
double
engine_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The last message leptonica printed, or "" */
const char *
engine_last_library_message(void)
{
	return library_message;
}

/* Keep leptonica's messages for error details, and still log them */
static void
capture_library_message(const char *msg)
{
	size_t		n;

	snprintf(library_message, sizeof(library_message), "%s", msg);
	n = strlen(library_message);
	while (n > 0 && (library_message[n - 1] == '\n' || library_message[n - 1] == ' '))
		library_message[--n] = '\0';
	fputs(msg, stderr);
}

/* Bound the CPU time of the next request (SIGXCPU ends the engine past it) */
static void
limit_cpu(uint32_t seconds)
{
	struct rlimit rl;
	struct rusage ru;

	if (getrlimit(RLIMIT_CPU, &rl) != 0)
		return;
	if (seconds == 0)
		rl.rlim_cur = rl.rlim_max;
	else
	{
		getrusage(RUSAGE_SELF, &ru);
		rl.rlim_cur = (rlim_t) ru.ru_utime.tv_sec + (rlim_t) ru.ru_stime.tv_sec + seconds + 1;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
	}
	setrlimit(RLIMIT_CPU, &rl);
}

/* Decode the request's image into its pages, within the request's limits */
static PIXA *
decode_pages(const OcrRequest *req, const unsigned char *image)
{
	int			format;
	PIXA	   *pages;
	int			n;

	library_message[0] = '\0';
	/* one page more than allowed, to tell "too many" from "just enough" */
	pages = engine_decode_pages(image, req->image_len, req->max_pages + 1, &format, &request_orientation);
	request_format = format;
	if (format == IFF_UNKNOWN)
		engine_fail("22P03", "Send a PNG, JPEG, TIFF, BMP, PNM, GIF or WebP image.",
					"the image format is not recognised");
	if (pages == NULL)
		engine_fail("22P03", "The file may be truncated or corrupt; check that it opens in an image viewer.",
					"the image could not be decoded%s%s",
					library_message[0] ? ": " : "", library_message);

	n = pixaGetCount(pages);
	if ((uint32_t) n > req->max_pages)
	{
		pixaDestroy(&pages);
		engine_fail("54000", "Split the document, or raise scribe.max_image_pages.",
					"the image has more than scribe.max_image_pages (%u) pages", req->max_pages);
	}
	for (int i = 0; i < n; i++)
	{
		PIX		   *pix = pixaGetPix(pages, i, L_CLONE);
		uint64_t	pixels = (uint64_t) pixGetWidth(pix) * (uint64_t) pixGetHeight(pix);

		pixDestroy(&pix);
		if (pixels > req->max_pixels)
		{
			pixaDestroy(&pages);
			engine_fail("54000", "Scale the image down, or raise scribe.max_image_pixels.",
						"page %d has %llu pixels, more than scribe.max_image_pixels (%llu)",
						i + 1, (unsigned long long) pixels, (unsigned long long) req->max_pixels);
		}
	}
	return pages;
}

/* Release what the last request left behind */
static void
release_request(void)
{
	free(request_image);
	request_image = NULL;
	free(request_words);
	request_words = NULL;
	if (request_pages)
		pixaDestroy(&request_pages);
	engine_pdf_release();
	json_free(&request_out);
}

/* Read and drop len bytes of the request, to stay in step with the backend */
static void
drain(uint64_t len)
{
	while (len > 0)
	{
		char		sink[65536];
		size_t		n = len < sizeof(sink) ? (size_t) len : sizeof(sink);

		read_all(sink, n);
		len -= n;
	}
}
static bool is_pdf(const unsigned char *data, uint64_t len);
static void serve_image(const OcrRequest *req);

/* Read, run and answer one request; false when the backend closed the pipe */
static bool
serve_request(void)
{
	OcrRequest	req;

	if (!read_all(&req, sizeof(req)))
		return false;
	if (req.magic != OCR_PROTOCOL_MAGIC || req.version != OCR_PROTOCOL_VERSION)
	{
		fprintf(stderr, "pg_scribe_ocr: protocol mismatch (magic %x version %u)\n", req.magic, req.version);
		_exit(2);
	}
	req.lang[OCR_LANG_MAX - 1] = '\0';

	request_image = malloc(req.image_len ? req.image_len : 1);
	request_words = req.words_len <= OCR_MAX_WORDS_LEN ? malloc(req.words_len + 1) : NULL;
	if (request_image == NULL || request_words == NULL)
	{
		/* drain the request so that the protocol stays in step */
		drain(req.image_len);
		drain(req.words_len);
		if (req.words_len > OCR_MAX_WORDS_LEN)
			engine_fail("54000", NULL, "the words of the request take %llu bytes, more than %d",
						(unsigned long long) req.words_len, OCR_MAX_WORDS_LEN);
		engine_fail("53200", "Raise scribe.ocr_memory_limit.", "out of memory receiving a %llu-byte image",
					(unsigned long long) req.image_len);
	}
	if (req.image_len > 0)
		read_all(request_image, req.image_len);
	if (req.words_len > 0)
		read_all(request_words, req.words_len);
	request_words[req.words_len] = '\0';

	limit_cpu(req.cpu_seconds);
	json_init(&request_out);
	if ((req.flags & OCR_MAKE_PDF) && is_pdf(request_image, req.image_len))
		/* a searchable PDF of a PDF adds to its pages: nothing to decode */
		engine_make_pdf(&req, request_image, request_words, NULL, IFF_UNKNOWN, 1, &request_out);
	else if (is_pdf(request_image, req.image_len))
		/* the PDF is read page by page as the request goes: its bytes stay until it ends */
		engine_pdf_request(&req, request_image, &request_out);
	else if (req.flags & OCR_PROBE)
		engine_fail("22023", "Only a PDF is probed by the engine; the server reads an image's header itself.",
					"the file to probe is not a PDF");
	else
		serve_image(&req);
	send_frame(OCR_FRAME_RESULT, request_out.data, request_out.len);
	limit_cpu(0);
	return true;
}

/* Whether the request's file is a PDF, and not an image with "%PDF-" near its start */
static bool
is_pdf(const unsigned char *data, uint64_t len)
{
	l_int32		format = IFF_UNKNOWN;

	if (!engine_is_pdf(data, len))
		return false;
	/* leptonica knows a PDF by its first bytes (IFF_LPDF), not after junk */
	return len < 12 || findFileFormatBuffer(data, &format) != 0 || format == IFF_UNKNOWN || format == IFF_LPDF;
}

/* Decode the request's image and recognise, split, recompress or write it as a searchable PDF */
static void
serve_image(const OcrRequest *req)
{
	request_pages = decode_pages(req, request_image);
	/* only a searchable PDF keeps the image's own bytes (a JPEG's, embedded as they are) */
	if (!(req->flags & OCR_MAKE_PDF))
	{
		free(request_image);
		request_image = NULL;
	}

	if (req->flags & OCR_SPLIT_PNG)
		engine_split_png(request_pages, &request_out);
	else if (req->flags & OCR_RECOMPRESS)
		engine_recompress(req, request_pages, &request_out);
	else if (req->flags & OCR_MAKE_PDF)
		engine_make_pdf(req, request_image, request_words, request_pages, request_format,
						request_orientation, &request_out);
	else
		engine_recognize(req, request_pages, request_orientation, &request_out);
}

/* Run requests until the backend closes the pipe */
int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0)
	{
		printf("pg_scribe_ocr (tesseract %s, %s)\n", TessVersion(), getLeptonicaVersion());
		return 0;
	}
	if (fcntl(OCR_ENGINE_REQUEST_FD, F_GETFD) < 0 || fcntl(OCR_ENGINE_REPLY_FD, F_GETFD) < 0)
	{
		fprintf(stderr, "pg_scribe_ocr: this program is started by the pg_scribe extension,\n"
				"which talks to it over file descriptors %d and %d.\n",
				OCR_ENGINE_REQUEST_FD, OCR_ENGINE_REPLY_FD);
		return 2;
	}
	/* a backend that went away is EPIPE on write, handled there */
	signal(SIGPIPE, SIG_IGN);
	leptSetStderrHandler(capture_library_message);
	/* leptonica's "Info in ..." lines are noise in the server log */
	setMsgSeverity(L_SEVERITY_WARNING);

	for (;;)
	{
		if (sigsetjmp(request_failed, 1) != 0)
		{
			in_request = false;
			limit_cpu(0);
		}
		release_request();
		in_request = true;
		if (!serve_request())
			break;
		in_request = false;
	}
	release_request();
	return 0;
}
