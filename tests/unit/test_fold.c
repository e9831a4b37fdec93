/*
 * test_fold.c — the fold and its ops (node/fold.c, ops_org.c, ops_node.c,
 * ops_member.c) and the application builder (node/application.c).
 *
 * Each test folds into a scratch registry (hj_scratch_open: the full
 * schema in memory) holding a small province built by the fold itself.
 * One table lists every rejection reason the handlers give, each as a
 * valid base op with one or two fields changed; each row also proves that
 * the rejected op left the projection digest and the transaction state as
 * they were. Then: the rows each applied op writes, HJ_EVERSION for ops
 * from a newer huiji, and determinism (same ops, same digest).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "envelope.h"
#include "error.h"
#include "fold.h"
#include "utf8.h"
#include "idnum.h"
#include "projection.h"
#include "person_seal.h"
#include "support.h"
#include "verify.h"

/* Membership ids minted by the fixture (cz's change set 1, ops 0..3). */
#define M_A "cz:1:0" /* applied */
#define M_B "cz:1:1" /* active */
#define M_C "cz:1:2" /* left */
#define M_D "cz:1:3" /* rejected */

typedef struct token {
	const char *name;
	char value[300];
} token;

typedef struct fixture {
	hj_db *db;
	token tok[20];
	int ntok;
} fixture;

static char *tok_add(fixture *f, const char *name)
{
	token *t = &f->tok[f->ntok++];
	assert_true(f->ntok <= (int)(sizeof f->tok / sizeof f->tok[0]));
	t->name = name;
	return t->value;
}

static const char *tok(const fixture *f, const char *name)
{
	for (int i = 0; i < f->ntok; i++)
		if (strcmp(f->tok[i].name, name) == 0)
			return f->tok[i].value;
	fail_msg("no token %s", name);
	return NULL;
}

/* A member.apply by text, person fields given. */
static hj_json *apply_op(const char *unit, const char *key, const char *idno, const char *phone)
{
	return ut_json("{\"op\":\"member.apply\",\"v\":1,\"union\":\"%s\",\"group\":\"truck_driver\","
		       "\"channel\":\"mobile_window\",\"platform\":\"yunmanman\",\"on\":\"2024-03-01\","
		       "\"person\":{\"key\":\"%s\",\"name\":\"张三\",\"id_number\":\"%s\",\"phone\":\"%s\","
		       "\"plate\":\"青A12345\"}}", unit, key, idno, phone);
}

static void fold_must(hj_db *db, const char *actor, uint64_t seq, uint32_t index, hj_json *op)
{
	hj_verdict v;
	int rc = ut_fold(db, actor, seq, index, op, &v);
	if (rc)
		fail_msg("%s: %s", hj_json_get_str(op, "op"), hj_error_last());
	if (!v.applied)
		fail_msg("%s by %s at %llu:%u refused: %s: %s", hj_json_get_str(op, "op"), actor,
			 (unsigned long long)seq, index, v.reason, v.detail);
	hj_json_free(op);
}

/* The province of every test, folded into `db`: hub (hub:1, hub:2),
 * then county cz's members A..D (cz:1, cz:2, cz:3). */
