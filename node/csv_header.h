/*
 * csv_header.h — the columns of a list as its header line names them, and
 * the --encoding value, for every command that reads a clerk's or a
 * platform's list (import platform, compare roster). One place, so every
 * list is read with the same names, the same refusals and the same
 * messages.
 */
#ifndef HJ_CSV_HEADER_H
#define HJ_CSV_HEADER_H

#include "csv.h"

#include <stddef.h>

/* Read the first record of `c` as the header and map it: col[k] = the
 * field index of names[k], or -1 when the list has no such column; their
 * order is free. Refused (HJ_EINVALID, naming `path` and the line): an
 * empty input, a header naming none of `names` (the header line is
 * missing: its cells would be a person's), two columns of one name, and
 * a column not in `names` unless `ignore_unknown` (then counted in
 * *ignored, which may be NULL). Cells are named by position, never
 * quoted. *line (NULL allowed) is the header's line, for the caller's
 * own messages about required columns. */
int hj_csv_header(int *col, hj_csv *c, const char *path, const char *const *names, size_t n, int ignore_unknown,
		  size_t *ignored, long *line);

/* --encoding: NULL is HJ_CSV_AUTO; utf-8 (utf8, UTF-8) or gb18030
 * (GB18030, gbk, GBK: GB18030 is a superset of GBK); anything else is
 * HJ_EINVALID naming the valid ones. */
int hj_csv_encoding_parse(hj_csv_encoding *out, const char *s);

#endif
