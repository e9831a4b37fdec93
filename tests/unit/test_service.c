/*
 * test_service.c — the services ledger (node/ops_service.c, rules 6):
 * services and points defined with authority over their union; a delivery
 * only to an active member, dated inside the membership, in the funding
 * union's subtree; the budget and the per-member count and amount per
 * period, a new period starting afresh. Then the province: two counties
 * deliver offline within what each sees of the budget, the hub's order
 * rejects the one over it, that county's follow shows the rejection, no
 * county holds another's deliveries, every rebuild equals its registry,
 * and an auditor's re-fold agrees with every verdict.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "envelope.h"
#include "error.h"
#include "gitfeed.h"
#include "hex.h"
#include "outbox.h"
#include "rules.h"
#include "support.h"

#define OK UT_OK

/* The province with cz holding members 1 (active), 2 (applicant) and 3
 * (left), hd holding member 4 (active); one entry sequenced under this
 * huiji's rules, so the hub's own ops are decided under rules 6. */
typedef struct world {
	ut_world *w;
	char m1[UT_ID_SZ], m2[UT_ID_SZ], m3[UT_ID_SZ], m4[UT_ID_SZ];
} world;

static void admitted(hj_node *n, int who, char id[UT_ID_SZ])
{
	ut_must(n, ut_apply_op(n, NULL, who), id, UT_ID_SZ);
	ut_must(n, ut_op("member.approve", "member", id, "on", "2024-03-05", NULL), NULL, 0);
}

static int setup(void **state)
{
	world *v = calloc(1, sizeof *v);
	hj_sync_report rep;
	assert_non_null(v);
	ut_world *w = v->w = ut_world_new(1);
	OK(ut_follow(w->cz, w->hub, &rep));
	OK(ut_follow(w->hd, w->hub, &rep));
	admitted(w->cz, 1, v->m1);
	ut_must(w->cz, ut_apply_op(w->cz, NULL, 2), v->m2, UT_ID_SZ);
	admitted(w->cz, 3, v->m3);
	ut_must(w->cz, ut_op("member.leave", "member", v->m3, "on", "2024-06-01", "reason", "voluntary", NULL), NULL, 0);
	admitted(w->hd, 4, v->m4);
	assert_int_equal(ut_sequence(w->hub, w->cz), 6);
	assert_int_equal(ut_sequence(w->hub, w->hd), 2);
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	world *v = *state;
	int rc = ut_world_free(v->w);
	free(v);
	return rc;
}

static void expect_refused(hj_node *n, hj_json *op, const char *reason, const char *in_detail)
{
	hj_verdict v;
	OK(ut_run(n, op, &v, NULL, 0, NULL));
	if (v.applied)
		fail_msg("applied; wanted %s", reason);
	if (strcmp(v.reason, reason) != 0)
		fail_msg("%s (%s); wanted %s", v.reason, v.detail, reason);
	if (in_detail && !strstr(v.detail, in_detail))
		fail_msg("detail '%s' does not say '%s'", v.detail, in_detail);
}

/* service.define of `id` for `unit`: unit price, budget, member count and
 * member amount in fen (-1: no such bound). */
static hj_json *define(const char *id, const char *unit, const char *period, long unit_fen, long budget, long count,
		       long fen)
{
	hj_json *op = ut_op("service.define", "id", id, "name", "2024年货车司机意外险", "kind", "accident_insurance",
			    "provider", "人保财险", "union", unit, "period", period, NULL);
	assert_int_equal(hj_json_set_int(op, "unit_fen", unit_fen), 0);
	if (budget >= 0)
		assert_int_equal(hj_json_set_int(op, "budget_fen", budget), 0);
	if (count >= 0)
		assert_int_equal(hj_json_set_int(op, "member_count", count), 0);
	if (fen >= 0)
		assert_int_equal(hj_json_set_int(op, "member_fen", fen), 0);
	return op;
}

static hj_json *deliver(const char *member, const char *service, const char *on, long amount)
{
	hj_json *op = ut_op("service.deliver", "member", member, "service", service, "on", on, NULL);
	if (amount >= 0)
		assert_int_equal(hj_json_set_int(op, "amount_fen", amount), 0);
	return op;
}

