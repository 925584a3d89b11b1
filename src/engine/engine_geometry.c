/*
 * Boxes back on the original: tesseract reports word, line and page boxes
 * on the prepared page, which preprocessing may have upscaled, turned
 * upright and deskewed.  Each box is mapped back through those steps in
 * reverse, as the bounding box of its four mapped corners, clipped to the
 * original page: what an application highlights on the image it submitted.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* Whether the prepared page has the original's coordinates */
bool
geometry_is_identity(const PageGeometry *g)
{
	return g->scaled_width == g->width && g->scaled_height == g->height &&
		g->rotation == 0 && g->skew == 0;
}

/* Map a point of the prepared page to the original */
static void
map_point(const PageGeometry *g, double x, double y, double *ox, double *oy)
{
	double		sw = g->scaled_width,
				sh = g->scaled_height;
	/* the upright page: a quarter turn swaps its sides */
	double		uw = (g->rotation == 90 || g->rotation == 270) ? sh : sw;
	double		uh = (g->rotation == 90 || g->rotation == 270) ? sw : sh;
	double		u,
				v;

	/* undo the deskew: rotate counter-clockwise about the centre */
	if (g->skew != 0)
	{
		double		a = g->skew * M_PI / 180.0;
		double		dx = x - uw / 2,
					dy = y - uh / 2;

		x = uw / 2 + dx * cos(a) + dy * sin(a);
		y = uh / 2 - dx * sin(a) + dy * cos(a);
	}
	/* undo the quarter turns: the upright point (u, v) on the scaled page */
	u = x;
	v = y;
	switch (g->rotation)
	{
		case 90:
			x = v;
			y = sh - u;
			break;
		case 180:
			x = sw - u;
			y = sh - v;
			break;
		case 270:
			x = sw - v;
			y = u;
			break;
		default:
			break;
	}
	/* undo the scaling */
	*ox = x * g->width / sw;
	*oy = y * g->height / sh;
}

/* Map a box (right and bottom exclusive) of the prepared page onto the original */
void
geometry_map_box(const PageGeometry *g, int *left, int *top, int *right, int *bottom)
{
	double		xs[4] = {*left, *right, *left, *right};
	double		ys[4] = {*top, *top, *bottom, *bottom};
	double		x0 = INFINITY,
				y0 = INFINITY,
				x1 = -INFINITY,
				y1 = -INFINITY;

	if (geometry_is_identity(g))
		return;
	for (int i = 0; i < 4; i++)
	{
		double		x,
					y;

		map_point(g, xs[i], ys[i], &x, &y);
		x0 = fmin(x0, x);
		y0 = fmin(y0, y);
		x1 = fmax(x1, x);
		y1 = fmax(y1, y);
	}
	*left = (int) fmax(0, fmin(g->width, lround(x0)));
	*top = (int) fmax(0, fmin(g->height, lround(y0)));
	*right = (int) fmax(0, fmin(g->width, lround(x1)));
	*bottom = (int) fmax(0, fmin(g->height, lround(y1)));
}

/* The factor that turns a length on the prepared page into one on the original */
static double
length_factor(const PageGeometry *g)
{
	return ((double) g->width / g->scaled_width + (double) g->height / g->scaled_height) / 2;
}

/* Append n bytes of s */
static void
append_n(JsonOut *out, const char *s, size_t n)
{
	char	   *copy = strndup(s, n);

	if (copy == NULL)
		engine_fail("53200", "Raise scribe.ocr_memory_limit.", "out of memory mapping the OCR result");
	json_append(out, copy);
	free(copy);
}

/* Parse n numbers after p (separated by spaces); false unless all are there */
static bool
parse_numbers(const char *p, int n, double *values, const char **end)
{
	for (int i = 0; i < n; i++)
	{
		char	   *e;

		while (*p == ' ')
			p++;
		values[i] = strtod(p, &e);
		if (e == p)
			return false;
		p = e;
	}
	*end = p;
	return true;
}

