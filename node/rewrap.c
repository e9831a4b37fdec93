/*
 * rewrap.c — re-wrapping a seal's data key for a node its author did not
 * name, and opening a seal with such a wrap (rewrap.h).
 */
#include "rewrap.h"
#include "error.h"
#include "hex.h"

#include <stdlib.h>
#include <string.h>

const hj_json *hj_rewrap_sealed_at(const hj_json *op, int which)
{
	switch (which) {
	case 0:
		return hj_json_get(hj_json_get(op, "person"), "sealed");
	case 1:
		return hj_json_get(op, "sealed");
	default:
		return hj_json_get(hj_json_get(hj_json_get(op, "snapshot"), "person"), "sealed");
	}
}

int hj_rewrap_op(hj_json *pairs, const hj_json *op, const hj_unsealer *hub, const char *to_id,
		 const uint8_t to_xpk[32])
{
	hj_sealed *s = NULL;
	int rc = 0;
	for (int which = 0; !rc && which < HJ_REWRAP_PLACES; which++) {
		const hj_json *obj = hj_rewrap_sealed_at(op, which);
		char wrap[HJ_SEAL_WRAP_HEX + 1], commit[65];
		if (!obj)
			continue;
		if (!s && !(s = malloc(sizeof *s)))
			return hj_error_set(HJ_ENOMEM, "out of memory");
		/* Malformed, already wrapped to it, or not opening for the hub:
		 * nothing to give (the fold judged the op by the same seal). */
		if (hj_sealed_decode(s, obj) || hj_sealed_wrap(s, to_id))
			continue;
		int w = hj_seal_rewrap(wrap, s, hub->id, hub->pk, hub->sk, to_xpk);
		if (w == HJ_ENOMEM) {
			rc = w;
			break;
		}
		if (w)
			continue;
		hj_json *pair = hj_json_new(HJ_JARR);
		hj_hex_encode(commit, s->commit, 32);
		if (!pair || hj_json_append(pair, hj_json_str(commit)) || hj_json_append(pair, hj_json_str(wrap))) {
			hj_json_free(pair);
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
		} else if (hj_json_append(pairs, pair)) { /* takes pair, even on failure */
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
		}
	}
	free(s);
	return rc;
}

int hj_rewrap_open(hj_buf *plain, hj_db *db, const hj_sealed *s, const uint8_t my_pk[32], const uint8_t my_sk[32])
{
	char commit[65];
	hj_hex_encode(commit, s->commit, 32);
	sqlite3_stmt *st = hj_db_stmt(db, "SELECT wrap FROM seal_wrap WHERE seal = :s ORDER BY wrap");
	if (!st)
		return HJ_ERROR;
	int rc = hj_db_bind_text(st, ":s", commit) ? HJ_ERROR : 0, opened = 0;
	while (!rc && !opened && (rc = hj_db_step(db, st)) == 1) {
		rc = hj_unseal_with(plain, s, hj_db_col_text(st, 0), my_pk, my_sk);
		opened = rc == 0;
		if (rc == HJ_EBADSIG || rc == HJ_ECORRUPT)
			rc = 0; /* not a wrap of this key for this node: the next */
	}
	hj_db_release(db, st);
	if (rc < 0)
		return rc;
	return opened ? 0 : HJ_ENOTFOUND;
}
