/*
 * JSON output of the engine: a growing buffer, strings escaped and made
 * valid UTF-8 (tesseract's output is trusted to be UTF-8, but a replacement
 * character is better than a result the backend cannot parse).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* Make room for n more bytes */
static void
json_reserve(JsonOut *out, size_t n)
{
	if (out->len + n + 1 <= out->cap)
		return;
	while (out->len + n + 1 > out->cap)
		out->cap = out->cap ? out->cap * 2 : 4096;
	out->data = realloc(out->data, out->cap);
	if (out->data == NULL)
		engine_fail("53200", "Raise scribe.ocr_memory_limit.", "out of memory building the OCR result");
}

/* Start an empty buffer */
void
json_init(JsonOut *out)
{
	out->data = NULL;
	out->len = out->cap = 0;
	json_reserve(out, 0);
	out->data[0] = '\0';
}

/* Append n raw bytes */
static void
json_appendn(JsonOut *out, const char *s, size_t n)
{
	json_reserve(out, n);
	memcpy(out->data + out->len, s, n);
	out->len += n;
	out->data[out->len] = '\0';
}

/* Append raw text */
void
json_append(JsonOut *out, const char *s)
{
	json_appendn(out, s, strlen(s));
}

/* Append formatted raw text */
void
json_appendf(JsonOut *out, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	json_reserve(out, (size_t) n);
	va_start(ap, fmt);
	vsnprintf(out->data + out->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	out->len += (size_t) n;
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one */
static int
utf8_sequence_length(const unsigned char *s)
{
	int			n;
	uint32_t	cp;

	if (s[0] < 0x80)
		return 1;
	else if ((s[0] & 0xE0) == 0xC0)
		n = 2, cp = s[0] & 0x1F;
	else if ((s[0] & 0xF0) == 0xE0)
		n = 3, cp = s[0] & 0x0F;
	else if ((s[0] & 0xF8) == 0xF0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (int i = 1; i < n; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates, beyond Unicode; NUL is not valid in a text */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		(cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return n;
}

/* Append s as a JSON string literal */
void
json_string(JsonOut *out, const char *s)
{
	const unsigned char *p = (const unsigned char *) (s ? s : "");

	json_appendn(out, "\"", 1);
	while (*p)
	{
		int			n = utf8_sequence_length(p);

		if (n == 0)
		{
			json_append(out, "\\ufffd");
			p++;
		}
		else if (*p == '"' || *p == '\\')
		{
			char		esc[2] = {'\\', (char) *p};

			json_appendn(out, esc, 2);
			p++;
		}
		else if (*p < 0x20)
		{
			json_appendf(out, "\\u%04x", *p);
			p++;
		}
		else
		{
			json_appendn(out, (const char *) p, (size_t) n);
			p += n;
		}
	}
	json_appendn(out, "\"", 1);
}

/* Append data as a base64 JSON string */
void
json_base64(JsonOut *out, const unsigned char *data, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t		need = (len + 2) / 3 * 4;
	char	   *o;

	json_appendn(out, "\"", 1);
	json_reserve(out, need);
	o = out->data + out->len;
	for (size_t i = 0; i < len; i += 3)
	{
		uint32_t	v = (uint32_t) data[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t) data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		*o++ = alphabet[(v >> 18) & 63];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? alphabet[v & 63] : '=';
	}
	out->len += need;
	out->data[out->len] = '\0';
	json_appendn(out, "\"", 1);
}

/* Release the buffer */
void
json_free(JsonOut *out)
{
	free(out->data);
	out->data = NULL;
	out->len = out->cap = 0;
}
