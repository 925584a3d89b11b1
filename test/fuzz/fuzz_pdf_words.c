/*
 * fuzz_pdf_words.c — libFuzzer target for the words of a searchable PDF
 * request (src/engine/engine_pdf_words.c), which the engine reads from the
 * backend, and for the text layer drawn from them (engine_pdf_text.c): a
 * parse either fails with a message or gives pages within the image's and
 * words without tabs or newlines, and every page's text layer is a closed
 * text object.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* The image of the request has this many pages */
#define FUZZ_PAGES 3

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The engine's error exit: here only out of memory reaches it */
void
engine_fail(const char *sqlstate, const char *hint, const char *fmt,...)
{
	(void) sqlstate;
	(void) hint;
	(void) fmt;
	abort();
}

/* Parse, check what was parsed, and draw each page's text layer */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *error = NULL;
	LayerWords   *words = pdf_words_parse((const char *) data, size, FUZZ_PAGES, &error);

	if (words == NULL)
	{
		if (error == NULL || error[0] == '\0')
			abort();
		return 0;
	}
	for (int i = 0; i < words->npages; i++)
	{
		LayerPage page = words->pages[i];
		JsonOut		out;

		if (page.page < 1 || page.page > FUZZ_PAGES || pdf_words_page(words, page.page) != &words->pages[i] ||
			page.rotation % 90 != 0 || page.width < 0 || page.height < 0)
			abort();
		for (int j = 0; j < page.nwords; j++)
			if (strpbrk(page.words[j].text, "\t\n") != NULL || page.words[j].width < 0)
				abort();
		/* as the engine does: a page without a size is the decoded page's */
		if (page.width == 0 || page.height == 0)
			page.width = page.height = 100;
		json_init(&out);
		pdf_text_layer(&out, &page, "F0", 612, 792, (int) (size % 4) * 90, 0, 0);
		if (out.len > 0 && (out.len < 7 || strncmp(out.data, "q\n", 2) != 0 || strcmp(out.data + out.len - 5, "ET\nQ\n") != 0))
			abort();
		json_free(&out);
	}
	pdf_words_free(words);
	return 0;
}
