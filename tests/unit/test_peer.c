/*
 * test_peer.c — provinces that follow each other: the province.peer op
 * (node/ops_peer.c: strict fields, only a hub, each province once) and the
 * duplicate across provinces (node/peer_dup.c: a person active in a peer's
 * registry refused duplicate_province at rules 5 with province and union
 * named, recorded against the peer's position; unchanged under rules 4; a
 * re-fold takes the hub's word; a registry file that does not read is an
 * error, never "not found").
 */
#include "support.h"
#include "error.h"
#include "peer_dup.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#define KEY_AH "1111111111111111111111111111111111111111111111111111111111111111"
#define URL_AH "git://ah.example/hub.git"

static int setup(void **state)
{
	*state = ut_world_new(1);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return ut_world_free(*state);
}

static hj_json *peer_op(const char *prov, const char *hub, const char *key, const char *url, const char *name)
{
	return ut_op("province.peer", "province", prov, "hub_node", hub, "key", key, "url", url, "name", name, NULL);
}

/* Fold op at the hub's registry as `actor`; the verdict's reason ("" when
 * applied). */
static const char *fold_as(ut_world *w, const char *actor, hj_json *op, hj_verdict *v)
{
	assert_int_equal(ut_fold(w->hub->db, actor, 70, 0, op, v), 0);
	hj_json_free(op);
	return v->applied ? "" : v->reason;
}

static void test_peer_op(void **state)
{
	ut_world *w = *state;
	hj_verdict v;
	char longurl[600];
	memset(longurl, 'a', sizeof longurl - 1);
	longurl[sizeof longurl - 1] = '\0';
	memcpy(longurl, "git://", 6);
	/* Strict fields. */
	assert_string_equal(fold_as(w, "hub", peer_op("AH", "ah-hub", KEY_AH, URL_AH, NULL), &v), "invalid");
	assert_string_equal(fold_as(w, "hub", peer_op("ah", "ah hub", KEY_AH, URL_AH, NULL), &v), "invalid");
	assert_string_equal(fold_as(w, "hub", peer_op("ah", "ah-hub", "11", URL_AH, NULL), &v), "invalid");
	assert_string_equal(fold_as(w, "hub", peer_op("ah", "ah-hub", KEY_AH, longurl, NULL), &v), "invalid");
	assert_string_equal(fold_as(w, "hub", peer_op("ah", "ah-hub", KEY_AH, "git://a b/", NULL), &v), "invalid");
	assert_string_equal(fold_as(w, "hub", peer_op("ah", "ah-hub", KEY_AH, "git://a\n/", NULL), &v), "invalid");
	assert_string_equal(fold_as(w, "hub", peer_op("ah", "ah-hub", KEY_AH, URL_AH, "安徽\t"), &v), "invalid");
	assert_string_equal(fold_as(w, "hub", peer_op("ah", NULL, KEY_AH, URL_AH, NULL), &v), "invalid");
	/* Not with itself. */
	assert_string_equal(fold_as(w, "hub", peer_op("qh", "qh-hub", KEY_AH, URL_AH, NULL), &v), "invalid");
	/* Only a hub: a county, an unknown node. */
	assert_string_equal(fold_as(w, "cz", peer_op("ah", "ah-hub", KEY_AH, URL_AH, NULL), &v), "no_authority");
	assert_string_equal(fold_as(w, "nobody", peer_op("ah", "ah-hub", KEY_AH, URL_AH, NULL), &v), "no_authority");
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM peer", NULL), 0);
	/* The hub's own command: applied, once. */
	ut_must(w->hub, peer_op("ah", "ah-hub", KEY_AH, URL_AH, "安徽省总工会"), NULL, 0);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM peer WHERE province = 'ah' AND key = '" KEY_AH
				"' AND name = '安徽省总工会'", NULL), 1);
	assert_int_equal(ut_run(w->hub, peer_op("ah", "ah-hub2", KEY_AH, URL_AH, NULL), &v, NULL, 0, NULL), 0);
	assert_false(v.applied);
	assert_string_equal(v.reason, "peer_exists");
	/* A county following the hub holds the peer too (hub ops reach all). */
	hj_sync_report rep;
	ut_sequence(w->hub, NULL);
	UT_OK(ut_follow(w->cz, w->hub, &rep));
	assert_int_equal(ut_int(w->cz->db, "SELECT count(*) FROM peer WHERE province = 'ah'", NULL), 1);
}

/* w2's county registry as the peer registry of province ah at w's hub
 * (its position `seq`), as sync/peer.c installs one. */
