/*
 * test_rules.c — rules versions (node/rules.h): the person-key check and
 * the date rules judge a position only under rules 2, so a province built
 * before them (entries v1, rules 1) re-folds to the verdicts it signed,
 * while the upgraded hub refuses the same forgery from then on; an audit
 * agrees both with and without the person key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "envelope.h"
#include "error.h"
#include "followed.h"
#include "hex.h"
#include "hub_entry.h"
#include "outbox.h"
#include "rules.h"
#include "sequencer.h"
#include "seal.h"
#include "support.h"

/* 2026-12-01 00:00 UTC = 08:00 in China. */
#define NOW_MS 1796083200000LL

static int setup(void **state)
{
	*state = ut_world_new(1);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	return ut_world_free(*state);
}

static void test_cst_date(void **state)
{
	char d[11];
	(void)state;
	hj_rules_cst_date(d, 0);
	assert_string_equal(d, "1970-01-01");
	hj_rules_cst_date(d, NOW_MS);
	assert_string_equal(d, "2026-12-01");
	hj_rules_cst_date(d, NOW_MS + 16 * 3600 * 1000LL - 1); /* 23:59:59.999 CST */
	assert_string_equal(d, "2026-12-01");
	hj_rules_cst_date(d, NOW_MS + 16 * 3600 * 1000LL);
	assert_string_equal(d, "2026-12-02");
	hj_rules_cst_date(d, 951782400000LL); /* 2000-02-29 00:00 UTC */
	assert_string_equal(d, "2000-02-29");
	hj_rules_cst_date(d, -8 * 3600 * 1000LL - 1);
	assert_string_equal(d, "1969-12-31");
}

/* cz's application for person `who`, its person key replaced by the key
 * of person `key_of` (a forged key: the hub cannot find the duplicate). */
static hj_json *forged_op(const hj_node *cz, int who, int key_of, int plain)
{
	char key[65];
	hj_json *op = plain ? ut_plain_apply_op(cz, NULL, who) : ut_apply_op(cz, NULL, who);
	ut_person_key(key, cz, key_of);
	assert_int_equal(hj_json_set_str((hj_json *)hj_json_get(op, "person"), "key", key), 0);
	return op;
}

static hj_json *forged_apply(const hj_node *cz, int who, int key_of)
{
	return forged_op(cz, who, key_of, 0);
}

/* As a huiji before sealing wrote it: the old province's history. */
static hj_json *forged_plain(const hj_node *cz, int who, int key_of)
{
	return forged_op(cz, who, key_of, 1);
}

static hj_foldctx ctx_at(const ut_world *w, uint32_t rules, const uint8_t *secret)
{
	static uint64_t seq = 100;
	/* The hub opens the seal; without the person secret it is an auditor
	 * without the keys (who opens nothing either). */
	hj_foldctx c = {.actor = "cz", .seq = seq++, .rules = rules, .now_ms = NOW_MS, .person_secret = secret,
			.unseal = secret ? &w->hub->unsealer : NULL};
	return c;
}