static void test_define_and_point(void **state)
{
	world *v = *state;
	hj_sync_report rep;
	hj_node *hub = v->w->hub, *cz = v->w->cz;
	ut_must(hub, define("acc", "qh", "year", 12000, 5000000, 1, -1), NULL, 0);
	assert_int_equal(ut_int(hub->db, "SELECT budget_fen FROM service WHERE id = 'acc'", NULL), 5000000);
	assert_int_equal(ut_int(hub->db, "SELECT member_fen IS NULL FROM service WHERE id = 'acc'", NULL), 1);
	expect_refused(hub, define("acc", "qh", "year", 1, -1, -1, -1), "exists", "acc");
	hj_json *op = define("bad", "qh", "year", 1, -1, -1, -1);
	assert_int_equal(hj_json_set_str(op, "kind", "pony_rides"), 0);
	expect_refused(hub, op, "invalid", "'pony_rides'");
	expect_refused(hub, define("bad", "qh", "decade", 1, -1, -1, -1), "invalid", "period");
	expect_refused(hub, define("Bad Id", "qh", "year", 1, -1, -1, -1), "invalid", "id");
	expect_refused(hub, define("bad", "qh", "year", -1, -1, -1, -1), "invalid", "unit_fen");
	expect_refused(hub, define("bad", "qh", "year", 1, -1, 0, -1), "invalid", "member_count");
	expect_refused(hub, define("bad", "qh-nowhere", "year", 1, -1, -1, -1), "unknown_union", NULL);
	/* A county funds from its own union only. */
	expect_refused(cz, define("cz-acc", "qh", "year", 1, -1, -1, -1), "no_authority", NULL);
	ut_must(cz, define("cz-acc", "qh-xn-cz", "month", 100, -1, -1, -1), NULL, 0);
	ut_must(cz, ut_op("service.point", "id", "cz-home", "name", "城中区司机之家", "kind", "driver_home", "union",
			  "qh-xn-cz", NULL), NULL, 0);
	expect_refused(cz, ut_op("service.point", "id", "cz-home", "name", "x", "kind", "office", "union", "qh-xn-cz", NULL),
		       "exists", NULL);
	expect_refused(cz, ut_op("service.point", "id", "p2", "name", "x", "kind", "tent", "union", "qh-xn-cz", NULL),
		       "invalid", "driver_home");
	expect_refused(cz, ut_op("service.point", "id", "p2", "name", "x", "kind", "office", "union", "qh-hd", NULL),
		       "no_authority", NULL);
	/* An update changes the bounds; null clears one. */
	op = ut_op("service.update", "id", "acc", NULL);
	assert_int_equal(hj_json_set(op, "budget_fen", hj_json_null()), 0);
	assert_int_equal(hj_json_set_int(op, "member_count", 2), 0);
	ut_must(hub, op, NULL, 0);
	assert_int_equal(ut_int(hub->db, "SELECT budget_fen IS NULL AND member_count = 2 FROM service WHERE id = 'acc'",
				NULL), 1);
	OK(ut_follow(cz, hub, &rep));
	expect_refused(cz, ut_op("service.update", "id", "acc", "provider", "平安", NULL), "no_authority", NULL);
	expect_refused(hub, ut_op("service.update", "id", "nope", "provider", "平安", NULL), "unknown_service", NULL);
}

static void test_period_keys(void **state)
{
	(void)state;
	char k[8];
	OK(hj_service_period_of(k, "year", "2027-03-01"));
	assert_string_equal(k, "2027");
	OK(hj_service_period_of(k, "quarter", "2027-03-31"));
	assert_string_equal(k, "2027-Q1");
	OK(hj_service_period_of(k, "quarter", "2027-10-01"));
	assert_string_equal(k, "2027-Q4");
	OK(hj_service_period_of(k, "month", "2027-03-01"));
	assert_string_equal(k, "2027-03");
	assert_int_equal(hj_service_period_of(k, "week", "2027-03-01"), HJ_EINVALID);
	assert_int_equal(hj_service_period_of(k, "year", "2027-02-30"), HJ_EINVALID);
}

/* Who may receive: an active member, on a date inside the membership, in
 * the funding union's subtree, recorded by a node acting for its union. */
