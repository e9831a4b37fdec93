/*
 * table.c — tables for people (table.h): display width, natural order,
 * cutting with "…". Width follows Unicode's East Asian Width (W and F
 * ranges) closely enough for the names a union roll holds: CJK, kana,
 * Hangul, fullwidth forms and the common emoji blocks.
 */
#include "table.h"
#include "error.h"
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The code point of the well-formed sequence at p (n bytes). */
static uint32_t code_point(const unsigned char *p, size_t n)
{
	if (n == 1)
		return p[0];
	uint32_t c = p[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++)
		c = (c << 6) | (p[i] & 0x3f);
	return c;
}

static int char_width(uint32_t c)
{
	static const uint32_t zero[][2] = {
		{0x0300, 0x036f}, {0x200b, 0x200f}, {0x20d0, 0x20ff}, {0xfe00, 0xfe0f}, {0xfe20, 0xfe2f},
	};
	static const uint32_t wide[][2] = {
		{0x1100, 0x115f},   {0x2e80, 0x303e},	{0x3041, 0x33ff}, {0x3400, 0x4dbf}, {0x4e00, 0x9fff},
		{0xa000, 0xa4cf},   {0xac00, 0xd7a3},	{0xf900, 0xfaff}, {0xfe30, 0xfe4f}, {0xff00, 0xff60},
		{0xffe0, 0xffe6},   {0x1f300, 0x1f64f}, {0x1f900, 0x1f9ff}, {0x20000, 0x3fffd},
	};
	if (c < 0x20 || (c >= 0x7f && c < 0xa0))
		return 0;
	for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
		if (c >= zero[i][0] && c <= zero[i][1])
			return 0;
	for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
		if (c >= wide[i][0] && c <= wide[i][1])
			return 2;
	return 1;
}

/* Width of the character at p and its length in bytes (*len). */
static int step(const unsigned char *p, size_t *len)
{
	size_t n = *p < 0x80 ? 1 : hj_utf8_seq(p, 4);
	if (!n) { /* not UTF-8: one column per byte */
		*len = 1;
		return 1;
	}
	*len = n;
	return char_width(code_point(p, n));
}

size_t cli_display_width(const char *s)
{
	size_t w = 0, len;
	for (const unsigned char *p = (const unsigned char *)s; *p; p += len)
		w += (size_t)step(p, &len);
	return w;
}

int cli_natcmp(const char *a, const char *b)
{
	const char *pa = a, *pb = b;
	while (*pa && *pb) {
		if (*pa >= '0' && *pa <= '9' && *pb >= '0' && *pb <= '9') {
			const char *ea = pa, *eb = pb;
			while (*pa == '0')
				pa++;
			while (*pb == '0')
				pb++;
			for (ea = pa; *ea >= '0' && *ea <= '9'; ea++)
				;
			for (eb = pb; *eb >= '0' && *eb <= '9'; eb++)
				;
			if (ea - pa != eb - pb) /* more significant digits: larger */
				return ea - pa < eb - pb ? -1 : 1;
			int c = strncmp(pa, pb, (size_t)(ea - pa));
			if (c)
				return c;
			pa = ea;
			pb = eb;
			continue;
		}
		if (*pa != *pb)
			return (unsigned char)*pa < (unsigned char)*pb ? -1 : 1;
		pa++;
		pb++;
	}
	if (*pa || *pb)
		return *pa ? 1 : -1;
	return strcmp(a, b); /* "a01" and "a1": equal as numbers, still ordered */
}

struct cli_table {
	size_t ncols, nrows, cap;
	const char *head[CLI_TABLE_MAX_COLS];
	size_t max[CLI_TABLE_MAX_COLS];
	int right[CLI_TABLE_MAX_COLS];
	char **cells; /* nrows * ncols */
};

cli_table *cli_table_new(const char *const *headers)
{
	cli_table *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	while (t->ncols < CLI_TABLE_MAX_COLS && headers[t->ncols]) {
		t->head[t->ncols] = headers[t->ncols];
		t->ncols++;
	}
	return t;
}

void cli_table_max_width(cli_table *t, size_t col, size_t width)
{
	if (col < t->ncols)
		t->max[col] = width < 2 && width ? 2 : width;
}

void cli_table_right(cli_table *t, size_t col)
{
	if (col < t->ncols)
		t->right[col] = 1;
}

size_t cli_table_rows(const cli_table *t)
{
	return t->nrows;
}

int cli_table_add(cli_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 32;
		char **c = realloc(t->cells, cap * t->ncols * sizeof *c);
		if (!c)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		t->cells = c;
		t->cap = cap;
	}
	char **row = t->cells + t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		row[i] = strdup(cells[i] ? cells[i] : "-");
		if (!row[i]) {
			while (i--)
				free(row[i]);
			return hj_error_set(HJ_ENOMEM, "out of memory");
		}
	}
	t->nrows++;
	return 0;
}

static size_t sort_col, sort_ncols; /* qsort has no context argument; the CLI is single-threaded */
static int row_cmp(const void *a, const void *b)
{
	char *const *ra = a, *const *rb = b;
	int c = cli_natcmp(ra[sort_col], rb[sort_col]);
	for (size_t i = 0; !c && i < sort_ncols; i++) /* equal keys: the rest of the row decides */
		c = cli_natcmp(ra[i], rb[i]);
	return c;
}

void cli_table_sort(cli_table *t, size_t col)
{
	if (col >= t->ncols || t->nrows < 2)
		return;
	/* Rows are ncols pointers each: sort them as one block per row. */
	sort_col = col;
	sort_ncols = t->ncols;
	qsort(t->cells, t->nrows, t->ncols * sizeof *t->cells, row_cmp);
}

/* Print s in `width` columns, cut with "…" if it is wider than max. */
static int put_cell(FILE *f, const char *s, size_t width, size_t max, int right, int last)
{
	size_t w = cli_display_width(s), len, used = 0;
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	int cut = max && w > max;
	if (cut) { /* keep what fits in max - 1 columns, then "…" */
		for (end = p; *end; end += len) {
			int cw = step(end, &len);
			if (used + (size_t)cw > max - 1)
				break;
			used += (size_t)cw;
		}
		w = used + 1;
	}
	size_t pad = width > w ? width - w : 0;
	if (right && fprintf(f, "%*s", (int)pad, "") < 0)
		return -1;
	if (fwrite(p, 1, (size_t)(end - p), f) != (size_t)(end - p) || (cut && fputs("…", f) < 0))
		return -1;
	if (!right && !last && fprintf(f, "%*s", (int)pad, "") < 0)
		return -1;
	return 0;
}

int cli_table_print(const cli_table *t, FILE *f)
{
	size_t width[CLI_TABLE_MAX_COLS];
	for (size_t c = 0; c < t->ncols; c++) {
		width[c] = cli_display_width(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = cli_display_width(t->cells[r * t->ncols + c]);
			if (t->max[c] && w > t->max[c])
				w = t->max[c];
			if (w > width[c])
				width[c] = w;
		}
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = r ? t->cells[(r - 1) * t->ncols + c] : t->head[c];
			if ((c && fputs("  ", f) < 0) ||
			    put_cell(f, s, width[c], t->max[c], t->right[c], c + 1 == t->ncols) < 0)
				return hj_error_set(HJ_ERROR, "cannot write the table");
		}
		if (fputc('\n', f) < 0)
			return hj_error_set(HJ_ERROR, "cannot write the table");
	}
	return 0;
}

void cli_table_free(cli_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