static void test_person_key(void **state)
{
	ut_world *w = *state;
	hj_verdict v;
	uint64_t on_word = 0;
	hj_foldctx c = ctx_at(w, 2, w->hub->person_secret);
	hj_json *op = forged_apply(w->cz, 1, 2);
	assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
	assert_false(v.applied);
	assert_string_equal(v.reason, "person_key_mismatch");
	/* Rules 1: the verdict such an entry signed. */
	c = ctx_at(w, 1, w->hub->person_secret);
	assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
	assert_true(v.applied);
	hj_json_free(op);
	/* No secret (an auditor without the person key): the hub's verdict
	 * stands and is counted. */
	char key[65];
	for (int sealed = 0; sealed < 2; sealed++) {
		/* Plaintext history counts the person-key checks; a sealed op
		 * it cannot open, every real-name check at once. */
		uint64_t seal_word = 0;
		on_word = 0;
		op = sealed ? ut_apply_op(w->cz, NULL, 13) : ut_plain_apply_op(w->cz, NULL, 3);
		ut_person_key(key, w->cz, sealed ? 14 : 4);
		assert_int_equal(hj_json_set_str((hj_json *)hj_json_get(op, "person"), "key", key), 0);
		c = ctx_at(w, 2, NULL);
		c.pkey_on_hub_word = &on_word;
		c.sealed_on_hub_word = &seal_word;
		c.hub_reason = "person_key_mismatch";
		assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
		assert_string_equal(v.reason, "person_key_mismatch");
		c.hub_reason = NULL;
		assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
		assert_true(v.applied);
		assert_int_equal(sealed ? seal_word : on_word, 2);
		assert_int_equal(sealed ? on_word : seal_word, 0);
		hj_json_free(op);
	}
	/* An honest key passes. */
	op = ut_apply_op(w->cz, NULL, 5);
	c = ctx_at(w, 2, w->hub->person_secret);
	assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
	assert_true(v.applied);
	hj_json_free(op);
}

/* Rules 4 at the hub: a seal must open for the hub and match its
 * commitment; a county that seals only to itself, or swaps in another
 * seal's ciphertext, is refused "invalid" (and names no personal data). */
static void test_sealed_at_the_hub(void **state)
{
	ut_world *w = *state;
	hj_verdict v;
	hj_foldctx c = ctx_at(w, 4, w->hub->person_secret);
	char id[19];
	ut_person_id(id, 60);
	/* Sealed to cz alone. */
	hj_json *op = ut_plain_apply_op(w->cz, NULL, 60), *fields = hj_json_new(HJ_JOBJ);
	hj_json *person = (hj_json *)hj_json_get(op, "person");
	assert_int_equal(hj_json_set_str(fields, "name", hj_json_get_str(person, "name")), 0);
	assert_int_equal(hj_json_set_str(fields, "id_number", id), 0);
	assert_int_equal(hj_json_set_str(fields, "phone", hj_json_get_str(person, "phone")), 0);
	hj_buf plain = HJ_BUF_INIT;
	assert_int_equal(hj_json_write(&plain, fields), 0);
	hj_seal_to only = {"cz", {0}};
	assert_int_equal(hj_seal_pk_from_node(only.pk, w->cz->pk), 0);
	hj_json *sealed = NULL;
	assert_int_equal(hj_seal_json(&sealed, plain.data, plain.len, &only, 1), 0);
	hj_json *np = hj_json_new(HJ_JOBJ);
	assert_int_equal(hj_json_set_str(np, "key", hj_json_get_str(person, "key")), 0);
	assert_int_equal(hj_json_set(np, "sealed", sealed), 0);
	assert_int_equal(hj_json_set(op, "person", np), 0);
	assert_int_equal(hj_json_set_int(op, "v", 2), 0);
	assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
	assert_false(v.applied);
	assert_string_equal(v.reason, "invalid");
	assert_non_null(strstr(v.detail, "not sealed to the hub"));
	assert_null(strstr(v.detail, id));
	hj_json_free(op);
	/* A proper seal whose ciphertext is another seal's: it does not open. */
	op = ut_apply_op(w->cz, NULL, 61);
	hj_json *other = ut_apply_op(w->cz, NULL, 62);
	hj_json *s1 = (hj_json *)hj_json_get(hj_json_get(op, "person"), "sealed");
	const char *ct2 = hj_json_get_str(hj_json_get(hj_json_get(other, "person"), "sealed"), "ct");
	assert_int_equal(hj_json_set_str(s1, "ct", ct2), 0);
	assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
	assert_false(v.applied);
	assert_string_equal(v.reason, "invalid");
	hj_json_free(op);
	hj_json_free(other);
	/* The honest one applies, and the hub holds the fields it opened. */
	op = ut_apply_op(w->cz, NULL, 63);
	assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
	assert_true(v.applied);
	hj_json_free(op);
	hj_json_free(fields);
	hj_buf_free(&plain);
}

