/*
 * hub_entry.c — encode, decode and validate the hub's sequence entry, and
 * read its verdicts. The sequencer signs what the encoder writes; a county
 * follows, and an auditor re-derives, only what the decoder accepts, so
 * every rule of the format lives here once.
 */
#include "hub_entry.h"
#include "error.h"
#include "rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Format, op version 1. A sequence entry is a change set of the hub's own
 * feed (an envelope, see envelope.c) whose payload is compact JSON
 * (json.h's writer: no whitespace, keys in this order) holding exactly one
 * op:
 *
 *   {"v":1,"ops":[{"op":"hub.sequence","v":V,
 *                  "include":[I, ...],
 *                  "state":"<64 lower-case hex>"}]}
 *
 *   field     type     rule
 *   v         int      payload version (fold.h HJ_PAYLOAD_VERSION), = 1
 *   op        string   "hub.sequence"; never next to another op
 *   v (op)    int      op version, 1..HJ_OP_VERSION; higher is HJ_EVERSION
 *                      (the reader must be upgraded, the entry is not bad)
 *   include   array    0..HJ_HUB_MAX_INCLUDE (2000) change sets, in the
 *                      order the hub folded them
 *   state     string   BLAKE2b-256 of the canonical projection after
 *                      folding them (projection.h), lower-case hex
 *
 * Each include I:
 *
 *   {"node":N,"seq":S,"hash":H,"verdicts":[W, ...]}
 *
 *   node      string   node id (envelope.h: 1..64 of [a-z0-9._-])
 *   seq       int      >= 1, the change set's seq in N's feed
 *   hash      string   BLAKE2b-256 of its envelope bytes, 64 lower-case
 *                      hex (a signed format: upper case is refused)
 *   verdicts  array    one W per op of that change set, in op order:
 *                      "ok" (applied) or [reason, detail] (rejected) with
 *                      reason 1..31 bytes of [a-z0-9_] (a stable code such
 *                      as "duplicate_member") and detail 0..255 bytes of
 *                      UTF-8 text (never personal data)
 *
 * Nothing else may appear in either object (a new field needs a new op
 * version). The whole payload is bounded by the envelope's inflated cap
 * (HJ_PAYLOAD_MAX_BYTES, 8 MiB); 2000 change sets keep a real one under
 * 1 MiB. The count of verdicts can be
 * checked against the change set only once its envelope is at hand
 * (hj_hub_verdicts_check with nops). A county's `followed.verdicts` column
 * stores an include's verdict array as the same JSON text.
 *
 * Format, entry version 2 (op "v":2). Same frame; the op is
 *
 *   {"op":"hub.sequence","v":2,"rules":R,"at":T,
 *    "include":[I, ...],"state":"<64 lower-case hex>"}
 *
 *   rules     int      1..HJ_RULES_VERSION (rules.h): the fold rules the
 *                      verdicts were decided by, which whoever re-folds
 *                      this entry applies (higher is HJ_EVERSION)
 *   at        int      >= 1: the hub's time for the entry, ms since the
 *                      epoch; the "now" of the date rules for every op it
 *                      includes (never the re-folder's clock)
 *
 * Each include I:
 *
 *   {"node":N,"seq":S,"hash":H}                 every op applied, or
 *   {"node":N,"seq":S,"hash":H,"rejected":[X, ...]}
 *
 *   rejected  array    1.. entries X = [index, reason, holder], indices
 *                      strictly rising, each < the change set's op count;
 *                      reason as in v1; holder "" or an id (envelope.h's
 *                      node-id rule) naming what the op conflicts with —
 *                      for duplicate_member the union holding the person,
 *                      so a county that does not hold that union's rows
 *                      can still say where the person is; from rules 5,
 *                      for duplicate_province "<province>/<union>", two
 *                      ids (node/peer_dup.h). The sentence v1
 *                      carried is derived from these at display time.
 *
 * So an entry costs ~90 bytes per change set plus ~30 per rejected op
 * and the holder's length,
 * and "all ok" costs nothing per op.
 *
 * Format, entry version 3 (op "v":3). As v2, with one more key between
 * "include" and "state", left out when the entry delivered nothing:
 *
 *   inbox     array    [[node, n], ...], node ids strictly rising (byte
 *                      order), n >= 1: the node's inbox
 *                      (refs/huiji/inbox/<node>) holds n change sets
 *                      after this entry. What it gained with this entry
 *                      are change sets this entry includes, in include
 *                      order (sync/inbox.c), so a node can tell what it
 *                      was given from what it was not meant to have, and
 *                      an inbox behind the hub feed from a complete one.
 *
 * Format, entry version 4 (op "v":4). As v3, with "key_scheme" after "at"
 * and one more key in an include, after "rejected", left out when empty:
 *
 *   key_scheme int     the person-key scheme of "keys" (hub_entry.h
 *                      HJ_PERSON_KEY_SCHEME: 1, keyed BLAKE2b-256 of the
 *                      normalised ID number); higher is HJ_EVERSION
 *   keys      array    [[index, key], ...], indices strictly rising, each
 *                      < the change set's op count, key 64 lower-case hex:
 *                      the person key the hub's fold gave each op that
 *                      names none (op version 4: an application, a
 *                      request, an update, a transfer's snapshot;
 *                      fold_key.c), rejected ones included when the key
 *                      came before the verdict (a duplicate). County
 *                      laptops hold no person secret: their records take
 *                      their keys from here. ~75 bytes per such op.
 *
 * Room for what later issues add (witness signatures, key events,
 * per-union state digests): each comes as a new key of the op under a
 * new entry version; a reader refuses any key not listed here (HJ_ECORRUPT, or
 * HJ_EVERSION when "v" is newer), so no old reader half-reads a newer
 * entry. A v2 `followed.verdicts` row stores the "rejected" array (NULL:
 * all applied); the readers below tell the two forms apart by shape.
 */

#if HJ_HUB_ENTRY_VERSION < 2 && HJ_RULES_VERSION > 1
#error "entry v1 has no room for a rules version: build with HJ_RULES_VERSION=1"
#endif

#define REASON_MAX (sizeof(((hj_verdict *)0)->reason) - 1) /* 31 */
#define DETAIL_MAX (sizeof(((hj_verdict *)0)->detail) - 1) /* 255 */

/* ---- encoding ---- */

/* The payload around the include list: what hj_hub_entry_enc_finish
 * writes besides it ('{"v":1,"ops":[{"op":"hub.sequence","v":2,"rules":R,
 * "at":T,"include":' and ',"state":"<64 hex>"}]}'), with room for the
 * widest numbers. */
#define ENTRY_FRAME_BYTES 240

void hj_hub_entry_enc_init(hj_hub_entry_enc *enc, int64_t at_ms)
{
	memset(enc, 0, sizeof *enc);
	enc->version = HJ_HUB_ENTRY_VERSION;
	enc->rules = HJ_RULES_VERSION;
	enc->at_ms = at_ms > 0 ? at_ms : 1; /* a v2 entry's time is >= 1 */
}

void hj_hub_entry_enc_free(hj_hub_entry_enc *enc)
{
	if (!enc)
		return;
	hj_json_free(enc->include);
	hj_json_free(enc->pending);
	free(enc->inbox);
	free(enc->pinbox);
	hj_json_free(enc->pkeys);
	hj_hub_entry_enc keep = *enc;
	memset(enc, 0, sizeof *enc);
	enc->max_bytes = keep.max_bytes;
	enc->version = keep.version;
	enc->rules = keep.rules;
	enc->at_ms = keep.at_ms;
}

/* Does one more include of `len` bytes fit (a ',' before all but the
 * first)? */
static int enc_fits(const hj_hub_entry_enc *enc, size_t len)
{
	size_t max = enc->max_bytes ? enc->max_bytes : HJ_HUB_ENTRY_MAX_BYTES;
	size_t add = len + (enc->count ? 1 : 0) + ENTRY_FRAME_BYTES + 2; /* and "[]" */
	return add <= max && enc->bytes <= max - add;
}

void hj_hub_entry_enc_discard(hj_hub_entry_enc *enc)
{
	hj_json_free(enc->pending);
	enc->pending = NULL;
	enc->npending = 0;
	enc->npinbox = 0;
	hj_json_free(enc->pkeys);
	enc->pkeys = NULL;
}

/* Room one inbox pair takes: ["node",n] and a comma, n at its widest. */
#define INBOX_PAIR_BYTES(node) (strlen(node) + 26)

int hj_hub_entry_enc_deliver(hj_hub_entry_enc *enc, const char *node, uint64_t n)
{
	if (enc->version < 3)
		return 0;
	if (hj_node_id_check(node) || n < 1)
		return hj_error_set(HJ_EINVALID, "hub entry: bad delivery");
	if (enc->npinbox == enc->pinbox_cap) {
		size_t cap = enc->pinbox_cap ? 2 * enc->pinbox_cap : 16;
		hj_hub_delivery *p = realloc(enc->pinbox, cap * sizeof *p);
		if (!p)
			return hj_error_set(HJ_ENOMEM, "out of memory");
		enc->pinbox = p;
		enc->pinbox_cap = cap;
	}
	hj_hub_delivery *d = &enc->pinbox[enc->npinbox++];
	snprintf(d->node, sizeof d->node, "%s", node);
	d->n = n;
	return 0;
}

/* Where `node` is or goes in the entry's sorted inbox list. */
static size_t inbox_find(const hj_hub_entry_enc *enc, const char *node, int *found)
{
	size_t lo = 0, hi = enc->ninbox;
	*found = 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(enc->inbox[mid].node, node);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Bytes the pending deliveries add to the entry (nodes not named yet). */
static size_t pinbox_bytes(const hj_hub_entry_enc *enc)
{
	size_t add = 0;
	int found;
	for (size_t i = 0; i < enc->npinbox; i++) {
		inbox_find(enc, enc->pinbox[i].node, &found);
		if (!found)
			add += INBOX_PAIR_BYTES(enc->pinbox[i].node);
	}
	return add;
}

/* The pending deliveries join the entry's list. */
static int pinbox_merge(hj_hub_entry_enc *enc)
{
	int found;
	for (size_t i = 0; i < enc->npinbox; i++) {
		const hj_hub_delivery *d = &enc->pinbox[i];
		size_t at = inbox_find(enc, d->node, &found);
		if (found) {
			enc->inbox[at].n = d->n;
			continue;
		}
		if (enc->ninbox == enc->inbox_cap) {
			size_t cap = enc->inbox_cap ? 2 * enc->inbox_cap : 16;
			hj_hub_delivery *p = realloc(enc->inbox, cap * sizeof *p);
			if (!p)
				return hj_error_set(HJ_ENOMEM, "out of memory");
			enc->inbox = p;
			enc->inbox_cap = cap;
		}
		memmove(&enc->inbox[at + 1], &enc->inbox[at], (enc->ninbox - at) * sizeof *enc->inbox);
		enc->inbox[at] = *d;
		enc->ninbox++;
	}
	enc->npinbox = 0;
	return 0;
}

/* A holder a v2 verdict may carry: an id, or (duplicate_province, rules
 * 5) two ids "<province>/<union>", 64 bytes at most. */
static int holder_ok(const char *s)
{
	char a[65];
	const char *slash = strchr(s, '/');
	if (!slash)
		return hj_node_id_check(s) == 0;
	if (strlen(s) > 64 || slash == s)
		return 0;
	snprintf(a, sizeof a, "%.*s", (int)(slash - s), s);
	return hj_node_id_check(a) == 0 && hj_node_id_check(slash + 1) == 0;
}

/* v2: a rejection [index, reason, holder]; an applied op adds nothing. */
static int enc_verdict_v2(hj_hub_entry_enc *enc, const hj_verdict *v)
{
	size_t index = enc->npending++;
	if (v->applied)
		return 0;
	/* The holder is what a reader may display beside the code: an id, or
	 * nothing — never a reason to stop the hub. */
	const char *holder = v->holder[0] && holder_ok(v->holder) ? v->holder : "";
	hj_json *rej = hj_json_new(HJ_JARR);
	if (rej && (hj_json_append(rej, hj_json_int((int64_t)index)) || hj_json_append(rej, hj_json_str(v->reason)) ||
		    hj_json_append(rej, hj_json_str(holder))))
		rej = (hj_json_free(rej), NULL);
	return hj_json_append(enc->pending, rej) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
}

int hj_hub_entry_enc_verdict(hj_hub_entry_enc *enc, const hj_verdict *v)
{
	int rc;
	if (!enc->pending && !(enc->pending = hj_json_new(HJ_JARR)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	if (enc->version >= 2)
		return (rc = enc_verdict_v2(enc, v)) ? rc : hj_hub_entry_enc_key(enc, enc->npending - 1, v);
	enc->npending++;
	if (v->applied) {
		rc = hj_json_append(enc->pending, hj_json_str("ok"));
	} else {
		hj_json *rej = hj_json_new(HJ_JARR);
		if (rej && (hj_json_append(rej, hj_json_str(v->reason)) || hj_json_append(rej, hj_json_str(v->detail))))
			rej = (hj_json_free(rej), NULL);
		rc = hj_json_append(enc->pending, rej);
	}
	return rc ? hj_error_set(rc, "out of memory") : 0;
}

int hj_hub_entry_enc_verdicts_text(hj_buf *out, const hj_hub_entry_enc *enc)
{
	static const hj_json empty = {.type = HJ_JARR};
	if (enc->version >= 2 && (!enc->pending || !enc->pending->count))
		return 0; /* all applied: v2 leaves them out, the row stores NULL */
	return hj_json_write(out, enc->pending ? enc->pending : &empty);
}

int hj_hub_entry_enc_add(hj_hub_entry_enc *enc, const char *node, uint64_t seq, const uint8_t hash[32])
{
	hj_json *inc = NULL;
	char hex[65];
	int rc;
	if (enc->count >= HJ_HUB_MAX_INCLUDE)
		return hj_error_set(HJ_ETOOBIG, "hub entry: more than %d change sets", HJ_HUB_MAX_INCLUDE);
	if ((!enc->include && !(enc->include = hj_json_new(HJ_JARR))) ||
	    (!enc->pending && !(enc->pending = hj_json_new(HJ_JARR))))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	hj_hex_encode(hex, hash, 32);
	if (!(inc = hj_json_new(HJ_JOBJ)) || hj_json_set_str(inc, "node", node) ||
	    hj_json_set_int(inc, "seq", (int64_t)seq) || hj_json_set_str(inc, "hash", hex)) {
		hj_json_free(inc);
		rc = HJ_ENOMEM;
		goto done;
	}
	/* Both calls take ownership even when they fail. v2 leaves out an
	 * empty rejection list (every op applied). */
	if (enc->version < 2)
		rc = hj_json_set(inc, "verdicts", enc->pending);
	else if (enc->pending->count)
		rc = hj_json_set(inc, "rejected", enc->pending);
	else
		rc = (hj_json_free(enc->pending), 0);
	enc->pending = NULL;
	enc->npending = 0;
	if (!rc && enc->pkeys) /* v4; taken even on failure */
		rc = hj_json_set(inc, "keys", enc->pkeys);
	enc->pkeys = NULL;
	if (rc) {
		hj_json_free(inc);
		goto done;
	}
	/* Its exact size: written the way finish will write it (which also
	 * refuses, here already, a verdict that is not valid UTF-8). */
	hj_buf item = HJ_BUF_INIT;
	rc = hj_json_write(&item, inc);
	size_t len = item.len;
	hj_buf_free(&item);
	if (rc) {
		hj_json_free(inc);
		return rc == HJ_EINVALID ? hj_error_wrap(rc, "hub entry: %s seq %" PRIu64 ": ", node, seq)
					 : hj_error_set(HJ_ENOMEM, "out of memory");
	}
	size_t inbox_add = pinbox_bytes(enc);
	if (!enc_fits(enc, len + inbox_add)) {
		hj_json_free(inc);
		enc->npinbox = 0;
		return hj_error_set(HJ_ETOOBIG, "hub entry: %s seq %" PRIu64 " needs %zu bytes, the entry has %zu of %zu",
				    node, seq, len, enc->bytes, enc->max_bytes ? enc->max_bytes : HJ_HUB_ENTRY_MAX_BYTES);
	}
	rc = hj_json_append(enc->include, inc);
	if (!rc && !(rc = pinbox_merge(enc))) {
		enc->bytes += len + inbox_add + (enc->count ? 1 : 0);
		enc->count++;
	}
done:
	enc->npinbox = 0;
	return rc ? hj_error_set(rc, "out of memory") : 0;
}

int hj_hub_entry_enc_finish(hj_buf *out, const hj_hub_entry_enc *enc, const uint8_t state[32])
{
	static const hj_json empty = {.type = HJ_JARR};
	char hex[65];
	size_t mark = out->len;
	int rc;
	hj_hex_encode(hex, state, 32);
	/* What json.h's compact writer gives for the tree
	 * {"v":1,"ops":[{"op":..,"v":..,"include":..,"state":..}]}: the only
	 * part that needs escaping is the include list, written by it. */
	if (enc->version < 2)
		hj_buf_printf(out, "{\"v\":%d,\"ops\":[{\"op\":\"" HJ_HUB_ENTRY_OP "\",\"v\":1,\"include\":",
			      HJ_PAYLOAD_VERSION);
	else
		hj_buf_printf(out, "{\"v\":%d,\"ops\":[{\"op\":\"" HJ_HUB_ENTRY_OP "\",\"v\":%d,\"rules\":%" PRIu32
			      ",\"at\":%" PRId64 "%s,\"include\":", HJ_PAYLOAD_VERSION, enc->version, enc->rules,
			      enc->at_ms, enc->version >= 4 ? ",\"key_scheme\":1" : "");
	if ((rc = out->rc ? out->rc : hj_json_write(out, enc->include ? enc->include : &empty)))
		goto done;
	for (size_t i = 0; enc->version >= 3 && i < enc->ninbox; i++) /* ids need no escaping */
		hj_buf_printf(out, "%s[\"%s\",%" PRIu64 "]", i ? "," : ",\"inbox\":[", enc->inbox[i].node,
			      enc->inbox[i].n);
	if (enc->version >= 3 && enc->ninbox)
		hj_buf_printf(out, "]");
	hj_buf_printf(out, ",\"state\":\"%s\"}]}", hex);
	rc = out->rc;
done:
	if (rc) {
		out->len = mark;
		if (rc == HJ_ENOMEM)
			hj_error_set(HJ_ENOMEM, "out of memory");
	}
	return rc;
}

const hj_hub_delivery *hj_hub_entry_enc_inbox(const hj_hub_entry_enc *enc, size_t *n)
{
	*n = enc->ninbox;
	return enc->inbox;
}

int hj_hub_entry_enc_backfill(hj_hub_entry_enc *enc, const char *node, uint64_t n)
{
	int rc = hj_hub_entry_enc_deliver(enc, node, n);
	if (rc || enc->version < 3)
		return rc;
	enc->bytes += pinbox_bytes(enc);
	return pinbox_merge(enc);
}

/* ---- decoding ---- */

/* Every key of `obj` is one of `keys` (NULL-terminated). */
static const char *unknown_key(const hj_json *obj, const char *const *keys)
{
	for (size_t i = 0; i < obj->count; i++) {
		size_t k = 0;
		while (keys[k] && strcmp(keys[k], obj->keys[i]) != 0)
			k++;
		if (!keys[k])
			return obj->keys[i];
	}
	return NULL;
}

static int reason_ok(const hj_json *s)
{
	if (s->type != HJ_JSTR || s->slen < 1 || s->slen > REASON_MAX)
		return 0;
	for (size_t i = 0; i < s->slen; i++)
		if (!((s->s[i] >= 'a' && s->s[i] <= 'z') || (s->s[i] >= '0' && s->s[i] <= '9') || s->s[i] == '_'))
			return 0;
	return 1;
}

/* v1: one verdict per op, "ok" or [reason, detail]. */
static int check_full(const hj_json *verdicts, size_t nops)
{
	if (nops != HJ_HUB_NOPS_ANY && verdicts->count != nops)
		return hj_error_set(HJ_ECORRUPT, "%zu verdicts for %zu ops", verdicts->count, nops);
	for (size_t i = 0; i < verdicts->count; i++) {
		const hj_json *w = verdicts->items[i];
		if (w->type == HJ_JSTR && strcmp(w->s, "ok") == 0 && w->slen == 2)
			continue;
		if (w->type != HJ_JARR || w->count != 2)
			return hj_error_set(HJ_ECORRUPT, "verdict %zu: neither \"ok\" nor [reason, detail]", i);
		if (!reason_ok(w->items[0]))
			return hj_error_set(HJ_ECORRUPT, "verdict %zu: reason is not 1..%zu bytes of [a-z0-9_]", i,
					    REASON_MAX);
		if (w->items[1]->type != HJ_JSTR || w->items[1]->slen > DETAIL_MAX)
			return hj_error_set(HJ_ECORRUPT, "verdict %zu: detail is not a string of at most %zu bytes", i,
					    DETAIL_MAX);
	}
	return 0;
}

/* v2: rejections [index, reason, holder], indices rising, at least one. */
static int check_compact(const hj_json *rej, size_t nops)
{
	int64_t prev = -1;
	if (!rej->count)
		return hj_error_set(HJ_ECORRUPT, "rejected: empty (every op applied is said by leaving it out)");
	for (size_t i = 0; i < rej->count; i++) {
		const hj_json *x = rej->items[i];
		if (x->type != HJ_JARR || x->count != 3 || x->items[0]->type != HJ_JINT)
			return hj_error_set(HJ_ECORRUPT, "rejected %zu: not [index, reason, holder]", i);
		int64_t at = x->items[0]->i;
		if (at <= prev || (nops != HJ_HUB_NOPS_ANY && (uint64_t)at >= nops))
			return hj_error_set(HJ_ECORRUPT, "rejected %zu: op index %lld is not rising or not below %zu ops", i,
					    (long long)at, nops);
		if (!reason_ok(x->items[1]))
			return hj_error_set(HJ_ECORRUPT, "rejected %zu: reason is not 1..%zu bytes of [a-z0-9_]", i,
					    REASON_MAX);
		const hj_json *h = x->items[2];
		if (h->type != HJ_JSTR || (h->slen && (strlen(h->s) != h->slen || !holder_ok(h->s))))
			return hj_error_set(HJ_ECORRUPT, "rejected %zu: holder is neither \"\" nor an id", i);
		prev = at;
	}
	return 0;
}

/* Which form an array is in: a v2 rejection starts with an integer. */
static int is_compact(const hj_json *verdicts)
{
	const hj_json *w = verdicts->count ? verdicts->items[0] : NULL;
	return w && w->type == HJ_JARR && w->count && w->items[0]->type == HJ_JINT;
}

int hj_hub_verdicts_check(const hj_json *verdicts, size_t nops)
{
	if (!verdicts || verdicts->type != HJ_JARR)
		return hj_error_set(HJ_ECORRUPT, "verdicts: not an array");
	return is_compact(verdicts) ? check_compact(verdicts, nops) : check_full(verdicts, nops);
}

int hj_hub_verdicts_parse(hj_json **out, const char *text, size_t nops)
{
	*out = NULL;
	if (!text)
		return 0;
	int rc = hj_json_parse(out, text, strlen(text));
	if (rc)
		return hj_error_wrap(rc, "verdicts: ");
	if ((rc = hj_hub_verdicts_check(*out, nops))) {
		hj_json_free(*out);
		*out = NULL;
	}
	return rc;
}

/* v2: the rejection of op i, by binary search over the rising indices. */
static const hj_json *compact_at(const hj_json *rej, size_t i)
{
	size_t lo = 0, hi = rej->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t at = rej->items[mid]->items[0]->i;
		if ((uint64_t)at == i)
			return rej->items[mid];
		if ((uint64_t)at < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int hj_hub_verdict_at(const hj_json *verdicts, size_t i, const char **reason, const char **detail)
{
	if (verdicts && is_compact(verdicts)) {
		const hj_json *x = compact_at(verdicts, i);
		if (!x)
			return 1;
		if (reason)
			*reason = x->items[1]->s;
		if (detail)
			*detail = x->items[2]->s;
		return 0;
	}
	const hj_json *w = verdicts && i < verdicts->count ? verdicts->items[i] : NULL;
	if (!w || w->type != HJ_JARR || w->count != 2)
		return 1;
	if (reason)
		*reason = w->items[0]->s;
	if (detail)
		*detail = w->items[1]->s;
	return 0;
}

int hj_hub_rejection_next(const hj_json *verdicts, size_t *cursor, size_t *op, const char **reason,
			  const char **detail)
{
	int compact = verdicts && is_compact(verdicts);
	for (; verdicts && *cursor < verdicts->count; (*cursor)++) {
		const hj_json *w = verdicts->items[*cursor];
		if (!compact && (w->type != HJ_JARR || w->count != 2))
			continue; /* "ok" */
		*op = compact ? (size_t)w->items[0]->i : *cursor;
		*reason = w->items[compact ? 1 : 0]->s;
		*detail = w->items[compact ? 2 : 1]->s;
		(*cursor)++;
		return 1;
	}
	return 0;
}

size_t hj_hub_verdicts_rejected(const hj_json *verdicts)
{
	size_t k = 0;
	if (verdicts && is_compact(verdicts))
		return verdicts->count;
	for (size_t i = 0; verdicts && i < verdicts->count; i++)
		k += !hj_hub_verdict_at(verdicts, i, NULL, NULL);
	return k;
}

int hj_hub_entry_find(const hj_json **op, const hj_json *ops)
{
	size_t at = 0, found = 0;
	*op = NULL;
	for (size_t i = 0; ops && i < ops->count; i++) {
		const char *name = hj_json_get_str(ops->items[i], "op");
		if (name && strcmp(name, HJ_HUB_ENTRY_OP) == 0) {
			at = i;
			found++;
		}
	}
	if (!found)
		return 0;
	if (ops->count != 1)
		return hj_error_set(HJ_ECORRUPT, "op %zu is \"" HJ_HUB_ENTRY_OP "\" among %zu ops: a sequence "
				    "entry holds that op alone", at, ops->count);
	*op = ops->items[0];
	return 0;
}

/* One include, index i, of an entry in format `v`. */
static int include_decode(hj_hub_include *out, const hj_json *x, size_t i, int64_t v)
{
	static const char *const keys1[] = {"node", "seq", "hash", "verdicts", NULL};
	static const char *const keys2[] = {"node", "seq", "hash", "rejected", NULL};
	static const char *const keys4[] = {"node", "seq", "hash", "rejected", "keys", NULL};
	const char *node, *hash, *bad;
	const hj_json *verdicts = NULL;
	int64_t seq = 0;
	int rc;
	if (!x || x->type != HJ_JOBJ)
		return hj_error_set(HJ_ECORRUPT, "include %zu: not an object", i);
	if ((bad = unknown_key(x, v < 2 ? keys1 : v < 4 ? keys2 : keys4)))
		return hj_error_set(HJ_ECORRUPT, "include %zu: unknown field \"%.40s\"", i, bad);
	if (!(node = hj_json_get_str(x, "node")) || hj_node_id_check(node))
		return hj_error_set(HJ_ECORRUPT, "include %zu: \"node\" is not a node id", i);
	if (hj_json_get_int(x, "seq", &seq) || seq < 1)
		return hj_error_set(HJ_ECORRUPT, "include %zu: \"seq\" is not an integer >= 1", i);
	if (!(hash = hj_json_get_str(x, "hash")) || !hj_is_hex64(hash))
		return hj_error_set(HJ_ECORRUPT, "include %zu: \"hash\" is not 64 lower-case hex digits", i);
	if (v < 2) {
		verdicts = hj_json_get(x, "verdicts");
		rc = !verdicts || verdicts->type != HJ_JARR ? hj_error_set(HJ_ECORRUPT, "verdicts: not an array")
							    : check_full(verdicts, HJ_HUB_NOPS_ANY);
	} else if ((verdicts = hj_json_get(x, "rejected"))) {
		rc = verdicts->type != HJ_JARR ? hj_error_set(HJ_ECORRUPT, "rejected: not an array")
					       : check_compact(verdicts, HJ_HUB_NOPS_ANY);
	} else {
		rc = 0;
	}
	if (!rc && (out->keys = hj_json_get(x, "keys")))
		rc = hj_hub_keys_check(out->keys, HJ_HUB_NOPS_ANY);
	if (rc)
		return hj_error_wrap(rc, "include %zu: ", i);
	snprintf(out->node, sizeof out->node, "%s", node);
	out->seq = (uint64_t)seq;
	hj_hex_decode(out->hash, 32, hash);
	out->verdicts = verdicts;
	return 0;
}

/* v3's inbox list: [[node, n], ...], nodes strictly rising, n >= 1. */
static int inbox_check(const hj_json *inbox)
{
	if (inbox->type != HJ_JARR || inbox->count < 1 || inbox->count > HJ_HUB_MAX_INBOX)
		return hj_error_set(HJ_ECORRUPT, "\"inbox\" is not an array of 1..%d pairs", HJ_HUB_MAX_INBOX);
	for (size_t i = 0; i < inbox->count; i++) {
		const hj_json *p = inbox->items[i];
		int64_t n = 0;
		if (p->type != HJ_JARR || p->count != 2 || p->items[0]->type != HJ_JSTR ||
		    strlen(p->items[0]->s) != p->items[0]->slen || hj_node_id_check(p->items[0]->s) || p->items[1]->type != HJ_JINT || (n = p->items[1]->i) < 1)
			return hj_error_set(HJ_ECORRUPT, "inbox %zu: not [node, count >= 1]", i);
		if (i && strcmp(inbox->items[i - 1]->items[0]->s, p->items[0]->s) >= 0)
			return hj_error_set(HJ_ECORRUPT, "inbox %zu: nodes not in rising order", i);
	}
	return 0;
}

int hj_hub_entry_inbox(const hj_hub_entry *e, const char *node, uint64_t *n)
{
	size_t lo = 0, hi = e->inbox ? e->inbox->count : 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const hj_json *p = e->inbox->items[mid];
		int c = strcmp(p->items[0]->s, node);
		if (c == 0) {
			*n = (uint64_t)p->items[1]->i;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The op's fields besides the include list; v2's rules version and time. */
static int head_decode(hj_hub_entry *out, const hj_json *op)
{
	static const char *const keys1[] = {"op", "v", "include", "state", NULL};
	static const char *const keys2[] = {"op", "v", "rules", "at", "include", "state", NULL};
	static const char *const keys3[] = {"op", "v", "rules", "at", "include", "inbox", "state", NULL};
	static const char *const keys4[] = {"op", "v", "rules", "at", "key_scheme", "include", "inbox", "state", NULL};
	const char *bad;
	int64_t rules = 1, scheme = 0;
	if (hj_json_get_int(op, "v", &out->v) || out->v < 1)
		return hj_error_set(HJ_ECORRUPT, "\"v\" is not an integer >= 1");
	if (out->v > HJ_HUB_ENTRY_VERSION)
		return hj_error_set(HJ_EVERSION, "op " HJ_HUB_ENTRY_OP " version %lld is newer than this huiji: "
				    "upgrade huiji to read entries from the hub", (long long)out->v);
	if ((bad = unknown_key(op, out->v < 2 ? keys1 : out->v < 3 ? keys2 : out->v < 4 ? keys3 : keys4)))
		return hj_error_set(HJ_ECORRUPT, "unknown field \"%.40s\"", bad);
	if (out->v >= 4 && (hj_json_get_int(op, "key_scheme", &scheme) || scheme < 1))
		return hj_error_set(HJ_ECORRUPT, "\"key_scheme\" is not an integer >= 1");
	if (scheme > HJ_PERSON_KEY_SCHEME)
		return hj_error_set(HJ_EVERSION, "hub entry's person keys are in scheme %lld, newer than this huiji's "
				    "%d: upgrade huiji to read entries from the hub", (long long)scheme,
				    HJ_PERSON_KEY_SCHEME);
	if (out->v >= 2) {
		if (hj_json_get_int(op, "rules", &rules) || rules < 1)
			return hj_error_set(HJ_ECORRUPT, "\"rules\" is not an integer >= 1");
		if (rules > HJ_RULES_VERSION)
			return hj_error_set(HJ_EVERSION, "hub entry decided under rules version %lld, newer than this "
					    "huiji's %d: upgrade huiji to read entries from the hub", (long long)rules,
					    HJ_RULES_VERSION);
		if (hj_json_get_int(op, "at", &out->at_ms) || out->at_ms < 1)
			return hj_error_set(HJ_ECORRUPT, "\"at\" is not an integer >= 1");
	}
	out->rules = (uint32_t)rules;
	return 0;
}

int hj_hub_entry_decode(hj_hub_entry *out, const hj_json *op)
{
	const char *name, *state;
	const hj_json *inc;
	int rc = 0;
	memset(out, 0, sizeof *out);
	if (!op || op->type != HJ_JOBJ || !(name = hj_json_get_str(op, "op")) || strcmp(name, HJ_HUB_ENTRY_OP) != 0)
		return hj_error_set(HJ_ECORRUPT, "not a \"" HJ_HUB_ENTRY_OP "\" op");
	if ((rc = head_decode(out, op)))
		return rc;
	if (!(state = hj_json_get_str(op, "state")) || !hj_is_hex64(state))
		return hj_error_set(HJ_ECORRUPT, "\"state\" is not 64 lower-case hex digits");
	if (!(inc = hj_json_get(op, "include")) || inc->type != HJ_JARR)
		return hj_error_set(HJ_ECORRUPT, "\"include\" is not an array");
	if (inc->count > HJ_HUB_MAX_INCLUDE)
		return hj_error_set(HJ_ECORRUPT, "%zu change sets included, more than %d", inc->count,
				    HJ_HUB_MAX_INCLUDE);
	if (inc->count && !(out->include = calloc(inc->count, sizeof *out->include)))
		return hj_error_set(HJ_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < inc->count; i++)
		rc = include_decode(&out->include[i], inc->items[i], i, out->v);
	if (rc) {
		hj_hub_entry_free(out);
		return rc;
	}
	out->ninclude = inc->count;
	hj_hex_decode(out->state, 32, state);
	if ((out->inbox = hj_json_get(op, "inbox")) && (rc = inbox_check(out->inbox))) {
		hj_hub_entry_free(out);
		return rc;
	}
	return 0;
}

int hj_hub_entry_parse(hj_hub_entry *out, const char *payload, size_t len)
{
	hj_json *tree = NULL;
	const hj_json *ops, *op = NULL;
	int rc = hj_json_parse(&tree, payload, len);
	memset(out, 0, sizeof *out);
	if (rc || !(ops = hj_fold_payload_ops(tree, &rc)) || (rc = hj_hub_entry_find(&op, ops)))
		goto done;
	if (!op) {
		rc = hj_error_set(HJ_ENOTFOUND, "not a sequence entry");
		goto done;
	}
	if ((rc = hj_hub_entry_decode(out, op)))
		goto done;
	out->tree = tree;
	tree = NULL;
done:
	hj_json_free(tree);
	return rc;
}

void hj_hub_entry_free(hj_hub_entry *e)
{
	if (!e)
		return;
	free(e->include);
	hj_json_free(e->tree);
	memset(e, 0, sizeof *e);
}