static void build_province(hj_db *db, const fixture *f)
{
	static const char *const orgs[][4] = {
		{"qh-xn", "西宁市总工会", "city", "qh"},
		{"qh-xn-cz", "城中区总工会", "county", "qh-xn"},
		{"qh-xn-cz-a", "人民街街道工会", "township", "qh-xn-cz"},
		{"qh-hd", "海东市总工会", "city", "qh"},
		{"qh-hd-pa", "平安区总工会", "county", "qh-hd"},
	};
	static const char *const nodes[][3] = {
		{"cz", "qh-xn-cz", "union"}, {"hd", "qh-hd", "union"}, {"aud", "qh", "auditor"},
	};
	char pk[65];
	uint32_t i = 0;
	ut_hex64(pk, "hub");
	fold_must(db, "hub", 1, 0, ut_op("org.create", "id", "qh", "name", "青海省总工会", "kind", "province", "region", "63", NULL));
	fold_must(db, "hub", 1, 1, ut_op("node.enroll", "node", "hub", "pubkey", pk, "union", "qh", "role", "hub", NULL));
	for (size_t k = 0; k < sizeof orgs / sizeof orgs[0]; k++)
		fold_must(db, "hub", 2, i++, ut_op("org.create", "id", orgs[k][0], "name", orgs[k][1], "kind", orgs[k][2],
						   "parent", orgs[k][3], NULL));
	for (size_t k = 0; k < sizeof nodes / sizeof nodes[0]; k++) {
		ut_hex64(pk, nodes[k][0]);
		fold_must(db, "hub", 2, i++, ut_op("node.enroll", "node", nodes[k][0], "pubkey", pk, "union", nodes[k][1],
						   "role", nodes[k][2], NULL));
	}
	fold_must(db, "cz", 1, 0, apply_op("qh-xn-cz", tok(f, "K_A"), tok(f, "ID_A"), "13800000001"));
	fold_must(db, "cz", 1, 1, apply_op("qh-xn-cz", tok(f, "K_B"), tok(f, "ID_B"), "13800000002"));
	fold_must(db, "cz", 1, 2, apply_op("qh-xn-cz", tok(f, "K_C"), tok(f, "ID_C"), "13800000003"));
	fold_must(db, "cz", 1, 3, apply_op("qh-xn-cz", tok(f, "K_D"), tok(f, "ID_D"), "13800000004"));
	fold_must(db, "cz", 2, 0, ut_op("member.approve", "member", M_B, "on", "2024-03-05", NULL));
	fold_must(db, "cz", 2, 1, ut_op("member.approve", "member", M_C, "on", "2024-03-05", NULL));
	fold_must(db, "cz", 2, 2, ut_op("member.reject", "member", M_D, "on", "2024-03-05", "reason", "资料不全", NULL));
	fold_must(db, "cz", 3, 0, ut_op("member.leave", "member", M_C, "on", "2024-06-01", "reason", "voluntary", NULL));
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	char *v;
	if (!f)
		return -1;
	/* People A..D and one new applicant, with their person keys. */
	static const char *const people[][2] = {{"ID_A", "K_A"}, {"ID_B", "K_B"}, {"ID_C", "K_C"},
						{"ID_D", "K_D"}, {"ID_NEW", "K_NEW"}};
	for (int i = 0; i < 5; i++) {
		char *id = tok_add(f, people[i][0]);
		ut_fake_id(id, 1985 + i, 1 + i, 10 + i, 100 + i);
		ut_hex64(tok_add(f, people[i][1]), id);
	}
	/* A check character that is wrong. */
	v = tok_add(f, "ID_BADCHECK");
	strcpy(v, tok(f, "ID_NEW"));
	v[17] = v[17] == '0' ? '1' : '0';
	/* A check character X written lower-case: valid, not in normal form. */
	v = tok_add(f, "ID_LOWX");
	for (int s = 0; s < 1000; s++) {
		ut_fake_id(v, 1991, 7, 7, s);
		if (v[17] == 'X')
			break;
	}
	assert_int_equal(v[17], 'X');
	v[17] = 'x';
	/* 30 February 1990, with the check character right for its digits. */
	v = tok_add(f, "ID_BADDATE");
	strcpy(v, "63010219900230123");
	v[17] = hj_idnum_check_char(v);
	v[18] = '\0';
	/* Province 99 does not exist. */
	assert_int_equal(hj_idnum_make(tok_add(f, "ID_NOPROV"), "990101", 1990, 1, 1, 5), 0);
	/* 16 the day after the application date (2024-03-01): too young. */
	ut_fake_id(tok_add(f, "ID_YOUNG"), 2008, 3, 2, 7);
	ut_hex64(tok_add(f, "PK"), "a new node");
	memset(tok_add(f, "LONG33"), 'p', 33);
	memset(tok_add(f, "LONG65"), 'n', 65);
	memset(tok_add(f, "LONG201"), 'r', 201);
	if (hj_scratch_open(&f->db))
		return -1;
	build_province(f->db, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	hj_db_close(f->db);
	free(f);
	hj_envelope_thread_cleanup();
	return 0;
}

/* Remove `key` from object `o` (the tree API has no remover). */
static void json_del(hj_json *o, const char *key)
{
	for (size_t i = 0; i < o->count; i++)
		if (strcmp(o->keys[i], key) == 0) {
			hj_json_free(o->items[i]);
			free(o->keys[i]);
			memmove(o->items + i, o->items + i + 1, (o->count - i - 1) * sizeof *o->items);
			memmove(o->keys + i, o->keys + i + 1, (o->count - i - 1) * sizeof *o->keys);
			o->count--;
			return;
		}
}

/* Apply "path=value" to op: path "k" or "obj.k"; value "-" removes the
 * key, "$NAME" is a fixture token, anything else a string. */
static void mutate(const fixture *f, hj_json *op, const char *set)
{
	char path[64];
	const char *eq = strchr(set, '=');
	assert_non_null(eq);
	snprintf(path, sizeof path, "%.*s", (int)(eq - set), set);
	const char *val = eq + 1;
	char *dot = strchr(path, '.');
	hj_json *obj = op;
	if (dot) {
		*dot = '\0';
		obj = (hj_json *)hj_json_get(op, path);
		assert_non_null(obj);
		memmove(path, dot + 1, strlen(dot + 1) + 1);
	}
	if (strcmp(val, "-") == 0)
		json_del(obj, path);
	else
		assert_int_equal(hj_json_set_str(obj, path, val[0] == '$' ? tok(f, val + 1) : val), 0);
}

/* The base ops of the table: each applies as written (checked below). */
static hj_json *base_op(const fixture *f, const char *base)
{
	if (strcmp(base, "apply") == 0)
		return apply_op("qh-xn-cz", tok(f, "K_NEW"), tok(f, "ID_NEW"), "13900000000");
	if (strcmp(base, "approve") == 0)
		return ut_op("member.approve", "member", M_A, "on", "2024-03-05", NULL);
	if (strcmp(base, "reject") == 0)
		return ut_op("member.reject", "member", M_A, "on", "2024-03-05", "reason", "证件过期", NULL);
	if (strcmp(base, "update") == 0)
		return ut_v2(ut_op("member.update", "member", M_B, "person", tok(f, "K_B"), "phone", "13700000000", NULL));
	if (strcmp(base, "leave") == 0)
		return ut_op("member.leave", "member", M_B, "on", "2024-06-01", "reason", "voluntary", NULL);
	if (strcmp(base, "org.create") == 0)
		return ut_op("org.create", "id", "qh-xn-cz-b", "name", "南山路街道工会", "kind", "township", "parent",
			     "qh-xn-cz", NULL);
	if (strcmp(base, "org.update") == 0)
		return ut_op("org.update", "id", "qh-xn-cz-a", "name", "人民街道工会", NULL);
	if (strcmp(base, "enroll") == 0)
		return ut_op("node.enroll", "node", "c2", "pubkey", tok(f, "PK"), "union", "qh-xn", "role", "union", NULL);
	fail_msg("no base op %s", base);
	return NULL;
}

typedef struct fold_case {
	const char *actor;
	const char *base;
	const char *set[3];
	const char *reason; /* NULL: must apply */
} fold_case;

static const fold_case cases[] = {
	/* Each base op as it is, by its usual actor: applies. */
	{"cz", "apply", {NULL}, NULL},
	{"cz", "approve", {NULL}, NULL},
	{"cz", "reject", {NULL}, NULL},
	{"cz", "update", {NULL}, NULL},
	{"cz", "leave", {NULL}, NULL},
	{"cz", "org.create", {NULL}, NULL},
	{"cz", "org.update", {NULL}, NULL},
	{"hub", "enroll", {NULL}, NULL},
	{"hub", "apply", {"union=qh-hd-pa"}, NULL},           /* a hub acts anywhere */
	{"cz", "apply", {"union=qh-xn-cz-a"}, NULL},          /* below its union */
	{"cz", "apply", {"person.key=$K_C"}, NULL},           /* C left: may apply again */
	{"cz", "apply", {"person.key=$K_D"}, NULL},           /* D was rejected */
	{"cz", "apply", {"person.plate=-", "platform=-"}, NULL}, /* optional fields */
	{"cz", "update", {"member=" M_A, "person=$K_A"}, NULL}, /* an open application */

	/* fold.c: the op itself, the actor's enrolment and authority. */
	{"cz", "approve", {"v=-"}, "invalid"},
	{"cz", "approve", {"v=1"}, "invalid"}, /* "v" as a string */
	{"cz", "approve", {"op=-"}, "invalid"},
	{"stranger", "apply", {NULL}, "unknown_node"},
	{"aud", "apply", {NULL}, "no_authority"},             /* auditors never write */
	{"cz", "apply", {"union=qh-hd"}, "no_authority"},     /* outside the subtree */
	{"cz", "apply", {"union=qh-xn"}, "no_authority"},     /* its parent is outside too */

	/* ops_org.c: org.create */
	{"cz", "org.create", {"id=Bad Id"}, "invalid"},
	{"cz", "org.create", {"id=-"}, "invalid"},
	{"cz", "org.create", {"name="}, "invalid"},
	{"cz", "org.create", {"name=-"}, "invalid"},
	{"cz", "org.create", {"name=$LONG201"}, "invalid"},
	{"cz", "org.create", {"kind=planet"}, "invalid"},
	{"cz", "org.create", {"kind=-"}, "invalid"},
	{"cz", "org.create", {"id=qh-xn-cz-a"}, "org_exists"},
	{"hub", "org.create", {"id=qh"}, "org_exists"},
	{"cz", "org.create", {"parent=nowhere"}, "unknown_org"},
	{"hub", "org.create", {"parent=-"}, "invalid"},      /* only a province has no parent */
	{"cz", "org.create", {"parent=-", "kind=province"}, "no_authority"}, /* only a hub makes a root */
	{"cz", "org.create", {"parent=qh-hd"}, "no_authority"},
	{"aud", "org.create", {NULL}, "no_authority"},
	/* ops_org.c: org.update */
	{"cz", "org.update", {"id=-"}, "invalid"},
	{"cz", "org.update", {"name=-"}, "invalid"},          /* nothing to change */
	{"cz", "org.update", {"name="}, "invalid"},
	{"cz", "org.update", {"name=$LONG201"}, "invalid"},
	{"cz", "org.update", {"id=nowhere"}, "unknown_org"},
	{"cz", "org.update", {"id=qh-hd"}, "no_authority"},
	{"hd", "org.update", {NULL}, "no_authority"},
	{"cz", "org.update", {"parent=nowhere"}, "unknown_org"},
	{"hub", "org.update", {"id=qh-xn", "parent=qh-xn-cz-a"}, "cycle"},
	{"hub", "org.update", {"id=qh-xn-cz", "parent=qh-xn-cz"}, "cycle"},
	{"cz", "org.update", {"parent=qh-hd"}, "no_authority"}, /* into another subtree */
	{"hub", "org.update", {"id=qh-xn-cz", "parent=qh-hd"}, "org_not_empty"},
	{"hub", "org.update", {"id=qh-xn", "parent=qh-hd"}, "org_not_empty"}, /* held further down */
	/* ops_node.c: node.enroll */
	{"hub", "enroll", {"node=C2"}, "invalid"},
	{"hub", "enroll", {"node=-"}, "invalid"},
	{"hub", "enroll", {"pubkey=abc"}, "invalid"},
	{"hub", "enroll", {"pubkey=ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"}, "invalid"},
	{"hub", "enroll", {"role=king"}, "invalid"},
	{"hub", "enroll", {"role=-"}, "invalid"},
	{"hub", "enroll", {"union=-"}, "invalid"},
	{"hub", "enroll", {"union=nowhere"}, "unknown_union"},
	{"hub", "enroll", {"node=cz"}, "node_exists"},
	{"cz", "enroll", {"union=qh-xn-cz"}, "no_authority"}, /* only a hub enrols */
	{"aud", "enroll", {NULL}, "no_authority"},

	/* ops_member.c: member.apply */
	{"cz", "apply", {"union=-"}, "invalid"},
	{"cz", "apply", {"on=2024-02-30"}, "invalid"},
	{"cz", "apply", {"on=2024-3-1"}, "invalid"},
	{"cz", "apply", {"on=-"}, "invalid"},
	{"cz", "apply", {"group=pilot"}, "invalid"},
	{"cz", "apply", {"group=-"}, "invalid"},
	{"cz", "apply", {"channel=fax"}, "invalid"},
	{"cz", "apply", {"channel=-"}, "invalid"},
	{"cz", "apply", {"platform=myspace"}, "invalid"},
	{"cz", "apply", {"person=-"}, "invalid"},
	{"cz", "apply", {"person=someone"}, "invalid"},
	{"cz", "apply", {"person.key=$ID_NEW"}, "invalid"},
	{"cz", "apply", {"person.key=-"}, "invalid"},
	{"cz", "apply", {"person.name="}, "invalid"},
	{"cz", "apply", {"person.name=-"}, "invalid"},
	{"cz", "apply", {"person.name=$LONG65"}, "invalid"},
	{"cz", "apply", {"person.id_number=$ID_BADCHECK"}, "invalid_id"},
	{"cz", "apply", {"person.id_number=$ID_LOWX"}, "invalid_id"}, /* not normal form */
	{"cz", "apply", {"person.id_number=$ID_BADDATE"}, "invalid_id"},
	{"cz", "apply", {"person.id_number=$ID_NOPROV"}, "invalid_id"},
	{"cz", "apply", {"person.id_number=63010219900101"}, "invalid_id"},
	{"cz", "apply", {"person.id_number=-"}, "invalid_id"},
	{"cz", "apply", {"person.id_number=$ID_YOUNG"}, "too_young"},
	{"cz", "apply", {"person.phone=12345"}, "invalid_phone"},
	{"cz", "apply", {"person.phone=12900000000"}, "invalid_phone"},
	{"cz", "apply", {"person.phone=+86 139-0000-0000"}, "invalid_phone"}, /* not normalised */
	{"cz", "apply", {"person.phone=-"}, "invalid_phone"},
	{"cz", "apply", {"person.plate="}, "invalid"},
	{"cz", "apply", {"person.plate=$LONG33"}, "invalid"},
	{"cz", "apply", {"union=qh-xn-cz-zz"}, "unknown_union"},
	{"cz", "apply", {"person.key=$K_A"}, "duplicate_member"}, /* open application */
	{"cz", "apply", {"person.key=$K_B"}, "duplicate_member"}, /* active member */
	{"hub", "apply", {"person.key=$K_B", "union=qh-hd"}, "duplicate_member"}, /* anywhere */
	/* member.approve / member.reject */
	{"cz", "approve", {"on=2024-13-01"}, "invalid"},
	{"cz", "approve", {"on=-"}, "invalid"},
	{"cz", "approve", {"member=-"}, "invalid"},
	{"cz", "approve", {"member=cz:9:9"}, "unknown_member"},
	{"cz", "approve", {"member=" M_B}, "already_decided"}, /* active */
	{"cz", "approve", {"member=" M_C}, "already_decided"}, /* left */
	{"cz", "approve", {"member=" M_D}, "already_decided"}, /* rejected */
	{"hd", "approve", {NULL}, "no_authority"},
	{"aud", "approve", {NULL}, "no_authority"},
	{"cz", "reject", {"reason=-"}, "invalid"},
	{"cz", "reject", {"reason="}, "invalid"},
	{"cz", "reject", {"reason=$LONG201"}, "invalid"},
	{"cz", "reject", {"member=" M_B}, "already_decided"},
	{"cz", "reject", {"member=" M_D}, "already_decided"},
	{"hd", "reject", {NULL}, "no_authority"},
	/* member.update */
	{"cz", "update", {"phone=-"}, "invalid"}, /* nothing to change */
	{"cz", "update", {"phone=123"}, "invalid_phone"},
	{"cz", "update", {"phone=+8613700000000"}, "invalid_phone"},
	{"cz", "update", {"plate="}, "invalid"},
	{"cz", "update", {"plate=$LONG33"}, "invalid"},
	{"cz", "update", {"name="}, "invalid"},
	{"cz", "update", {"name=$LONG65"}, "invalid"},
	{"cz", "update", {"group=pilot"}, "invalid"},
	{"cz", "update", {"platform=myspace"}, "invalid"},
	{"cz", "update", {"member=-"}, "invalid"},
	{"cz", "update", {"member=cz:9:9"}, "unknown_member"},
	{"cz", "update", {"member=" M_C, "person=$K_C"}, "not_active"}, /* left */
	{"cz", "update", {"member=" M_D, "person=$K_D"}, "not_active"}, /* rejected */
	{"cz", "update", {"person=$K_A"}, "invalid"}, /* another person's key */
	{"cz", "update", {"person=-"}, "invalid"},
	{"hd", "update", {NULL}, "no_authority"},
	/* member.leave */
	{"cz", "leave", {"on=2024-06-31"}, "invalid"},
	{"cz", "leave", {"on=-"}, "invalid"},
	{"cz", "leave", {"reason=fired"}, "invalid"},
	{"cz", "leave", {"reason=-"}, "invalid"},
	{"cz", "leave", {"member=cz:9:9"}, "unknown_member"},
	{"cz", "leave", {"member=" M_C}, "not_active"}, /* leave twice */
	{"cz", "leave", {"member=" M_A}, "not_active"}, /* not yet approved */
	{"cz", "leave", {"member=" M_D}, "not_active"},
	{"hd", "leave", {NULL}, "no_authority"},
	{"aud", "leave", {NULL}, "no_authority"},
};

/* Every reason code the handlers give appears above at least once. */
static const char *const all_reasons[] = {
	"invalid", "unknown_node", "no_authority", "org_exists", "unknown_org", "cycle", "org_not_empty",
	"unknown_union", "node_exists", "invalid_id", "too_young", "invalid_phone", "duplicate_member",
	"unknown_member", "already_decided", "not_active", NULL,
};

static void test_case_table(void **state)
{
	fixture *f = *state;
	uint8_t before[32], after[32];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const fold_case *c = &cases[i];
		hj_json *op = base_op(f, c->base);
		hj_verdict v;
		for (int k = 0; k < 3 && c->set[k]; k++)
			mutate(f, op, c->set[k]);
		ut_digest(f->db, before);
		assert_int_equal(hj_db_exec(f->db, "SAVEPOINT ut_case"), 0);
		int rc = ut_fold(f->db, c->actor, 7, 3, op, &v);
		if (rc)
			fail_msg("case %zu (%s %s): %s", i, c->actor, c->base, hj_error_last());
		if (!c->reason) {
			if (!v.applied)
				fail_msg("case %zu (%s %s %s): refused %s: %s", i, c->actor, c->base,
					 c->set[0] ? c->set[0] : "", v.reason, v.detail);
			assert_string_equal(v.reason, "");
			ut_digest(f->db, after);
			assert_memory_not_equal(before, after, 32); /* it did something */
		} else {
			if (v.applied || strcmp(v.reason, c->reason) != 0)
				fail_msg("case %zu (%s %s %s %s): want %s, got %s %s: %s", i, c->actor, c->base,
					 c->set[0] ? c->set[0] : "", c->set[1] ? c->set[1] : "", c->reason,
					 v.applied ? "applied" : "rejected", v.reason, v.detail);
			assert_true(v.detail[0] != '\0');
			/* No trace: the same rows, and the fold's savepoint is gone
			 * (RELEASE of ours would fail otherwise). */
			ut_digest(f->db, after);
			assert_memory_equal(before, after, 32);
		}
		/* Rejection details never carry personal data. */
		for (int t = 0; t < f->ntok; t++)
			if (strncmp(f->tok[t].name, "ID_", 3) == 0)
				assert_null(strstr(v.detail, f->tok[t].value));
		assert_null(strstr(v.detail, "张三"));
		assert_null(strstr(v.detail, "13900000000"));
		assert_int_equal(hj_db_exec(f->db, "ROLLBACK TO ut_case"), 0);
		assert_int_equal(hj_db_exec(f->db, "RELEASE ut_case"), 0);
		assert_int_not_equal(sqlite3_get_autocommit(f->db->h), 0);
		hj_json_free(op);
	}
	for (int r = 0; all_reasons[r]; r++) {
		int seen = 0;
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
			seen |= cases[i].reason && strcmp(cases[i].reason, all_reasons[r]) == 0;
		if (!seen)
			fail_msg("no case for reason %s", all_reasons[r]);
	}
}