static void fold_expect(const ut_world *w, uint32_t rules, hj_json *op, const char *reason, char *id_out)
{
	hj_verdict v;
	hj_foldctx c = ctx_at(w, rules, w->hub->person_secret);
	assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
	if (id_out)
		hj_fold_op_id(id_out, UT_ID_SZ, &c);
	if (!reason) {
		if (!v.applied)
			fail_msg("rejected %s: %s", v.reason, v.detail);
	} else {
		assert_false(v.applied);
		assert_string_equal(v.reason, reason);
	}
	hj_json_free(op);
}

static void test_dates(void **state)
{
	ut_world *w = *state;
	char id[UT_ID_SZ], id2[UT_ID_SZ];
	hj_json *op = ut_apply_op(w->cz, NULL, 10);
	/* A day's grace past "now" (CST): 2026-12-02 passes, 12-03 does not. */
	assert_int_equal(hj_json_set_str(op, "on", "2026-12-03"), 0);
	fold_expect(w, 2, op, "future_date", NULL);
	op = ut_apply_op(w->cz, NULL, 10);
	assert_int_equal(hj_json_set_str(op, "on", "2026-12-03"), 0);
	fold_expect(w, 1, op, NULL, NULL); /* rules 1 had no such rule */
	op = ut_apply_op(w->cz, NULL, 11);
	assert_int_equal(hj_json_set_str(op, "on", "2026-12-02"), 0);
	fold_expect(w, 2, op, NULL, NULL);
	/* Approval before the application (2024-03-01), then in order. */
	op = ut_apply_op(w->cz, NULL, 12);
	fold_expect(w, 2, op, NULL, id);
	fold_expect(w, 2, ut_op("member.approve", "member", id, "on", "2024-02-29", NULL), "date_order", NULL);
	fold_expect(w, 2, ut_op("member.approve", "member", id, "on", "2027-01-01", NULL), "future_date", NULL);
	fold_expect(w, 2, ut_op("member.approve", "member", id, "on", "2024-03-01", NULL), NULL, NULL);
	/* Leaving before the admission, then after it. */
	fold_expect(w, 2, ut_op("member.leave", "member", id, "on", "2024-02-01", "reason", "voluntary", NULL),
		    "date_order", NULL);
	fold_expect(w, 2, ut_op("member.leave", "member", id, "on", "2025-06-01", "reason", "voluntary", NULL), NULL,
		    NULL);
	/* Rejecting an application before it was made. */
	op = ut_apply_op(w->cz, NULL, 13);
	fold_expect(w, 2, op, NULL, id2);
	fold_expect(w, 1, ut_op("member.reject", "member", id2, "on", "2024-01-01", "reason", "x", NULL), NULL, NULL);
}

static void test_names(void **state)
{
	ut_world *w = *state;
	hj_json *op = ut_plain_apply_op(w->cz, NULL, 40); /* a name the command line refuses */
	assert_int_equal(hj_json_set_str((hj_json *)hj_json_get(op, "person"), "name", "张\001三"), 0);
	fold_expect(w, 2, op, "invalid", NULL);
	op = ut_plain_apply_op(w->cz, NULL, 40);
	assert_int_equal(hj_json_set_str((hj_json *)hj_json_get(op, "person"), "name", "张\001三"), 0);
	fold_expect(w, 1, op, NULL, NULL);
	hj_verdict v;
	hj_foldctx c = {.actor = w->hub->id, .seq = 900, .rules = 2};
	op = ut_op("org.create", "id", "qh-ctl", "name", "a\x7f", "kind", "township", "parent", "qh-xn-cz", NULL);
	assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
	assert_string_equal(v.reason, "invalid");
	assert_non_null(strstr(v.detail, "control characters"));
	c.rules = 1;
	assert_int_equal(hj_fold_op(w->hub->db, &c, op, &v), 0);
	if (!v.applied)
		fail_msg("rules 1 took such names: %s %s", v.reason, v.detail);
	hj_json_free(op);
}

