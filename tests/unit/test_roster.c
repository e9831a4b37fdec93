/*
 * test_roster.c — a driver list compared with the roll (node/roster.c) in
 * a real province (tests/unit/support.c): the hub, which holds the person
 * secret, and the counties cz (qh-xn-cz, with the township qh-xn-cz-a
 * below it) and hd (qh-hd), which hold none. Proves: the hub matches by
 * the key it derives and says where else (hd's member, a township's
 * member is here for its county, elsewhere for a union beside it); a
 * county matches by the numbers it holds, its own pending application
 * included, and never names another union; a leaver is not reached and
 * names the record left; a member of a peer province is elsewhere at the
 * hub, named by province; a list of person keys compares without a number;
 * bad rows are reported by line, never with their number, and the rest
 * is compared, also late in a long list; a union the county does not hold,
 * an unknown default group and a list without an id_number column are
 * refused. And the header mapping import shares (node/csv_header.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "csv_header.h"
#include "error.h"
#include "idnum.h"
#include "roster.h"
#include "support.h"

#define OK UT_OK
#define MAXLINES 32

/* What the callback saw, by line. */
typedef struct seen_rows {
	hj_roster_state state[MAXLINES];
	char union_id[MAXLINES][64], status[MAXLINES][16], why[MAXLINES][300], region[MAXLINES][8];
	char province[MAXLINES][16];
	int has_key[MAXLINES];
	int calls;
} seen_rows;

static int on_row(void *arg, const hj_roster_row *r)
{
	seen_rows *s = arg;
	assert_true(r->line > 0 && r->line < MAXLINES);
	s->calls++;
	s->state[r->line] = r->state;
	snprintf(s->union_id[r->line], sizeof s->union_id[0], "%s", r->union_id ? r->union_id : "");
	snprintf(s->status[r->line], sizeof s->status[0], "%s", r->status ? r->status : "");
	snprintf(s->why[r->line], sizeof s->why[0], "%s", r->why ? r->why : "");
	snprintf(s->region[r->line], sizeof s->region[0], "%s", r->region ? r->region : "");
	snprintf(s->province[r->line], sizeof s->province[0], "%s", r->province ? r->province : "");
	s->has_key[r->line] = r->person_key != NULL;
	return 0;
}

static int setup(void **state)
{
	ut_world *w = ut_world_new(1);
	hj_sync_report srep;
	if (!w || ut_follow(w->cz, w->hub, &srep) || ut_follow(w->hd, w->hub, &srep))
		return -1;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	return ut_world_free(*state);
}

static void apply(hj_node *n, const char *unit, int who, int approve, int leave)
{
	char id[UT_ID_SZ];
	ut_must(n, ut_apply_op(n, unit, who), id, sizeof id);
	if (approve)
		ut_must(n, ut_op("member.approve", "member", id, "on", "2024-03-05", NULL), NULL, 0);
	if (leave)
		ut_must(n, ut_op("member.leave", "member", id, "on", "2024-06-01", "reason", "voluntary", NULL), NULL,
			0);
}

/* People 1, 2 active at cz, 3 applied there, 4 left there, 5 active at
 * hd, 6 active in the township below cz; all sequenced and followed.
 * Then 8 applies at cz and stays pending there. 7 is nobody's. */
static void populate(ut_world *w)
{
	hj_sync_report srep;
	apply(w->cz, NULL, 1, 1, 0);
	apply(w->cz, NULL, 2, 1, 0);
	apply(w->cz, NULL, 3, 0, 0);
	apply(w->cz, NULL, 4, 1, 1);
	apply(w->cz, "qh-xn-cz-a", 6, 1, 0);
	apply(w->hd, NULL, 5, 1, 0);
	ut_sequence(w->hub, w->cz);
	ut_sequence(w->hub, w->hd);
	assert_int_equal(ut_follow(w->cz, w->hub, &srep), 0);
	assert_int_equal(ut_follow(w->hd, w->hub, &srep), 0);
	apply(w->cz, NULL, 8, 0, 0);
}

