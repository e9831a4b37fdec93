/*
 * audit_key.c — the audit committee's key in an audit (issue 8 item 4):
 * the secret key of an enrolled auditor node, which every seal made after
 * that node's enrolment is wrapped to (node/person_seal.c). This file
 * turns it into the unsealer the re-fold opens those seals with, finds
 * which enrolled auditor it is as the re-fold reaches its enrolment, and
 * counts the seals it opens; a key no auditor is enrolled with is an error.
 */
#include "audit.h"
#include "audit_int.h"
#include "error.h"
#include "hex.h"
#include "seal.h"
#include "envelope.h"
#include "wraps.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

int hj_audit_key_init(hj_audit_key *k, struct hj_audit_report *rep, const uint8_t *sk)
{
	uint8_t seed[32], pk[32], check_pk[32], check[64];
	memset(k, 0, sizeof *k);
	k->rep = rep;
	if (!sk)
		return 0;
	if (sodium_init() < 0)
		return hj_error_set(HJ_ERROR, "libsodium failed to initialise");
	/* The file holds seed || public key (libsodium's layout): a file
	 * whose halves disagree is not a key pair, and no seal opens with it. */
	crypto_sign_ed25519_sk_to_seed(seed, sk);
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	int bad = crypto_sign_seed_keypair(check_pk, check, seed) != 0 || sodium_memcmp(check, sk, 64) != 0;
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(check, sizeof check);
	if (bad || hj_seal_pk_from_node(k->unseal.pk, pk) || hj_seal_sk_from_node(k->unseal.sk, sk)) {
		sodium_memzero(&k->unseal, sizeof k->unseal);
		return hj_error_set(HJ_EINVALID, "--audit-key: not an Ed25519 node secret key (its public half does "
				    "not match, or it cannot open seals)");
	}
	hj_hex_encode(k->ed_hex, pk, 32);
	k->given = 1;
	rep->audit_key_given = 1;
	return 0;
}

void hj_audit_key_free(hj_audit_key *k)
{
	sodium_memzero(&k->unseal, sizeof k->unseal);
}

const hj_unsealer *hj_audit_key_unsealer(const hj_audit_key *k)
{
	/* Until its enrolment is folded the id is "": it opens nothing, and
	 * the fold counts those checks as taken on the hub's word. */
	return k->given ? &k->unseal : NULL;
}

/* Is the sealed object `s` (the op's JSON, not yet validated: the fold
 * does that) wrapped to recipient `id`? */
static int wrapped_to(const hj_json *s, const char *id)
{
	const hj_json *to = hj_json_get(s, "to");
	for (size_t i = 0; to && to->type == HJ_JARR && i < to->count; i++) {
		const hj_json *pair = to->items[i];
		if (pair->type == HJ_JARR && pair->count == 2 && pair->items[0]->type == HJ_JSTR &&
		    strcmp(pair->items[0]->s, id) == 0)
			return 1;
	}
	return 0;
}

/* Every object named "sealed" anywhere in the op (an application's
 * person, an update's fields, a transfer's person): counted when wrapped
 * to this auditor. */
static int count_in(const hj_audit_key *k, const hj_json *v)
{
	int n = 0;
	if (v->type != HJ_JOBJ && v->type != HJ_JARR)
		return 0;
	for (size_t i = 0; i < v->count; i++) {
		const hj_json *c = v->items[i];
		if (v->type == HJ_JOBJ && strcmp(v->keys[i], "sealed") == 0 && c->type == HJ_JOBJ)
			n += wrapped_to(c, k->unseal.id);
		else
			n += count_in(k, c);
	}
	return n;
}

int hj_audit_key_count(hj_audit_key *k, const hj_json *op)
{
	int n = k->given && k->unseal.id[0] ? count_in(k, op) : 0;
	k->rep->sealed_to_audit_key += (uint64_t)n;
	return n;
}

