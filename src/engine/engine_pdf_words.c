/*
 * Parsing the words of an OCR_MAKE_PDF request (the format is in
 * client/ocr_protocol.h).  No engine state here, so that the words fuzzer
 * (test/fuzz/fuzz_pdf_words.c) links this file alone.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_pdf_write.h"

/* Largest coordinate or size a word or page may have: leptonica's pages are smaller */
#define MAX_COORDINATE 1000000

/* Parse a decimal integer field in [min, max]; false if it is not one */
static bool
parse_int(const char *field, long min, long max, int *value)
{
	char	   *end;
	long		v;

	if (field == NULL || *field == '\0')
		return false;
	errno = 0;
	v = strtol(field, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*value = (int) v;
	return true;
}

/* Split line at tabs into at most max fields; the number found */
static int
split_fields(char *line, char **fields, int max)
{
	int			n = 0;

	while (n < max)
	{
		char	   *tab = strchr(line, '\t');

		fields[n++] = line;
		if (tab == NULL)
			break;
		*tab = '\0';
		line = tab + 1;
	}
	return n;
}

/* Free what pdf_words_parse made */
void
pdf_words_free(LayerWords *words)
{
	if (words == NULL)
		return;
	for (int i = 0; i < words->npages; i++)
		free(words->pages[i].words);
	free(words->pages);
	free(words->buffer);
	free(words);
}

/* Append an empty slot to an array of n items of size bytes; false if out of memory */
static bool
grow(void **array, int n, size_t size)
{
	void	   *bigger;

	/* powers of two: grow when n is one */
	if (n > 0 && (n & (n - 1)) != 0)
		return true;
	bigger = realloc(*array, (size_t) (n ? n * 2 : 1) * size);
	if (bigger == NULL)
		return false;
	*array = bigger;
	return true;
}

/*
 * Parse len bytes of words for an image of max_page pages; NULL with
 * *error set (a static message naming the line) if they are not valid
 */
LayerWords *
pdf_words_parse(const char *data, size_t len, int max_page, const char **error)
{
	static char message[128];
	LayerWords   *words = calloc(1, sizeof(LayerWords));
	LayerPage *page = NULL;
	char	   *line;
	int			line_no = 0;

	*error = NULL;
	if (words == NULL || (words->buffer = malloc(len + 1)) == NULL)
	{
		pdf_words_free(words);
		*error = "out of memory reading the words";
		return NULL;
	}
	memcpy(words->buffer, data, len);
	words->buffer[len] = '\0';
	if (memchr(data, '\0', len) != NULL)
	{
		pdf_words_free(words);
		*error = "the words hold a NUL byte";
		return NULL;
	}

	for (line = words->buffer; *line != '\0';)
	{
		char	   *next = strchr(line, '\n');
		char	   *fields[8];
		int			n;

		line_no++;
		if (next != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		n = split_fields(line, fields, 8);
		if (n == 5 && strcmp(fields[0], "page") == 0)
		{
			LayerPage p = {0};

			if (!parse_int(fields[1], 1, max_page, &p.page) ||
				!parse_int(fields[2], 0, MAX_COORDINATE, &p.width) ||
				!parse_int(fields[3], 0, MAX_COORDINATE, &p.height) ||
				!parse_int(fields[4], 0, 270, &p.rotation) || p.rotation % 90 != 0)
				goto invalid;
			for (int i = 0; i < words->npages; i++)
				if (words->pages[i].page == p.page)
					goto invalid;
			if (!grow((void **) &words->pages, words->npages, sizeof(LayerPage)))
				goto oom;
			words->pages[words->npages] = p;
			page = &words->pages[words->npages++];
		}
		else if (n == 7 && strcmp(fields[0], "word") == 0 && page != NULL)
		{
			LayerWord		w;

			if (!parse_int(fields[1], 0, INT_MAX, &w.line) ||
				!parse_int(fields[2], 0, MAX_COORDINATE, &w.left) ||
				!parse_int(fields[3], 0, MAX_COORDINATE, &w.top) ||
				!parse_int(fields[4], 0, MAX_COORDINATE, &w.width) ||
				!parse_int(fields[5], 0, MAX_COORDINATE, &w.height))
				goto invalid;
			w.text = fields[6];
			if (!grow((void **) &page->words, page->nwords, sizeof(LayerWord)))
				goto oom;
			page->words[page->nwords++] = w;
		}
		else if (!(n == 1 && fields[0][0] == '\0'))
			goto invalid;
		line = next;
	}
	return words;

invalid:
	snprintf(message, sizeof(message), "line %d of the words is not a valid page or word record", line_no);
	*error = message;
	pdf_words_free(words);
	return NULL;
oom:
	*error = "out of memory reading the words";
	pdf_words_free(words);
	return NULL;
}

/* The words of page page_no (1-based), NULL if it has none */
const LayerPage *
pdf_words_page(const LayerWords *words, int page_no)
{
	for (int i = 0; words != NULL && i < words->npages; i++)
		if (words->pages[i].page == page_no)
			return &words->pages[i];
	return NULL;
}
