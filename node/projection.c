/*
 * projection.c — canonical rows, digest and row-by-row comparison of the
 * replicated tables.
 */
#include "projection.h"
#include "error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

const char *const hj_projection_tables[] = {
	"org", "node", "person", "membership", "transfer", "service", "service_point", "service_delivery", "survey",
	"target", NULL,
};
#define NTABLES 10 /* entries of hj_projection_tables before its NULL */

/* The v1 state digest (every hub entry of op version 1 signs one) covers
 * exactly these columns, in this order: the schema of 001_registry.sql as
 * it was when v1 entries were first signed. Frozen: a later migration that
 * adds a column must not change what an old entry's digest meant, so a new
 * column goes into a new digest version, never into this list. Indexed like
 * hj_projection_tables. */
static const char *const v1_columns[NTABLES] = {
	"id, name, kind, region, parent, created_op, updated_op",
	"id, pubkey, union_id, role, enrolled_op",
	"person_key, name, id_number, phone, plate, updated_op",
	"id, person_key, union_id, grp, channel, platform, status, applied_on, applied_by, decided_on, decided_by, "
	"reason, left_on",
	NULL, /* v1 has no transfer table, nor any later table */
};

/* The v3 state digest (hub entries decided under rules >= 3, rules.h):
 * v1's columns plus what 010_transfer.sql added. Frozen the same way. */
static const char *const v3_columns[NTABLES] = {
	"id, name, kind, region, parent, created_op, updated_op",
	"id, pubkey, union_id, role, enrolled_op",
	"person_key, name, id_number, phone, plate, updated_op",
	"id, person_key, union_id, grp, channel, platform, status, applied_on, applied_by, decided_on, decided_by, "
	"reason, left_on, joined_on, from_member",
	"id, kind, person_key, from_member, from_union, to_union, status, opened_on, opened_by, decided_on, "
	"decided_by, by_hub, to_member, snapshot",
};

/* The v4 state digest (rules >= 4): v3's, but a person row set by a
 * sealed op (person_seal.h) is digested by its commitment, not its fields,
 * so every node computes it whether or not it may open the seal. */
#define V4_SEALED(col) "CASE WHEN seal IS NULL THEN " col " END AS " col
static const char *const v4_columns[NTABLES] = {
	"id, name, kind, region, parent, created_op, updated_op",
	"id, pubkey, union_id, role, enrolled_op",
	"person_key, " V4_SEALED("name") ", " V4_SEALED("id_number") ", " V4_SEALED("phone") ", " V4_SEALED("plate")
	", updated_op, seal",
	"id, person_key, union_id, grp, channel, platform, status, applied_on, applied_by, decided_on, decided_by, "
	"reason, left_on, joined_on, from_member",
	"id, kind, person_key, from_member, from_union, to_union, status, opened_on, opened_by, decided_on, "
	"decided_by, by_hub, to_member, snapshot",
};

static void put_escaped(hj_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\t')
			hj_buf_puts(b, "\\t");
		else if (*s == '\n')
			hj_buf_puts(b, "\\n");
		else if (*s == '\\')
			hj_buf_puts(b, "\\\\");
		else
			hj_buf_put_u8(b, (uint8_t)*s);
	}
}

/* The v6 state digest (rules >= 6): v4's plus the services ledger
 * (017_services.sql) and the surveys and targets (018_coverage.sql).
 * Frozen the same way. */
static const char *const v6_columns[NTABLES] = {
	"id, name, kind, region, parent, created_op, updated_op",
	"id, pubkey, union_id, role, enrolled_op",
	"person_key, " V4_SEALED("name") ", " V4_SEALED("id_number") ", " V4_SEALED("phone") ", " V4_SEALED("plate")
	", updated_op, seal",
	"id, person_key, union_id, grp, channel, platform, status, applied_on, applied_by, decided_on, decided_by, "
	"reason, left_on, joined_on, from_member",
	"id, kind, person_key, from_member, from_union, to_union, status, opened_on, opened_by, decided_on, "
	"decided_by, by_hub, to_member, snapshot",
	"id, name, kind, provider, union_id, period, budget_fen, unit_fen, member_count, member_fen, created_op, "
	"updated_op",
	"id, name, kind, union_id, created_op",
	"id, service, member, person_key, union_id, point, on_date, period, amount_fen, by_node",
	"id, union_id, grp, on_date, estimated, source, op",
	"id, union_id, grp, by_date, rate_bp, op",
};

