/*
 * Writing a searchable PDF (OCR_MAKE_PDF) with qpdf's C API: one page per
 * page of the image, the size the image's resolution gives it, the page's
 * image drawn full-page and its words over it as an invisible text layer
 * (engine_pdf_text.c).
 *
 * Each page image is stored as compactly as the PDF format allows without
 * losing anything: a JPEG as it was submitted (its bytes untouched, the
 * EXIF orientation applied by the drawing matrix), a 1-bit page as CCITT
 * G4, any other page as Flate with PNG predictors (the IDAT stream of a PNG
 * that leptonica encodes, which is what PNG's filters are for).
 *
 * qpdf writes the file (object streams, a cross-reference stream, the
 * unfiltered streams compressed) and never decodes or re-encodes a stream it
 * is given.  A submitted PDF (once the engine reads PDFs) keeps its pages
 * and gets the text layer added to each: pdf_text_layer and the font are
 * the same, only the page comes from the original instead of an image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qpdf/qpdf-c.h>

#include "engine.h"
#include "engine_pdf_write.h"

/* Resolutions past these are not a scan's: the page is taken as DEFAULT_DPI */
#define MIN_CREDIBLE_DPI 70
#define MAX_CREDIBLE_DPI 2400
/* Tesseract's assumption, and a scanner's usual setting */
#define DEFAULT_DPI 300
/* The glyphless font tesseract ships for its own PDFs */
#define GLYPHLESS_FONT "pdf.ttf"
/* The font's resource name: one a submitted PDF's pages are unlikely to use */
#define FONT_NAME "ScribeGlyphless"

/* What a request holds while it runs, released by the next one (engine_fail jumps past cleanup) */
static qpdf_data pdf = NULL;
static LayerWords *request_words = NULL;
static L_COMP_DATA *compressed = NULL;
static l_uint8 *png = NULL;
static unsigned char *idat = NULL;
static JsonOut content;

/* The glyphless font's bytes, read on the engine's first searchable PDF and kept */
static unsigned char *font_file = NULL;
static size_t font_size = 0;

/* Release what the last request left behind */
static void
release_pdf(void)
{
	if (pdf)
		qpdf_cleanup(&pdf);
	pdf_words_free(request_words);
	request_words = NULL;
	if (compressed)
		l_CIDataDestroy(&compressed);
	lept_free(png);
	png = NULL;
	free(idat);
	idat = NULL;
	json_free(&content);
}

/* Fail the request if qpdf reported an error */
static void
check_qpdf(const char *what)
{
	if (qpdf_has_error(pdf))
	{
		qpdf_error e = qpdf_get_error(pdf);

		engine_fail("XX000", NULL, "the PDF could not be written (%s): %s", what,
					qpdf_get_error_full_text(pdf, e));
	}
}

/* A new indirect stream: data (stored as given, with filter unless NULL) and the dictionary's other keys */
static qpdf_oh
new_stream(const void *data, size_t len, const char *filter, const char *dict)
{
	qpdf_oh		stream = qpdf_make_indirect_object(pdf, qpdf_oh_new_stream(pdf));
	qpdf_oh		d;
	qpdf_oh		f = filter ? qpdf_oh_new_name(pdf, filter) : qpdf_oh_new_null(pdf);

	qpdf_oh_replace_stream_data(pdf, stream, data, len, f, qpdf_oh_new_null(pdf));
	if (dict)
	{
		qpdf_oh		extra = qpdf_oh_parse(pdf, dict);

		d = qpdf_oh_get_dict(pdf, stream);
		qpdf_oh_begin_dict_key_iter(pdf, extra);
		while (qpdf_oh_dict_more_keys(pdf))
		{
			const char *key = qpdf_oh_dict_next_key(pdf);

			qpdf_oh_replace_key(pdf, d, key, qpdf_oh_get_key(pdf, extra, key));
		}
	}
	check_qpdf("a stream");
	return stream;
}

/*
 * A new indirect object parsed from PDF syntax (which cannot name other
 * objects: qpdf's C API parses without the file), then up to two keys set
 * to objects: key1 (in the dictionary at path1, if not NULL) to oh1, and so
 * on; a key of NULL sets none
 */
