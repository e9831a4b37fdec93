/*
 * csv_header.c — a list's header line mapped to the columns a command
 * knows, and the --encoding value (csv_header.h).
 */
#include "csv_header.h"
#include "buf.h"
#include "error.h"

#include <string.h>

/* "known: a, b, c" into b (sticky error: the caller checks b->rc). */
static void known_names(hj_buf *b, const char *const *names, size_t n)
{
	hj_buf_puts(b, "known: ");
	for (size_t k = 0; k < n; k++) {
		if (k)
			hj_buf_puts(b, ", ");
		hj_buf_puts(b, names[k]);
	}
}

static int find_name(const char *const *names, size_t n, const char *s)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(s, names[k]) == 0)
			return (int)k;
	return -1;
}

int hj_csv_header(int *col, hj_csv *c, const char *path, const char *const *names, size_t n, int ignore_unknown,
		  size_t *ignored, long *line_out)
{
	char **fields;
	size_t nf, known = 0;
	long line = 0;
	hj_buf kb = HJ_BUF_INIT;
	int rc;
	if (ignored)
		*ignored = 0;
	if ((rc = hj_csv_next(c, &fields, &nf, &line)) != 1) {
		rc = rc == 0 ? hj_error_set(HJ_EINVALID, "%s is empty: the first line must name the columns", path)
			     : hj_error_wrap(rc, "%s line %ld: ", path, line);
		goto done;
	}
	rc = 0;
	if (line_out)
		*line_out = line;
	known_names(&kb, names, n);
	if (kb.rc) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	const char *kn = (const char *)kb.data;
	for (size_t k = 0; k < n; k++)
		col[k] = -1;
	for (size_t i = 0; i < nf; i++)
		known += find_name(names, n, fields[i]) >= 0;
	if (!known) {
		rc = hj_error_set(HJ_EINVALID, "%s line %ld names no known column: is the header line missing? The "
				  "first line must name the columns (%s)", path, line, kn);
		goto done;
	}
	for (size_t i = 0; i < nf; i++) {
		int k = find_name(names, n, fields[i]);
		if (k < 0 && ignore_unknown) {
			if (ignored)
				(*ignored)++;
			continue;
		}
		if (k < 0) {
			rc = hj_error_set(HJ_EINVALID, "%s line %ld: column %zu: unknown column name (%s)", path, line,
					  i + 1, kn);
			goto done;
		}
		if (col[k] >= 0) {
			rc = hj_error_set(HJ_EINVALID, "%s line %ld: columns %d and %zu have the same name", path, line,
					  col[k] + 1, i + 1);
			goto done;
		}
		col[k] = (int)i;
	}
done:
	hj_buf_free(&kb);
	return rc;
}

int hj_csv_encoding_parse(hj_csv_encoding *out, const char *s)
{
	*out = HJ_CSV_AUTO;
	if (!s)
		return 0;
	if (strcmp(s, "utf-8") == 0 || strcmp(s, "utf8") == 0 || strcmp(s, "UTF-8") == 0)
		*out = HJ_CSV_UTF8;
	else if (strcmp(s, "gb18030") == 0 || strcmp(s, "GB18030") == 0 || strcmp(s, "gbk") == 0 || strcmp(s, "GBK") == 0)
		*out = HJ_CSV_GB18030; /* GB18030 is a superset of GBK */
	else
		return hj_error_set(HJ_EINVALID, "--encoding: utf-8 or gb18030");
	return 0;
}
