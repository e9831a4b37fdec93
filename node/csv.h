/*
 * csv.h — the one CSV reader and writer: a strict, bounded RFC 4180 reader
 * for the lists platforms and surveys hand over (UTF-8, optional BOM, CRLF
 * or LF, quoted fields with "" escapes and embedded newlines), and the
 * writer huiji's own CSV output (report --format csv) goes through.
 *
 * A malformed record (an unterminated or misplaced quote, too many fields,
 * a record over the size limit, a NUL byte, UTF-8 that is not well-formed
 * by RFC 3629: overlong, surrogate, beyond U+10FFFF, truncated) is
 * reported with the line it starts on and skipped; reading goes on with
 * the next line, so one bad row never spoils the rest.
 */
#ifndef HJ_CSV_H
#define HJ_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"

#define HJ_CSV_MAX_FIELDS 64
#define HJ_CSV_MAX_RECORD 65536 /* bytes: a row of a driver list is < 1 KiB */

typedef struct hj_csv hj_csv;

/* CONSTRUCTOR: hj_csv_close. `f` stays the caller's. */
int hj_csv_open(hj_csv **out, FILE *f);
void hj_csv_close(hj_csv *c);

/* Read the next record. Returns 1 with *fields (borrowed until the next
 * call) and *n; 0 at end of input; HJ_EINVALID for a malformed record
 * (the message says what is wrong; call again to go on). *line is the line
 * the record starts on, in every case: callers report it. Blank lines are
 * skipped. */
int hj_csv_next(hj_csv *c, char ***fields, size_t *n, long *line);

/* Append one record of `n` fields to `out` (RFC 4180 §2): a field holding a
 * comma, a double quote, CR or LF is enclosed in double quotes, with each
 * quote inside doubled; any other field is written as it is (NULL is an
 * empty field). The record ends with LF, not RFC 4180's CRLF: Unix tools,
 * Python's csv module, spreadsheets and hj_csv_next all read LF, and the
 * unquoted rows stay byte for byte what huiji printed before. Returns 0 or
 * HJ_ENOMEM (out's sticky error). */
int hj_csv_put_row(hj_buf *out, const char *const *fields, size_t n);

#endif
