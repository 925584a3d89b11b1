/*
 * The OCR settings: image limits, the engine's resources, the cloud tier and
 * the ledger's prices.
 */
#include "base/pg_scribe.h"

#include <float.h>
#include <limits.h>

#include "utils/guc.h"
#include "utils/memutils.h"

#include "client/ocr_client.h"

int			scribe_max_image_bytes = 50 * 1024 * 1024;
int			scribe_max_image_pixels = 100 * 1000 * 1000;
int			scribe_max_image_pages = 100;
int			scribe_ocr_timeout = 120000;
int			scribe_ocr_cpu_limit = 300;
int			scribe_ocr_memory_limit = 2048;
int			scribe_ocr_threads = 1;
bool		scribe_ocr_detect_orientation = true;
char	   *scribe_tessdata_dir = SCRIBE_DEFAULT_TESSDATA_DIR;
char	   *scribe_ocr_cloud_url = NULL;
char	   *scribe_ocr_cloud_key = NULL;
int			scribe_ocr_cloud_timeout = 30000;
double		scribe_ocr_cost_local = 0.0001;
double		scribe_ocr_cost_cloud = 0.0015;

/* Define the OCR GUCs */
void
scribe_ocr_define_gucs(void)
{
	DefineCustomIntVariable("scribe.max_image_bytes",
							"Largest image OCR accepts, in bytes.",
							NULL,
							&scribe_max_image_bytes,
							50 * 1024 * 1024, 1024, MaxAllocSize / 2,
							PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.max_image_pixels",
							"Most pixels a page may have, read from its header before decoding.",
							"Guards against decompression bombs: a small file that decodes to gigabytes.",
							&scribe_max_image_pixels,
							100 * 1000 * 1000, 1, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.max_image_pages",
							"Most pages an image (a multi-page TIFF) may have.",
							NULL,
							&scribe_max_image_pages,
							100, 1, 10000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.ocr_timeout",
							"Time the OCR of one image may take before the engine is stopped.",
							"statement_timeout and a job's lease stop it too.",
							&scribe_ocr_timeout,
							120000, 100, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.ocr_cpu_limit",
							"CPU time the OCR engine may spend on one image (RLIMIT_CPU).",
							"0 removes the limit.",
							&scribe_ocr_cpu_limit,
							300, 0, 86400,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.ocr_memory_limit",
							"Address space of an OCR engine process (RLIMIT_AS), for engines started after a change.",
							NULL,
							&scribe_ocr_memory_limit,
							2048, 256, INT_MAX / 2,
							PGC_SUSET, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.ocr_threads",
							"OpenMP threads of an OCR engine (its OMP_THREAD_LIMIT), for engines started after a change.",
							"Debian's tesseract starts 4 threads whatever the core count; one thread per engine "
							"and one engine per worker use the cores best.",
							&scribe_ocr_threads,
							1, 1, 64,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("scribe.ocr_detect_orientation",
							 "Whether OCR turns pages that are sideways or upside down upright before recognising them.",
							 "Tesseract's orientation detection (the osd model) costs about 0.1-0.3 s a page; "
							 "a JPEG's EXIF orientation is honoured either way.",
							 &scribe_ocr_detect_orientation,
							 true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("scribe.ocr_tessdata_dir",
							   "Directory of tesseract's language models (*.traineddata).",
							   NULL,
							   &scribe_tessdata_dir,
							   SCRIBE_DEFAULT_TESSDATA_DIR,
							   PGC_SUSET, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomStringVariable("scribe.ocr_cloud_url",
							   "URL of the Google Vision images:annotate-compatible endpoint of the cloud tier.",
							   "Empty (the default) disables the cloud tier.",
							   &scribe_ocr_cloud_url,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomStringVariable("scribe.ocr_cloud_key",
							   "API key sent to the cloud tier's endpoint (as ?key=).",
							   NULL,
							   &scribe_ocr_cloud_key,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("scribe.ocr_cloud_timeout",
							"Time a cloud tier request may take before it counts as failed.",
							NULL,
							&scribe_ocr_cloud_timeout,
							30000, 100, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomRealVariable("scribe.ocr_cost_local",
							 "Cost recorded in the ledger for a page recognised locally.",
							 NULL,
							 &scribe_ocr_cost_local,
							 0.0001, 0, DBL_MAX,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("scribe.ocr_cost_cloud",
							 "Cost recorded in the ledger for a page recognised by the cloud tier.",
							 NULL,
							 &scribe_ocr_cost_cloud,
							 0.0015, 0, DBL_MAX,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
}