/* Rows with every column the schema has now (cols NULL), or a digest
 * version's frozen columns (a table whose entry is NULL is left out). */
static int rows_of(hj_db *db, const char *const *cols, hj_row_cb cb, void *ctx)
{
	hj_buf line = HJ_BUF_INIT;
	int rc = 0;
	for (int t = 0; hj_projection_tables[t] && !rc; t++) {
		const char *table = hj_projection_tables[t];
		char sql[320];
		/* Table and column names come from the fixed lists above, never
		 * from input; the first column of each table is its text primary
		 * key. */
		if (cols && !cols[t])
			continue;
		snprintf(sql, sizeof sql, "SELECT %s FROM %s ORDER BY 1", cols ? cols[t] : "*", table);
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
			rc = hj_db_error(db, "projection"); /* `line` is freed below */
			break;
		}
		int ncol = sqlite3_column_count(st);
		while (!rc && (rc = hj_db_step(db, st)) == 1) {
			hj_buf_reset(&line);
			hj_buf_puts(&line, table);
			for (int c = 0; c < ncol; c++) {
				hj_buf_printf(&line, "\t%s=", sqlite3_column_name(st, c));
				switch (sqlite3_column_type(st, c)) {
				case SQLITE_NULL:
					hj_buf_puts(&line, "\\N");
					break;
				case SQLITE_INTEGER:
					hj_buf_printf(&line, "%lld", (long long)sqlite3_column_int64(st, c));
					break;
				default: {
					/* Not NULL-typed, so NULL text is a failed conversion
					 * (out of memory): never digest "" in its place. */
					const unsigned char *text = sqlite3_column_text(st, c);
					if (text)
						put_escaped(&line, (const char *)text);
					else
						line.rc = HJ_ENOMEM;
				}
				}
			}
			if (line.rc) {
				rc = hj_error_set(HJ_ENOMEM, "out of memory");
				break;
			}
			rc = cb(ctx, table, hj_db_col_text(st, 0), (const char *)line.data);
		}
		sqlite3_finalize(st);
	}
	hj_buf_free(&line);
	return rc < 0 ? rc : 0;
}

int hj_projection_rows(hj_db *db, hj_row_cb cb, void *ctx)
{
	return rows_of(db, NULL, cb, ctx);
}

int hj_projection_rows_v1(hj_db *db, hj_row_cb cb, void *ctx)
{
	return rows_of(db, v1_columns, cb, ctx);
}

static int digest_row(void *ctx, const char *table, const char *key, const char *line)
{
	(void)table;
	(void)key;
	crypto_generichash_update(ctx, (const uint8_t *)line, strlen(line));
	crypto_generichash_update(ctx, (const uint8_t *)"\n", 1);
	return 0;
}

int hj_projection_digest_for(hj_db *db, uint32_t rules, uint8_t out[32])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	int rc = rows_of(db, rules >= 6 ? v6_columns : rules >= 4 ? v4_columns : rules >= 3 ? v3_columns : v1_columns, digest_row, &st);
	crypto_generichash_final(&st, out, 32);
	return rc;
}

int hj_projection_digest(hj_db *db, uint8_t out[32])
{
	return hj_projection_digest_for(db, 1, out);
}

/* All rows of one registry, kept for the merge-compare. */
typedef struct rowset {
	char **tables, **keys, **lines;
	size_t n, cap;
} rowset;