static void test_only_active_members(void **state)
{
	world *v = *state;
	hj_node *hub = v->w->hub, *cz = v->w->cz;
	hj_sync_report rep;
	char id[UT_ID_SZ];
	ut_must(hub, define("gift", "qh", "year", 5000, -1, -1, -1), NULL, 0);
	ut_must(hub, define("hd-gift", "qh-hd", "year", 5000, -1, -1, -1), NULL, 0);
	ut_must(hub, ut_op("service.point", "id", "xn-home", "name", "西宁司机之家", "kind", "driver_home", "union",
			   "qh-xn", NULL), NULL, 0);
	OK(ut_follow(cz, hub, &rep));
	hj_json *op = deliver(v->m1, "gift", "2024-09-01", -1);
	assert_int_equal(hj_json_set_str(op, "point", "xn-home"), 0);
	ut_must(cz, op, id, sizeof id);
	assert_int_equal(ut_int(cz->db, "SELECT amount_fen FROM service_delivery WHERE id = ?1", id), 5000);
	char *row = ut_text(cz->db, "SELECT period || ' ' || union_id || ' ' || point || ' ' || by_node || ' ' || "
				    "(person_key = (SELECT person_key FROM membership WHERE id = member)) FROM service_delivery "
				    "WHERE id = ?1", id);
	assert_string_equal(row, "2024 qh-xn-cz xn-home cz 1");
	free(row);
	ut_must(cz, deliver(v->m1, "gift", "2024-09-02", 12345), id, sizeof id);
	assert_int_equal(ut_int(cz->db, "SELECT amount_fen FROM service_delivery WHERE id = ?1", id), 12345);
	expect_refused(cz, deliver(v->m2, "gift", "2024-09-01", -1), "not_member", "applied");
	expect_refused(cz, deliver(v->m3, "gift", "2024-09-01", -1), "not_member", "left");
	char rej[UT_ID_SZ];
	ut_must(cz, ut_apply_op(cz, NULL, 5), rej, sizeof rej);
	ut_must(cz, ut_op("member.reject", "member", rej, "on", "2024-03-05", "reason", "not a driver", NULL), NULL, 0);
	expect_refused(cz, deliver(rej, "gift", "2024-09-01", -1), "not_member", "rejected");
	expect_refused(cz, deliver("cz:99:0", "gift", "2024-09-01", -1), "unknown_member", NULL);
	expect_refused(cz, deliver(v->m1, "gift", "2024-03-04", -1), "date_order", "2024-03-05");
	expect_refused(cz, deliver(v->m1, "gift", "2199-01-01", -1), "future_date", NULL);
	expect_refused(cz, deliver(v->m1, "hd-gift", "2024-09-01", -1), "not_covered", "qh-hd");
	expect_refused(cz, deliver(v->m1, "nope", "2024-09-01", -1), "unknown_service", NULL);
	expect_refused(cz, deliver(v->m1, "gift", "2024-9-1", -1), "invalid", NULL);
	op = deliver(v->m1, "gift", "2024-09-01", -1);
	assert_int_equal(hj_json_set_int(op, "amount_fen", -5), 0);
	expect_refused(cz, op, "invalid", "amount_fen");
	op = deliver(v->m1, "gift", "2024-09-01", -1);
	assert_int_equal(hj_json_set_str(op, "point", "nowhere"), 0);
	expect_refused(cz, op, "unknown_point", NULL);
	/* hd acts for qh-hd: not for cz's member. */
	OK(ut_follow(v->w->hd, hub, &rep));
	expect_refused(v->w->hd, deliver(v->m1, "gift", "2024-09-01", -1), "unknown_member", NULL);
	assert_int_equal(ut_sequence(hub, cz), 4);
	/* The hub acts for every union: one change set serving both counties'
	 * members, which each county folds only in part (its own record). */
	hj_json *both[] = {deliver(v->m1, "gift", "2024-10-01", -1), deliver(v->m4, "gift", "2024-10-01", -1)};
	ut_commit(hub, both, 2, NULL);
	/* cz follows: its members' three, not hd's; the rebuilds agree. */
	hj_replay_stats st;
	OK(ut_follow(cz, hub, &rep));
	assert_int_equal(ut_int(cz->db, "SELECT count(*) FROM service_delivery", NULL), 3);
	OK(ut_follow(v->w->hd, hub, &rep));
	assert_int_equal(ut_int(v->w->hd->db, "SELECT count(*) FROM service_delivery", NULL), 1);
	OK(ut_rebuild_compare(v->w->hd, &st));
	OK(ut_rebuild_compare(cz, &st));
	OK(ut_rebuild_compare(hub, &st));
}