/* The list: header on line 1, people 1..8 on lines 2..9 (6 a courier),
 * then the bad rows: a wrong check digit (10), person 1 again (11), an
 * unknown group (12), a stray quote (13), an empty number (14). */
static char *roster_text(void)
{
	static char text[4096];
	char id[19], bad[19];
	size_t off = (size_t)snprintf(text, sizeof text, "name,id_number,group,extra\n");
	for (int who = 1; who <= 8; who++) {
		ut_person_id(id, who);
		off += (size_t)snprintf(text + off, sizeof text - off, "P%d,%s,%s,x\n", who, id,
					who == 6 ? "courier" : "");
	}
	ut_person_id(bad, 7);
	bad[17] = bad[17] == '0' ? '1' : '0';
	ut_person_id(id, 1);
	off += (size_t)snprintf(text + off, sizeof text - off, "B,%s,,x\nP1,%s,,x\n", bad, id);
	ut_person_id(id, 7);
	off += (size_t)snprintf(text + off, sizeof text - off, "B,%s,astronaut,x\nB,\"%s\"x,,x\n", id, id);
	snprintf(text + off, sizeof text - off, "B,,,x\n");
	return text;
}

static int compare(hj_roster **out, hj_node *n, const char *text, const char *unit, const char *grp, seen_rows *s)
{
	hj_csv *csv = NULL;
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f);
	OK(hj_csv_open(&csv, f));
	fclose(f);
	memset(s, 0, sizeof *s);
	int rc = hj_roster_compare(out, n, csv, "list.csv", unit, grp, on_row, s);
	hj_csv_close(csv);
	return rc;
}

static const hj_roster_count *group_count(const hj_roster *r, const char *g)
{
	for (size_t i = 0; i < r->ncounts; i++)
		if (strcmp(r->counts[i].group, g) == 0)
			return &r->counts[i];
	fail_msg("no group %s", g);
	return NULL;
}

static void check_bad_rows(const seen_rows *s, const hj_roster *r)
{
	char id[19];
	assert_int_equal(r->records, 13);
	assert_int_equal(r->bad, 5);
	for (int line = 10; line <= 14; line++)
		assert_int_equal(s->state[line], HJ_ROSTER_BAD);
	assert_non_null(strstr(s->why[10], "check character"));
	assert_non_null(strstr(s->why[11], "the same person as line 2"));
	assert_non_null(strstr(s->why[12], "one of truck_driver"));
	assert_non_null(strstr(s->why[14], "no id_number"));
	for (int who = 1; who <= 8; who++) { /* never a number, nor its first 17 digits */
		ut_person_id(id, who);
		id[17] = '\0';
		for (int line = 10; line <= 14; line++)
			assert_null(strstr(s->why[line], id));
	}
}

static void hub_says_where_else(void **state)
{
	ut_world *w = *state;
	hj_roster *r = NULL;
	seen_rows s;
	populate(w);
	const char *text = roster_text();
	OK(compare(&r, w->hub, text, "qh-xn-cz", NULL, &s));
	assert_int_equal(s.calls, 13);
	assert_true(r->where_else);
	assert_string_equal(r->union_name, "城中区总工会");
	assert_int_equal(s.state[2], HJ_ROSTER_HERE);
	assert_int_equal(s.state[3], HJ_ROSTER_HERE);
	assert_int_equal(s.state[4], HJ_ROSTER_APPLIED);
	assert_int_equal(s.state[5], HJ_ROSTER_NOT_REACHED); /* left: names the record left */
	assert_string_equal(s.status[5], "left");
	assert_string_equal(s.union_id[5], "qh-xn-cz");
	assert_int_equal(s.state[6], HJ_ROSTER_ELSEWHERE);
	assert_string_equal(s.union_id[6], "qh-hd");
	assert_int_equal(s.state[7], HJ_ROSTER_HERE); /* the township is below the county */
	assert_string_equal(s.union_id[7], "qh-xn-cz-a");
	assert_int_equal(s.state[8], HJ_ROSTER_NOT_REACHED);
	assert_string_equal(s.status[8], "");
	assert_int_equal(s.state[9], HJ_ROSTER_NOT_REACHED); /* pending at cz: the hub has not seen it */
	assert_true(s.has_key[2]);
	assert_string_equal(s.region[2], "630102");
	check_bad_rows(&s, r);
	const hj_roster_count *t = group_count(r, "truck_driver"), *c = group_count(r, "courier");
	assert_int_equal(t->rows, 7);
	assert_int_equal(t->here, 2);
	assert_int_equal(t->elsewhere, 1);
	assert_int_equal(t->applied, 1);
	assert_int_equal(t->not_reached, 3);
	assert_int_equal(c->rows, 1);
	assert_int_equal(c->here, 1);
	hj_roster_free(r);

	/* for the township: cz's own members are elsewhere */
	OK(compare(&r, w->hub, text, "qh-xn-cz-a", NULL, &s));
	assert_int_equal(s.state[2], HJ_ROSTER_ELSEWHERE);
	assert_string_equal(s.union_id[2], "qh-xn-cz");
	assert_int_equal(s.state[7], HJ_ROSTER_HERE);
	hj_roster_free(r);
}