void hj_audit_key_enrolled(hj_audit_key *k, const hj_json *op)
{
	const char *name = hj_json_get_str(op, "op"), *pubkey = hj_json_get_str(op, "pubkey");
	const char *node = hj_json_get_str(op, "node"), *role = hj_json_get_str(op, "role");
	if (!k->given || k->unseal.id[0] || !name || strcmp(name, "node.enroll") != 0 || !pubkey || !node || !role ||
	    strcmp(pubkey, k->ed_hex) != 0)
		return;
	if (strcmp(role, "auditor") != 0) {
		/* A hub's or a union node's key opens that node's seals, not
		 * the audit committee's: it is no audit key. */
		snprintf(k->other, sizeof k->other, "%s", node);
		snprintf(k->other_role, sizeof k->other_role, "%s", role);
		return;
	}
	/* Node ids are unique and never re-enrolled (ops_node.c): this id
	 * names this key from here on. */
	snprintf(k->unseal.id, sizeof k->unseal.id, "%s", node);
	snprintf(k->rep->auditor, sizeof k->rep->auditor, "%s", node);
}

int hj_audit_key_check(const hj_audit_key *k)
{
	if (!k->given || k->unseal.id[0])
		return 0;
	if (k->other[0])
		return hj_error_set(HJ_EINVALID, "--audit-key: its public key %.16s… is node %s's, enrolled as %s, "
				    "not as an auditor: no audit verdict", k->ed_hex, k->other, k->other_role);
	return hj_error_set(HJ_EINVALID, "--audit-key: no auditor is enrolled with its public key %.16s… in this "
			    "hub's order: no audit verdict", k->ed_hex);
}

/* The id the hub's change set `bytes` enrols this key as an auditor
 * under, into id (left as it is when none). */
static void enrolment_in(const hj_audit_key *k, const uint8_t *bytes, size_t len, char id[HJ_NODE_ID_MAX + 1])
{
	hj_envelope e;
	hj_json *payload = NULL;
	if (!bytes || hj_envelope_decode(&e, bytes, len))
		return;
	if (hj_json_parse(&payload, (const char *)e.payload, e.payload_len) == 0) {
		const hj_json *ops = hj_json_get(payload, "ops");
		for (size_t i = 0; ops && ops->type == HJ_JARR && i < ops->count; i++) {
			const hj_json *op = ops->items[i];
			const char *name = hj_json_get_str(op, "op"), *node = hj_json_get_str(op, "node");
			const char *pubkey = hj_json_get_str(op, "pubkey"), *role = hj_json_get_str(op, "role");
			if (name && node && pubkey && role && strcmp(name, "node.enroll") == 0 &&
			    strcmp(role, "auditor") == 0 && strcmp(pubkey, k->ed_hex) == 0 && strlen(node) <= HJ_NODE_ID_MAX)
				snprintf(id, HJ_NODE_ID_MAX + 1, "%s", node);
		}
	}
	hj_json_free(payload);
	hj_envelope_free(&e);
}

int hj_audit_key_wraps(hj_audit_key *k, hj_db *db, hj_gitrepo *repo, uint8_t *const *hub, const size_t *len,
		       size_t n)
{
	char id[HJ_NODE_ID_MAX + 1] = "", ref[200];
	int refused = 0;
	if (!k->given)
		return 0;
	for (size_t i = 0; i < n && !id[0]; i++)
		enrolment_in(k, hub[i], len[i], id);
	if (!id[0])
		return 0; /* not enrolled: hj_audit_key_check says so after the re-fold */
	hj_rewrap_ref(ref, sizeof ref, id);
	int rc = hj_rewrap_take_db(db, id, repo, ref, &refused);
	if (rc == HJ_ENOTFOUND)
		rc = 0; /* no wraps ref: nothing re-wrapped for it */
	if (!rc)
		k->unseal.wraps = db;
	k->rep->audit_wraps_refused = (uint64_t)refused;
	return rc;
}
