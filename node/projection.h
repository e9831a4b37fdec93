/*
 * projection.h — the replicated tables as canonical rows: for the state
 * digest the hub publishes, for `verify` (live vs re-folded), and for the
 * convergence tests (county vs hub).
 *
 * A canonical row is one line "table\tcol=value\t..." with columns in
 * schema order, tables in a fixed order, rows in primary-key order, and
 * values escaped (\t \n \\, NULL as \N), so equal states give equal bytes.
 */
#ifndef HJ_PROJECTION_H
#define HJ_PROJECTION_H

#include "buf.h"
#include "db.h"

#include <stdint.h>

/* Replicated tables, in digest order. */
extern const char *const hj_projection_tables[];

/* Call cb(ctx, table, key, line) for every row. `line` holds no newline.
 * hj_projection_rows: every column the schema has now (what verify and the
 * convergence tests compare); hj_projection_rows_v1: the columns the v1
 * state digest covers, frozen in projection.c. */
typedef int (*hj_row_cb)(void *ctx, const char *table, const char *key, const char *line);
int hj_projection_rows(hj_db *db, hj_row_cb cb, void *ctx);
int hj_projection_rows_v1(hj_db *db, hj_row_cb cb, void *ctx);

/* The v1 state digest: BLAKE2b-256 over every v1 canonical row followed by
 * '\n'. A schema change never changes it (its columns are pinned). */
int hj_projection_digest(hj_db *db, uint8_t out[32]);

/* The state digest a hub entry decided under `rules` signs: v1's for rules
 * 1-2, v3's (v1's columns, the transfer table and the membership chain,
 * pinned too) from rules 3 on. */
int hj_projection_digest_for(hj_db *db, uint32_t rules, uint8_t out[32]);

/* Compare two registries row by row. 0 if equal; HJ_ECONFLICT with the
 * first difference described (table, key, and which columns; values of
 * personal columns are not shown). */
int hj_projection_compare(hj_db *a, const char *a_name, hj_db *b, const char *b_name);

/* Empty the projection tables of `db` (inside the caller's transaction). */
int hj_projection_clear(hj_db *db);

#endif
