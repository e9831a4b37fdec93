/*
 * fold_key.c — which person key an op's person has in this fold.
 *
 * A person key is a keyed hash of an ID number, and the ID-number space is
 * small enough to enumerate: whoever holds the national person secret can
 * turn keys back into numbers. So county laptops hold no secret, and from
 * op version 4 an op names a person key only when its author holds the
 * secret (a hub); a county's names none. The hub derives the key when it
 * opens the application, and publishes it per op in its entry (hub entry
 * v4, "keys"); a node folding the hub order takes it from there, checking
 * it against the record it holds; an auditor with the person secret
 * derives it again and compares. A county's own work not yet sequenced
 * gets a provisional key from the op's position, which the rebase replaces
 * with the hub's (and de-duplicates by the plaintext ID numbers it holds:
 * ops_member.c).
 */
#include "fold.h"
#include "hex.h"
#include "person_key.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

int hj_fold_keyless(const hj_json *op)
{
	int64_t v = 0;
	return hj_json_get_int(op, "v", &v) == 0 && v >= HJ_OP_KEYLESS;
}

int hj_fold_key_form(const hj_json *op, const hj_json *person, const char *opname, hj_verdict *v)
{
	const hj_json *key = hj_json_get(person, "key");
	if (hj_fold_keyless(op) && !key)
		return 0; /* the hub gives it one */
	if (!hj_is_hex64(hj_json_get_str(person, "key")))
		return hj_reject(v, "invalid", "%s: person key must be 64 lower-case hex digits", opname), 1;
	return 0;
}

/* A key no ID number has: BLAKE2b of the op's position under its own
 * personalisation, so it never meets a real key and is the same each time
 * the node re-folds its pending work. */
static void provisional(char out[65], const hj_foldctx *ctx)
{
	static const uint8_t domain[] = "huiji provisional person key 1";
	char opid[160];
	uint8_t h[32];
	hj_fold_op_id(opid, sizeof opid, ctx);
	crypto_generichash(h, sizeof h, (const uint8_t *)opid, strlen(opid), domain, sizeof domain - 1);
	hj_hex_encode(out, h, 32);
}

int hj_fold_person_key(char out[65], const hj_foldctx *ctx, const char *idno, const char *held, hj_verdict *v)
{
	const char *given = ctx->hub_person_key;
	out[0] = '\0';
	if (idno && idno[0] && ctx->person_secret) {
		hj_person_key_derive(out, ctx->person_secret, idno);
	} else if (held) {
		snprintf(out, 65, "%s", held);
	} else if (given) {
		snprintf(out, 65, "%s", given);
		if (ctx->pkey_on_hub_word) /* an auditor without the secret, or shut out of the number */
			(*ctx->pkey_on_hub_word)++;
	} else if (ctx->provisional_keys) {
		provisional(out, ctx);
	} else {
		return hj_reject(v, "invalid", "no person key for this op: the hub's entry names none"), 1;
	}
	if (!hj_is_hex64(out))
		return hj_reject(v, "invalid", "person key must be 64 lower-case hex digits"), 1;
	if (given && strcmp(given, out) != 0)
		return hj_reject(v, "person_key_mismatch", "the person key the hub published for this op is not the %s",
				 idno && ctx->person_secret ? "province's key of its ID number" : "record's"), 1;
	snprintf(v->person_key, sizeof v->person_key, "%s", out);
	return 0;
}