static qpdf_oh
new_object(const char *syntax, const char *path1, const char *key1, qpdf_oh oh1,
		   const char *path2, const char *key2, qpdf_oh oh2)
{
	qpdf_oh		oh = qpdf_make_indirect_object(pdf, qpdf_oh_parse(pdf, syntax));
	const char *paths[2] = {path1, path2};
	const char *keys[2] = {key1, key2};
	qpdf_oh		values[2] = {oh1, oh2};

	for (int i = 0; i < 2; i++)
	{
		qpdf_oh		dict = oh;

		if (keys[i] == NULL)
			continue;
		/* a path is one key deep, or two: "/Resources/Font" */
		if (paths[i] != NULL)
		{
			char		first[64];
			const char *second = strchr(paths[i] + 1, '/');

			snprintf(first, sizeof(first), "%.*s", second ? (int) (second - paths[i]) : (int) strlen(paths[i]), paths[i]);
			dict = qpdf_oh_get_key(pdf, dict, first);
			if (second)
				dict = qpdf_oh_get_key(pdf, dict, second);
		}
		qpdf_oh_replace_key(pdf, dict, keys[i], values[i]);
	}
	check_qpdf("an object");
	return oh;
}

/*
 * The glyphless font from the tessdata directory (fixed for the engine's
 * life), read on first use and kept: its size
 */
static size_t
read_font(void)
{
	const char *dir = getenv("TESSDATA_PREFIX");
	char		path[1024];
	FILE	   *f;
	long		size;
	unsigned char *bytes = NULL;

	if (font_file != NULL)
		return font_size;
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : ".", GLYPHLESS_FONT);
	f = fopen(path, "rb");
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 || size > 1024 * 1024 ||
		fseek(f, 0, SEEK_SET) != 0 || (bytes = malloc((size_t) size)) == NULL ||
		fread(bytes, 1, (size_t) size, f) != (size_t) size)
	{
		if (f)
			fclose(f);
		free(bytes);
		engine_fail("58P01", "Tesseract's packages install it (tesseract-ocr); scribe.ocr_tessdata_dir names the directory.",
					"the glyphless font \"%s\" could not be read", path);
	}
	fclose(f);
	font_file = bytes;
	font_size = (size_t) size;
	return font_size;
}

/*
 * The font of the text layer: tesseract's glyphless TrueType font as a
 * Type0 font with 2-byte codes, every code drawn with its one empty glyph
 * (the CIDToGIDMap), and a ToUnicode map that reads each code as the
 * UTF-16 unit it is.  Made once per file, shared by every page.
 */
static qpdf_oh
make_font(void)
{
	static const char to_unicode[] =
		"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
		"1 beginbfrange\n<0000> <FFFF> <0000>\nendbfrange\n"
		"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n";
	static unsigned char map[2 * 65536];
	size_t		size = read_font();
	qpdf_oh		file,
				descriptor,
				cid_to_gid,
				unicode,
				cid_font,
				descendants;
	char		syntax[512];

	/* every CID to glyph 1, the font's empty glyph (big-endian 0x0001: filled once) */
	if (map[1] == 0)
		for (int i = 0; i < 2 * 65536; i++)
			map[i] = i % 2;
	cid_to_gid = new_stream(map, sizeof(map), NULL, NULL);
	snprintf(syntax, sizeof(syntax), "<< /Length1 %zu >>", size);
	file = new_stream(font_file, size, NULL, syntax);
	unicode = new_stream(to_unicode, strlen(to_unicode), NULL, NULL);
	descriptor = new_object("<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5 /FontBBox [0 0 500 1000] "
							"/ItalicAngle 0 /Ascent 1000 /Descent -1 /CapHeight 1000 /StemV 80 >>",
							NULL, "/FontFile2", file, NULL, NULL, 0);
	cid_font = new_object("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont "
						  "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 500 >>",
						  NULL, "/FontDescriptor", descriptor, NULL, "/CIDToGIDMap", cid_to_gid);
	descendants = qpdf_oh_new_array(pdf);
	qpdf_oh_append_item(pdf, descendants, cid_font);
	return new_object("<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont /Encoding /Identity-H >>",
					  NULL, "/DescendantFonts", descendants, NULL, "/ToUnicode", unicode);
}

/* A page's resolution along one axis, DEFAULT_DPI if the image's is not credible */
static int
credible_dpi(int dpi, int other)
{
	if (dpi >= MIN_CREDIBLE_DPI && dpi <= MAX_CREDIBLE_DPI)
		return dpi;
	if (other >= MIN_CREDIBLE_DPI && other <= MAX_CREDIBLE_DPI)
		return other;
	return DEFAULT_DPI;
}