static void install_peer_registry(ut_world *w, hj_node *peer, uint64_t seq)
{
	char dir[3900], path[4096], q[4200], s[24];
	snprintf(dir, sizeof dir, "%s/peers", w->hub->dir);
	mkdir(dir, 0700);
	snprintf(path, sizeof path, "%s/ah.db", dir);
	snprintf(s, sizeof s, "%llu", (unsigned long long)seq);
	UT_OK(hj_meta_set(peer->db, "peer_hub_seq", s));
	snprintf(q, sizeof q, "VACUUM INTO '%s'", path);
	UT_OK(hj_db_exec(peer->db, q));
	sqlite3 *h = NULL; /* a registry of rollback journal, as the audit's scratch one is */
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static void fold_apply(ut_world *w, hj_peer_lookup *l, uint32_t rules, const char *hub_reason, int who, hj_verdict *v)
{
	hj_foldctx c = {.actor = "cz", .seq = 80 + (uint64_t)who, .rules = rules,
			.person_secret = w->hub->person_secret, .unseal = &w->hub->unsealer, .peers = l,
			.hub_reason = hub_reason};
	hj_json *op = ut_apply_op(w->cz, NULL, who);
	UT_OK(hj_db_exec(w->hub->db, "BEGIN"));
	assert_int_equal(hj_fold_op(w->hub->db, &c, op, v), 0);
	UT_OK(hj_peer_lookup_note(l, w->hub->db, &c, v));
	UT_OK(hj_db_exec(w->hub->db, "COMMIT"));
	hj_json_free(op);
}

static void test_duplicate_province(void **state)
{
	ut_world *w = *state, *ah = ut_world_new(1);
	hj_peer_lookup *l = NULL;
	hj_verdict v;
	char id[UT_ID_SZ], path[4096];
	assert_non_null(ah);
	/* The national person key: both provinces' hubs derive the same keys
	 * (a county holds none: ah's hub keys the member it sequences). */
	memcpy(ah->hub->person_secret, w->hub->person_secret, 32);
	ut_must(ah->cz, ut_apply_op(ah->cz, NULL, 7), id, sizeof id);
	ut_must(ah->cz, ut_op("member.approve", "member", id, "on", "2024-03-02", NULL), NULL, 0);
	assert_int_equal(ut_sequence(ah->hub, ah->cz), 2);
	ut_must(w->hub, peer_op("ah", "ah-hub", KEY_AH, URL_AH, "安徽省总工会"), NULL, 0);
	/* No registry file yet: nothing to look in. */
	UT_OK(hj_peer_lookup_open(&l, w->hub->db, w->hub->dir));
	assert_int_equal(l->n, 0);
	hj_peer_lookup_free(l);
	install_peer_registry(w, ah->hub, 9);
	UT_OK(hj_peer_lookup_open(&l, w->hub->db, w->hub->dir));
	assert_int_equal(l->n, 1);
	assert_int_equal(l->reg[0].hub_seq, 9);
	assert_string_equal(l->reg[0].name, "安徽省总工会");
	/* Rules 4: as before. */
	fold_apply(w, l, 4, NULL, 7, &v);
	assert_true(v.applied);
	UT_OK(hj_db_exec(w->hub->db, "DELETE FROM membership; DELETE FROM person"));
	/* Rules 5: refused, the province and the union named, never the person. */
	fold_apply(w, l, 5, NULL, 7, &v);
	assert_false(v.applied);
	assert_string_equal(v.reason, "duplicate_province");
	assert_string_equal(v.holder, "ah/qh-xn-cz");
	assert_non_null(strstr(v.detail, "province ah (安徽省总工会), union qh-xn-cz"));
	assert_non_null(strstr(v.detail, "hub entry 9"));
	char idno[19];
	ut_person_id(idno, 7);
	assert_null(strstr(v.detail, idno));
	assert_int_equal(ut_int(w->hub->db, "SELECT peer_hub_seq FROM peer_verdict WHERE op = 'cz:87:0' AND "
				"province = 'ah'", NULL), 9);
	/* Someone the peer does not hold: applied, nothing recorded. */
	fold_apply(w, l, 5, NULL, 8, &v);
	assert_true(v.applied);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM peer_verdict", NULL), 1);
	/* A re-fold holds no peer registry: the hub's word, or applied. */
	UT_OK(hj_db_exec(w->hub->db, "DELETE FROM membership; DELETE FROM person"));
	fold_apply(w, NULL, 5, "duplicate_province", 7, &v);
	assert_string_equal(v.reason, "duplicate_province");
	fold_apply(w, NULL, 5, NULL, 7, &v);
	assert_true(v.applied);
	hj_peer_lookup_free(l);
	/* A registry that does not read is an error, not "no duplicate". */
	snprintf(path, sizeof path, "%s/peers/ah.db", w->hub->dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs("not a registry at all, but long enough to be read as one ......................................", f);
	fclose(f);
	assert_true(hj_peer_lookup_open(&l, w->hub->db, w->hub->dir) < 0);
	assert_null(l);
	ut_world_free(ah);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_peer_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_province, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
