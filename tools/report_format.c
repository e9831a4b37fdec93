/*
 * report_format.c — the report table (report.h) and its plain writers:
 * text through the one table printer (tools/table.h: display width, "…"),
 * CSV through node/csv.h's RFC 4180 writer, JSON one object a report
 * (`report all`: an array of them, cmd_report.c); and what every report
 * shares: dates as day numbers, rates in basis points, money in fen shown
 * as yuan, the union tree in report order.
 */
#include "report.h"
#include "csv.h"
#include "buf.h"
#include "error.h"
#include "idnum.h"
#include "json.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>

void rpt_init(rpt_table *t, const char *id, const rpt_col *cols, size_t ncol)
{
	memset(t, 0, sizeof *t);
	t->id = id;
	t->cols = cols;
	t->ncol = ncol;
	t->indent_col = -1;
}

int rpt_add(rpt_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		char **p = realloc(t->cells, cap * t->ncol * sizeof *p);
		if (!p)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		t->cells = p;
		t->cap = cap;
	}
	char **row = t->cells + t->nrows * t->ncol;
	for (size_t c = 0; c < t->ncol; c++) {
		row[c] = cells[c] && cells[c][0] ? strdup(cells[c]) : NULL;
		if (cells[c] && cells[c][0] && !row[c]) {
			while (c--)
				free(row[c]);
			return hj_error_set(HJ_ENOMEM, "out of memory");
		}
	}
	t->nrows++;
	return 0;
}

const char *rpt_cell(const rpt_table *t, size_t row, const char *key)
{
	if (row >= t->nrows)
		return NULL;
	for (size_t c = 0; c < t->ncol; c++)
		if (strcmp(t->cols[c].key, key) == 0)
			return t->cells[row * t->ncol + c] ? t->cells[row * t->ncol + c] : "";
	return NULL;
}

void rpt_free(rpt_table *t)
{
	for (size_t i = 0; t->cells && i < t->nrows * t->ncol; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

int rpt_write_text(FILE *f, const rpt_table *t)
{
	const char *head[CLI_TABLE_MAX_COLS + 1];
	size_t pick[CLI_TABLE_MAX_COLS], n = 0;
	int rc = 0, depth_col = -1;
	for (size_t c = 0; c < t->ncol; c++) {
		if (strcmp(t->cols[c].key, "depth") == 0)
			depth_col = (int)c;
		if (t->cols[c].head && n < CLI_TABLE_MAX_COLS) {
			pick[n] = c;
			head[n++] = t->cols[c].head;
		}
	}
	head[n] = NULL;
	cli_table *tab = cli_table_new(head);
	if (!tab)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (t->cols[pick[i]].num)
			cli_table_right(tab, i);
		if (strcmp(t->cols[pick[i]].key, "union") == 0 || strcmp(t->cols[pick[i]].key, "name") == 0 ||
		    strcmp(t->cols[pick[i]].key, "county") == 0)
			cli_table_max_width(tab, i, 24); /* a long name is cut, never pushes the row */
	}
	for (size_t r = 0; !rc && r < t->nrows; r++) {
		const char *cells[CLI_TABLE_MAX_COLS];
		char indented[200];
		for (size_t i = 0; i < n; i++) {
			cells[i] = t->cells[r * t->ncol + pick[i]];
			if ((int)pick[i] == t->indent_col && depth_col >= 0 && cells[i]) {
				const char *d = t->cells[r * t->ncol + (size_t)depth_col];
				int depth = d ? atoi(d) : 0;
				snprintf(indented, sizeof indented, "%*s%s", 2 * (depth < 8 ? depth : 8), "", cells[i]);
				cells[i] = indented;
			}
		}
		rc = cli_table_add(tab, cells);
	}
	if (!rc && t->title[0] && fprintf(f, "%s\n", t->title) < 0)
		rc = hj_error_set(HJ_ERROR, "cannot write the report");
	if (!rc)
		rc = cli_table_print(tab, f);
	cli_table_free(tab);
	return rc;
}

int rpt_write_csv(FILE *f, const rpt_table *t)
{
	hj_buf b = HJ_BUF_INIT;
	const char *row[64];
	int rc = 0;
	if (t->ncol > 64)
		return hj_error_set(HJ_EINVALID, "report: too many columns");
	for (size_t c = 0; c < t->ncol; c++)
		row[c] = t->cols[c].key;
	rc = hj_csv_put_row(&b, row, t->ncol) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
	for (size_t r = 0; !rc && r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncol; c++)
			row[c] = t->cells[r * t->ncol + c] ? t->cells[r * t->ncol + c] : "";
		if (hj_csv_put_row(&b, row, t->ncol))
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
	}
	if (!rc && b.len && fwrite(b.data, 1, b.len, f) != b.len)
		rc = hj_error_set(HJ_ERROR, "cannot write the report");
	hj_buf_free(&b);
	return rc;
}

