/*
 * test_db.c — node/db.c on a real SQLite file: bind helpers, the one-value
 * lookups telling found / not found / failed apart, meta, and the leased
 * statement cache (a held statement survives more than HJ_DB_CACHE other
 * texts; two users of one SQL text get two statements).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "error.h"
#include "support.h"

typedef struct fixture {
	char *dir, path[300];
	hj_db *db;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->dir = ut_tmpdir();
	snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
	assert_int_equal(hj_db_open(&f->db, f->path, 1), 0);
	assert_int_equal(hj_db_exec(f->db, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
					   "CREATE TABLE t(k TEXT PRIMARY KEY, i INTEGER, b BLOB, s TEXT);"
					   "CREATE TABLE series(n INTEGER PRIMARY KEY);"
					   "INSERT INTO series VALUES (1), (2), (3);"
					   "INSERT INTO t VALUES ('null', NULL, NULL, NULL);"),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	hj_db_close(f->db);
	int rc = ut_rmtree(f->dir);
	free(f->dir);
	free(f);
	return rc == 0 ? 0 : -1;
}

static void test_bind(void **state)
{
	fixture *f = *state;
	sqlite3_stmt *st = hj_db_stmt(f->db, "INSERT INTO t(k, i, b, s) VALUES (:k, :i, :b, :s)");
	assert_non_null(st);
	assert_int_equal(hj_db_bind_text(st, ":k", "a"), 0);
	assert_int_equal(hj_db_bind_int(st, ":i", INT64_MIN), 0);
	assert_int_equal(hj_db_bind_blob(st, ":b", "\0\1\2", 3), 0);
	assert_int_equal(hj_db_bind_text(st, ":s", NULL), 0); /* SQL NULL */
	assert_int_equal(hj_db_bind_text(st, ":nope", "x"), HJ_ERROR);
	assert_non_null(strstr(hj_error_last(), ":nope"));
	assert_int_equal(hj_db_step(f->db, st), 0);
	hj_db_release(f->db, st);

	int64_t i = 0;
	assert_int_equal(hj_db_get_int(f->db, "SELECT i FROM t WHERE k = :k", ":k", "a", &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(hj_db_get_int(f->db, "SELECT length(b) FROM t WHERE k = :k", ":k", "a", &i), 0);
	assert_int_equal(i, 3);
	assert_int_equal(hj_db_get_int(f->db, "SELECT s IS NULL FROM t WHERE k = :k", ":k", "a", &i), 0);
	assert_int_equal(i, 1);
	/* A constraint failure is an error whose message is SQLite's. */
	st = hj_db_stmt(f->db, "INSERT INTO t(k) VALUES (:k)");
	assert_int_equal(hj_db_bind_text(st, ":k", "a"), 0);
	assert_int_equal(hj_db_step(f->db, st), HJ_ERROR);
	assert_non_null(strstr(hj_error_last(), "UNIQUE constraint failed"));
	hj_db_release(f->db, st);
}

static void test_get_int(void **state)
{
	fixture *f = *state;
	int64_t v = 42;
	assert_int_equal(hj_db_get_int(f->db, "SELECT n FROM series WHERE n = :n", ":n", "2", &v), 0);
	assert_int_equal(v, 2);
	v = 42;
	assert_int_equal(hj_db_get_int(f->db, "SELECT n FROM series WHERE n = :n", ":n", "9", &v), HJ_ENOTFOUND);
	assert_int_equal(v, 42); /* untouched */
	/* SQL NULL reads as 0 (max() of nothing). */
	assert_int_equal(hj_db_get_int(f->db, "SELECT max(n) FROM series WHERE n > 9", NULL, NULL, &v), 0);
	assert_int_equal(v, 0);
	/* Failures: at prepare (no such table) and at step (overflow). */
	assert_int_equal(hj_db_get_int(f->db, "SELECT n FROM nosuch", NULL, NULL, &v), HJ_ERROR);
	assert_non_null(strstr(hj_error_last(), "no such table"));
	assert_int_equal(hj_db_get_int(f->db, "SELECT abs(-9223372036854775807 - 1)", NULL, NULL, &v), HJ_ERROR);
	assert_non_null(strstr(hj_error_last(), "integer overflow"));
}

static void test_get_text(void **state)
{
	fixture *f = *state;
	char *s = (char *)"junk";
	assert_int_equal(hj_db_get_text(&s, f->db, "SELECT 'x' || n FROM series WHERE n = :n", ":n", "3"), 0);
	assert_string_equal(s, "x3");
	free(s);
	s = (char *)"junk";
	assert_int_equal(hj_db_get_text(&s, f->db, "SELECT 'x' FROM series WHERE n = :n", ":n", "9"), HJ_ENOTFOUND);
	assert_null(s);
	s = (char *)"junk";
	assert_int_equal(hj_db_get_text(&s, f->db, "SELECT s FROM t WHERE k = :k", ":k", "null"), HJ_ENOTFOUND);
	assert_null(s); /* SQL NULL is "not found", documented */
	s = (char *)"junk";
	assert_int_equal(hj_db_get_text(&s, f->db, "SELECT s FROM nosuch", NULL, NULL), HJ_ERROR);
	assert_null(s);
	/* A step-time failure is an error too, not "no row" (before: NULL). */
	s = (char *)"junk";
	assert_int_equal(hj_db_get_text(&s, f->db, "SELECT abs(-9223372036854775807 - 1) || ''", NULL, NULL), HJ_ERROR);
	assert_null(s);
	/* Empty text is found, and is not NULL. */
	assert_int_equal(hj_db_get_text(&s, f->db, "SELECT ''", NULL, NULL), 0);
	assert_string_equal(s, "");
	free(s);
}

static void test_col_dup(void **state)
{
	fixture *f = *state;
	sqlite3_stmt *st = hj_db_stmt(f->db, "SELECT 'x' || 1, NULL, 42");
	assert_int_equal(hj_db_step(f->db, st), 1);
	char *a = NULL, *b = NULL, *c = NULL;
	assert_int_equal(hj_db_col_dup(&a, st, 0), 0);
	assert_int_equal(hj_db_col_dup(&b, st, 1), 0);
	assert_int_equal(hj_db_col_dup(&c, st, 2), 0);
	hj_db_release(f->db, st);
	assert_string_equal(a, "x1");
	assert_string_equal(b, ""); /* SQL NULL */
	assert_string_equal(c, "42");
	free(a);
	free(b);
	free(c);
}

static void test_meta(void **state)
{
	fixture *f = *state;
	char *v = NULL;
	assert_int_equal(hj_meta_get(&v, f->db, "hub_url"), HJ_ENOTFOUND);
	assert_null(v);
	assert_int_equal(hj_meta_set(f->db, "hub_url", "git://a"), 0);
	assert_int_equal(hj_meta_set(f->db, "hub_url", "git://b"), 0);
	assert_int_equal(hj_meta_get(&v, f->db, "hub_url"), 0);
	assert_string_equal(v, "git://b");
	free(v);
	/* NOT NULL: a failed set is an error, the old value stays. */
	assert_int_equal(hj_meta_set(f->db, "hub_url", NULL), HJ_ERROR);
	assert_int_equal(hj_meta_get(&v, f->db, "hub_url"), 0);
	assert_string_equal(v, "git://b");
	free(v);
	/* No meta table: an error, never "unset". */
	assert_int_equal(hj_db_exec(f->db, "DROP TABLE meta"), 0);
	assert_int_equal(hj_meta_get(&v, f->db, "hub_url"), HJ_ERROR);
	assert_null(v);
}

static int stmt_alive(hj_db *db, sqlite3_stmt *st)
{
	for (sqlite3_stmt *p = sqlite3_next_stmt(db->h, NULL); p; p = sqlite3_next_stmt(db->h, p))
		if (p == st)
			return 1;
	return 0;
}

/* Defect: the oldest of 96 cached statements was finalised while a
 * caller held it. Hold one, churn through 2 x HJ_DB_CACHE other texts. */
static void test_cache_keeps_held(void **state)
{
	fixture *f = *state;
	sqlite3_stmt *held = hj_db_stmt(f->db, "SELECT n FROM series ORDER BY n");
	assert_non_null(held);
	assert_int_equal(hj_db_step(f->db, held), 1);
	assert_int_equal(sqlite3_column_int64(held, 0), 1);
	char sql[64];
	for (int i = 0; i < 2 * HJ_DB_CACHE + 5; i++) {
		snprintf(sql, sizeof sql, "SELECT %d", i);
		sqlite3_stmt *st = hj_db_stmt(f->db, sql);
		assert_non_null(st);
		assert_int_equal(hj_db_step(f->db, st), 1);
		assert_int_equal(sqlite3_column_int(st, 0), i);
		hj_db_release(f->db, st);
	}
	assert_true(stmt_alive(f->db, held));
	assert_int_equal(hj_db_step(f->db, held), 1);
	assert_int_equal(sqlite3_column_int64(held, 0), 2);
	assert_int_equal(hj_db_step(f->db, held), 1);
	assert_int_equal(hj_db_step(f->db, held), 0);
	hj_db_release(f->db, held);
	/* Idle statements stay bounded by the cache size. */
	assert_true(f->db->ncache <= HJ_DB_CACHE);
	/* Many held at once: none is evicted, all still step. */
	sqlite3_stmt *many[HJ_DB_CACHE + 10];
	for (int i = 0; i < HJ_DB_CACHE + 10; i++) {
		snprintf(sql, sizeof sql, "SELECT %d + n FROM series", i);
		assert_non_null(many[i] = hj_db_stmt(f->db, sql));
	}
	for (int i = 0; i < HJ_DB_CACHE + 10; i++) {
		assert_true(stmt_alive(f->db, many[i]));
		assert_int_equal(hj_db_step(f->db, many[i]), 1);
		assert_int_equal(sqlite3_column_int(many[i], 0), i + 1);
		hj_db_release(f->db, many[i]);
	}
	assert_true(f->db->ncache <= HJ_DB_CACHE);
}

/* Defect: a nested caller asking for the same SQL text got the outer
 * caller's statement, and its reset restarted the outer iteration. */
static void test_cache_nested_same_sql(void **state)
{
	fixture *f = *state;
	static const char *sql = "SELECT n FROM series WHERE n >= :from ORDER BY n";
	sqlite3_stmt *outer = hj_db_stmt(f->db, sql);
	assert_int_equal(hj_db_bind_int(outer, ":from", 1), 0);
	int64_t seen[8];
	int k = 0;
	while (hj_db_step(f->db, outer) == 1) {
		assert_true(k < 8);
		seen[k++] = sqlite3_column_int64(outer, 0);
		/* The inner user: same text, its own statement and bindings. */
		char copy[128];
		snprintf(copy, sizeof copy, "%s", sql); /* same text, other pointer */
		sqlite3_stmt *inner = hj_db_stmt(f->db, copy);
		assert_non_null(inner);
		assert_ptr_not_equal(inner, outer);
		assert_int_equal(hj_db_bind_int(inner, ":from", 3), 0);
		assert_int_equal(hj_db_step(f->db, inner), 1);
		assert_int_equal(sqlite3_column_int64(inner, 0), 3);
		hj_db_release(f->db, inner);
		/* And the lookup helpers use the same text while outer runs. */
		int64_t v = 0;
		assert_int_equal(hj_db_get_int(f->db, sql, ":from", "2", &v), 0);
		assert_int_equal(v, 2);
	}
	hj_db_release(f->db, outer);
	assert_int_equal(k, 3);
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 2);
	assert_int_equal(seen[2], 3);
	/* Released: the next lease is a cache hit, reset and unbound. */
	sqlite3_stmt *again = hj_db_stmt(f->db, sql);
	assert_true(again == outer || stmt_alive(f->db, again));
	assert_int_equal(hj_db_step(f->db, again), 0); /* :from is NULL again */
	hj_db_release(f->db, again);
	/* Lease and release in a loop: the cache does not grow. */
	int before = f->db->ncache;
	for (int i = 0; i < 1000; i++)
		hj_db_release(f->db, hj_db_stmt(f->db, sql));
	assert_int_equal(f->db->ncache, before);
	hj_db_release(f->db, NULL); /* accepted */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_int, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_col_dup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_keeps_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_nested_same_sql, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