/*
 * The matrix that draws an image stored as the camera held it onto a
 * width x height page as EXIF orientation says a viewer shows it
 */
static void
orientation_matrix(int orientation, double width, double height, double m[6])
{
	/* the image's unit square (u right, v up) onto the page */
	static const double unit[9][6] = {
		{1, 0, 0, 1, 0, 0},		/* unused */
		{1, 0, 0, 1, 0, 0},		/* 1: as stored */
		{-1, 0, 0, 1, 1, 0},	/* 2: mirrored left to right */
		{-1, 0, 0, -1, 1, 1},	/* 3: upside down */
		{1, 0, 0, -1, 0, 1},	/* 4: mirrored top to bottom */
		{0, -1, -1, 0, 1, 1},	/* 5: transposed */
		{0, -1, 1, 0, 0, 1},	/* 6: to be turned clockwise */
		{0, 1, 1, 0, 0, 0},		/* 7: transversed */
		{0, 1, -1, 0, 1, 0},	/* 8: to be turned counter-clockwise */
	};
	const double *u = unit[orientation >= 1 && orientation <= 8 ? orientation : 1];

	m[0] = u[0] * width;
	m[1] = u[1] * height;
	m[2] = u[2] * width;
	m[3] = u[3] * height;
	m[4] = u[4] * width;
	m[5] = u[5] * height;
}

/* The submitted JPEG as the page's image, its bytes untouched */
static qpdf_oh
jpeg_image(const unsigned char *image, size_t len)
{
	l_int32		w = 0,
				h = 0,
				spp = 0,
				ycck = 0,
				cmyk = 0;
	char		dict[256];

	if (readHeaderMemJpeg(image, len, &w, &h, &spp, &ycck, &cmyk) != 0 || (spp != 1 && spp != 3 && spp != 4))
		engine_fail("22P03", NULL, "the JPEG's header could not be read");
	/* CMYK JPEGs are written inverted by the Adobe software that makes them */
	snprintf(dict, sizeof(dict),
			 "<< /Type /XObject /Subtype /Image /Width %d /Height %d /BitsPerComponent 8 /ColorSpace %s%s >>",
			 w, h, spp == 1 ? "/DeviceGray" : spp == 3 ? "/DeviceRGB" : "/DeviceCMYK",
			 spp == 4 ? " /Decode [1 0 1 0 1 0 1 0]" : "");
	return new_stream(image, len, "/DCTDecode", dict);
}

/* A 1-bit page as CCITT G4 */
static qpdf_oh
g4_image(PIX *page, int page_no)
{
	PIX		   *bw = pixGetColormap(page) ? pixRemoveColormap(page, REMOVE_CMAP_TO_BINARY) : pixClone(page);
	char		dict[256];
	qpdf_oh		stream;

	if (bw == NULL || pixGenerateCIData(bw, L_G4_ENCODE, 0, 0, &compressed) != 0 || compressed == NULL)
	{
		pixDestroy(&bw);
		engine_fail("XX000", NULL, "page %d could not be encoded as CCITT G4", page_no);
	}
	pixDestroy(&bw);
	/* leptonica's 1 is black: G4's black runs, which BlackIs1 false draws black */
	snprintf(dict, sizeof(dict),
			 "<< /Type /XObject /Subtype /Image /Width %d /Height %d /BitsPerComponent 1 /ColorSpace /DeviceGray "
			 "/DecodeParms << /K -1 /Columns %d /Rows %d /BlackIs1 %s >> >>",
			 compressed->w, compressed->h, compressed->w, compressed->h,
			 compressed->minisblack ? "true" : "false");
	stream = new_stream(compressed->datacomp, compressed->nbytescomp, "/CCITTFaxDecode", dict);
	l_CIDataDestroy(&compressed);
	return stream;
}

