/*
 * test_audit_key.c — the audit with the audit committee's key
 * (hj_audit_with_key, sync/audit_key.c): the secret key of an enrolled
 * auditor node, to which every seal made after its enrolment is wrapped.
 *
 * A real province (tests/unit/support.c): the hub enrols an auditor node
 * (a fresh Ed25519 pair), the county cz follows it, so its applications
 * are sealed to the auditor too, and the real sequencer decides them.
 * Proves: (a) an honest province audits clean with the key, every seal
 * opened and none taken on the hub's word, while one sealed before the
 * auditor was enrolled is counted apart; (b) a hub that lied about a
 * sealed real-name check — it accepted an application whose sealed ID
 * number is invalid, or whose person key is not the number's, or rejected
 * an honest one as "invalid", or published a person key that is not the
 * number's — audits clean without the key (the check
 * counted as taken on its word) and is caught with it, the discrepancy
 * naming the change set and no personal data; (c) a key no auditor is
 * enrolled with (a stranger's, a county's, a broken pair) gives an error
 * and no verdict.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "error.h"
#include "feed.h"
#include "outbox.h"
#include "person_seal.h"
#include "support.h"
#include "person_key.h"

#define OK UT_OK
#define AUD "aud"

typedef struct fx {
	ut_world *w;
	uint8_t apk[32], ask[64]; /* the auditor node's keys */
} fx;

/* The auditor enrolled (after one application of cz, sequenced, when
 * `late`), then cz follows: its next seals are wrapped to the auditor. */
static fx *province(int late)
{
	fx *f = calloc(1, sizeof *f);
	hj_sync_report srep;
	assert_non_null(f);
	f->w = ut_world_new(1);
	crypto_sign_keypair(f->apk, f->ask);
	if (late) {
		ut_must(f->w->cz, ut_apply_op(f->w->cz, NULL, 90), NULL, 0);
		assert_int_equal(ut_sequence(f->w->hub, f->w->cz), 1);
	}
	ut_must(f->w->hub, ut_enroll_op(AUD, f->apk, "qh", "auditor"), NULL, 0);
	OK(ut_follow(f->w->cz, f->w->hub, &srep));
	assert_int_equal(ut_int(f->w->cz->db, "SELECT count(*) FROM node WHERE id = ?1 AND role = 'auditor'", AUD), 1);
	return f;
}

static int setup(void **state)
{
	*state = province(0);
	return 0;
}

static int setup_late(void **state)
{
	*state = province(1);
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	int rc = ut_world_free(f->w);
	sodium_memzero(f->ask, sizeof f->ask);
	free(f);
	return rc;
}

/* Audit the hub's repository (its key pinned) with audit key `sk` (NULL:
 * none) and person key `ps`; returns hj_audit_with_key's code. */
static int audit(fx *f, hj_audit_report *rep, const uint8_t *sk, const uint8_t *ps)
{
	static int k;
	char work[512], key[65];
	char *git = hj_node_repo_path(f->w->hub);
	assert_non_null(git);
	snprintf(work, sizeof work, "%s/audit-%d.git", f->w->dir, k++);
	hj_hex_encode(key, f->w->hub->pk, 32);
	int rc = hj_audit_with_key(rep, git, key, ps, sk, work, NULL);
	for (size_t i = 0; !rc && i < rep->nproblems; i++)
		fprintf(stderr, "  problem: %s\n", rep->problems[i]);
	free(git);
	return rc;
}

static int has_problem(const hj_audit_report *r, const char *needle)
{
	for (size_t i = 0; i < r->nproblems; i++)
		if (strstr(r->problems[i], needle))
			return 1;
	return 0;
}

/* cz applies for fake people 1..n and the honest hub sequences them. */
static void apply_some(fx *f, int n)
{
	for (int i = 1; i <= n; i++)
		ut_must(f->w->cz, ut_apply_op(f->w->cz, NULL, i), NULL, 0);
	assert_int_equal(ut_sequence(f->w->hub, f->w->cz), n);
}

