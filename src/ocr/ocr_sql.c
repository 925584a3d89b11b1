/*
 * The synchronous OCR functions: scribe.ocr, scribe.ocr_detail,
 * scribe.ocr_pdf and scribe.image_info.
 */
#include "base/pg_scribe.h"

#include "access/htup_details.h"
#include "catalog/pg_type_d.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "ocr/ocr.h"

PG_FUNCTION_INFO_V1(scribe_ocr_text);
PG_FUNCTION_INFO_V1(scribe_ocr_detail);
PG_FUNCTION_INFO_V1(scribe_ocr_pdf);
PG_FUNCTION_INFO_V1(scribe_image_info);
PG_FUNCTION_INFO_V1(scribe_ocr_engine_pid_sql);
PG_FUNCTION_INFO_V1(scribe_ocr_languages);
PG_FUNCTION_INFO_V1(scribe_ocr_check_options_sql);

/*
 * Whether any of the first n arguments but psm (argument 2) is NULL: the
 * functions are not STRICT only so that a NULL psm can mean "automatic"
 */
static bool
ocr_args_null(FunctionCallInfo fcinfo, int n)
{
	for (int i = 0; i < n; i++)
		if (i != 2 && PG_ARGISNULL(i))
			return true;
	return false;
}

/*
 * Check and recognise the bytea argument 0 with the options of arguments
 * 1-3 (psm NULL: automatic), and force_ocr from argument force_arg (the last)
 */
static Jsonb *
ocr_from_args(FunctionCallInfo fcinfo, uint32 extra_flags, int force_arg)
{
	bytea	   *image = PG_GETARG_BYTEA_PP(0);
	ScribeOcrOptions options;
	ScribeImageInfo info;

	options.lang = text_to_cstring(PG_GETARG_TEXT_PP(1));
	options.psm = PG_ARGISNULL(2) ? OCR_PSM_AUTO : PG_GETARG_INT32(2);
	options.flags = (PG_GETARG_BOOL(3) ? OCR_PREPROCESS : 0) |
		(PG_NARGS() > force_arg && PG_GETARG_BOOL(force_arg) ? OCR_FORCE_OCR : 0) | extra_flags;
	/* an explicit psm must be one of tesseract's that recognise text (not -1: NULL is automatic) */
	scribe_ocr_check_options(options.lang, PG_ARGISNULL(2) ? 3 : options.psm);
	scribe_ocr_check_image(VARDATA_ANY(image), VARSIZE_ANY_EXHDR(image), &info);
	return scribe_ocr_run(VARDATA_ANY(image), VARSIZE_ANY_EXHDR(image), &options, NULL);
}

/* The "text" member of the engine's result */
static text *
ocr_result_text(Jsonb *result)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(&result->root, "text", strlen("text"), &v) == NULL ||
		v.type != jbvString)
		elog(ERROR, "the OCR engine returned no text");
	return cstring_to_text_with_len(v.val.string.val, v.val.string.len);
}

/* scribe.ocr(image, lang, psm, preprocess, force_ocr): the text of the image */
Datum
scribe_ocr_text(PG_FUNCTION_ARGS)
{
	Jsonb	   *result;

	if (ocr_args_null(fcinfo, PG_NARGS()))
		PG_RETURN_NULL();
	result = ocr_from_args(fcinfo, OCR_TEXT_ONLY, 4);

	PG_RETURN_TEXT_P(ocr_result_text(result));
}

/* scribe.ocr_detail(image, lang, psm, preprocess, words, hocr, tsv, force_ocr): the engine's full result */
Datum
scribe_ocr_detail(PG_FUNCTION_ARGS)
{
	uint32		flags;

	if (ocr_args_null(fcinfo, PG_NARGS()))
		PG_RETURN_NULL();
	flags = (PG_GETARG_BOOL(4) ? OCR_WANT_WORDS : 0) |
		(PG_GETARG_BOOL(5) ? OCR_WANT_HOCR : 0) |
		(PG_GETARG_BOOL(6) ? OCR_WANT_TSV : 0);

	PG_RETURN_JSONB_P(ocr_from_args(fcinfo, flags, 7));
}

