/*
 * csv.h — the one CSV reader and writer: a strict, bounded RFC 4180 reader
 * for the lists platforms and surveys hand over (UTF-8, optional BOM, or
 * GB18030/GBK as Excel saves it on Chinese Windows; CRLF, LF or CR; quoted
 * fields with "" escapes and embedded line breaks), and the writer huiji's
 * own CSV output (report --format csv) goes through.
 *
 * Every record is either returned or refused with the line it starts on;
 * reading always goes on, so one bad row never spoils the rest:
 *
 * - A record whose fields are well-formed but whose content is not (UTF-8
 *   that is not RFC 3629's: overlong, surrogate, beyond U+10FFFF,
 *   truncated; a NUL byte) is refused whole and reading goes on after it.
 * - A record that is malformed (a quote opened in the middle of an
 *   unquoted field, text after a closing quote, too many fields, over
 *   HJ_CSV_MAX_RECORD bytes) is refused by its starting line, and reading
 *   resynchronises at the line after that one: the lines it took in are
 *   read again as records of their own. A stray quote costs its own line.
 * - A quoted field may hold line breaks (RFC 4180 §2.6), but only within
 *   bounds, so a stray opening quote cannot take in the rows after it: at
 *   most `max_breaks` line breaks (HJ_CSV_MAX_BREAKS unless set lower
 *   with hj_csv_set_max_breaks), at most HJ_CSV_MAX_SPAN bytes once it
 *   holds a break, a closing
 *   quote before the end of the input, and no line wholly inside it that
 *   reads as a complete record by itself (no quote, and as many fields as
 *   the input's first record, when that has 2 or more). A field breaking
 *   one of these is malformed, as above: refused by its starting line,
 *   and the lines after it are read again.
 *
 * Encodings (hj_csv_open_enc with HJ_CSV_AUTO) are decided from the whole
 * input, never row by row, so a GBK row whose bytes happen to be valid
 * UTF-8 is still read as GBK:
 * - a UTF-8 byte-order mark: UTF-8;
 * - valid UTF-8 throughout: UTF-8, unless its non-ASCII characters are
 *   mostly U+0080..U+07FF (Latin, Greek, Cyrillic, Arabic letters: what
 *   GBK's Chinese turns into when read as UTF-8; U+00B7 · excepted) and
 *   the input also decodes as GB18030: then it is refused whole as
 *   ambiguous, naming both encodings (the caller forces one);
 * - not valid UTF-8, but at least half of its non-ASCII bytes form UTF-8
 *   sequences: UTF-8 with damaged rows (each refused by its line);
 * - otherwise GB18030 (a superset of GBK and GB2312), decoded with glibc's
 *   iconv; input that does not decode whole is refused whole, naming the
 *   line of the first byte GB18030 does not use.
 */
#ifndef HJ_CSV_H
#define HJ_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"

#define HJ_CSV_MAX_FIELDS 64
#define HJ_CSV_MAX_RECORD 65536 /* bytes: a row of a driver list is < 1 KiB */
#define HJ_CSV_MAX_BREAKS 8     /* line breaks in one quoted field: an address, not a page */
#define HJ_CSV_MAX_SPAN 4096    /* bytes of a quoted field that holds a line break */
#define HJ_CSV_MAX_INPUT (256u << 20) /* bytes: a province's list is ~100 MiB at most */

typedef enum hj_csv_encoding {
	HJ_CSV_AUTO = 0, /* decide from the whole input (above) */
	HJ_CSV_UTF8,
	HJ_CSV_GB18030,
} hj_csv_encoding;

typedef struct hj_csv hj_csv;

/* CONSTRUCTOR: hj_csv_close. Reads all of `f` (at most HJ_CSV_MAX_INPUT
 * bytes) as UTF-8; `f` stays the caller's. */
int hj_csv_open(hj_csv **out, FILE *f);

/* CONSTRUCTOR: hj_csv_close. As hj_csv_open, in encoding `enc` (AUTO:
 * detected, see above). HJ_EINVALID when the input is refused whole (the
 * message names the encoding and, where it can, the line); HJ_ETOOBIG
 * over the size limit. */
int hj_csv_open_enc(hj_csv **out, FILE *f, hj_csv_encoding enc);
void hj_csv_close(hj_csv *c);

/* The encoding the input was read in (never AUTO), and its name. */
hj_csv_encoding hj_csv_encoding_of(const hj_csv *c);
const char *hj_csv_encoding_name(hj_csv_encoding e);

/* Line breaks allowed inside one quoted field (0: none; default
 * HJ_CSV_MAX_BREAKS, at most that). */
void hj_csv_set_max_breaks(hj_csv *c, int n);

/* Read the next record. Returns 1 with *fields (borrowed until the next
 * call) and *n; 0 at end of input; HJ_EINVALID for a refused record (the
 * message says what is wrong and never quotes a field; call again to go
 * on). *line is the line the record starts on, in every case: callers
 * report it. Blank lines are skipped. */
int hj_csv_next(hj_csv *c, char ***fields, size_t *n, long *line);

/* The bytes of the record hj_csv_next last returned or refused, as read
 * (UTF-8 after decoding), without its final line break; a malformed one is
 * its starting line only (the rest is read again). Borrowed until the next
 * call. For a reject file a clerk can fix and import again. */
void hj_csv_raw(const hj_csv *c, const char **p, size_t *n);

/* Append one record of `n` fields to `out` (RFC 4180 §2): a field holding a
 * comma, a double quote, CR or LF is enclosed in double quotes, with each
 * quote inside doubled; any other field is written as it is (NULL is an
 * empty field). The record ends with LF, not RFC 4180's CRLF: Unix tools,
 * Python's csv module, spreadsheets and hj_csv_next all read LF, and the
 * unquoted rows stay byte for byte what huiji printed before. Returns 0 or
 * HJ_ENOMEM (out's sticky error). */
int hj_csv_put_row(hj_buf *out, const char *const *fields, size_t n);

#endif