/* cz signs `op` the way a huiji before rules 2 did (its own fold under
 * rules 1), so the forgery reaches the hub. */
static uint64_t commit_as_old_county(hj_node *cz, hj_json *op)
{
	hj_batch b;
	hj_verdict v;
	uint64_t seq = 0;
	UT_OK(hj_batch_begin(&b, cz));
	b.rules.rules = 1;
	UT_OK(hj_batch_apply(&b, op, &v, NULL, 0));
	assert_true(v.applied);
	UT_OK(hj_batch_commit(&b, &seq));
	return seq;
}

/* The payload text of the hub's newest change set (owned). */
static char *last_hub_payload(ut_world *w)
{
	hj_envelope e;
	size_t len = 0;
	uint64_t seq = (uint64_t)ut_int(w->hub->db, "SELECT max(seq) FROM changelog", NULL);
	uint8_t *bytes = ut_changeset(w->hub, seq, &len);
	assert_non_null(bytes);
	UT_OK(hj_envelope_decode(&e, bytes, len));
	char *text = strndup((const char *)e.payload, e.payload_len);
	hj_envelope_free(&e);
	free(bytes);
	return text;
}

static void sequence_as(ut_world *w, hj_node *county, int entry_version, hj_seq_report *rep)
{
	hj_gitrepo *r = NULL;
	hj_seq_opts o = {.entry_version = entry_version};
	ut_push(county, w->hub);
	UT_OK(hj_node_repo_open(&r, w->hub));
	UT_OK(hj_hub_sequence_opts(w->hub, r, &o, rep));
	hj_gitrepo_close(r);
}

static void audit_clean(ut_world *w, const uint8_t *secret, uint64_t *on_word)
{
	hj_audit_report rep;
	char work[512], key[65];
	char *hub_git = hj_node_repo_path(w->hub);
	static int k;
	snprintf(work, sizeof work, "%s/audit-%d.git", w->dir, k++);
	hj_hex_encode(key, w->hub->pk, 32);
	ut_flush(w->hub);
	assert_int_equal(hj_audit(&rep, hub_git, key, secret, work, NULL), 0);
	for (size_t i = 0; i < rep.nproblems; i++)
		fprintf(stderr, "  problem: %s\n", rep.problems[i]);
	assert_int_equal(rep.nproblems, 0);
	*on_word = rep.pkey_on_hub_word;
	hj_audit_report_free(&rep);
	free(hub_git);
}

/* The province before the upgrade: entries v1, rules 1, and a forged key
 * and a far-future date among what they applied. After it the same
 * forgeries are refused, and every re-fold (hub, county, auditor) agrees
 * with every entry. */