/* A rejected op (and a failed one) leaves the open transaction as it was:
 * only the savepoint of the op is rolled back. */
static void test_no_trace_inside_transaction(void **state)
{
	fixture *f = *state;
	hj_verdict v;
	uint8_t before[32], after[32];
	assert_int_equal(hj_db_exec(f->db, "BEGIN"), 0);
	hj_json *ok = ut_op("org.create", "id", "qh-xn-cz-b", "name", "b", "kind", "township", "parent", "qh-xn-cz", NULL);
	assert_int_equal(ut_fold(f->db, "cz", 8, 0, ok, &v), 0);
	assert_true(v.applied);
	ut_digest(f->db, before);
	hj_json *bad = ut_op("org.create", "id", "qh-xn-cz-b", "name", "again", "kind", "township", "parent", "qh-xn-cz", NULL);
	assert_int_equal(ut_fold(f->db, "cz", 8, 1, bad, &v), 0);
	assert_string_equal(v.reason, "org_exists");
	ut_digest(f->db, after);
	assert_memory_equal(before, after, 32);
	assert_int_equal(sqlite3_get_autocommit(f->db->h), 0); /* still our BEGIN */
	assert_int_equal(hj_db_exec(f->db, "COMMIT"), 0);
	assert_int_equal(ut_int(f->db, "SELECT count(*) FROM org WHERE id = 'qh-xn-cz-b'", NULL), 1);
	hj_json_free(ok);
	hj_json_free(bad);
}

