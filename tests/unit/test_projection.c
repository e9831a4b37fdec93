/*
 * test_projection.c — node/projection.c: the replicated tables as
 * canonical rows, their digest, and the row-by-row comparison.
 *
 * Rows are written straight into scratch registries (hj_scratch_open), so
 * every column can hold what a test needs: the exact canonical line
 * (escaping of tab, newline and backslash, NULL as \N), the fixed table
 * order and primary-key row order, a digest that changes with any column
 * of any replicated table (found from the schema, so a new column is
 * covered too) and with nothing else, and hj_projection_compare naming
 * table, key and columns but never a personal value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "envelope.h"
#include "error.h"
#include "projection.h"
#include "rules.h"
#include "support.h"
#include "verify.h"

#define PKEY "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IDNO "630102199001011234"

/* Run SQL with ?1..?n bound to the given texts (NULL binds SQL NULL). */
static void sql(hj_db *db, const char *text, int n, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	if (sqlite3_prepare_v2(db->h, text, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", text, sqlite3_errmsg(db->h));
	va_start(ap, n);
	for (int i = 1; i <= n; i++) {
		const char *v = va_arg(ap, const char *);
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	}
	va_end(ap);
	if (sqlite3_step(st) != SQLITE_DONE)
		fail_msg("%s: %s", text, sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
}

/* One row in each replicated table, every column non-NULL. */
static void fill(hj_db *db)
{
	sql(db, "INSERT INTO org VALUES ('qh', '青海省总工会', 'province', '63', NULL, 'hub:1:0', NULL)", 0);
	sql(db, "INSERT INTO org VALUES ('qh-xn', '西宁市总工会', 'city', '6301', 'qh', 'hub:2:0', 'hub:3:0')", 0);
	sql(db, "INSERT INTO node VALUES ('cz', ?1, 'qh-xn', 'union', 'hub:2:1')", 1, PKEY);
	sql(db, "INSERT INTO person(person_key, name, id_number, phone, plate, updated_op) VALUES (?1, '张三', ?2, '13800000001', '青A12345', 'cz:1:0')", 2, PKEY, IDNO);
	sql(db, "INSERT INTO membership VALUES ('cz:1:0', ?1, 'qh-xn', 'truck_driver', 'mobile_window', 'yunmanman', "
		"'active', '2024-03-01', 'cz', '2024-03-05', 'cz', 'ok', '2024-06-01', '2024-03-05', 'hd:1:0')", 1, PKEY);
	sql(db, "INSERT INTO transfer VALUES ('cz:2:0', 'hand_down', ?1, 'cz:1:0', 'qh-xn', 'qh-xn-a', 'accepted', "
		"'2024-05-01', 'cz', '2024-05-01', 'cz', 0, 'cz:2:0', '{}')", 1, PKEY);
	sql(db, "INSERT INTO service VALUES ('acc-2024', '意外险', 'accident_insurance', '人保', 'qh-xn', 'year', "
		"1000000, 5000, 1, 5000, 'hub:4:0', 'hub:5:0')", 0);
	sql(db, "INSERT INTO service_point VALUES ('home-1', '司机之家', 'driver_home', 'qh-xn', 'hub:4:1')", 0);
	sql(db, "INSERT INTO service_delivery VALUES ('cz:3:0', 'acc-2024', 'cz:1:0', ?1, 'qh-xn', 'home-1', "
		"'2024-04-01', '2024', 5000, 'cz')", 1, PKEY);
	sql(db, "INSERT INTO survey VALUES ('qh-xn/truck_driver/2024-01-01', 'qh-xn', 'truck_driver', '2024-01-01', "
		"900, 'transport_dept', 'hub:6:0')", 0);
	sql(db, "INSERT INTO target VALUES ('qh-xn/truck_driver/2024-12-31', 'qh-xn', 'truck_driver', '2024-12-31', "
		"6250, 'hub:6:1')", 0);
}

/* The digest of today's rules (v3: every column the schema has). */
static void digest_now(hj_db *db, uint8_t out[32])
{
	assert_int_equal(hj_projection_digest_for(db, HJ_RULES_VERSION, out), 0);
}

static hj_db *scratch(void)
{
	hj_db *db = NULL;
	assert_int_equal(hj_scratch_open(&db), 0);
	return db;
}

typedef struct rows {
	hj_buf all;  /* "table|key|line\n" per row */
	int n;
} rows;

static int collect(void *ctx, const char *table, const char *key, const char *line)
{
	rows *r = ctx;
	assert_null(strchr(line, '\n'));
	hj_buf_printf(&r->all, "%s|%s|%s\n", table, key, line);
	r->n++;
	return 0;
}

static void test_tables(void **state)
{
	(void)state;
	static const char *const want[] = {"org",	    "node",    "person",	"membership",
					   "transfer",	    "service", "service_point", "service_delivery",
					   "survey",	    "target",  NULL};
	for (int i = 0; want[i] || hj_projection_tables[i]; i++) {
		assert_non_null(want[i]);
		assert_non_null(hj_projection_tables[i]);
		assert_string_equal(hj_projection_tables[i], want[i]);
	}
}

/* The exact line: columns in schema order, \t \n \\ escaped, NULL as \N,
 * and the text "\N" kept apart from NULL. */
static void test_canonical_row(void **state)
{
	(void)state;
	hj_db *db = scratch();
	rows r = {HJ_BUF_INIT, 0};
	sql(db, "INSERT INTO org VALUES ('a', ?1, 'province', NULL, NULL, 'op:1:0', ?2)", 2,
	    "x\ty\nz\\w\r!", "\\N");
	assert_int_equal(hj_projection_rows(db, collect, &r), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal((const char *)r.all.data,
			    "org|a|org\tid=a\tname=x\\ty\\nz\\\\w\r!\tkind=province\tregion=\\N\tparent=\\N"
			    "\tcreated_op=op:1:0\tupdated_op=\\\\N\n");
	hj_buf_free(&r.all);

	/* Every table's line, in schema column order. */
	hj_db_exec(db, "DELETE FROM org");
	fill(db);
	r = (rows){HJ_BUF_INIT, 0};
	assert_int_equal(hj_projection_rows(db, collect, &r), 0);
	assert_string_equal((const char *)r.all.data,
		"org|qh|org\tid=qh\tname=青海省总工会\tkind=province\tregion=63\tparent=\\N\tcreated_op=hub:1:0\tupdated_op=\\N\n"
		"org|qh-xn|org\tid=qh-xn\tname=西宁市总工会\tkind=city\tregion=6301\tparent=qh\tcreated_op=hub:2:0\tupdated_op=hub:3:0\n"
		"node|cz|node\tid=cz\tpubkey=" PKEY "\tunion_id=qh-xn\trole=union\tenrolled_op=hub:2:1\n"
		"person|" PKEY "|person\tperson_key=" PKEY "\tname=张三\tid_number=" IDNO "\tphone=13800000001\tplate=青A12345"
		"\tupdated_op=cz:1:0\tseal=\\N\n"
		"membership|cz:1:0|membership\tid=cz:1:0\tperson_key=" PKEY "\tunion_id=qh-xn\tgrp=truck_driver"
		"\tchannel=mobile_window\tplatform=yunmanman\tstatus=active\tapplied_on=2024-03-01\tapplied_by=cz"
		"\tdecided_on=2024-03-05\tdecided_by=cz\treason=ok\tleft_on=2024-06-01\tjoined_on=2024-03-05\tfrom_member=hd:1:0\n"
		"transfer|cz:2:0|transfer\tid=cz:2:0\tkind=hand_down\tperson_key=" PKEY "\tfrom_member=cz:1:0"
		"\tfrom_union=qh-xn\tto_union=qh-xn-a\tstatus=accepted\topened_on=2024-05-01\topened_by=cz"
		"\tdecided_on=2024-05-01\tdecided_by=cz\tby_hub=0\tto_member=cz:2:0\tsnapshot={}\n"
		"service|acc-2024|service\tid=acc-2024\tname=意外险\tkind=accident_insurance\tprovider=人保\tunion_id=qh-xn"
		"\tperiod=year\tbudget_fen=1000000\tunit_fen=5000\tmember_count=1\tmember_fen=5000\tcreated_op=hub:4:0"
		"\tupdated_op=hub:5:0\n"
		"service_point|home-1|service_point\tid=home-1\tname=司机之家\tkind=driver_home\tunion_id=qh-xn"
		"\tcreated_op=hub:4:1\n"
		"service_delivery|cz:3:0|service_delivery\tid=cz:3:0\tservice=acc-2024\tmember=cz:1:0\tperson_key=" PKEY
		"\tunion_id=qh-xn\tpoint=home-1\ton_date=2024-04-01\tperiod=2024\tamount_fen=5000\tby_node=cz\n"
		"survey|qh-xn/truck_driver/2024-01-01|survey\tid=qh-xn/truck_driver/2024-01-01\tunion_id=qh-xn"
		"\tgrp=truck_driver\ton_date=2024-01-01\testimated=900\tsource=transport_dept\top=hub:6:0\n"
		"target|qh-xn/truck_driver/2024-12-31|target\tid=qh-xn/truck_driver/2024-12-31\tunion_id=qh-xn"
		"\tgrp=truck_driver\tby_date=2024-12-31\trate_bp=6250\top=hub:6:1\n");
	hj_buf_free(&r.all);
	hj_db_close(db);
}

/* Tables in the fixed order, rows in primary-key order, whatever order
 * they were written in. */
static void test_order(void **state)
{
	(void)state;
	hj_db *db = scratch();
	rows r = {HJ_BUF_INIT, 0};
	assert_int_equal(hj_db_exec(db, "PRAGMA foreign_keys = OFF"), 0);
	sql(db, "INSERT INTO membership VALUES ('m2', 'k', 'u', 'courier', 'transfer', NULL, 'applied', 'd', 'n', "
		"NULL, NULL, NULL, NULL, NULL, NULL)", 0);
	sql(db, "INSERT INTO membership VALUES ('m1', 'k', 'u', 'courier', 'transfer', NULL, 'left', 'd', 'n', "
		"NULL, NULL, NULL, NULL, NULL, NULL)", 0);
	sql(db, "INSERT INTO person(person_key, name, id_number, phone, plate, updated_op) VALUES ('pb', 'n', 'i', NULL, NULL, 'o')", 0);
	sql(db, "INSERT INTO person(person_key, name, id_number, phone, plate, updated_op) VALUES ('pa', 'n', 'i', NULL, NULL, 'o')", 0);
	sql(db, "INSERT INTO node VALUES ('nb', 'k', 'u', 'hub', 'o')", 0);
	sql(db, "INSERT INTO node VALUES ('na', 'k', 'u', 'hub', 'o')", 0);
	sql(db, "INSERT INTO org VALUES ('ob', 'n', 'city', NULL, NULL, 'o', NULL)", 0);
	sql(db, "INSERT INTO org VALUES ('oa', 'n', 'city', NULL, NULL, 'o', NULL)", 0);
	sql(db, "INSERT INTO org VALUES ('o-', 'n', 'city', NULL, NULL, 'o', NULL)", 0);
	assert_int_equal(hj_projection_rows(db, collect, &r), 0);
	char *s = (char *)r.all.data, keys[200] = "";
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
		char *bar = strchr(line, '|');
		*strchr(bar + 1, '|') = '\0';
		strcat(keys, line);
		strcat(keys, " ");
	}
	assert_string_equal(keys, "org|o- org|oa org|ob node|na node|nb person|pa person|pb membership|m1 membership|m2 ");
	hj_buf_free(&r.all);
	hj_db_close(db);
}

/* BLAKE2b-256 over each canonical line followed by '\n'. */
static void test_digest_definition(void **state)
{
	(void)state;
	hj_db *db = scratch();
	uint8_t got[32], want[32];
	/* Nothing: the hash of no bytes. */
	digest_now(db, got);
	crypto_generichash(want, 32, NULL, 0, NULL, 0);
	assert_memory_equal(got, want, 32);
	fill(db);
	rows r = {HJ_BUF_INIT, 0};
	assert_int_equal(hj_projection_rows(db, collect, &r), 0);
	/* Strip the "table|key|" prefixes the collector added. */
	hj_buf lines = HJ_BUF_INIT;
	for (char *line = strtok((char *)r.all.data, "\n"); line; line = strtok(NULL, "\n")) {
		char *p = strchr(strchr(line, '|') + 1, '|') + 1;
		hj_buf_printf(&lines, "%s\n", p);
	}
	crypto_generichash(want, 32, lines.data, lines.len, NULL, 0);
	digest_now(db, got);
	assert_memory_equal(got, want, 32);
	hj_buf_free(&r.all);
	hj_buf_free(&lines);

	/* Local tables and seed data are not part of it. */
	assert_int_equal(hj_meta_set(db, "node_id", "x"), 0);
	sql(db, "INSERT INTO undo VALUES (1, x'00')", 0);
	sql(db, "INSERT INTO worker_group VALUES ('pilot', '飞行员', 'pilot', 0, 99)", 0);
	digest_now(db, want);
	assert_memory_equal(got, want, 32);

	/* Rows written in another order: the same digest. */
	hj_db *b = scratch();
	assert_int_equal(hj_db_exec(b, "PRAGMA foreign_keys = OFF"), 0);
	sql(b, "INSERT INTO membership VALUES ('cz:1:0', ?1, 'qh-xn', 'truck_driver', 'mobile_window', "
	       "'yunmanman', 'active', '2024-03-01', 'cz', '2024-03-05', 'cz', 'ok', '2024-06-01', '2024-03-05', "
	       "'hd:1:0')", 1, PKEY);
	sql(b, "INSERT INTO transfer VALUES ('cz:2:0', 'hand_down', ?1, 'cz:1:0', 'qh-xn', 'qh-xn-a', 'accepted', "
	       "'2024-05-01', 'cz', '2024-05-01', 'cz', 0, 'cz:2:0', '{}')", 1, PKEY);
	sql(b, "INSERT INTO person(person_key, name, id_number, phone, plate, updated_op) VALUES (?1, '张三', ?2, '13800000001', '青A12345', 'cz:1:0')", 2, PKEY, IDNO);
	sql(b, "INSERT INTO target VALUES ('qh-xn/truck_driver/2024-12-31', 'qh-xn', 'truck_driver', '2024-12-31', "
	       "6250, 'hub:6:1')", 0);
	sql(b, "INSERT INTO survey VALUES ('qh-xn/truck_driver/2024-01-01', 'qh-xn', 'truck_driver', '2024-01-01', "
	       "900, 'transport_dept', 'hub:6:0')", 0);
	sql(b, "INSERT INTO service_delivery VALUES ('cz:3:0', 'acc-2024', 'cz:1:0', ?1, 'qh-xn', 'home-1', "
	       "'2024-04-01', '2024', 5000, 'cz')", 1, PKEY);
	sql(b, "INSERT INTO service_point VALUES ('home-1', '司机之家', 'driver_home', 'qh-xn', 'hub:4:1')", 0);
	sql(b, "INSERT INTO service VALUES ('acc-2024', '意外险', 'accident_insurance', '人保', 'qh-xn', 'year', "
	       "1000000, 5000, 1, 5000, 'hub:4:0', 'hub:5:0')", 0);
	sql(b, "INSERT INTO node VALUES ('cz', ?1, 'qh-xn', 'union', 'hub:2:1')", 1, PKEY);
	sql(b, "INSERT INTO org VALUES ('qh-xn', '西宁市总工会', 'city', '6301', 'qh', 'hub:2:0', 'hub:3:0')", 0);
	sql(b, "INSERT INTO org VALUES ('qh', '青海省总工会', 'province', '63', NULL, 'hub:1:0', NULL)", 0);
	digest_now(b, want);
	assert_memory_equal(got, want, 32);
	assert_int_equal(hj_projection_compare(db, "a", b, "b"), 0);
	hj_db_close(b);
	hj_db_close(db);
}

/* Change any one column of any replicated table — to another value, or
 * to NULL where allowed — and the digest changes. The columns come from
 * the schema itself. */
static void test_digest_covers_every_column(void **state)
{
	(void)state;
	hj_db *db = scratch();
	uint8_t base[32], d[32];
	int checked = 0;
	fill(db);
	/* Constraints are not what this test is about: an org kind or a
	 * person key may point nowhere here. */
	assert_int_equal(hj_db_exec(db, "PRAGMA foreign_keys = OFF"), 0);
	digest_now(db, base);
	for (int t = 0; hj_projection_tables[t]; t++) {
		const char *table = hj_projection_tables[t];
		char q[200], pk[80], *key;
		sqlite3_stmt *cols = NULL;
		snprintf(q, sizeof q, "SELECT name, \"notnull\" FROM pragma_table_info('%s') ORDER BY cid", table);
		assert_int_equal(sqlite3_prepare_v2(db->h, q, -1, &cols, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(cols), SQLITE_ROW);
		snprintf(pk, sizeof pk, "%s", (const char *)sqlite3_column_text(cols, 0));
		snprintf(q, sizeof q, "SELECT %s FROM %s ORDER BY 1 DESC LIMIT 1", pk, table);
		key = ut_text(db, q, NULL);
		assert_non_null(key);
		do {
			const char *col = (const char *)sqlite3_column_text(cols, 0);
			int notnull = sqlite3_column_int(cols, 1);
			/* CHECK-constrained columns get another allowed value. */
			const char *alt = strcmp(col, "role") == 0     ? "auditor"
					  : strcmp(col, "kind") == 0 && strcmp(table, "transfer") == 0 ? "offer"
					  : strcmp(col, "kind") == 0 && strcmp(table, "service_point") == 0 ? "office"
					  : strcmp(col, "period") == 0 && strcmp(table, "service") == 0 ? "month"
					  : strcmp(col, "source") == 0 ? "platform"
					  : strcmp(col, "rate_bp") == 0 ? "1"
					  : strcmp(col, "status") == 0 ? (strcmp(table, "transfer") == 0 ? "open" : "rejected")
					  : "zz";
			snprintf(q, sizeof q, "SELECT %s IS NULL FROM %s WHERE %s = ?1", col, table, pk);
			int is_null = (int)ut_int(db, q, key);
			for (int to_null = 0; to_null <= !notnull && !(to_null && is_null); to_null++) {
				assert_int_equal(hj_db_exec(db, "SAVEPOINT col"), 0);
				snprintf(q, sizeof q, "UPDATE %s SET %s = ?1 WHERE %s = ?2", table, col, pk);
				sql(db, q, 2, to_null ? NULL : alt, key);
				assert_int_equal(sqlite3_changes(db->h), 1);
				digest_now(db, d);
				if (memcmp(d, base, 32) == 0)
					fail_msg("%s.%s set to %s: digest unchanged", table, col, to_null ? "NULL" : alt);
				assert_int_equal(hj_db_exec(db, "ROLLBACK TO col"), 0);
				assert_int_equal(hj_db_exec(db, "RELEASE col"), 0);
				checked++;
			}
		} while (sqlite3_step(cols) == SQLITE_ROW);
		sqlite3_finalize(cols);
		free(key);
	}
	/* 7 + 5 + 7 + 15 + 14 columns, 3 + 0 + 3 + 7 + 6 of them nullable; the
	 * person's seal is NULL here (a plaintext row), set only to a value.
	 * v6: + 12 + 5 + 10 + 7 + 6 columns, 4 + 0 + 1 + 0 + 0 nullable. */
	assert_int_equal(checked, 48 + 18 + 40 + 5);
	digest_now(db, d);
	assert_memory_equal(d, base, 32);
	hj_db_close(db);
}

/* The v1 digest is frozen: a later migration that adds a column to a
 * replicated table changes what verify compares, never what an old hub
 * entry's digest covers. */
static void test_v1_digest_frozen(void **state)
{
	(void)state;
	hj_db *db = scratch();
	uint8_t before[32], after[32];
	rows r1 = {HJ_BUF_INIT, 0}, r2 = {HJ_BUF_INIT, 0};
	fill(db);
	ut_digest(db, before);
	assert_int_equal(hj_projection_rows_v1(db, collect, &r1), 0);
	assert_int_equal(hj_db_exec(db, "ALTER TABLE membership ADD COLUMN transferred_to TEXT DEFAULT 'qh-x';"
					"ALTER TABLE org ADD COLUMN note TEXT"), 0);
	ut_digest(db, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(hj_projection_rows_v1(db, collect, &r2), 0);
	assert_int_equal(r1.all.len, r2.all.len);
	assert_memory_equal(r1.all.data, r2.all.data, r1.all.len);
	/* What verify compares does see the new column. */
	hj_buf_reset(&r2.all);
	assert_int_equal(hj_projection_rows(db, collect, &r2), 0);
	assert_non_null(strstr((const char *)r2.all.data, "\ttransferred_to=qh-x"));
	hj_buf_free(&r1.all);
	hj_buf_free(&r2.all);
	hj_db_close(db);
}

static void assert_no_personal(const char *msg)
{
	static const char *const personal[] = {"张三", "李四", IDNO, "630102199001015678", "13800000001", "13999999999",
					       "青A12345", NULL};
	for (int i = 0; personal[i]; i++)
		if (strstr(msg, personal[i]))
			fail_msg("message shows a personal value: %s", msg);
}

static void test_compare(void **state)
{
	(void)state;
	hj_db *a = scratch(), *b = scratch();
	fill(a);
	fill(b);
	assert_int_equal(hj_projection_compare(a, "A", b, "B"), 0);

	/* Personal columns differ: named, values never shown. */
	sql(b, "UPDATE person SET name = '李四', id_number = '630102199001015678', phone = '13999999999'", 0);
	assert_int_equal(hj_projection_compare(a, "live", b, "re-fold"), HJ_ECONFLICT);
	const char *m = hj_error_last();
	assert_non_null(strstr(m, "person row 0123456789abcdef0123:"));
	assert_null(strstr(m, PKEY)); /* the key is cut to 20 characters */
	assert_non_null(strstr(m, "live and re-fold differ in name, id_number, phone"));
	assert_no_personal(m);
	sql(b, "UPDATE person SET name = '张三', id_number = ?1, phone = '13800000001'", 1, IDNO);
	assert_int_equal(hj_projection_compare(a, "A", b, "B"), 0);

	/* A value with escaped tabs: still the right column. */
	sql(b, "UPDATE person SET plate = 'x\ty'", 0);
	sql(a, "UPDATE person SET plate = 'x\tz'", 0);
	assert_int_equal(hj_projection_compare(a, "A", b, "B"), HJ_ECONFLICT);
	assert_non_null(strstr(hj_error_last(), "differ in plate"));
	assert_null(strstr(hj_error_last(), "x\t"));
	sql(a, "UPDATE person SET plate = '青A12345'", 0);
	sql(b, "UPDATE person SET plate = '青A12345'", 0);

	/* NULL against a value. */
	sql(b, "UPDATE membership SET left_on = NULL, status = 'active'", 0);
	assert_int_equal(hj_projection_compare(a, "A", b, "B"), HJ_ECONFLICT);
	assert_non_null(strstr(hj_error_last(), "membership row cz:1:0: A and B differ in left_on"));
	sql(b, "UPDATE membership SET left_on = '2024-06-01'", 0);

	/* A row on one side only, either side; the first difference in
	 * table order is the one named. */
	sql(a, "INSERT INTO org VALUES ('qh-hd', 'h', 'city', NULL, 'qh', 'hub:4:0', NULL)", 0);
	sql(b, "UPDATE membership SET grp = 'courier'", 0);
	assert_int_equal(hj_projection_compare(a, "A", b, "B"), HJ_ECONFLICT);
	assert_string_equal(hj_error_last(), "org row qh-hd: only in A, not in B");
	assert_int_equal(hj_projection_compare(b, "B", a, "A"), HJ_ECONFLICT);
	assert_string_equal(hj_error_last(), "org row qh-hd: only in A, not in B");
	sql(a, "DELETE FROM org WHERE id = 'qh-hd'", 0);
	assert_int_equal(hj_projection_compare(a, "A", b, "B"), HJ_ECONFLICT);
	assert_string_equal(hj_error_last(), "membership row cz:1:0: A and B differ in grp");
	sql(b, "DELETE FROM membership", 0);
	assert_int_equal(hj_projection_compare(a, "A", b, "B"), HJ_ECONFLICT);
	assert_string_equal(hj_error_last(), "membership row cz:1:0: only in A, not in B");
	/* A person row only on one side: its key is not personal data, its
	 * values are not shown. */
	sql(b, "DELETE FROM person", 0);
	sql(a, "DELETE FROM membership", 0);
	assert_int_equal(hj_projection_compare(b, "B", a, "A"), HJ_ECONFLICT);
	assert_string_equal(hj_error_last(), "person row 0123456789abcdef0123: only in A, not in B");
	hj_db_close(a);
	hj_db_close(b);
}

static void test_clear(void **state)
{
	(void)state;
	hj_db *db = scratch();
	uint8_t d[32], empty[32];
	int64_t regions = ut_int(db, "SELECT count(*) FROM region", NULL);
	fill(db);
	assert_int_equal(hj_meta_set(db, "node_id", "x"), 0);
	assert_int_equal(hj_db_exec(db, "BEGIN"), 0);
	assert_int_equal(hj_projection_clear(db), 0);
	assert_int_equal(hj_db_exec(db, "COMMIT"), 0);
	ut_digest(db, d);
	crypto_generichash(empty, 32, NULL, 0, NULL, 0);
	assert_memory_equal(d, empty, 32);
	assert_true(regions > 3000);
	assert_int_equal(ut_int(db, "SELECT count(*) FROM region", NULL), regions);
	assert_int_equal(ut_int(db, "SELECT count(*) FROM meta", NULL), 1);
	hj_db_close(db);
}

/* A registry that lacks a replicated table: an error, not a digest, and
 * nothing leaks on the way out (run under ASan). */
static void test_rows_error(void **state)
{
	(void)state;
	hj_db *db = scratch();
	rows r = {HJ_BUF_INIT, 0};
	uint8_t d[32];
	fill(db);
	assert_int_equal(hj_db_exec(db, "PRAGMA foreign_keys = OFF; DROP TABLE membership"), 0);
	assert_int_equal(hj_projection_rows(db, collect, &r), HJ_ERROR);
	assert_int_equal(r.n, 4); /* the rows before it were given */
	assert_int_equal(hj_projection_digest(db, d), HJ_ERROR);
	hj_db *b = scratch();
	assert_int_equal(hj_projection_compare(b, "A", db, "B"), HJ_ERROR);
	hj_buf_free(&r.all);
	hj_db_close(b);
	hj_db_close(db);
}

/* The callback can stop the walk with an error, which is returned. */
static int stop_at_person(void *ctx, const char *table, const char *key, const char *line)
{
	(void)key;
	(void)line;
	++*(int *)ctx;
	return strcmp(table, "person") == 0 ? HJ_ECORRUPT : 0;
}

static void test_rows_callback_error(void **state)
{
	(void)state;
	hj_db *db = scratch();
	int n = 0;
	fill(db);
	assert_int_equal(hj_projection_rows(db, stop_at_person, &n), HJ_ECORRUPT);
	assert_int_equal(n, 4);
	hj_db_close(db);
}

static int teardown_all(void **state)
{
	(void)state;
	hj_envelope_thread_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_canonical_row),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_digest_definition),
		cmocka_unit_test(test_digest_covers_every_column),
		cmocka_unit_test(test_v1_digest_frozen),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_rows_error),
		cmocka_unit_test(test_rows_callback_error),
	};
	return cmocka_run_group_tests(tests, NULL, teardown_all);
}