static void test_old_province_upgrades(void **state)
{
	ut_world *w = *state;
	hj_seq_report rep;
	hj_sync_report srep;
	hj_replay_stats st;
	uint64_t on_word = 0;
	ut_must(w->cz, ut_plain_apply_op(w->cz, NULL, 20), NULL, 0); /* honest */
	commit_as_old_county(w->cz, forged_plain(w->cz, 21, 22));
	hj_json *future = ut_plain_apply_op(w->cz, NULL, 23);
	assert_int_equal(hj_json_set_str(future, "on", "2099-01-01"), 0);
	commit_as_old_county(w->cz, future);
	sequence_as(w, w->cz, 1, &rep);
	assert_int_equal(rep.change_sets, 3);
	assert_int_equal(rep.rejected, 0);
	hj_hub_entry e;
	char *payload = last_hub_payload(w);
	assert_non_null(payload);
	assert_non_null(strstr(payload, "\"op\":\"hub.sequence\",\"v\":1,\"include\""));
	free(payload);
	assert_int_equal(ut_int(w->hub->db, "SELECT count(*) FROM followed WHERE node = 'cz' AND rules = 1", NULL), 3);

	/* The upgrade: the hub writes v2 under rules 2 from here on. */
	commit_as_old_county(w->cz, forged_plain(w->cz, 24, 25));
	future = ut_plain_apply_op(w->cz, NULL, 26);
	assert_int_equal(hj_json_set_str(future, "on", "2099-01-01"), 0);
	commit_as_old_county(w->cz, future);
	sequence_as(w, w->cz, 0, &rep);
	assert_int_equal(rep.change_sets, 2);
	assert_int_equal(rep.rejected, 2);
	payload = last_hub_payload(w);
	assert_int_equal(hj_hub_entry_parse(&e, payload, strlen(payload)), 0);
	assert_int_equal(e.v, HJ_HUB_ENTRY_VERSION);
	assert_int_equal(e.rules, HJ_RULES_VERSION);
	const char *reason = NULL;
	assert_int_equal(hj_hub_verdict_at(e.include[0].verdicts, 0, &reason, NULL), 0);
	assert_string_equal(reason, "person_key_mismatch");
	assert_int_equal(hj_hub_verdict_at(e.include[1].verdicts, 0, &reason, NULL), 0);
	assert_string_equal(reason, "future_date");
	hj_hub_entry_free(&e);
	free(payload);

	/* Every re-fold agrees: the hub's rebuild (full: each verdict
	 * reproduced under its entry's rules), the county's, the auditor's. */
	UT_OK(ut_rebuild_compare(w->hub, &st));
	assert_int_equal(ut_follow(w->cz, w->hub, &srep), 0);
	assert_int_equal(srep.rejected, 2);
	UT_OK(ut_rebuild_compare(w->cz, &st));
	audit_clean(w, w->hub->person_secret, &on_word);
	assert_int_equal(on_word, 0);
	audit_clean(w, NULL, &on_word);
	assert_int_equal(on_word, 2); /* the two applications under rules >= 2, on the hub's word */
	/* A hub that wrote rules 2 cannot be driven back to rules 1. */
	assert_int_equal(ut_int(w->hub->db, "SELECT value FROM meta WHERE key = 'hub_rules'", NULL), HJ_RULES_VERSION);
}

/* A county whose clock runs a year ahead is told so at sync; its
 * verdicts are the hub's, judged by the hub's time. */
static void test_county_clock_ahead(void **state)
{
	ut_world *w = *state;
	hj_batch b;
	hj_verdict v;
	hj_seq_report rep;
	hj_sync_report srep;
	UT_OK(hj_batch_begin(&b, w->cz));
	b.created_at += 366 * 24 * 3600 * 1000LL; /* the county's clock, a year ahead */
	hj_json *op = ut_apply_op(w->cz, NULL, 30);
	char next_year[11];
	hj_rules_cst_date(next_year, b.created_at);
	assert_int_equal(hj_json_set_str(op, "on", next_year), 0);
	UT_OK(hj_batch_apply(&b, op, &v, NULL, 0));
	assert_true(v.applied); /* by its own (wrong) clock, "today" */
	UT_OK(hj_batch_commit(&b, NULL));
	sequence_as(w, w->cz, 0, &rep);
	assert_int_equal(rep.rejected, 1); /* the hub's time says: a year in the future */
	assert_int_equal(ut_follow(w->cz, w->hub, &srep), 0);
	assert_int_equal(srep.rejected, 1);
	assert_true(srep.clock_ahead_ms > 360 * 24 * 3600 * 1000LL);
	assert_int_equal(srep.clock_behind_ms, 0);
	char *verdicts = ut_text(w->cz->db, "SELECT verdicts FROM followed WHERE node = 'cz'", NULL);
	assert_string_equal(verdicts, "[[0,\"future_date\",\"\"]]");
	free(verdicts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cst_date),
		cmocka_unit_test_setup_teardown(test_person_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed_at_the_hub, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_province_upgrades, setup, teardown),
		cmocka_unit_test_setup_teardown(test_county_clock_ahead, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
