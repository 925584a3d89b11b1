/*
 * The OCR client: recognition of scanned pages by an engine process per
 * backend (ocr_engine.c), or by a cloud service (ocr_cloud.c).
 *
 * Glossary:
 *   engine     the pg_scribe_ocr process a backend or worker starts on its
 *              first OCR and keeps; tesseract and leptonica run only there
 *   probe      the header check of an image's bytes, in the backend, before
 *              anything decodes them
 *   tier       where a document is recognised: 'local' (the engine) or
 *              'cloud' (a Google Vision images:annotate-compatible service)
 *   ledger     scribe.ocr_ledger: one row per page recognised by the
 *              pipeline, with its method and cost
 *   PDF        opened, rendered and read only by the engine: the backend
 *              checks its "%PDF-" and its size, then asks the engine (a
 *              probe, OCR_PROBE) for its pages
 *   recompress converting an image's pages (gray, 1-bit, or as they are)
 *              and encoding them anew (PNG, TIFF G4, JPEG), in the engine:
 *              the archive's smaller copy of a scan
 *   searchable PDF  an image's pages with their recognised words as an
 *              invisible text layer, written by the engine (ocr_searchable_pdf.c)
 */
#ifndef SCRIBE_OCR_CLIENT_H
#define SCRIBE_OCR_CLIENT_H

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "client/image_probe.h"
#include "client/ocr_protocol.h"

/* Where Debian's tesseract-ocr-* packages put the language models */
#define SCRIBE_DEFAULT_TESSDATA_DIR "/usr/share/tesseract-ocr/5/tessdata"

typedef struct ScribeOcrOptions
{
	const char *lang;
	int			psm;
	uint32		flags;			/* OCR_PREPROCESS, OCR_WANT_* of ocr_protocol.h */
} ScribeOcrOptions;

/* Called with the percent done as the engine reports it */
typedef void (*ScribeOcrProgress) (int percent);

/* GUCs */
extern int	scribe_max_image_bytes;
extern int	scribe_max_image_pixels;
extern int	scribe_max_image_pages;
extern int	scribe_ocr_timeout;
extern int	scribe_ocr_cpu_limit;
extern int	scribe_ocr_memory_limit;
extern int	scribe_ocr_threads;
extern bool scribe_ocr_detect_orientation;
extern char *scribe_tessdata_dir;
extern char *scribe_ocr_cloud_url;
extern char *scribe_ocr_cloud_key;
extern int	scribe_ocr_cloud_timeout;
extern double scribe_ocr_cost_local;
extern double scribe_ocr_cost_cloud;

/* ocr_gucs.c */
extern void scribe_ocr_define_gucs(void);

/* ocr_image.c */
extern void scribe_ocr_check_image(const char *data, size_t len, ScribeImageInfo *info);

/* ocr_pdf.c */
extern List *scribe_ocr_pdf_probe(const char *data, size_t len, ScribeImageInfo *info);

/* ocr_engine.c */
extern Jsonb *scribe_ocr_engine_call(OcrRequest *request, const char *image, size_t len,
									ScribeOcrProgress progress);
extern Jsonb *scribe_ocr_engine_call_words(OcrRequest *request, const char *image, size_t len,
										  const char *words, size_t words_len, ScribeOcrProgress progress);
extern Jsonb *scribe_ocr_run(const char *image, size_t len, const ScribeOcrOptions *options,
							 ScribeOcrProgress progress);
extern void scribe_ocr_check_options(const char *lang, int psm);
extern List *scribe_ocr_installed_languages(void);
extern int	scribe_ocr_engine_pid(void);
extern JsonbValue *scribe_ocr_result_member(Jsonb *result, const char *key, enum jbvType type,
										   const char *what);
extern bytea *scribe_ocr_result_bytes(Jsonb *result, const char *key, const char *what);


/* ocr_searchable_pdf.c */
extern bytea *scribe_ocr_make_pdf(const char *image, size_t len, Jsonb *pages);

/* ocr_cloud.c */
extern Jsonb *scribe_ocr_cloud_run(const char *image, size_t len, const ScribeImageInfo *info,
								   const char *lang, char **error);

#endif							/* SCRIBE_OCR_CLIENT_H */