static void county_says_here_or_not(void **state)
{
	ut_world *w = *state;
	hj_roster *r = NULL;
	seen_rows s;
	populate(w);
	const char *text = roster_text();
	OK(compare(&r, w->cz, text, NULL, NULL, &s));
	assert_false(r->where_else);
	assert_string_equal(r->union_id, "qh-xn-cz");
	assert_int_equal(s.state[2], HJ_ROSTER_HERE);
	assert_int_equal(s.state[4], HJ_ROSTER_APPLIED);
	assert_int_equal(s.state[5], HJ_ROSTER_NOT_REACHED);
	assert_string_equal(s.status[5], "left");
	assert_int_equal(s.state[6], HJ_ROSTER_NOT_REACHED); /* hd's member: not here, and no more */
	assert_string_equal(s.union_id[6], "");
	assert_int_equal(s.state[7], HJ_ROSTER_HERE);
	assert_int_equal(s.state[9], HJ_ROSTER_APPLIED); /* its own pending one, by its number */
	assert_false(s.has_key[2]);
	check_bad_rows(&s, r);
	const hj_roster_count *t = group_count(r, "truck_driver");
	assert_int_equal(t->elsewhere, 0);
	assert_int_equal(t->applied, 2);
	assert_int_equal(t->not_reached, 3);
	hj_roster_free(r);

	/* for the township below it: cz's own members are simply not there */
	OK(compare(&r, w->cz, text, "qh-xn-cz-a", NULL, &s));
	assert_int_equal(s.state[2], HJ_ROSTER_NOT_REACHED);
	assert_string_equal(s.union_id[2], "");
	assert_int_equal(s.state[7], HJ_ROSTER_HERE);
	hj_roster_free(r);

	/* hd's union is not below cz's: it holds nothing of it */
	assert_int_equal(compare(&r, w->cz, text, "qh-hd", NULL, &s), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "not qh-xn-cz nor below it"));
	assert_null(r);
	assert_int_equal(compare(&r, w->hub, text, "qh-nowhere", NULL, &s), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "unknown union 'qh-nowhere': one of qh, qh-hd, qh-xn, qh-xn-cz"));
	assert_int_equal(compare(&r, w->cz, text, NULL, "pilot", &s), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "one of truck_driver, ride_hailing"));
	assert_int_equal(compare(&r, w->cz, "name,phone\nA,13800000000\n", NULL, NULL, &s), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "id_number (or person_key) is required"));
	assert_int_equal(s.calls, 0);
}

/* A list keyed at the hub: the county matches the keys its sequenced
 * records took from the hub's entries; the hub says where else too. */