/* The 32-bit big-endian number at p */
static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* Any other page: leptonica's PNG of it, its IDAT data as Flate with PNG predictors */
static qpdf_oh
flate_image(PIX *page, int page_no)
{
	PIX		   *pix;
	size_t		size = 0,
				idat_len = 0;
	int			depth;
	char		dict[320];
	qpdf_oh		stream;

	/* 8-bit gray or RGB: palettes resolved, alpha dropped against white */
	if (pixGetColormap(page))
		pix = pixRemoveColormap(page, REMOVE_CMAP_BASED_ON_SRC);
	else if (pixGetDepth(page) == 32)
		pix = pixGetSpp(page) == 4 ? pixRemoveAlpha(page) : pixClone(page);
	else if (pixGetDepth(page) != 8)
		pix = pixConvertTo8(page, 0);
	else
		pix = pixClone(page);
	if (pix != NULL && pixGetDepth(pix) == 32)
		pixSetSpp(pix, 3);
	depth = pix ? pixGetDepth(pix) : 0;
	if (pix != NULL)
		pixSetZlibCompression(pix, 9);
	if (pix == NULL || (depth != 8 && depth != 32) || pixWriteMemPng(&png, &size, pix, 0.0) != 0)
	{
		pixDestroy(&pix);
		engine_fail("XX000", NULL, "page %d could not be encoded as Flate", page_no);
	}

	/* the PNG is leptonica's, not the user's: its chunks are well formed */
	idat = malloc(size);
	if (idat == NULL)
	{
		pixDestroy(&pix);
		engine_fail("53200", "Raise scribe.ocr_memory_limit.", "out of memory encoding page %d", page_no);
	}
	for (size_t at = 8; at + 12 <= size;)
	{
		uint32_t	len = be32(png + at);

		if (len > size - at - 12)
			break;
		if (memcmp(png + at + 4, "IDAT", 4) == 0)
		{
			memcpy(idat + idat_len, png + at + 8, len);
			idat_len += len;
		}
		at += 12 + (size_t) len;
	}
	snprintf(dict, sizeof(dict),
			 "<< /Type /XObject /Subtype /Image /Width %d /Height %d /BitsPerComponent 8 /ColorSpace %s "
			 "/DecodeParms << /Predictor 15 /Colors %d /BitsPerComponent 8 /Columns %d >> >>",
			 pixGetWidth(pix), pixGetHeight(pix), depth == 8 ? "/DeviceGray" : "/DeviceRGB",
			 depth == 8 ? 1 : 3, pixGetWidth(pix));
	pixDestroy(&pix);
	stream = new_stream(idat, idat_len, "/FlateDecode", dict);
	lept_free(png);
	png = NULL;
	free(idat);
	idat = NULL;
	return stream;
}

/* Add one page of the image with its words */
static void
add_image_page(PIX *page, int page_no, qpdf_oh image, int orientation, qpdf_oh font)
{
	int			width = pixGetWidth(page);
	int			height = pixGetHeight(page);
	int			xdpi = credible_dpi(pixGetXRes(page), pixGetYRes(page));
	int			ydpi = credible_dpi(pixGetYRes(page), pixGetXRes(page));
	double		width_pt = width * 72.0 / xdpi;
	double		height_pt = height * 72.0 / ydpi;
	const LayerPage *words = pdf_words_page(request_words, page_no);
	LayerPage sized;
	double		m[6];
	char		syntax[512];
	qpdf_oh		contents,
				page_oh;

	json_free(&content);
	json_init(&content);
	orientation_matrix(orientation, width_pt, height_pt, m);
	json_appendf(&content, "q %.4f %.4f %.4f %.4f %.4f %.4f cm /Im0 Do Q\n", m[0], m[1], m[2], m[3], m[4], m[5]);
	/* the boxes are on the page as it was recognised: scaled from its size, whatever this decoding's */
	if (words != NULL)
	{
		sized = *words;
		if (sized.width == 0 || sized.height == 0)
		{
			sized.width = width;
			sized.height = height;
		}
		pdf_text_layer(&content, &sized, FONT_NAME, width_pt, height_pt, 0, 0, 0);
	}
	contents = new_stream(content.data, content.len, NULL, NULL);
	snprintf(syntax, sizeof(syntax),
			 "<< /Type /Page /MediaBox [0 0 %.2f %.2f] /Rotate %d /Resources << /XObject << >> /Font << >> >> >>",
			 width_pt, height_pt, words ? words->rotation : 0);
	page_oh = new_object(syntax, "/Resources/XObject", "/Im0", image, "/Resources/Font", "/" FONT_NAME, font);
	qpdf_oh_replace_key(pdf, page_oh, "/Contents", contents);
	qpdf_add_page(pdf, pdf, page_oh, QPDF_FALSE);
	check_qpdf("a page");
}

/* Whether the request's image is a PDF */
static bool
is_pdf(const unsigned char *image, size_t len)
{
	return len >= 5 && memcmp(image, "%PDF-", 5) == 0;
}

/* A new stream of text, compressed by qpdf on writing */
static qpdf_oh
text_stream(const char *text)
{
	return new_stream(text, strlen(text), NULL, NULL);
}