/* An op that fails half way (an SQL error after its first write) is
 * rolled back whole: here a member.apply trusted as the hub's verdict
 * skips the duplicate check, updates the person row, and then hits the
 * one-live-membership index. */
static void test_failed_op_rolled_back(void **state)
{
	fixture *f = *state;
	hj_verdict v;
	uint8_t before[32], after[32];
	hj_json *op = apply_op("qh-xn-cz", tok(f, "K_A"), tok(f, "ID_A"), "13911112222");
	hj_foldctx ctx = {.actor = "cz", .seq = 9, .index = 0, .trust_hub = 1};
	ut_digest(f->db, before);
	assert_true(hj_fold_op(f->db, &ctx, op, &v) < 0);
	ut_digest(f->db, after);
	assert_memory_equal(before, after, 32);
	char *phone = ut_text(f->db, "SELECT phone FROM person WHERE person_key = ?1", tok(f, "K_A"));
	assert_string_equal(phone, "13800000001");
	free(phone);
	assert_int_not_equal(sqlite3_get_autocommit(f->db->h), 0);
	hj_json_free(op);
}

/* The rows the fixture's ops wrote, column by column. */
static void test_rows_of_each_op(void **state)
{
	fixture *f = *state;
	char pk[65];
	struct {
		const char *sql, *arg, *want;
	} rows[] = {
		{"SELECT name || '|' || kind || '|' || region || '|' || coalesce(parent, 'NULL') || '|' || created_op || '|' "
		 "|| coalesce(updated_op, 'NULL') FROM org WHERE id = ?1", "qh", "青海省总工会|province|63|NULL|hub:1:0|NULL"},
		{"SELECT name || '|' || kind || '|' || coalesce(region, 'NULL') || '|' || parent || '|' || created_op "
		 "FROM org WHERE id = ?1", "qh-xn-cz", "城中区总工会|county|NULL|qh-xn|hub:2:1"},
		{"SELECT union_id || '|' || role || '|' || enrolled_op FROM node WHERE id = ?1", "hub", "qh|hub|hub:1:1"},
		{"SELECT union_id || '|' || role || '|' || enrolled_op FROM node WHERE id = ?1", "cz", "qh-xn-cz|union|hub:2:5"},
		{"SELECT union_id || '|' || role || '|' || enrolled_op FROM node WHERE id = ?1", "aud", "qh|auditor|hub:2:7"},
		/* member.apply: the person row and the application. */
		{"SELECT name || '|' || phone || '|' || plate || '|' || updated_op FROM person WHERE person_key = ?1",
		 tok(f, "K_A"), "张三|13800000001|青A12345|cz:1:0"},
		{"SELECT (person_key = (SELECT person_key FROM person WHERE updated_op = 'cz:1:0')) || '|' || union_id || '|' "
		 "|| grp || '|' || channel || '|' || platform || '|' || status || '|' || applied_on || '|' || applied_by "
		 "|| '|' || coalesce(decided_on, 'NULL') || '|' || coalesce(decided_by, 'NULL') || '|' || "
		 "coalesce(reason, 'NULL') || '|' || coalesce(left_on, 'NULL') FROM membership WHERE id = ?1",
		 M_A, "1|qh-xn-cz|truck_driver|mobile_window|yunmanman|applied|2024-03-01|cz|NULL|NULL|NULL|NULL"},
		/* member.approve */
		{"SELECT status || '|' || decided_on || '|' || decided_by || '|' || coalesce(reason, 'NULL') || '|' || "
		 "coalesce(left_on, 'NULL') FROM membership WHERE id = ?1", M_B, "active|2024-03-05|cz|NULL|NULL"},
		/* member.reject */
		{"SELECT status || '|' || decided_on || '|' || decided_by || '|' || reason FROM membership WHERE id = ?1",
		 M_D, "rejected|2024-03-05|cz|资料不全"},
		/* member.leave keeps the decision and adds the leave */
		{"SELECT status || '|' || decided_on || '|' || reason || '|' || left_on FROM membership WHERE id = ?1",
		 M_C, "left|2024-03-05|voluntary|2024-06-01"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *got = ut_text(f->db, rows[i].sql, rows[i].arg);
		if (!got || strcmp(got, rows[i].want) != 0)
			fail_msg("row %zu: got %s, want %s", i, got ? got : "(none)", rows[i].want);
		free(got);
	}
	char *id_a = ut_text(f->db, "SELECT id_number FROM person WHERE person_key = ?1", tok(f, "K_A"));
	assert_string_equal(id_a, tok(f, "ID_A"));
	free(id_a);
	ut_hex64(pk, "cz");
	char *got_pk = ut_text(f->db, "SELECT pubkey FROM node WHERE id = ?1", "cz");
	assert_string_equal(got_pk, pk);
	free(got_pk);
	assert_int_equal(ut_int(f->db, "SELECT count(*) FROM org", NULL), 6);
	assert_int_equal(ut_int(f->db, "SELECT count(*) FROM node", NULL), 4);
	assert_int_equal(ut_int(f->db, "SELECT count(*) FROM person", NULL), 4);
	assert_int_equal(ut_int(f->db, "SELECT count(*) FROM membership", NULL), 4);
}

static void test_update_rows(void **state)
{
	fixture *f = *state;
	hj_verdict v;
	/* member.update: membership fields and the person row; unnamed
	 * fields stay (coalesce). */
	hj_json *op = ut_v2(ut_op("member.update", "member", M_B, "person", tok(f, "K_B"), "phone", "13700000000",
				  "group", "courier", "name", "张四", NULL));
	assert_int_equal(ut_fold(f->db, "cz", 4, 2, op, &v), 0);
	assert_true(v.applied);
	hj_json_free(op);
	char *m = ut_text(f->db, "SELECT grp || '|' || platform || '|' || status FROM membership WHERE id = ?1", M_B);
	assert_string_equal(m, "courier|yunmanman|active");
	free(m);
	char *p = ut_text(f->db, "SELECT name || '|' || phone || '|' || plate || '|' || updated_op FROM person "
				 "WHERE person_key = ?1", tok(f, "K_B"));
	assert_string_equal(p, "张四|13700000000|青A12345|cz:4:2");
	free(p);
	/* Only the platform: the person row is not touched. */
	op = ut_op("member.update", "member", M_B, "person", tok(f, "K_B"), "platform", "huolala", NULL);
	assert_int_equal(ut_fold(f->db, "cz", 5, 0, op, &v), 0);
	assert_true(v.applied);
	hj_json_free(op);
	p = ut_text(f->db, "SELECT updated_op FROM person WHERE person_key = ?1", tok(f, "K_B"));
	assert_string_equal(p, "cz:4:2");
	free(p);
	m = ut_text(f->db, "SELECT grp || '|' || platform FROM membership WHERE id = ?1", M_B);
	assert_string_equal(m, "courier|huolala");
	free(m);

	/* org.update: name, region, and a move of an org that holds nobody. */
	op = ut_op("org.update", "id", "qh-hd-pa", "region", "630203", "parent", "qh-xn", NULL);
	assert_int_equal(ut_fold(f->db, "hub", 3, 0, op, &v), 0);
	assert_true(v.applied);
	hj_json_free(op);
	char *o = ut_text(f->db, "SELECT name || '|' || region || '|' || parent || '|' || created_op || '|' || updated_op "
				 "FROM org WHERE id = ?1", "qh-hd-pa");
	assert_string_equal(o, "平安区总工会|630203|qh-xn|hub:2:4|hub:3:0");
	free(o);
	/* "Moving" to the parent it already has is not a move: allowed even
	 * with members below. */
	op = ut_op("org.update", "id", "qh-xn-cz", "parent", "qh-xn", "name", "城中区总工会(新)", NULL);
	assert_int_equal(ut_fold(f->db, "hub", 3, 1, op, &v), 0);
	assert_true(v.applied);
	hj_json_free(op);

	/* Applying again after leaving: a new membership; the person row is
	 * rewritten from the new application. */
	op = apply_op("qh-xn-cz-a", tok(f, "K_C"), tok(f, "ID_C"), "13611112222");
	assert_int_equal(ut_fold(f->db, "cz", 6, 1, op, &v), 0);
	assert_true(v.applied);
	hj_json_free(op);
	assert_int_equal(ut_int(f->db, "SELECT count(*) FROM membership WHERE person_key = ?1", tok(f, "K_C")), 2);
	m = ut_text(f->db, "SELECT union_id || '|' || status FROM membership WHERE id = ?1", "cz:6:1");
	assert_string_equal(m, "qh-xn-cz-a|applied");
	free(m);
	p = ut_text(f->db, "SELECT phone || '|' || updated_op FROM person WHERE person_key = ?1", tok(f, "K_C"));
	assert_string_equal(p, "13611112222|cz:6:1");
	free(p);
}

/* The province's first ops: before any node is enrolled anyone may make
 * the root, but the first enrolment must be a hub enrolling itself. */
static void test_bootstrap(void **state)
{
	(void)state;
	hj_db *db = NULL;
	hj_verdict v;
	char pk[65];
	ut_hex64(pk, "x");
	assert_int_equal(hj_scratch_open(&db), 0);
	hj_json *ops[] = {
		ut_op("org.create", "id", "qh", "name", "青海省总工会", "kind", "province", NULL),
		ut_op("node.enroll", "node", "y", "pubkey", pk, "union", "qh", "role", "hub", NULL),
		ut_op("node.enroll", "node", "x", "pubkey", pk, "union", "qh", "role", "union", NULL),
		ut_op("node.enroll", "node", "x", "pubkey", pk, "union", "qh", "role", "hub", NULL),
		ut_op("org.create", "id", "qh2", "name", "第二个省", "kind", "province", NULL),
		ut_op("org.create", "id", "qh2", "name", "第二个省", "kind", "province", NULL),
	};
	const char *want[] = {NULL, "no_authority", "no_authority", NULL, "unknown_node", NULL};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		/* op 4 by a stranger once x is enrolled; op 5 by the hub x */
		const char *actor = i == 4 ? "y" : "x";
		assert_int_equal(ut_fold(db, actor, 1, (uint32_t)i, ops[i], &v), 0);
		if (want[i])
			assert_string_equal(v.reason, want[i]);
		else if (!v.applied)
			fail_msg("bootstrap op %zu refused: %s", i, v.detail);
		hj_json_free(ops[i]);
	}
	assert_int_equal(ut_int(db, "SELECT count(*) FROM node", NULL), 1);
	hj_db_close(db);
}