static int collect_row(void *ctx, const char *table, const char *key, const char *line)
{
	rowset *r = ctx;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 256;
		char **t = realloc(r->tables, cap * sizeof *t);
		if (t)
			r->tables = t;
		char **k = realloc(r->keys, cap * sizeof *k);
		if (k)
			r->keys = k;
		char **l = realloc(r->lines, cap * sizeof *l);
		if (l)
			r->lines = l;
		if (!t || !k || !l)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		r->cap = cap;
	}
	r->tables[r->n] = strdup(table);
	r->keys[r->n] = strdup(key);
	r->lines[r->n] = strdup(line);
	r->n++;
	if (!r->tables[r->n - 1] || !r->keys[r->n - 1] || !r->lines[r->n - 1])
		return hj_error_set(HJ_ENOMEM, "out of memory");
	return 0;
}

static void rowset_free(rowset *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->tables[i]);
		free(r->keys[i]);
		free(r->lines[i]);
	}
	free(r->tables);
	free(r->keys);
	free(r->lines);
}

static int table_rank(const char *t)
{
	for (int i = 0; hj_projection_tables[i]; i++)
		if (strcmp(hj_projection_tables[i], t) == 0)
			return i;
	return 99;
}

/* Name the columns whose values differ between two canonical lines. */
static void diff_columns(char *out, size_t outsz, const char *a, const char *b)
{
	size_t used = 0;
	out[0] = '\0';
	while (*a && *b) {
		const char *ea = strchr(a, '\t'), *eb = strchr(b, '\t');
		size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
		if (la != lb || memcmp(a, b, la) != 0) {
			const char *eq = memchr(a, '=', la);
			int n = eq ? (int)(eq - a) : (int)la;
			int w = snprintf(out + used, outsz - used, "%s%.*s", used ? ", " : "", n, a);
			if (w < 0 || (size_t)w >= outsz - used)
				return;
			used += (size_t)w;
		}
		a += la + (ea ? 1 : 0);
		b += lb + (eb ? 1 : 0);
	}
}

int hj_projection_compare(hj_db *a, const char *a_name, hj_db *b, const char *b_name)
{
	rowset ra = {0}, rb = {0};
	int rc = hj_projection_rows(a, collect_row, &ra);
	if (!rc)
		rc = hj_projection_rows(b, collect_row, &rb);
	size_t i = 0, j = 0;
	while (!rc && (i < ra.n || j < rb.n)) {
		int cmp;
		if (i == ra.n)
			cmp = 1;
		else if (j == rb.n)
			cmp = -1;
		else if (table_rank(ra.tables[i]) != table_rank(rb.tables[j]))
			cmp = table_rank(ra.tables[i]) - table_rank(rb.tables[j]);
		else
			cmp = strcmp(ra.keys[i], rb.keys[j]);
		if (cmp < 0) {
			rc = hj_error_set(HJ_ECONFLICT, "%s row %.20s: only in %s, not in %s",
					  ra.tables[i], ra.keys[i], a_name, b_name);
		} else if (cmp > 0) {
			rc = hj_error_set(HJ_ECONFLICT, "%s row %.20s: only in %s, not in %s",
					  rb.tables[j], rb.keys[j], b_name, a_name);
		} else if (strcmp(ra.lines[i], rb.lines[j]) != 0) {
			char cols[200];
			diff_columns(cols, sizeof cols, ra.lines[i], rb.lines[j]);
			rc = hj_error_set(HJ_ECONFLICT, "%s row %.20s: %s and %s differ in %s",
					  ra.tables[i], ra.keys[i], a_name, b_name, cols);
		}
		i++;
		j++;
	}
	rowset_free(&ra);
	rowset_free(&rb);
	return rc;
}

int hj_projection_clear(hj_db *db)
{
	/* Children first; defer_foreign_keys covers the org self-reference. */
	return hj_db_exec(db, "PRAGMA defer_foreign_keys = ON;"
			      "DELETE FROM target; DELETE FROM survey; DELETE FROM service_delivery; "
			      "DELETE FROM service_point; DELETE FROM service; DELETE FROM transfer; DELETE FROM membership; DELETE FROM person; DELETE FROM node; "
			      "DELETE FROM org;");
}