/* (a) */
static void test_honest_clean_with_key(void **state)
{
	fx *f = *state;
	hj_audit_report rep;
	apply_some(f, 3);
	OK(audit(f, &rep, f->ask, f->w->hub->person_secret));
	assert_int_equal(rep.nproblems, 0);
	assert_true(rep.audit_key_given);
	assert_string_equal(rep.auditor, AUD);
	assert_int_equal(rep.sealed_to_audit_key, 3);
	assert_int_equal(rep.sealed_on_hub_word, 0);
	assert_int_equal(rep.pkey_on_hub_word, 0);
	hj_audit_report_free(&rep);
	/* Without the key the same checks are the hub's word (the seals are
	 * there: the test above could fail). */
	OK(audit(f, &rep, NULL, f->w->hub->person_secret));
	assert_int_equal(rep.nproblems, 0);
	assert_false(rep.audit_key_given);
	assert_int_equal(rep.sealed_to_audit_key, 0);
	assert_int_equal(rep.sealed_on_hub_word, 3);
	hj_audit_report_free(&rep);
	/* The key without the person key: the real-name checks recomputed,
	 * the person-key checks still the hub's word. */
	OK(audit(f, &rep, f->ask, NULL));
	assert_int_equal(rep.nproblems, 0);
	assert_int_equal(rep.sealed_on_hub_word, 0);
	assert_int_equal(rep.pkey_on_hub_word, 3);
	hj_audit_report_free(&rep);
}

/* (a) A seal made before the auditor was enrolled is not wrapped to it:
 * the hub re-wraps its key for the auditor (refs/huiji/wraps/aud,
 * sync/wraps.c), so the audit opens it too; without that ref it is
 * counted on the hub's word, apart from the ones it opened. */
static void test_sealed_before_enrolment_counted_apart(void **state)
{
	fx *f = *state;
	hj_audit_report rep;
	apply_some(f, 2);
	assert_int_equal(ut_int(f->w->hub->db, "SELECT count(*) FROM rewrap WHERE node = ?1", AUD), 1);
	OK(audit(f, &rep, f->ask, f->w->hub->person_secret));
	assert_int_equal(rep.nproblems, 0);
	assert_string_equal(rep.auditor, AUD);
	assert_int_equal(rep.sealed_to_audit_key, 2);
	assert_int_equal(rep.sealed_on_hub_word, 0);
	assert_int_equal(rep.audit_wraps_refused, 0);
	hj_audit_report_free(&rep);
	hj_gitrepo *r = NULL;
	OK(hj_node_repo_open(&r, f->w->hub));
	OK(hj_gitrepo_ref_delete(r, "refs/huiji/wraps/" AUD));
	hj_gitrepo_close(r);
	OK(audit(f, &rep, f->ask, f->w->hub->person_secret));
	assert_int_equal(rep.nproblems, 0);
	assert_int_equal(rep.sealed_to_audit_key, 2);
	assert_int_equal(rep.sealed_on_hub_word, 1);
	hj_audit_report_free(&rep);
}

/* cz signs an application the fold would refuse (its own included), as a
 * dishonest county can: person `who` with ID number `idno` under person
 * key `key` (NULL: the number's), sealed to the hub, the auditor and cz as
 * hj_application_op seals. Pushed to the hub, not yet sequenced. Returns
 * its seq. */