/* A node acts in its own union before the hub's org tree reaches it, but
 * only there, and only while not enrolled under another union. */
static void test_own_union_offline(void **state)
{
	fixture *f = *state;
	hj_verdict v;
	hj_foldctx ctx = {.actor = "newc", .seq = 1, .self = "newc", .self_union = "qh-new"};
	hj_json *op = apply_op("qh-new", tok(f, "K_NEW"), tok(f, "ID_NEW"), "13900000000");
	assert_int_equal(hj_fold_op(f->db, &ctx, op, &v), 0);
	assert_true(v.applied);
	hj_json_free(op);
	op = apply_op("qh-xn-cz", tok(f, "K_C"), tok(f, "ID_C"), "13900000000");
	ctx.seq = 2;
	assert_int_equal(hj_fold_op(f->db, &ctx, op, &v), 0);
	assert_string_equal(v.reason, "no_authority");
	/* The same op seen by the hub (no local identity): unknown node. */
	assert_int_equal(ut_fold(f->db, "newc", 2, 0, op, &v), 0);
	assert_string_equal(v.reason, "unknown_node");
	hj_json_free(op);
}

/* Ops from a newer huiji stop the fold: an error, not a verdict. */
static void test_newer_version(void **state)
{
	fixture *f = *state;
	hj_verdict v;
	uint8_t before[32], after[32];
	ut_digest(f->db, before);
	hj_json *op = base_op(f, "approve");
	assert_int_equal(hj_json_set_int(op, "v", HJ_OP_VERSION + 1), 0);
	assert_int_equal(ut_fold(f->db, "cz", 9, 0, op, &v), HJ_EVERSION);
	assert_non_null(strstr(hj_error_last(), "upgrade huiji"));
	assert_int_equal(hj_fold_op_known(op), HJ_EVERSION);
	hj_json_free(op);
	op = ut_op("member.transfer", "member", M_B, "to", "qh-hd", NULL);
	assert_int_equal(ut_fold(f->db, "cz", 9, 0, op, &v), HJ_EVERSION);
	assert_int_equal(hj_fold_op_known(op), HJ_EVERSION);
	hj_json_free(op);
	ut_digest(f->db, after);
	assert_memory_equal(before, after, 32);
	assert_int_not_equal(sqlite3_get_autocommit(f->db->h), 0);
	/* What this huiji knows, hub.sequence included (it folds to nothing). */
	op = base_op(f, "apply");
	assert_int_equal(hj_fold_op_known(op), 0);
	hj_json_free(op);
	op = ut_op("hub.sequence", NULL);
	assert_int_equal(hj_fold_op_known(op), 0);
	hj_json_free(op);
	op = ut_json("{\"op\":\"member.leave\"}");
	assert_int_equal(hj_fold_op_known(op), HJ_EVERSION);
	hj_json_free(op);

	/* An op that is not an object is refused, not an error. */
	static const char *const not_ops[] = {"\"member.apply\"", "[]", "null", "{}", "1", "{\"op\":1,\"v\":1}"};
	for (size_t i = 0; i < sizeof not_ops / sizeof not_ops[0]; i++) {
		op = ut_json("%s", not_ops[i]);
		assert_int_equal(ut_fold(f->db, "cz", 9, 0, op, &v), 0);
		assert_string_equal(v.reason, "invalid");
		hj_json_free(op);
	}

	/* The payload around the ops. */
	static const struct {
		const char *text;
		int rc;
	} payloads[] = {
		{"{\"v\":1,\"ops\":[]}", 0},
		{"{\"v\":2,\"ops\":[]}", HJ_EVERSION},
		{"{\"v\":0,\"ops\":[]}", HJ_ECORRUPT},
		{"{\"v\":\"1\",\"ops\":[]}", HJ_ECORRUPT},
		{"{\"ops\":[]}", HJ_ECORRUPT},
		{"{\"v\":1}", HJ_ECORRUPT},
		{"{\"v\":1,\"ops\":{}}", HJ_ECORRUPT},
		{"[1]", HJ_ECORRUPT},
	};
	for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
		hj_json *p = ut_json("%s", payloads[i].text);
		int rc = -100;
		const hj_json *ops = hj_fold_payload_ops(p, &rc);
		assert_int_equal(rc, payloads[i].rc);
		assert_true((ops != NULL) == (payloads[i].rc == 0));
		hj_json_free(p);
	}
}