static void keyed_list(void **state)
{
	ut_world *w = *state;
	hj_roster *r = NULL;
	seen_rows s;
	char text[1024], k[65];
	size_t off;
	populate(w);
	off = (size_t)snprintf(text, sizeof text, "person_key,group\n");
	for (int who = 1; who <= 8; who++) {
		ut_person_key(k, w->hub, who);
		off += (size_t)snprintf(text + off, sizeof text - off, "%s,\n", k);
	}
	snprintf(text + off, sizeof text - off, "%.63sX,\n", k); /* line 10: not a key */
	OK(compare(&r, w->cz, text, NULL, NULL, &s));
	assert_int_equal(r->by_key, 8);
	assert_int_equal(s.state[2], HJ_ROSTER_HERE);
	assert_int_equal(s.state[4], HJ_ROSTER_APPLIED);
	assert_int_equal(s.state[6], HJ_ROSTER_NOT_REACHED);
	assert_int_equal(s.state[7], HJ_ROSTER_HERE);
	assert_int_equal(s.state[9], HJ_ROSTER_NOT_REACHED); /* pending: provisionally keyed, matches no key */
	assert_int_equal(s.state[10], HJ_ROSTER_BAD);
	assert_string_equal(s.region[2], "");
	hj_roster_free(r);
	OK(compare(&r, w->hub, text, "qh-xn-cz", NULL, &s));
	assert_int_equal(s.state[6], HJ_ROSTER_ELSEWHERE);
	assert_string_equal(s.union_id[6], "qh-hd");
	hj_roster_free(r);
}

/* Province ah's registry installed at the hub as its peer's (as
 * sync/peer.c leaves one: <hub>/peers/ah.db, rollback journal). */