static uint64_t forged_apply(fx *f, int who, const char *idno, const char *key)
{
	hj_node *cz = f->w->cz;
	char pk[65];
	hj_json *op = ut_apply_op(cz, NULL, who), *person = NULL;
	hj_json *fields = ut_json("{\"name\":\"测试%d\",\"id_number\":\"%s\",\"phone\":\"138%08d\"}", who, idno, who);
	hj_person_key_derive(pk, f->w->hub->person_secret, idno); /* a forger may name one: the hub checks it */
	OK(hj_person_seal(&person, cz, key ? key : pk, fields, cz->union_id));
	OK(hj_json_set(op, "person", person));
	hj_json *payload = ut_json("{\"v\":1,\"ops\":[]}");
	OK(hj_json_append((hj_json *)hj_json_get(payload, "ops"), op));
	hj_buf text = HJ_BUF_INIT;
	OK(hj_json_write(&text, payload));
	uint64_t last;
	uint8_t prev[32], hash[32];
	OK(hj_db_exec(cz->db, "BEGIN IMMEDIATE"));
	OK(hj_feed_last(cz->db, &last, prev));
	OK(hj_feed_append(cz->db, cz->id, last + 1, hj_clock_ms(), text.data, text.len, cz->pk, cz->sk, hash));
	OK(hj_db_exec(cz->db, "COMMIT"));
	ut_flush(cz);
	hj_buf_free(&text);
	hj_json_free(payload);
	hj_json_free(fields);
	return last + 1;
}

/* No problem names the ID number (personal data stays out of findings). */
static void assert_no_idno(const hj_audit_report *rep, const char *idno)
{
	for (size_t i = 0; i < rep->nproblems; i++)
		assert_null(strstr(rep->problems[i], idno));
}

/* (b) The hub accepted an application whose sealed ID number is invalid:
 * a hub that does not open the seals it is given (its unsealer cleared)
 * takes the sealed fields unchecked, and its digest follows the lie. */
static void test_hub_accepted_invalid_id(void **state)
{
	fx *f = *state;
	hj_audit_report rep;
	char idno[19], msg[200];
	apply_some(f, 1);
	ut_person_id(idno, 7);
	idno[17] = idno[17] == '0' ? '1' : '0'; /* the check character wrong */
	uint64_t seq = forged_apply(f, 7, idno, NULL);
	ut_push(f->w->cz, f->w->hub);
	hj_unsealer honest = f->w->hub->unsealer;
	memset(&f->w->hub->unsealer, 0, sizeof f->w->hub->unsealer);
	assert_int_equal(ut_sequence(f->w->hub, NULL), 1);
	f->w->hub->unsealer = honest;
	assert_int_equal(ut_int(f->w->hub->db, "SELECT count(*) FROM membership", NULL), 2); /* the lie applied */

	OK(audit(f, &rep, NULL, f->w->hub->person_secret));
	assert_int_equal(rep.nproblems, 0); /* not caught: the hub's word */
	assert_int_equal(rep.sealed_on_hub_word, 2);
	hj_audit_report_free(&rep);

	OK(audit(f, &rep, f->ask, f->w->hub->person_secret));
	snprintf(msg, sizeof msg, "cz seq %" PRIu64 " op 0: the hub says applied, the re-fold says invalid_id", seq);
	assert_true(has_problem(&rep, msg));
	assert_true(has_problem(&rep, "published state digest"));
	assert_int_equal(rep.sealed_on_hub_word, 0);
	assert_int_equal(rep.sealed_to_audit_key, 2);
	assert_no_idno(&rep, idno);
	hj_audit_report_free(&rep);
}

/* (b) The hub accepted an application whose person key is not its ID
 * number's (the hub not given the person key takes it unchecked): caught
 * only with both keys; the person key alone cannot see the number. */