/*
 * Add the text layer of words to page number page_no of a submitted PDF:
 * its content wrapped in q ... Q so that its graphics state cannot move the
 * text, then the text, in the font added to its resources.  The words are
 * on the page as shown (its /Rotate applied), scaled to its crop box.
 */
static void
add_text_to_page(qpdf_oh page, const LayerPage *words, qpdf_oh font, int page_no)
{
	qpdf_oh		box = qpdf_oh_get_key(pdf, page, "/CropBox");
	qpdf_oh		contents = qpdf_oh_get_key(pdf, page, "/Contents");
	qpdf_oh		resources = qpdf_oh_get_key(pdf, page, "/Resources");
	qpdf_oh		fonts,
				list;
	LayerPage sized;
	double		b[4];
	qpdf_oh		rotate_oh = qpdf_oh_get_key(pdf, page, "/Rotate");
	int			rotate = qpdf_oh_is_number(pdf, rotate_oh) ? (int) qpdf_oh_get_numeric_value(pdf, rotate_oh) : 0;

	if (!qpdf_oh_is_array(pdf, box) || qpdf_oh_get_array_n_items(pdf, box) != 4)
		box = qpdf_oh_get_key(pdf, page, "/MediaBox");
	if (!qpdf_oh_is_array(pdf, box) || qpdf_oh_get_array_n_items(pdf, box) != 4)
		engine_fail("22P03", NULL, "page %d of the PDF has no valid MediaBox", page_no);
	for (int i = 0; i < 4; i++)
		b[i] = qpdf_oh_get_numeric_value(pdf, qpdf_oh_get_array_item(pdf, box, i));
	/* a box may be given by any two opposite corners */
	for (int i = 0; i < 2; i++)
		if (b[i] > b[i + 2])
		{
			double		t = b[i];

			b[i] = b[i + 2];
			b[i + 2] = t;
		}
	rotate = ((rotate % 360) + 360) % 360;
	if (rotate % 90 != 0)
		rotate = 0;			/* readers ignore such a /Rotate */
	if (b[2] - b[0] < 1 || b[3] - b[1] < 1)
		engine_fail("22P03", NULL, "page %d of the PDF is empty (its box is %.1f x %.1f points)",
					page_no, b[2] - b[0], b[3] - b[1]);

	/* words without their page's size are taken as points of the page as shown */
	sized = *words;
	if (sized.width == 0 || sized.height == 0)
	{
		sized.width = (int) (rotate % 180 ? b[3] - b[1] : b[2] - b[0]);
		sized.height = (int) (rotate % 180 ? b[2] - b[0] : b[3] - b[1]);
	}
	json_free(&content);
	json_init(&content);
	json_append(&content, "Q\n");
	pdf_text_layer(&content, &sized, FONT_NAME, b[2] - b[0], b[3] - b[1], rotate, b[0], b[1]);

	list = qpdf_oh_new_array(pdf);
	qpdf_oh_append_item(pdf, list, text_stream("q\n"));
	if (qpdf_oh_is_array(pdf, contents))
		for (int i = 0; i < qpdf_oh_get_array_n_items(pdf, contents); i++)
			qpdf_oh_append_item(pdf, list, qpdf_oh_get_array_item(pdf, contents, i));
	else if (qpdf_oh_is_stream(pdf, contents))
		qpdf_oh_append_item(pdf, list, contents);
	qpdf_oh_append_item(pdf, list, new_stream(content.data, content.len, NULL, NULL));
	qpdf_oh_replace_key(pdf, page, "/Contents", list);

	if (!qpdf_oh_is_dictionary(pdf, resources))
	{
		resources = qpdf_oh_new_dictionary(pdf);
		qpdf_oh_replace_key(pdf, page, "/Resources", resources);
	}
	fonts = qpdf_oh_get_key(pdf, resources, "/Font");
	if (!qpdf_oh_is_dictionary(pdf, fonts))
	{
		fonts = qpdf_oh_new_dictionary(pdf);
		qpdf_oh_replace_key(pdf, resources, "/Font", fonts);
	}
	qpdf_oh_replace_key(pdf, fonts, "/" FONT_NAME, font);
	qpdf_oh_replace_key(pdf, page, "/Rotate", qpdf_oh_new_integer(pdf, (rotate + words->rotation) % 360));
	check_qpdf("a page's text");
}