/* Same ops in the same order: the same rows and digest in every
 * registry; the position is part of the result (ids are minted from it). */
static void test_deterministic(void **state)
{
	fixture *f = *state;
	hj_db *a = NULL, *b = NULL;
	uint8_t da[32], db_[32], dlive[32];
	assert_int_equal(hj_scratch_open(&a), 0);
	assert_int_equal(hj_scratch_open(&b), 0);
	build_province(a, f);
	build_province(b, f);
	ut_digest(a, da);
	ut_digest(b, db_);
	ut_digest(f->db, dlive);
	assert_memory_equal(da, db_, 32);
	assert_memory_equal(da, dlive, 32);
	assert_int_equal(hj_projection_compare(a, "a", b, "b"), 0);
	/* One more op at different positions: different rows. */
	hj_verdict v;
	hj_json *op = base_op(f, "apply");
	assert_int_equal(ut_fold(a, "cz", 4, 0, op, &v), 0);
	assert_true(v.applied);
	assert_int_equal(ut_fold(b, "cz", 4, 1, op, &v), 0);
	assert_true(v.applied);
	hj_json_free(op);
	ut_digest(a, da);
	ut_digest(b, db_);
	assert_memory_not_equal(da, db_, 32);
	assert_int_equal(hj_projection_compare(a, "a", b, "b"), HJ_ECONFLICT);
	hj_db_close(a);
	hj_db_close(b);
}