static void test_hub_accepted_wrong_person_key(void **state)
{
	fx *f = *state;
	hj_audit_report rep;
	char idno[19], wrong[65], msg[200];
	ut_person_id(idno, 8);
	ut_hex64(wrong, "not this person's key");
	uint64_t seq = forged_apply(f, 8, idno, wrong);
	ut_push(f->w->cz, f->w->hub);
	uint8_t *ps = f->w->hub->person_secret;
	f->w->hub->person_secret = NULL;
	assert_int_equal(ut_sequence(f->w->hub, NULL), 1);
	f->w->hub->person_secret = ps;
	assert_int_equal(ut_int(f->w->hub->db, "SELECT count(*) FROM membership WHERE person_key = ?1", wrong), 1);

	OK(audit(f, &rep, NULL, ps));
	assert_int_equal(rep.nproblems, 0);
	assert_int_equal(rep.sealed_on_hub_word, 1);
	hj_audit_report_free(&rep);

	OK(audit(f, &rep, f->ask, ps));
	snprintf(msg, sizeof msg, "cz seq %" PRIu64 " op 0: the hub says applied, the re-fold says ", seq);
	assert_true(has_problem(&rep, msg));
	assert_false(has_problem(&rep, "re-fold says applied"));
	assert_int_equal(rep.sealed_on_hub_word, 0);
	assert_no_idno(&rep, idno);
	hj_audit_report_free(&rep);
}

/* (b) The hub published a person key that is not the ID number's for an
 * application that names none (op version 4: the county holds no person
 * secret, so the entry's key is the record's key everywhere): caught only
 * by an auditor holding both the person key and the audit key, which
 * derives the key from the number it opens; without them it is counted as
 * taken on the hub's word. */
static void test_hub_published_wrong_key(void **state)
{
	fx *f = *state;
	hj_audit_report rep;
	char msg[200];
	hj_json *op = ut_apply_op(f->w->cz, NULL, 6);
	assert_null(hj_json_get(hj_json_get(op, "person"), "key")); /* a county names none */
	ut_must(f->w->cz, op, NULL, 0);
	uint64_t seq = (uint64_t)ut_int(f->w->cz->db, "SELECT max(seq) FROM changelog", NULL);
	uint8_t honest[32];
	memcpy(honest, f->w->hub->person_secret, 32);
	randombytes_buf(f->w->hub->person_secret, 32); /* a hub keying under another secret */
	assert_int_equal(ut_sequence(f->w->hub, f->w->cz), 1);
	memcpy(f->w->hub->person_secret, honest, 32);
	char idno[19], right[65];
	ut_person_id(idno, 6);
	hj_person_key_derive(right, honest, idno);
	assert_int_equal(ut_int(f->w->hub->db, "SELECT count(*) FROM membership WHERE person_key = ?1", right), 0);
	char *keys = ut_text(f->w->hub->db, "SELECT keys FROM followed WHERE node = 'cz' ORDER BY seq DESC LIMIT 1", NULL);
	assert_non_null(keys); /* the entry published one, the wrong one */
	assert_null(strstr(keys, right));
	free(keys);

	OK(audit(f, &rep, NULL, NULL));
	assert_int_equal(rep.nproblems, 0);
	assert_true(rep.pkey_on_hub_word >= 1);
	hj_audit_report_free(&rep);
	OK(audit(f, &rep, NULL, honest)); /* the person key alone cannot see the number */
	assert_int_equal(rep.nproblems, 0);
	hj_audit_report_free(&rep);

	OK(audit(f, &rep, f->ask, honest));
	snprintf(msg, sizeof msg, "cz seq %" PRIu64 " op 0: the hub says applied, the re-fold says person_key_mismatch",
		 seq);
	assert_true(has_problem(&rep, msg));
	hj_audit_report_free(&rep);
	sodium_memzero(honest, sizeof honest);
}

/* (b) The hub rejected an honest application as "invalid" (a hub whose
 * seals "do not open": a wrong key under its id); a rejection changes
 * no state, so its digest holds. */
