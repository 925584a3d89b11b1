/*
 * OCR as a capability: the synchronous functions (ocr_sql.c) over the
 * client (client/ocr_client.h, whose glossary applies).  The counters of
 * the ledger's writer belong to the document pipeline (documents/documents.h).
 */
#ifndef SCRIBE_OCR_H
#define SCRIBE_OCR_H

#include "client/ocr_client.h"

#endif							/* SCRIBE_OCR_H */