/* Whether p, inside hocr, starts a property of a title attribute (not text) */
static bool
at_property(const char *hocr, const char *p)
{
	return p > hocr && (p[-1] == '\'' || p[-1] == '"' || (p - 1 > hocr && p[-1] == ' ' && p[-2] == ';'));
}

/*
 * Tesseract's hOCR of a page with its boxes on the original (malloc'd):
 * every "bbox l t r b" mapped, the line metrics (x_size, x_ascenders,
 * x_descenders, the baseline's offset) scaled.  A line's metrics stay those
 * of its upright reading.
 */
char *
geometry_map_hocr(const PageGeometry *g, const char *hocr)
{
	static const char *const lengths[] = {"x_size ", "x_descenders ", "x_ascenders ", NULL};
	JsonOut		out;
	const char *p = hocr;
	double		factor = length_factor(g);

	json_init(&out);
	while (*p)
	{
		const char *end;
		double		v[4];
		bool		done = false;

		if (!at_property(hocr, p))
			;
		else if (strncmp(p, "bbox ", 5) == 0 && parse_numbers(p + 5, 4, v, &end))
		{
			int			l = (int) v[0],
						t = (int) v[1],
						r = (int) v[2],
						b = (int) v[3];

			geometry_map_box(g, &l, &t, &r, &b);
			json_appendf(&out, "bbox %d %d %d %d", l, t, r, b);
			p = end;
			continue;
		}
		else if (strncmp(p, "baseline ", 9) == 0 && parse_numbers(p + 9, 2, v, &end))
		{
			json_appendf(&out, "baseline %.3f %.0f", v[0], v[1] * factor);
			p = end;
			continue;
		}
		for (int i = 0; lengths[i] && !done && at_property(hocr, p); i++)
		{
			size_t		n = strlen(lengths[i]);

			if (strncmp(p, lengths[i], n) == 0 && parse_numbers(p + n, 1, v, &end))
			{
				json_append(&out, lengths[i]);
				json_appendf(&out, "%.2f", v[0] * factor);
				p = end;
				done = true;
			}
		}
		if (!done)
		{
			/* copy up to the next place a property may start */
			const char *next = p + 1;

			while (*next && *next != 'b' && *next != 'x')
				next++;
			append_n(&out, p, next - p);
			p = next;
		}
	}
	return out.data;
}

/*
 * Tesseract's TSV of a page with its boxes on the original (malloc'd):
 * columns 7-10 (left, top, width, height) of every row mapped.
 */
char *
geometry_map_tsv(const PageGeometry *g, const char *tsv)
{
	JsonOut		out;
	const char *line = tsv;

	json_init(&out);
	while (*line)
	{
		const char *eol = strchr(line, '\n');
		const char *field = line;
		const char *box = NULL;
		const char *after = NULL;
		int			v[4];
		int			column = 0;

		if (eol == NULL)
			eol = line + strlen(line);
		/* the start of column 7 and of column 11 */
		for (const char *c = line; c <= eol; c++)
		{
			if (c == eol || *c == '\t')
			{
				column++;
				if (column == 6)
					box = c + 1;
				else if (column == 10)
				{
					after = c;
					break;
				}
			}
		}
		if (box && after && sscanf(box, "%d\t%d\t%d\t%d", &v[0], &v[1], &v[2], &v[3]) == 4)
		{
			int			r = v[0] + v[2],
						b = v[1] + v[3];

			geometry_map_box(g, &v[0], &v[1], &r, &b);
			append_n(&out, line, box - line);
			json_appendf(&out, "%d\t%d\t%d\t%d", v[0], v[1], r - v[0], b - v[1]);
			append_n(&out, after, eol - after);
		}
		else
			append_n(&out, field, eol - field);
		if (*eol == '\n')
		{
			json_append(&out, "\n");
			eol++;
		}
		line = eol;
	}
	return out.data;
}