/* A JSON string through the one JSON writer (node/json.h). */
static void json_str(hj_buf *b, const char *s)
{
	hj_json *v = hj_json_str(s);
	if (!v || hj_json_write(b, v))
		b->rc = HJ_ENOMEM;
	hj_json_free(v);
}

int rpt_write_json(FILE *f, const rpt_table *t)
{
	hj_buf b = HJ_BUF_INIT;
	int rc = 0;
	hj_buf_puts(&b, "{\"report\":");
	json_str(&b, t->id);
	hj_buf_puts(&b, ",\"title\":");
	json_str(&b, t->title);
	hj_buf_puts(&b, ",\"rows\":[");
	for (size_t r = 0; r < t->nrows; r++) {
		hj_buf_puts(&b, r ? ",{" : "{");
		for (size_t c = 0; c < t->ncol; c++) {
			const char *v = t->cells[r * t->ncol + c];
			if (c)
				hj_buf_puts(&b, ",");
			json_str(&b, t->cols[c].key);
			hj_buf_puts(&b, ":");
			if (!v)
				hj_buf_puts(&b, t->cols[c].num ? "null" : "\"\"");
			else if (t->cols[c].num)
				hj_buf_puts(&b, v); /* formatted by the report: digits, '-', '.' only */
			else
				json_str(&b, v);
		}
		hj_buf_puts(&b, "}");
	}
	hj_buf_puts(&b, "]}\n");
	if (b.rc || fwrite(b.data, 1, b.len, f) != b.len)
		rc = hj_error_set(b.rc ? HJ_ENOMEM : HJ_ERROR, "cannot write the report");
	hj_buf_free(&b);
	return rc;
}

