/*
 * Public C functions whose bodies are internal SQL functions, run as the
 * bootstrap superuser with facts about the caller (call_internal.c says
 * why: SECURITY DEFINER SQL cannot see its caller).
 */
#ifndef SCRIBE_CALL_INTERNAL_H
#define SCRIBE_CALL_INTERNAL_H

#include "fmgr.h"

extern Datum scribe_call_internal(FunctionCallInfo fcinfo, int nfacts, const Oid *fact_types,
								  const Datum *fact_values, const bool *fact_nulls);

#endif							/* SCRIBE_CALL_INTERNAL_H */