/* The budget per period and the member's count and amount per period,
 * counted over every delivery of the service; a new period starts afresh. */
static void test_budget_and_limits(void **state)
{
	world *v = *state;
	hj_node *hub = v->w->hub, *cz = v->w->cz;
	hj_sync_report rep;
	ut_must(hub, define("bud", "qh", "quarter", 10000, 25000, -1, -1), NULL, 0);
	ut_must(hub, define("cnt", "qh", "month", 100, -1, 2, -1), NULL, 0);
	ut_must(hub, define("fen", "qh", "year", 100, -1, -1, 30000), NULL, 0);
	OK(ut_follow(cz, hub, &rep));
	ut_must(cz, deliver(v->m1, "bud", "2024-04-01", -1), NULL, 0);
	ut_must(cz, deliver(v->m1, "bud", "2024-04-02", -1), NULL, 0);
	expect_refused(cz, deliver(v->m1, "bud", "2024-06-30", -1), "over_budget", "200.00 of the budget 250.00 yuan");
	ut_must(cz, deliver(v->m1, "bud", "2024-05-02", 5000), NULL, 0); /* exactly the budget */
	expect_refused(cz, deliver(v->m1, "bud", "2024-05-02", 1), "over_budget", "250.00");
	ut_must(cz, deliver(v->m1, "bud", "2024-07-01", -1), NULL, 0); /* Q3 */
	ut_must(cz, deliver(v->m1, "cnt", "2024-04-01", -1), NULL, 0);
	ut_must(cz, deliver(v->m1, "cnt", "2024-04-30", -1), NULL, 0);
	expect_refused(cz, deliver(v->m1, "cnt", "2024-04-15", -1), "over_limit", "2 of 2");
	ut_must(cz, deliver(v->m1, "cnt", "2024-05-01", -1), NULL, 0);
	ut_must(cz, deliver(v->m1, "fen", "2024-04-01", 29900), NULL, 0);
	ut_must(cz, deliver(v->m1, "fen", "2024-04-01", 100), NULL, 0);
	expect_refused(cz, deliver(v->m1, "fen", "2024-12-31", 1), "over_limit", "300.00 of 300.00 yuan");
	ut_must(cz, deliver(v->m1, "fen", "2025-01-01", 30000), NULL, 0);
	/* No detail names a person. */
	char idno[19];
	ut_person_id(idno, 1);
	hj_verdict vd;
	OK(ut_run(cz, deliver(v->m1, "fen", "2025-02-01", 1), &vd, NULL, 0, NULL));
	assert_string_equal(vd.reason, "over_limit");
	assert_null(strstr(vd.detail, idno));
	/* The hub's order agrees: every one applied there too. */
	assert_int_equal(ut_sequence(hub, cz), 10);
	assert_int_equal(ut_int(hub->db, "SELECT count(*) FROM service_delivery", NULL), 10);
	OK(ut_follow(cz, hub, &rep));
	assert_int_equal(rep.rejected, 0);
}

static void audit_clean(world *v, const char *label)
{
	static int k;
	hj_audit_report rep;
	char work[512], key[65];
	char *git = hj_node_repo_path(v->w->hub);
	assert_non_null(git);
	ut_flush(v->w->hub);
	snprintf(work, sizeof work, "%s/audit-%s-%d.git", v->w->dir, label, k++);
	hj_hex_encode(key, v->w->hub->pk, 32);
	OK(hj_audit(&rep, git, key, v->w->hub->person_secret, work, NULL));
	for (size_t i = 0; i < rep.nproblems; i++)
		fprintf(stderr, "  problem: %s\n", rep.problems[i]);
	assert_int_equal(rep.nproblems, 0);
	hj_audit_report_free(&rep);
	free(git);
}

/* Two counties deliver offline, each within the budget it sees; the hub's
 * order decides: hd's delivery comes after cz's two and is over it. */
