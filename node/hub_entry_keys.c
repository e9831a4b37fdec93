/*
 * hub_entry_keys.c — the person keys of a v4 hub entry (hub_entry.h): the
 * key the hub's fold gave each op that names none (op version 4,
 * fold_key.c). A county holds no person secret, so this list is where its
 * records' keys come from; every reader checks it here.
 */
#include "hub_entry.h"
#include "error.h"

#include <string.h>

int hj_hub_entry_enc_key(hj_hub_entry_enc *enc, size_t index, const hj_verdict *v)
{
	if (enc->version < 4 || !v->person_key[0])
		return 0;
	if (!enc->pkeys && !(enc->pkeys = hj_json_new(HJ_JARR)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	hj_json *pair = hj_json_new(HJ_JARR);
	if (pair && (hj_json_append(pair, hj_json_int((int64_t)index)) ||
		     hj_json_append(pair, hj_json_str(v->person_key))))
		pair = (hj_json_free(pair), NULL);
	return hj_json_append(enc->pkeys, pair) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
}

int hj_hub_entry_enc_keys_text(hj_buf *out, const hj_hub_entry_enc *enc)
{
	if (!enc->pkeys || !enc->pkeys->count)
		return 0;
	return hj_json_write(out, enc->pkeys);
}

int hj_hub_keys_check(const hj_json *keys, size_t nops)
{
	int64_t prev = -1;
	if (!keys || keys->type != HJ_JARR || !keys->count)
		return hj_error_set(HJ_ECORRUPT, "keys: not an array of 1.. pairs (none is said by leaving it out)");
	for (size_t i = 0; i < keys->count; i++) {
		const hj_json *x = keys->items[i];
		if (x->type != HJ_JARR || x->count != 2 || x->items[0]->type != HJ_JINT || x->items[1]->type != HJ_JSTR)
			return hj_error_set(HJ_ECORRUPT, "keys %zu: not [index, key]", i);
		int64_t at = x->items[0]->i;
		if (at <= prev || (nops != HJ_HUB_NOPS_ANY && (uint64_t)at >= nops))
			return hj_error_set(HJ_ECORRUPT, "keys %zu: op index %lld is not rising or not below %zu ops", i,
					    (long long)at, nops);
		if (x->items[1]->slen != 64 || !hj_is_hex64(x->items[1]->s))
			return hj_error_set(HJ_ECORRUPT, "keys %zu: not 64 lower-case hex digits", i);
		prev = at;
	}
	return 0;
}

int hj_hub_keys_parse(hj_json **out, const char *text, size_t nops)
{
	*out = NULL;
	if (!text)
		return 0;
	int rc = hj_json_parse(out, text, strlen(text));
	if (rc)
		return hj_error_wrap(rc, "keys: ");
	if ((rc = hj_hub_keys_check(*out, nops))) {
		hj_json_free(*out);
		*out = NULL;
	}
	return rc;
}

const char *hj_hub_key_at(const hj_json *keys, size_t i)
{
	size_t lo = 0, hi = keys ? keys->count : 0;
	while (lo < hi) { /* indices rise: binary search */
		size_t mid = lo + (hi - lo) / 2;
		int64_t at = keys->items[mid]->items[0]->i;
		if ((uint64_t)at == i)
			return keys->items[mid]->items[1]->s;
		if ((uint64_t)at < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
