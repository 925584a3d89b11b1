/*
 * The pipe protocol between a backend and its OCR engine process
 * (pg_scribe_ocr).  Both ends are built from this tree for the same machine,
 * so structs go over the pipe as they are, in native byte order.
 *
 * The backend writes one OcrRequest followed by image_len bytes of image
 * and words_len bytes of words (OCR_MAKE_PDF; see below);
 * the engine answers with frames (OcrFrame + payload): any number of
 * OCR_FRAME_PROGRESS, then exactly one OCR_FRAME_RESULT or OCR_FRAME_ERROR.
 * No PostgreSQL headers here: the engine does not link with the server.
 */
#ifndef SCRIBE_OCR_PROTOCOL_H
#define SCRIBE_OCR_PROTOCOL_H

#include <stdint.h>

#define OCR_PROTOCOL_MAGIC 0x53435242	/* "SCRB" */
#define OCR_PROTOCOL_VERSION 4

/* The engine's pipe ends, as file descriptors of the engine process */
#define OCR_ENGINE_REQUEST_FD 3
#define OCR_ENGINE_REPLY_FD 4

/* request flags */
#define OCR_PREPROCESS	0x01	/* grayscale, background normalisation, deskew, upscale */
#define OCR_WANT_WORDS	0x02
#define OCR_WANT_HOCR	0x04
#define OCR_WANT_TSV	0x08
#define OCR_SPLIT_PNG	0x10	/* no recognition: return each page as PNG (base64) */
#define OCR_TEXT_ONLY	0x20	/* the text is all the caller wants: no words in the result */
#define OCR_RECOMPRESS	0x40	/* no recognition: convert and re-encode the image (base64) */
#define OCR_ORIENT		0x80	/* detect pages turned 90, 180 or 270 degrees and turn them upright */
#define OCR_FORCE_OCR	0x100	/* a PDF: recognise every page, even those that carry a text layer */
#define OCR_PROBE		0x200	/* a PDF: no rendering, no recognition: its pages, encryption, text layers */
#define OCR_MAKE_PDF	0x400	/* no recognition: a searchable PDF of the image and its words (base64) */

/*
 * The words of an OCR_MAKE_PDF request, as the pipeline stored them: UTF-8
 * text, one record a line, fields separated by tabs, a page's words after
 * its page record, in reading order:
 *
 *   page <n> <width> <height> <rotation>
 *   word <line> <left> <top> <width> <height> <text>
 *
 * Boxes are in pixels of the page as submitted, width x height (the page's
 * size when it was recognised; the engine scales the boxes if it decodes the
 * page at another size; 0 x 0 if the size was not kept: the decoded
 * page's); words of one line share its number.  A page with
 * no page record gets no text.  Text holds no tab or newline.
 *
 * The image may be a PDF: its pages are kept, and each page with words gets
 * the text layer.  Its words are on the page as a viewer shows it (its
 * /Rotate applied), width x height covering its CropBox (else MediaBox),
 * as a renderer such as pdftoppm makes the page; 0 x 0: in points.
 */
#define OCR_MAX_WORDS_LEN (64 * 1024 * 1024)

/* What a recompression request converts each page to */
typedef enum OcrRecompressMode
{
	OCR_MODE_KEEP = 1,			/* the page's own depth */
	OCR_MODE_GRAY,				/* 8-bit grayscale */
	OCR_MODE_BW					/* 1-bit, binarized for text */
} OcrRecompressMode;

/* ... and the file format it encodes them in */
typedef enum OcrRecompressFormat
{
	OCR_FORMAT_PNG = 1,			/* one page */
	OCR_FORMAT_TIFF_G4,			/* CCITT G4, 1-bit pages only, any number of them */
	OCR_FORMAT_JPEG				/* one page, 8-bit gray or color */
} OcrRecompressFormat;

/* The name of a recompression mode as SQL spells it, NULL past the last */
static inline const char *
ocr_recompress_mode_name(uint32_t mode)
{
	switch (mode)
	{
		case OCR_MODE_KEEP:
			return "keep";
		case OCR_MODE_GRAY:
			return "gray";
		case OCR_MODE_BW:
			return "bw";
		default:
			return NULL;
	}
}

/* The name of a recompression format as SQL spells it, NULL past the last */
static inline const char *
ocr_recompress_format_name(uint32_t format)
{
	switch (format)
	{
		case OCR_FORMAT_PNG:
			return "png";
		case OCR_FORMAT_TIFF_G4:
			return "tiff_g4";
		case OCR_FORMAT_JPEG:
			return "jpeg";
		default:
			return NULL;
	}
}

/* Whether format can hold what mode makes of a page (keep: depending on the page) */
static inline int
ocr_recompress_fits(uint32_t mode, uint32_t format)
{
	return !(mode == OCR_MODE_GRAY && format == OCR_FORMAT_TIFF_G4) &&
		!(mode == OCR_MODE_BW && format == OCR_FORMAT_JPEG);
}

/* psm: the engine chooses the layout per page (engine_recognize.c) */
#define OCR_PSM_AUTO (-1)

#define OCR_LANG_MAX 128

typedef struct OcrRequest
{
	uint32_t	magic;
	uint32_t	version;
	uint32_t	flags;
	int32_t		psm;			/* tesseract page segmentation mode, or OCR_PSM_AUTO */
	uint32_t	max_pages;
	uint32_t	cpu_seconds;	/* CPU time this request may use; 0: unlimited */
	uint64_t	max_pixels;		/* after decoding, per page and after upscaling */
	char		lang[OCR_LANG_MAX];	/* "eng", "eng+deu" */
	uint32_t	recompress_mode;	/* OCR_RECOMPRESS: an OcrRecompressMode */
	uint32_t	recompress_format;	/* OCR_RECOMPRESS: an OcrRecompressFormat */
	uint32_t	jpeg_quality;	/* OCR_RECOMPRESS to JPEG: 1-100 */
	uint64_t	image_len;
	uint64_t	words_len;		/* OCR_MAKE_PDF: the words after the image */
} OcrRequest;

typedef enum OcrFrameType
{
	OCR_FRAME_PROGRESS = 1,		/* payload: int32_t percent */
	OCR_FRAME_RESULT,			/* payload: a JSON object, UTF-8 */
	OCR_FRAME_ERROR				/* payload: SQLSTATE (5 chars), NUL, message, NUL, hint, NUL */
} OcrFrameType;

typedef struct OcrFrame
{
	uint32_t	type;
	uint32_t	len;
} OcrFrame;

/* Largest frame the backend accepts from the engine */
#define OCR_MAX_FRAME (256 * 1024 * 1024)

#endif							/* SCRIBE_OCR_PROTOCOL_H */
