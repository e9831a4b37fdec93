/*
 * report.h — what the reports share: a report is a table of text cells
 * whose columns have a stable key (the CSV header, the JSON member, the
 * HTML cell's class); report_coverage.c, report_progress.c,
 * report_services.c and report_targets.c fill one, report_format.c
 * writes it as text, CSV or JSON and report_html.c as one HTML page with
 * its chart. Figures are computed in integers (members, basis points,
 * fen) and formatted once into the cells, so every format shows the
 * same digits.
 */
#ifndef HJ_REPORT_H
#define HJ_REPORT_H

#include "db.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct rpt_col {
	const char *key;  /* CSV header, JSON key, HTML class "c-<key>" */
	const char *head; /* the text table's header; NULL: not in the text table */
	int num;          /* a number: right-aligned, a JSON number (an empty cell: null) */
} rpt_col;

typedef struct rpt_table {
	const char *id;    /* "coverage", "progress", "services": the HTML table's id */
	char title[160];   /* what the page and the text say above it */
	const rpt_col *cols;
	size_t ncol;
	/* The text table indents this column's cell by the "depth" column
	 * (the union tree); -1 none. */
	int indent_col;
	char **cells; /* nrows * ncol, row-major; NULL = empty */
	size_t nrows, cap;
} rpt_table;

/* A table with these columns (borrowed, static). */
void rpt_init(rpt_table *t, const char *id, const rpt_col *cols, size_t ncol);
/* Append a row of ncol cells (copied; NULL = empty). 0 or HJ_ENOMEM. */
int rpt_add(rpt_table *t, const char *const *cells);
/* The cell of `row` in column `key`, "" when empty; NULL: no such column
 * or row. */
const char *rpt_cell(const rpt_table *t, size_t row, const char *key);
void rpt_free(rpt_table *t);

/* The writers: 0 or an error (HJ_ERROR when the stream failed). */
int rpt_write_text(FILE *f, const rpt_table *t);
int rpt_write_csv(FILE *f, const rpt_table *t);
/* One JSON object on one line: {"report":id,"title":...,"rows":[{key:cell}]} */
int rpt_write_json(FILE *f, const rpt_table *t);
/* One self-contained page (report_html.c) of the `n` tables, each with
 * its chart (inline SVG) and its table (id = the table's id). */
int rpt_write_html(FILE *f, const rpt_table *const *t, size_t n, const char *title);

/* The reports. `on`, `from`, `to`: YYYY-MM-DD / YYYY-MM, already checked. */
/* by: "group" (default), "union", "platform" or "channel". */
int rpt_coverage(rpt_table *out, hj_db *db, const char *on, const char *by);
int rpt_progress(rpt_table *out, hj_db *db, const char *from, const char *to);
int rpt_services(rpt_table *out, hj_db *db, const char *on);
/* The county x group report of the survey figures in a CSV file (as
 * before issue 9); ops-recorded surveys and targets (as of `on`) fill
 * the cells the file does not name. */
int rpt_targets_file(rpt_table *out, hj_db *db, const char *path, const char *on);

/* --- shared helpers (report_format.c) --- */
/* Days since 1970-01-01 of a checked YYYY-MM-DD. */
int64_t rpt_days(const char *date);
/* YYYY-MM-DD of days since 1970-01-01. */
void rpt_date(char out[11], int64_t days);
/* basis points as "62.50"; the rate members / estimate rounded half up
 * to a basis point, -1 when est is 0. */
void rpt_fmt_bp(char out[32], int64_t bp);
int64_t rpt_rate_bp(int64_t members, int64_t est);
/* fen as yuan "1234.50" (negative "-3.20"). */
void rpt_fmt_yuan(char out[32], int64_t fen);

/* The union tree in report order: depth first from the roots, children
 * in natural id order. */
typedef struct rpt_org {
	char *id, *name, *kind;
	int parent; /* index, -1 for a root */
	int depth;
} rpt_org;
typedef struct rpt_tree {
	rpt_org *org; /* in report order */
	size_t n;
	int *by_id;   /* indexes of org sorted by id (rpt_tree_find) */
} rpt_tree;
int rpt_tree_load(rpt_tree *out, hj_db *db);
void rpt_tree_free(rpt_tree *t);
/* Where a union's members count, besides at the union itself: a regional
 * union (community, township, county, city, province) counts in its
 * parent; an industry federation, platform or park union stands beside
 * the regional tree, its own row under its parent, counted there alone.
 * The next union up that counts org `a`'s members, -1 none. */
int rpt_tree_up(const rpt_tree *t, int a);
/* The same as SQL: the unions whose members a row of :u counts. */
#define RPT_COUNTED_SQL                                                                                          \
	"WITH RECURSIVE sub(id) AS (SELECT :u UNION SELECT o.id FROM org o JOIN sub ON o.parent = sub.id "      \
	"WHERE o.kind IN ('province', 'city', 'county', 'township', 'community')) "
/* Index of org `id`, -1 if none. */
int rpt_tree_find(const rpt_tree *t, const char *id);
/* Does a row of org b count the members of org a (rpt_tree_up)? */
int rpt_tree_within(const rpt_tree *t, int a, int b);

#endif
