/*
 * table.h — the one way huiji prints a table for people: a header row,
 * columns aligned by display width (a Chinese character takes two
 * columns), long cells cut with "…" so they never push the row, numbers
 * right-aligned, and ids sorted naturally (cz:2 before cz:10).
 */
#ifndef HJ_TABLE_H
#define HJ_TABLE_H

#include <stddef.h>
#include <stdio.h>

#define CLI_TABLE_MAX_COLS 16

/* Columns a string takes on a terminal: East Asian wide and fullwidth
 * characters 2, combining marks and zero-width characters 0, others 1;
 * bytes that are not UTF-8 count 1 each. */
size_t cli_display_width(const char *s);

/* Compare with runs of digits read as numbers ("cz:2:0" < "cz:10:0"),
 * otherwise byte order; a total order (ties broken by strcmp). */
int cli_natcmp(const char *a, const char *b);

typedef struct cli_table cli_table;

/* A table with these headers (NULL-terminated, at most CLI_TABLE_MAX_COLS).
 * NULL on OOM. */
cli_table *cli_table_new(const char *const *headers);
/* Widest a column may be (display columns, >= 2); longer cells are cut
 * at a character boundary and end in "…". 0 = no limit (the default). */
void cli_table_max_width(cli_table *t, size_t col, size_t width);
/* Align the column to the right (counts, money, rates). */
void cli_table_right(cli_table *t, size_t col);
/* One row: as many cells as headers; a NULL cell prints as "-". Copies
 * the strings. 0 or HJ_ENOMEM. */
int cli_table_add(cli_table *t, const char *const *cells);
/* Sort the rows by one column, naturally (cli_natcmp); equal cells are
 * ordered by the row's other columns, so the order is always the same. */
void cli_table_sort(cli_table *t, size_t col);
size_t cli_table_rows(const cli_table *t);
/* Print header and rows; 0 or HJ_ERROR when the stream failed. */
int cli_table_print(const cli_table *t, FILE *f);
void cli_table_free(cli_table *t);

#endif