static void test_hub_rejected_honest(void **state)
{
	fx *f = *state;
	hj_audit_report rep;
	char msg[200];
	ut_must(f->w->cz, ut_apply_op(f->w->cz, NULL, 5), NULL, 0);
	uint64_t seq = (uint64_t)ut_int(f->w->cz->db, "SELECT max(seq) FROM changelog", NULL);
	hj_unsealer honest = f->w->hub->unsealer;
	crypto_box_keypair(f->w->hub->unsealer.pk, f->w->hub->unsealer.sk);
	assert_int_equal(ut_sequence(f->w->hub, f->w->cz), 1);
	f->w->hub->unsealer = honest;
	assert_int_equal(ut_int(f->w->hub->db, "SELECT count(*) FROM membership", NULL), 0);

	OK(audit(f, &rep, NULL, f->w->hub->person_secret));
	assert_int_equal(rep.nproblems, 0);
	assert_int_equal(rep.sealed_on_hub_word, 1);
	hj_audit_report_free(&rep);

	OK(audit(f, &rep, f->ask, f->w->hub->person_secret));
	snprintf(msg, sizeof msg, "cz seq %" PRIu64 " op 0: the hub says invalid, the re-fold says applied", seq);
	assert_true(has_problem(&rep, msg));
	assert_int_equal(rep.sealed_on_hub_word, 0);
	hj_audit_report_free(&rep);
}

/* A seal wrapped to the auditor that does not open for it (cz's
 * registry held the auditor under another key when it sealed), which the
 * hub accepted as it must (its own wrap opens): a discrepancy naming the
 * change set, that the hub's word was not the auditor's to check. */
static void test_seal_not_opening_for_auditor(void **state)
{
	fx *f = *state;
	hj_audit_report rep;
	char sql[200], other[65], right[65], msg[200];
	uint8_t opk[32], osk[64];
	hj_node *cz = f->w->cz;
	crypto_sign_keypair(opk, osk);
	hj_hex_encode(other, opk, 32);
	hj_hex_encode(right, f->apk, 32);
	snprintf(sql, sizeof sql, "UPDATE node SET pubkey = '%s' WHERE id = '" AUD "'", other);
	OK(hj_db_exec(cz->db, sql));
	ut_must(cz, ut_apply_op(cz, NULL, 6), NULL, 0);
	uint64_t seq = (uint64_t)ut_int(cz->db, "SELECT max(seq) FROM changelog", NULL);
	snprintf(sql, sizeof sql, "UPDATE node SET pubkey = '%s' WHERE id = '" AUD "'", right);
	OK(hj_db_exec(cz->db, sql));
	assert_int_equal(ut_sequence(f->w->hub, cz), 1);
	assert_int_equal(ut_int(f->w->hub->db, "SELECT count(*) FROM membership", NULL), 1);

	OK(audit(f, &rep, NULL, NULL));
	assert_int_equal(rep.nproblems, 0);
	hj_audit_report_free(&rep);
	OK(audit(f, &rep, f->ask, NULL));
	snprintf(msg, sizeof msg, "cz seq %" PRIu64 " op 0: the hub says applied, the re-fold says invalid", seq);
	assert_true(has_problem(&rep, msg));
	assert_true(has_problem(&rep, "invalid (member.apply: sealed personal fields"));
	hj_audit_report_free(&rep);
}

/* (c) */
static void test_key_of_no_auditor(void **state)
{
	fx *f = *state;
	hj_audit_report rep;
	uint8_t pk[32], sk[64];
	apply_some(f, 1);
	crypto_sign_keypair(pk, sk);
	assert_int_equal(audit(f, &rep, sk, NULL), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "no auditor is enrolled with its public key"));
	hj_audit_report_free(&rep);
	/* a county's own key opens its seals, but it is no audit key */
	assert_int_equal(audit(f, &rep, f->w->cz->sk, NULL), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "is node cz's, enrolled as union"));
	hj_audit_report_free(&rep);
	/* halves of two pairs */
	memcpy(sk + 32, f->apk, 32);
	assert_int_equal(audit(f, &rep, sk, NULL), HJ_EINVALID);
	assert_non_null(strstr(hj_error_last(), "not an Ed25519 node secret key"));
	hj_audit_report_free(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_honest_clean_with_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sealed_before_enrolment_counted_apart, setup_late, teardown),
		cmocka_unit_test_setup_teardown(test_hub_accepted_invalid_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_accepted_wrong_person_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_published_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_rejected_honest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_not_opening_for_auditor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_of_no_auditor, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