/* Days from civil (Howard Hinnant's algorithm): proleptic Gregorian. */
int64_t rpt_days(const char *date)
{
	int y = 1970, m = 1, d = 1;
	hj_date_parse(date, &y, &m, &d);
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void rpt_date(char out[11], int64_t days)
{
	int y, m, d;
	hj_date_from_days(days, &y, &m, &d);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

void rpt_fmt_bp(char out[32], int64_t bp)
{
	snprintf(out, 32, "%s%lld.%02lld", bp < 0 ? "-" : "", (long long)(bp < 0 ? -bp : bp) / 100,
		 (long long)(bp < 0 ? -bp : bp) % 100);
}

int64_t rpt_rate_bp(int64_t members, int64_t est)
{
	if (est <= 0)
		return -1;
	return (members * 20000 + est) / (2 * est); /* half up */
}

void rpt_fmt_yuan(char out[32], int64_t fen)
{
	uint64_t a = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
	snprintf(out, 32, "%s%llu.%02llu", fen < 0 ? "-" : "", (unsigned long long)(a / 100),
		 (unsigned long long)(a % 100));
}

/* --- the union tree --- */

static const rpt_tree *sort_tree; /* qsort has no context; the CLI is single-threaded */
static int by_id_cmp(const void *a, const void *b)
{
	return strcmp(sort_tree->org[*(const int *)a].id, sort_tree->org[*(const int *)b].id);
}

typedef struct raw_org {
	char *id, *name, *kind, *parent;
} raw_org;

static int raw_cmp(const void *a, const void *b)
{
	return cli_natcmp(((const raw_org *)a)->id, ((const raw_org *)b)->id);
}

/* Append the children of `parent` (NULL: the roots) depth first. */
static void place(rpt_tree *t, raw_org *raw, size_t n, char *used, const char *parent, int pidx, int depth)
{
	for (size_t i = 0; i < n && depth < 32; i++) {
		if (used[i] || (parent ? !raw[i].parent || strcmp(raw[i].parent, parent) : raw[i].parent != NULL))
			continue;
		used[i] = 1;
		rpt_org *o = &t->org[t->n++];
		o->id = raw[i].id;
		o->name = raw[i].name;
		o->kind = raw[i].kind;
		o->parent = pidx;
		o->depth = depth;
		raw[i].id = raw[i].name = raw[i].kind = NULL; /* moved */
		place(t, raw, n, used, o->id, (int)(t->n - 1), depth + 1);
	}
}

int rpt_tree_load(rpt_tree *out, hj_db *db)
{
	raw_org *raw = NULL;
	size_t n = 0, cap = 0;
	char *used = NULL;
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT id, name, kind, parent FROM org");
	int rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(db, st)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			raw_org *p = realloc(raw, cap * sizeof *p);
			if (!p) {
				rc = hj_error_set(HJ_ENOMEM, "out of memory");
				break;
			}
			raw = p;
		}
		raw_org *r = &raw[n++];
		memset(r, 0, sizeof *r);
		rc = hj_db_col_dup(&r->id, st, 0) || hj_db_col_dup(&r->name, st, 1) || hj_db_col_dup(&r->kind, st, 2) ||
			     (sqlite3_column_type(st, 3) != SQLITE_NULL && hj_db_col_dup(&r->parent, st, 3))
			     ? hj_error_set(HJ_ENOMEM, "out of memory")
			     : 0;
	}
	hj_db_release(db, st);
	if (rc < 0)
		goto done;
	rc = 0;
	if (n) {
		qsort(raw, n, sizeof *raw, raw_cmp);
		out->org = calloc(n, sizeof *out->org);
		out->by_id = calloc(n, sizeof *out->by_id);
		used = calloc(n, 1);
		if (!out->org || !out->by_id || !used) {
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
			goto done;
		}
		place(out, raw, n, used, NULL, -1, 0);
		for (size_t i = 0; i < out->n; i++)
			out->by_id[i] = (int)i;
		sort_tree = out;
		qsort(out->by_id, out->n, sizeof *out->by_id, by_id_cmp);
	}
done:
	for (size_t i = 0; i < n; i++) {
		free(raw[i].id);
		free(raw[i].name);
		free(raw[i].kind);
		free(raw[i].parent);
	}
	free(raw);
	free(used);
	if (rc)
		rpt_tree_free(out);
	return rc;
}

void rpt_tree_free(rpt_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->org[i].id);
		free(t->org[i].name);
		free(t->org[i].kind);
	}
	free(t->org);
	free(t->by_id);
	memset(t, 0, sizeof *t);
}

int rpt_tree_find(const rpt_tree *t, const char *id)
{
	size_t lo = 0, hi = t->n;
	while (id && lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(t->org[t->by_id[mid]].id, id);
		if (!c)
			return t->by_id[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int regional(const char *kind)
{
	static const char *const k[] = {"province", "city", "county", "township", "community"};
	for (size_t i = 0; i < sizeof k / sizeof *k; i++)
		if (strcmp(kind, k[i]) == 0)
			return 1;
	return 0;
}

int rpt_tree_up(const rpt_tree *t, int a)
{
	return a >= 0 && regional(t->org[a].kind) ? t->org[a].parent : -1;
}

int rpt_tree_within(const rpt_tree *t, int a, int b)
{
	for (int i = a, k = 0; i >= 0 && k < 40; i = rpt_tree_up(t, i), k++)
		if (i == b)
			return 1;
	return 0;
}