static void install_peer(ut_world *w, hj_node *peer_hub)
{
	char dir[3900], q[4200];
	snprintf(dir, sizeof dir, "%s/peers", w->hub->dir);
	mkdir(dir, 0700);
	OK(hj_meta_set(peer_hub->db, "peer_hub_seq", "2"));
	snprintf(q, sizeof q, "VACUUM INTO '%s/ah.db'", dir);
	OK(hj_db_exec(peer_hub->db, q));
	snprintf(q, sizeof q, "%s/ah.db", dir);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(q, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

/* A member of a peer province (same national key) is elsewhere at the
 * hub, named by province; a county knows nothing of it. */
static void peer_province(void **state)
{
	ut_world *w = *state, *ah = ut_world_new(1);
	hj_roster *r = NULL;
	seen_rows s;
	char id[UT_ID_SZ];
	assert_non_null(ah);
	memcpy(ah->hub->person_secret, w->hub->person_secret, 32);
	ut_must(ah->cz, ut_apply_op(ah->cz, NULL, 7), id, sizeof id);
	ut_must(ah->cz, ut_op("member.approve", "member", id, "on", "2024-03-02", NULL), NULL, 0);
	ut_sequence(ah->hub, ah->cz);
	ut_must(w->hub, ut_op("province.peer", "province", "ah", "hub_node", "ah-hub", "key",
			      "1111111111111111111111111111111111111111111111111111111111111111", "url",
			      "git://ah.example/hub.git", "name", "安徽省总工会", NULL), NULL, 0);
	install_peer(w, ah->hub);
	populate(w);
	const char *text = roster_text();
	OK(compare(&r, w->hub, text, "qh-xn-cz", NULL, &s));
	assert_int_equal(s.state[8], HJ_ROSTER_ELSEWHERE);
	assert_string_equal(s.province[8], "ah");
	assert_string_equal(s.union_id[8], "qh-xn-cz");
	assert_int_equal(s.state[6], HJ_ROSTER_ELSEWHERE); /* hd's: this province */
	assert_string_equal(s.province[6], "");
	assert_int_equal(group_count(r, "truck_driver")->elsewhere, 2);
	hj_roster_free(r);
	OK(compare(&r, w->cz, text, NULL, NULL, &s));
	assert_int_equal(s.state[8], HJ_ROSTER_NOT_REACHED);
	assert_string_equal(s.province[8], "");
	hj_roster_free(r);
	ut_world_free(ah);
}

/* Many rows (the set of people met grows several times): the same person
 * late in the list is still found, by the line it was first met on. */
static void many_rows(void **state)
{
	ut_world *w = *state;
	hj_roster *r = NULL;
	seen_rows s;
	hj_buf b = HJ_BUF_INIT;
	char k[65], seed[32];
	hj_buf_puts(&b, "person_key\n");
	for (int i = 0; i < 3000; i++) {
		snprintf(seed, sizeof seed, "row %d", i);
		ut_hex64(k, seed);
		hj_buf_printf(&b, "%s\n", k);
	}
	ut_hex64(k, "row 7");
	hj_buf_printf(&b, "%s\n", k); /* line 3002: row 7 (line 9) again */
	assert_int_equal(b.rc, 0);
	hj_csv *csv = NULL;
	FILE *f = fmemopen(b.data, b.len, "r");
	assert_non_null(f);
	OK(hj_csv_open(&csv, f));
	fclose(f);
	memset(&s, 0, sizeof s);
	OK(hj_roster_compare(&r, w->hub, csv, "list.csv", NULL, NULL, NULL, NULL));
	assert_int_equal(r->records, 3001);
	assert_int_equal(r->bad, 1);
	assert_int_equal(group_count(r, "truck_driver")->not_reached, 3000);
	hj_roster_free(r);
	hj_csv_close(csv);
	hj_buf_free(&b);
}

/* The header mapping import and compare share (node/csv_header.c). */
static void header(void **state)
{
	(void)state;
	static const char *const names[] = {"id_number", "name", "group"};
	const char *texts[] = {"x,name,id_number\n", "name,foo\n", "name,name\n", "a,b\n", "\n\n"};
	int col[3];
	size_t ignored = 9;
	long line = 0;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		hj_csv *csv = NULL;
		FILE *f = fmemopen((void *)texts[i], strlen(texts[i]), "r");
		assert_non_null(f);
		OK(hj_csv_open(&csv, f));
		fclose(f);
		int strict = hj_csv_header(col, csv, "l.csv", names, 3, 0, NULL, &line);
		hj_csv_close(csv);
		f = fmemopen((void *)texts[i], strlen(texts[i]), "r");
		assert_non_null(f);
		OK(hj_csv_open(&csv, f));
		fclose(f);
		int loose = hj_csv_header(col, csv, "l.csv", names, 3, 1, &ignored, &line);
		hj_csv_close(csv);
		switch (i) {
		case 0: /* an unknown column: refused strictly, ignored and counted loosely */
			assert_int_equal(strict, HJ_EINVALID);
			assert_int_equal(loose, 0);
			assert_int_equal(ignored, 1);
			assert_int_equal(line, 1);
			assert_int_equal(col[0], 2);
			assert_int_equal(col[1], 1);
			assert_int_equal(col[2], -1);
			break;
		case 2: /* the same name twice */
			assert_int_equal(loose, HJ_EINVALID);
			assert_non_null(strstr(hj_error_last(), "columns 1 and 2 have the same name"));
			break;
		case 3: /* no known column: the header is missing */
			assert_int_equal(loose, HJ_EINVALID);
			assert_non_null(strstr(hj_error_last(), "known: id_number, name, group"));
			break;
		case 4: /* blank lines only */
			assert_int_equal(loose, HJ_EINVALID);
			assert_non_null(strstr(hj_error_last(), "is empty"));
			break;
		default:
			assert_int_equal(strict, HJ_EINVALID);
			assert_int_equal(loose, 0);
		}
	}
	hj_csv_encoding e;
	OK(hj_csv_encoding_parse(&e, "GBK"));
	assert_int_equal(e, HJ_CSV_GB18030);
	OK(hj_csv_encoding_parse(&e, NULL));
	assert_int_equal(e, HJ_CSV_AUTO);
	assert_int_equal(hj_csv_encoding_parse(&e, "latin1"), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "utf-8 or gb18030"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(hub_says_where_else, setup, teardown),
		cmocka_unit_test_setup_teardown(county_says_here_or_not, setup, teardown),
		cmocka_unit_test_setup_teardown(keyed_list, setup, teardown),
		cmocka_unit_test_setup_teardown(peer_province, setup, teardown),
		cmocka_unit_test_setup_teardown(many_rows, setup, teardown),
		cmocka_unit_test(header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