/* scribe.ocr_pdf(image, lang, psm, preprocess, force_ocr): the searchable PDF of the image */
Datum
scribe_ocr_pdf(PG_FUNCTION_ARGS)
{
	bytea	   *image;
	Jsonb	   *result;
	JsonbValue *pages;

	if (ocr_args_null(fcinfo, PG_NARGS()))
		PG_RETURN_NULL();
	image = PG_GETARG_BYTEA_PP(0);
	result = ocr_from_args(fcinfo, OCR_WANT_WORDS, 4);
	pages = scribe_ocr_result_member(result, "pages", jbvBinary, "result");
	PG_RETURN_BYTEA_P(scribe_ocr_make_pdf(VARDATA_ANY(image), VARSIZE_ANY_EXHDR(image),
										  JsonbValueToJsonb(pages)));
}

/*
 * scribe.image_info(image): format, size, pages and resolution from the
 * header; a PDF's from the engine's probe (page 1 as it would be rendered)
 */
Datum
scribe_image_info(PG_FUNCTION_ARGS)
{
	bytea	   *image = PG_GETARG_BYTEA_PP(0);
	ScribeImageInfo info;
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {false};
	List	   *with_text = NIL;
	bool		pdf;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	scribe_ocr_check_image(VARDATA_ANY(image), VARSIZE_ANY_EXHDR(image), &info);
	pdf = info.format == IMAGE_PDF;
	if (pdf)
		with_text = scribe_ocr_pdf_probe(VARDATA_ANY(image), VARSIZE_ANY_EXHDR(image), &info);

	values[0] = CStringGetTextDatum(scribe_image_format_name(info.format));
	values[1] = Int32GetDatum((int32) info.width);
	values[2] = Int32GetDatum((int32) info.height);
	values[3] = Int32GetDatum((int32) info.pages);
	values[4] = Int32GetDatum(info.bits_per_pixel);
	/* a PDF's pages are rendered gray or in colour, page by page */
	nulls[4] = pdf;
	values[5] = Int32GetDatum((int32) info.x_dpi);
	nulls[5] = info.x_dpi == 0;
	values[6] = Int64GetDatum((int64) VARSIZE_ANY_EXHDR(image));
	/* 8 columns since 0.3.0: the older SQL's 7 until ALTER EXTENSION UPDATE */
	if (tupdesc->natts > 7)
	{
		Datum	   *pages = palloc(sizeof(Datum) * (list_length(with_text) + 1));
		int			n = 0;
		ListCell   *lc;

		foreach(lc, with_text)
			pages[n++] = Int32GetDatum(lfirst_int(lc));
		/* NULL for an image: only a PDF has a text layer */
		values[7] = pdf ? PointerGetDatum(construct_array(pages, n, INT4OID, sizeof(int32), true, TYPALIGN_INT)) : (Datum) 0;
		nulls[7] = !pdf;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* scribe._ocr_engine_pid(): this backend's OCR engine, NULL if none runs */
Datum
scribe_ocr_engine_pid_sql(PG_FUNCTION_ARGS)
{
	int			pid = scribe_ocr_engine_pid();

	if (pid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(pid);
}

/* scribe.ocr_languages(): the installed language models */
Datum
scribe_ocr_languages(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	foreach(lc, scribe_ocr_installed_languages())
	{
		Datum		value = CStringGetTextDatum(lfirst(lc));
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
	return (Datum) 0;
}

/* scribe._ocr_check_options(lang, psm): ERROR unless the engine would accept them */
Datum
scribe_ocr_check_options_sql(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the OCR language must not be NULL")));
	/* a NULL page segmentation mode is the automatic one */
	scribe_ocr_check_options(text_to_cstring(PG_GETARG_TEXT_PP(0)),
							 PG_ARGISNULL(1) ? 3 : PG_GETARG_INT32(1));
	PG_RETURN_VOID();
}