static void test_offline_over_budget(void **state)
{
	world *v = *state;
	hj_node *hub = v->w->hub, *cz = v->w->cz, *hd = v->w->hd;
	hj_sync_report rep;
	hj_replay_stats st;
	char d1[UT_ID_SZ], d2[UT_ID_SZ], d3[UT_ID_SZ];
	ut_must(hub, define("acc", "qh", "year", 10000, 20000, -1, -1), NULL, 0);
	OK(ut_follow(cz, hub, &rep));
	OK(ut_follow(hd, hub, &rep));
	ut_must(cz, deliver(v->m1, "acc", "2024-09-01", -1), d1, sizeof d1);
	ut_must(cz, deliver(v->m1, "acc", "2024-09-02", -1), d2, sizeof d2);
	ut_must(hd, deliver(v->m4, "acc", "2024-09-01", -1), d3, sizeof d3); /* hd sees nothing spent */
	assert_int_equal(ut_sequence(hub, cz), 2);
	assert_int_equal(ut_sequence(hub, hd), 1);
	assert_int_equal(ut_int(hub->db, "SELECT count(*) FROM service_delivery", NULL), 2);
	assert_int_equal(ut_int(hub->db, "SELECT count(*) FROM service_delivery WHERE id = ?1", d3), 0);
	/* The inbox: a county's deliveries go to its own record's union. */
	assert_int_equal(ut_int(hub->db, "SELECT count(*) FROM inbox WHERE node = 'hd' AND src_node = 'cz'", NULL), 0);
	assert_int_equal(ut_int(hub->db, "SELECT count(*) FROM inbox WHERE node = 'cz' AND src_node = 'hd'", NULL), 0);
	/* hd's follow: the hub's rejection of its own op, with the figures. */
	OK(ut_follow(hd, hub, &rep));
	assert_int_equal(rep.rejected, 1);
	assert_int_equal(ut_int(hd->db, "SELECT count(*) FROM service_delivery", NULL), 0);
	char *verdicts = ut_text(hd->db, "SELECT verdicts FROM followed WHERE node = 'hd' ORDER BY seq DESC LIMIT 1", NULL);
	assert_non_null(verdicts);
	assert_non_null(strstr(verdicts, "over_budget"));
	assert_non_null(strstr(verdicts, "\"over_budget\",\"acc\"")); /* compact: the code and the service */
	free(verdicts);
	/* cz holds its own two, not hd's; each rebuild equals its registry. */
	OK(ut_follow(cz, hub, &rep));
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(ut_int(cz->db, "SELECT count(*) FROM service_delivery", NULL), 2);
	assert_int_equal(ut_int(cz->db, "SELECT count(*) FROM service", NULL), 1);
	OK(ut_rebuild_compare(cz, &st));
	OK(ut_rebuild_compare(hd, &st));
	OK(ut_rebuild_compare(hub, &st));
	/* A county following an applied delivery takes the hub's word on the
	 * budget (it does not hold hd's spend); the hub's rebuild and the
	 * auditor recompute it. A new year starts afresh at hd. */
	ut_must(hd, deliver(v->m4, "acc", "2025-01-02", -1), NULL, 0);
	assert_int_equal(ut_sequence(hub, hd), 1);
	OK(ut_follow(hd, hub, &rep));
	assert_int_equal(rep.rejected, 0);
	audit_clean(v, "budget");
}

/* The fold's half of the audit: the over-budget delivery the hub refused
 * is refused by any fold that holds every delivery (the auditor's ctx:
 * no trust), so a hub entry signing it "ok" is a verdict discrepancy;
 * only a county's follow of an applied verdict skips the sums. */
static void test_refold_recomputes_the_budget(void **state)
{
	world *v = *state;
	hj_node *hub = v->w->hub;
	hj_verdict vd;
	ut_must(hub, define("acc", "qh", "year", 10000, 10000, -1, -1), NULL, 0);
	ut_must(hub, deliver(v->m1, "acc", "2024-09-01", -1), NULL, 0);
	hj_json *op = deliver(v->m1, "acc", "2024-09-02", -1);
	hj_foldctx ctx = {.actor = "cz", .seq = 99, .index = 0, .rules = HJ_RULES_VERSION};
	OK(hj_fold_op(hub->db, &ctx, op, &vd));
	assert_false(vd.applied);
	assert_string_equal(vd.reason, "over_budget");
	ctx.trust_hub = 1;
	OK(hj_fold_op(hub->db, &ctx, op, &vd));
	assert_true(vd.applied);
	/* An older position's rules refuse the op as the hub of that time did. */
	ctx.rules = 5;
	ctx.seq = 100;
	OK(hj_fold_op(hub->db, &ctx, op, &vd));
	assert_string_equal(vd.reason, "invalid");
	assert_non_null(strstr(vd.detail, "rules 6"));
	hj_json_free(op);
}

