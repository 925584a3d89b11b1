/*
 * TODO(lead): a forwarding header for the files the "nodes" helper moves
 * into src/documents/ (kind_ocr.c, kind_ocr_remote.c): include
 * "base/spi_plans.h" there and delete this file.
 */
#include "base/spi_plans.h"