/* Add the words to the pages of the submitted PDF the request's image is; how many pages it has */
static int
add_text_to_pdf(const unsigned char *image, size_t len)
{
	qpdf_oh		font;
	int			n;

	if (qpdf_read_memory(pdf, "submitted.pdf", (const char *) image, len, NULL) & QPDF_ERRORS)
		engine_fail("22P03", "The file may be truncated, corrupt or encrypted with a password.",
					"the PDF could not be read: %s", qpdf_get_error_full_text(pdf, qpdf_get_error(pdf)));
	/* a page's box, rotation and resources may be its parent's: make them its own */
	qpdf_push_inherited_attributes_to_page(pdf);
	n = qpdf_get_num_pages(pdf);
	check_qpdf("the page tree");
	for (int i = 0; i < request_words->npages; i++)
		if (request_words->pages[i].page > n)
			engine_fail("22P02", NULL, "the words are of page %d, but the PDF has %d pages",
						request_words->pages[i].page, n);
	font = make_font();
	for (int i = 0; i < n; i++)
	{
		const LayerPage *words = pdf_words_page(request_words, i + 1);

		/* a page without words (one that kept its own text) stays as it is */
		if (words != NULL && words->nwords > 0)
			add_text_to_page(qpdf_get_page_n(pdf, (size_t) i), words, font, i + 1);
	}
	return n;
}

/*
 * Make the searchable PDF of a request's image (decoded into pages; format
 * and EXIF orientation as engine_decode_pages found them; pages NULL for a
 * PDF, which is not decoded) and words, as a JSON result: the facts, then
 * the file in base64.
 */
void
engine_make_pdf(const OcrRequest *req, const unsigned char *image, const char *words_data,
				PIXA *pages, int format, int orientation, JsonOut *out)
{
	double		start = engine_now();
	int			n = pages ? pixaGetCount(pages) : 0;
	const char *error = NULL;
	qpdf_oh		font = 0;
	size_t		size;
	int			with_words = 0;

	release_pdf();
	/* a PDF's pages are counted once it is read */
	request_words = pdf_words_parse(words_data, req->words_len, pages ? n : 1000000, &error);
	if (request_words == NULL)
		engine_fail("22P02", NULL, "%s", error);
	for (int i = 0; i < request_words->npages; i++)
		with_words += request_words->pages[i].nwords > 0;

	pdf = qpdf_init();
	/* errors are checked and reported here; a damaged PDF's warnings are noise in the server log */
	qpdf_silence_errors(pdf);
	qpdf_set_suppress_warnings(pdf, QPDF_TRUE);
	if (is_pdf(image, req->image_len))
		n = add_text_to_pdf(image, req->image_len);
	else
	{
		qpdf_empty_pdf(pdf);
		check_qpdf("a new file");
		font = make_font();
	}
	for (int i = 0; pages != NULL && i < n; i++)
	{
		PIX		   *page = pixaGetPix(pages, i, L_CLONE);
		qpdf_oh		image_oh;

		/* a one-page JPEG goes in as it came; anything else is encoded anew */
		if (format == IFF_JFIF_JPEG && n == 1)
			image_oh = jpeg_image(image, req->image_len);
		else if (pixGetDepth(page) == 1)
			image_oh = g4_image(page, i + 1);
		else
			image_oh = flate_image(page, i + 1);
		add_image_page(page, i + 1, image_oh, format == IFF_JFIF_JPEG ? orientation : 1, font);
		pixDestroy(&page);
		engine_send_progress((i + 1) * 100 / (n + 1));
	}

	qpdf_init_write_memory(pdf);
	/* the writer's settings, which qpdf_init_write_memory resets */
	qpdf_set_object_stream_mode(pdf, qpdf_o_generate);
	qpdf_set_compress_streams(pdf, QPDF_TRUE);
	/* streams as they are given: qpdf compresses the unfiltered ones and touches no other */
	qpdf_set_decode_level(pdf, qpdf_dl_none);
	/* the same image and words make the same file */
	qpdf_set_deterministic_ID(pdf, QPDF_TRUE);
	qpdf_write(pdf);
	check_qpdf("the file");
	size = qpdf_get_buffer_length(pdf);

	json_appendf(out, "{\"pages\":%d,\"pages_with_words\":%d,\"bytes\":%zu,\"seconds\":%.4f,\"pdf\":",
				 n, with_words, size, engine_now() - start);
	json_base64(out, qpdf_get_buffer(pdf), size);
	json_append(out, "}");
	release_pdf();
}