static void test_op_id_and_helpers(void **state)
{
	(void)state;
	char id[160];
	hj_foldctx ctx = {.actor = "xn-cz", .seq = 18446744073709551615ull, .index = 4294967295u};
	hj_fold_op_id(id, sizeof id, &ctx);
	assert_string_equal(id, "xn-cz:18446744073709551615:4294967295");
	assert_true(hj_is_hex64("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_false(hj_is_hex64("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	assert_false(hj_is_hex64("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"));
	assert_false(hj_is_hex64(NULL));
}

/* A county replaying the hub order refreshes the row of a person it holds
 * when that person's op happens outside its subtree. */
static void test_person_refresh(void **state)
{
	fixture *f = *state;
	hj_foldctx ctx = {.actor = "hd", .seq = 3, .index = 0};
	hj_json *op = apply_op("qh-hd-pa", tok(f, "K_C"), tok(f, "ID_C"), "13522223333");
	assert_int_equal(hj_fold_person_refresh(f->db, &ctx, op), 0);
	hj_json_free(op);
	char *p = ut_text(f->db, "SELECT phone || '|' || updated_op FROM person WHERE person_key = ?1", tok(f, "K_C"));
	assert_string_equal(p, "13522223333|hd:3:0");
	free(p);
	/* Not held: nothing happens. */
	uint8_t before[32], after[32];
	ut_digest(f->db, before);
	op = apply_op("qh-hd-pa", tok(f, "K_NEW"), tok(f, "ID_NEW"), "13522223333");
	assert_int_equal(hj_fold_person_refresh(f->db, &ctx, op), 0);
	hj_json_free(op);
	op = ut_op("member.update", "member", "hd:1:0", "person", tok(f, "K_NEW"), "phone", "13500000000", NULL);
	assert_int_equal(hj_fold_person_refresh(f->db, &ctx, op), 0);
	hj_json_free(op);
	/* An update that names no person field changes nothing either. */
	op = ut_op("member.update", "member", "hd:1:0", "person", tok(f, "K_C"), "group", "courier", NULL);
	assert_int_equal(hj_fold_person_refresh(f->db, &ctx, op), 0);
	hj_json_free(op);
	ut_digest(f->db, after);
	assert_memory_equal(before, after, 32);
	ctx.seq = 4;
	op = ut_op("member.update", "member", "hd:1:0", "person", tok(f, "K_C"), "plate", "青B00001", NULL);
	assert_int_equal(hj_fold_person_refresh(f->db, &ctx, op), 0);
	hj_json_free(op);
	p = ut_text(f->db, "SELECT phone || '|' || plate || '|' || updated_op FROM person WHERE person_key = ?1", tok(f, "K_C"));
	assert_string_equal(p, "13522223333|青B00001|hd:4:0");
	free(p);
}

/* node/application.c: the op both `member apply` and the importer build. */
static void test_application(void **state)
{
	(void)state;
	char *dir = ut_tmpdir();
	hj_node *hub = ut_root(dir);
	char idno[19], lower[19], key[65];
	hj_json *op = NULL;
	for (int s = 0; s < 1000; s++) {
		ut_fake_id(idno, 1990, 5, 6, s);
		if (idno[17] == 'X')
			break;
	}
	assert_int_equal(idno[17], 'X');
	strcpy(lower, idno);
	lower[17] = 'x';
	hj_application a = {.name = "李四", .id_number = lower, .phone = "+86 138-0000-1234", .group = "courier",
			    .channel = "qr_oneclick", .on = "2024-05-01"};
	assert_int_equal(hj_application_op(&op, hub, &a), 0);
	hj_node_person_key(hub, idno, key);
	const hj_json *person = hj_json_get(op, "person");
	int64_t ver = 0;
	assert_string_equal(hj_json_get_str(op, "op"), "member.apply");
	assert_int_equal(hj_json_get_int(op, "v", &ver), 0);
	assert_int_equal(ver, HJ_OP_VERSION);
	assert_string_equal(hj_json_get_str(op, "union"), "qh"); /* the node's own */
	assert_null(hj_json_get(op, "platform"));
	assert_string_equal(hj_json_get_str(person, "key"), key);
	/* The fields travel sealed (person_seal.h): nothing of them in the op's
	 * text, and the hub opens them in normal form. */
	hj_buf text = HJ_BUF_INIT;
	assert_int_equal(hj_json_write(&text, op), 0);
	assert_null(strstr((const char *)text.data, idno));
	assert_null(strstr((const char *)text.data, "13800001234"));
	assert_null(strstr((const char *)text.data, "李四"));
	hj_buf_free(&text);
	assert_null(hj_json_get(person, "id_number"));
	hj_foldctx fc;
	hj_node_foldctx(hub, 2, 0, &fc);
	hj_json *view = NULL;
	int readable = 0;
	assert_int_equal(hj_person_view(&view, &readable, &fc, person), 0);
	assert_true(readable);
	assert_string_equal(hj_json_get_str(view, "id_number"), idno); /* upper-case X */
	assert_string_equal(hj_json_get_str(view, "phone"), "13800001234");
	assert_string_equal(hj_json_get_str(view, "name"), "李四");
	assert_non_null(hj_json_get_str(view, "seal"));
	assert_null(hj_json_get(view, "plate"));
	hj_json_free(view);
	const hj_unsealer *keep = fc.unseal;
	fc.unseal = NULL; /* an auditor without the key: shut */
	assert_int_equal(hj_person_view(&view, &readable, &fc, person), 0);
	assert_false(readable);
	assert_string_equal(hj_json_get_str(view, "id_number"), "");
	hj_json_free(view);
	fc.unseal = keep;
	char id[160];
	ut_must(hub, op, id, sizeof id);
	assert_string_equal(id, "hub:2:0");
	char *k = ut_text(hub->db, "SELECT person_key FROM membership WHERE id = 'hub:2:0'", NULL);
	assert_string_equal(k, key);
	free(k);

	/* Every required field, and messages that never hold the values. */
	static const size_t required[] = {
		offsetof(hj_application, name), offsetof(hj_application, id_number), offsetof(hj_application, phone),
		offsetof(hj_application, group), offsetof(hj_application, channel), offsetof(hj_application, on),
	};
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
		for (int empty = 0; empty < 2; empty++) {
			hj_application b = a;
			*(const char **)((char *)&b + required[i]) = empty ? "" : NULL;
			op = (hj_json *)1;
			assert_int_equal(hj_application_op(&op, hub, &b), HJ_EINVALID);
			assert_null(op);
			assert_non_null(strstr(hj_error_last(), "is required"));
		}
	}
	hj_application b = a;
	char bad[19];
	strcpy(bad, idno);
	bad[16] = bad[16] == '1' ? '2' : '1';
	b.id_number = bad;
	assert_int_equal(hj_application_op(&op, hub, &b), HJ_EINVALID);
	assert_null(strstr(hj_error_last(), bad));
	assert_null(strstr(hj_error_last(), "63010219900506"));
	b = a;
	b.phone = "138000012345678";
	assert_int_equal(hj_application_op(&op, hub, &b), HJ_EINVALID);
	assert_null(strstr(hj_error_last(), "138000012345678"));
	/* The date, platform and union are the fold's to judge. */
	b = a;
	b.on = "2024-02-30";
	b.platform = "didi";
	b.plate = "青A00001";
	b.union_id = "qh-elsewhere";
	assert_int_equal(hj_application_op(&op, hub, &b), 0);
	assert_string_equal(hj_json_get_str(op, "union"), "qh-elsewhere");
	assert_string_equal(hj_json_get_str(op, "platform"), "didi");
	hj_json *pv = NULL;
	int open = 0;
	assert_int_equal(hj_person_view(&pv, &open, &fc, hj_json_get(op, "person")), 0);
	assert_string_equal(hj_json_get_str(pv, "plate"), "青A00001");
	hj_json_free(pv);
	hj_verdict v;
	uint64_t seq = 99;
	assert_int_equal(ut_run(hub, op, &v, NULL, 0, &seq), 0);
	assert_string_equal(v.reason, "invalid");
	assert_int_equal(seq, 0);
	hj_node_close(hub);
	ut_rmtree(dir);
	free(dir);
}

/* A rejection's detail cut at 255 bytes never ends inside a character:
 * 86 three-byte characters make 258 bytes, cut to 85 whole ones. */
static void test_reject_detail_cut_whole(void **state)
{
	hj_verdict v;
	char name[300] = "";
	(void)state;
	for (int i = 0; i < 86; i++)
		strcat(name, "工");
	memset(&v, 0, sizeof v);
	assert_int_equal(hj_reject(&v, "duplicate_member", "%s", name), 0);
	assert_int_equal(strlen(v.detail), 85 * 3);
	assert_true(hj_utf8_valid(v.detail, strlen(v.detail), NULL));
	assert_int_equal(hj_reject(&v, "invalid", "a%s", name), 0); /* 1 + 84 x 3 = 253 */
	assert_int_equal(strlen(v.detail), 1 + 84 * 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_case_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_trace_inside_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_op_rolled_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows_of_each_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bootstrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_union_offline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deterministic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_person_refresh, setup, teardown),
		cmocka_unit_test(test_op_id_and_helpers),
		cmocka_unit_test(test_application),
		cmocka_unit_test(test_reject_detail_cut_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