/* The hub's last entry with `from` cut out of its payload, signed again
 * with the hub's key at the same seq over the same parent (as
 * test_audit_inbox's forgeries): a valid entry whose only lie is a verdict. */
static void forge_last_entry(world *v, const char *from)
{
	hj_node *hub = v->w->hub;
	uint64_t seq = (uint64_t)ut_int(hub->db, "SELECT max(seq) FROM changelog", NULL), tipseq = 0;
	size_t len = 0;
	uint8_t *cs = ut_changeset(hub, seq, &len);
	hj_envelope e;
	hj_buf payload = HJ_BUF_INIT, out = HJ_BUF_INIT;
	char ref[160];
	OK(hj_envelope_decode(&e, cs, len));
	const char *at = strstr((const char *)e.payload, from);
	assert_non_null(at);
	hj_buf_printf(&payload, "%.*s%s", (int)(at - (const char *)e.payload), (const char *)e.payload, at + strlen(from));
	OK(payload.rc);
	OK(hj_envelope_encode(&out, hub->id, seq, e.prev, e.created_at, payload.data, payload.len, hub->pk, hub->sk));
	hj_feed_item it = {out.data, out.len, seq, e.created_at};
	snprintf(ref, sizeof ref, "refs/huiji/hub/%s", hub->id);
	hj_gitrepo *r = NULL;
	git_oid tip, parent;
	git_commit *c = NULL;
	OK(hj_node_repo_open(&r, hub));
	OK(hj_gitfeed_tip(r, ref, &tipseq, &tip));
	assert_int_equal(tipseq, seq);
	assert_int_equal(git_commit_lookup(&c, hj_gitrepo_git(r), &tip), 0);
	git_oid_cpy(&parent, git_commit_parent_id(c, 0));
	git_commit_free(c);
	OK(hj_gitrepo_ref_set(r, ref, &parent, "test: rewrite"));
	OK(hj_gitfeed_append(r, ref, hub->id, &it, 1));
	hj_gitrepo_close(r);
	hj_envelope_free(&e);
	hj_buf_free(&payload);
	hj_buf_free(&out);
	free(cs);
}

/* A hub entry signing "ok" on hd's delivery over the budget (its state
 * digest still the honest one): the auditor's re-fold, holding every
 * delivery, refuses it, and says so. */
static void test_forged_ok_over_budget_fails_audit(void **state)
{
	world *v = *state;
	hj_node *hub = v->w->hub;
	hj_sync_report rep;
	ut_must(hub, define("acc", "qh", "year", 10000, 10000, -1, -1), NULL, 0);
	OK(ut_follow(v->w->cz, hub, &rep));
	OK(ut_follow(v->w->hd, hub, &rep));
	ut_must(v->w->cz, deliver(v->m1, "acc", "2024-09-01", -1), NULL, 0);
	ut_must(v->w->hd, deliver(v->m4, "acc", "2024-09-01", -1), NULL, 0);
	assert_int_equal(ut_sequence(hub, v->w->cz), 1);
	assert_int_equal(ut_sequence(hub, v->w->hd), 1);
	audit_clean(v, "honest");
	forge_last_entry(v, ",\"rejected\":[[0,\"over_budget\",\"acc\"]]");
	hj_audit_report ar;
	char work[512], key[65], *git = hj_node_repo_path(hub);
	snprintf(work, sizeof work, "%s/audit-forged.git", v->w->dir);
	hj_hex_encode(key, hub->pk, 32);
	OK(hj_audit(&ar, git, key, hub->person_secret, work, NULL));
	int found = 0;
	for (size_t i = 0; i < ar.nproblems; i++) {
		fprintf(stderr, "  problem: %s\n", ar.problems[i]);
		found |= strstr(ar.problems[i], "the hub says applied, the re-fold says over_budget") != NULL;
	}
	assert_true(found);
	assert_int_equal(ar.nproblems, 1);
	hj_audit_report_free(&ar);
	free(git);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_define_and_point, setup, teardown),
		cmocka_unit_test(test_period_keys),
		cmocka_unit_test_setup_teardown(test_only_active_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_over_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refold_recomputes_the_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_ok_over_budget_fails_audit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
