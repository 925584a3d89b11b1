/*
 * The text layer of a searchable PDF page: the page's words drawn
 * invisibly (text render mode 3) in the glyphless font, line by line in
 * reading order.  A line's words share its font size (the line's height)
 * and baseline (its bottom), so that pdftotext keeps them on one line; each
 * word is placed at its box's left and stretched (Tz) to its box's width,
 * so that a viewer's highlight of a hit covers the word on the image.
 *
 * Words are followed by a space, so that a reader that joins words closer
 * than some share of the font size (pdftotext: a tenth) still splits them.
 * Text is written as 2-byte codes: UTF-16BE code units, which the font's
 * ToUnicode map (engine_pdf_write.c) maps back to themselves.
 */
#include <stdint.h>
#include <string.h>

#include "engine.h"
#include "engine_pdf_write.h"

/* The glyphless font's advance: every code is this wide (thousandths of the font size) */
#define GLYPH_WIDTH 500

/* The next code point of UTF-8 text at *p, advancing it; U+FFFD for a bad sequence */
static uint32_t
next_code_point(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t	c;
	int			extra;

	if (s[0] < 0x80)
	{
		*p = s + 1;
		return s[0];
	}
	if ((s[0] & 0xE0) == 0xC0)
		c = s[0] & 0x1F, extra = 1;
	else if ((s[0] & 0xF0) == 0xE0)
		c = s[0] & 0x0F, extra = 2;
	else if ((s[0] & 0xF8) == 0xF0)
		c = s[0] & 0x07, extra = 3;
	else
	{
		*p = s + 1;
		return 0xFFFD;
	}
	for (int i = 1; i <= extra; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
		{
			*p = s + i;
			return 0xFFFD;
		}
		c = c << 6 | (s[i] & 0x3F);
	}
	*p = s + 1 + extra;
	if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0xFFFD;
	return c;
}

/*
 * Append text as a hex string of UTF-16BE code units (control characters
 * left out), and a space after it if asked, or with out NULL only count
 * them; the number of units of text
 */
static int
append_utf16_hex(JsonOut *out, const char *text, bool space)
{
	const unsigned char *p = (const unsigned char *) text;
	int			units = 0;

	if (out)
		json_append(out, "<");
	while (*p)
	{
		uint32_t	c = next_code_point(&p);

		if (c < 0x20)
			continue;
		if (c >= 0x10000)
		{
			c -= 0x10000;
			if (out)
				json_appendf(out, "%04X%04X", 0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF));
			units += 2;
		}
		else
		{
			if (out)
				json_appendf(out, "%04X", c);
			units++;
		}
	}
	if (out)
		json_append(out, space ? "0020>" : ">");
	return units;
}

/*
 * A word's box turned as the page was to be upright: rotation degrees
 * clockwise on a width x height page
 */
static void
upright_box(const LayerWord *w, int rotation, int width, int height, double box[4])
{
	switch (rotation)
	{
		case 90:
			box[0] = height - (w->top + w->height);
			box[1] = w->left;
			box[2] = w->height;
			box[3] = w->width;
			break;
		case 180:
			box[0] = width - (w->left + w->width);
			box[1] = height - (w->top + w->height);
			box[2] = w->width;
			box[3] = w->height;
			break;
		case 270:
			box[0] = w->top;
			box[1] = width - (w->left + w->width);
			box[2] = w->height;
			box[3] = w->width;
			break;
		default:
			box[0] = w->left;
			box[1] = w->top;
			box[2] = w->width;
			box[3] = w->height;
			break;
	}
}

/*
 * Append the text layer of a page to a content stream, the words in font
 * /font_name.  The page's box is width_pt x height_pt points from (x0, y0)
 * in its user space, shown turned by base_rotation degrees (its /Rotate:
 * 0 for a page made from an image); the words' boxes are on the page as
 * shown.  They are laid out on the page as it reads upright (turned by
 * their rotation more), then mapped onto the user space; the page's /Rotate
 * becomes base_rotation + the words' rotation, so that it shows upright.
 */
void
pdf_text_layer(JsonOut *out, const LayerPage *page, const char *font_name, double width_pt, double height_pt,
			   int base_rotation, double x0, double y0)
{
	int			turn = (base_rotation + page->rotation) % 360;
	bool		quarter = page->rotation == 90 || page->rotation == 270;
	/* the upright page, in pixels of the words and in points */
	int			up_width = quarter ? page->height : page->width;
	int			up_height = quarter ? page->width : page->height;
	double		up_width_pt = turn == 90 || turn == 270 ? height_pt : width_pt;
	double		up_height_pt = turn == 90 || turn == 270 ? width_pt : height_pt;
	double		kx = up_width_pt / up_width;
	double		ky = up_height_pt / up_height;
	double		font_size = -1;

	if (page->nwords == 0)
		return;
	json_append(out, "q\n");
	if (x0 != 0 || y0 != 0)
		json_appendf(out, "1 0 0 1 %.2f %.2f cm\n", x0, y0);
	/* from the upright page's points to the page's user space */
	switch (turn)
	{
		case 90:
			json_appendf(out, "0 1 -1 0 %.2f 0 cm\n", width_pt);
			break;
		case 180:
			json_appendf(out, "-1 0 0 -1 %.2f %.2f cm\n", width_pt, height_pt);
			break;
		case 270:
			json_appendf(out, "0 -1 1 0 0 %.2f cm\n", height_pt);
			break;
	}
	json_append(out, "BT\n3 Tr\n");
	for (int first = 0; first < page->nwords;)
	{
		int			end = first;
		double		top = 1e30,
					bottom = -1e30;

		/* one line: its box's top and bottom on the upright page */
		while (end < page->nwords && page->words[end].line == page->words[first].line)
		{
			double		box[4];

			upright_box(&page->words[end], page->rotation, page->width, page->height, box);
			if (box[1] < top)
				top = box[1];
			if (box[1] + box[3] > bottom)
				bottom = box[1] + box[3];
			end++;
		}
		if ((bottom - top) * ky > 0.5)
		{
			double		size = (bottom - top) * ky;
			double		baseline = up_height_pt - bottom * ky;

			if (size != font_size)
			{
				json_appendf(out, "/%s %.2f Tf\n", font_name, size);
				font_size = size;
			}
			for (int i = first; i < end; i++)
			{
				double		box[4];
				int			units = append_utf16_hex(NULL, page->words[i].text, false);

				upright_box(&page->words[i], page->rotation, page->width, page->height, box);
				if (units == 0 || box[2] <= 0)
					continue;
				/* every code is GLYPH_WIDTH wide: stretch the word to its box */
				json_appendf(out, "1 0 0 1 %.2f %.2f Tm %.2f Tz ", box[0] * kx, baseline,
							 100.0 * box[2] * kx / (units * size * GLYPH_WIDTH / 1000.0));
				/*
				 * a space after each word but a line's last: readers end a
				 * word at a space, however close the next word's box is
				 */
				append_utf16_hex(out, page->words[i].text, i < end - 1);
				json_append(out, " Tj\n");
			}
		}
		first = end;
	}
	json_append(out, "ET\nQ\n");
}
