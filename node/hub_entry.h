/*
 * hub_entry.h — the hub's sequence entry (op "hub.sequence"): the one
 * owner of its bytes. The sequencer (sync/) encodes it; county sync, the
 * county's replay and the auditor decode it and read its verdicts through
 * this file only. The format is documented in hub_entry.c.
 */
#ifndef HJ_HUB_ENTRY_H
#define HJ_HUB_ENTRY_H

#include "buf.h"
#include "envelope.h"
#include "fold.h"
#include "json.h"

#include <stddef.h>
#include <stdint.h>

#define HJ_HUB_ENTRY_OP "hub.sequence"
/* Entry format versions this huiji reads; it writes the highest. 1: every
 * op's verdict spelt out; 2: rules version, time, compact verdicts; 3: the
 * inbox counts; 4: the person keys the hub gave ops that name none
 * (hub_entry_keys.c) (the format comment in hub_entry.c). A test build may
 * pin it (tests/meson.build). */
#ifndef HJ_HUB_ENTRY_VERSION
#define HJ_HUB_ENTRY_VERSION 4
#endif
/* The person-key scheme a v4 entry's keys are in (person_key.h): 1, BLAKE2b-256
 * of the normalised ID number keyed with the national person secret. A
 * reader refuses a newer one (upgrade huiji). */
#define HJ_PERSON_KEY_SCHEME 1
/* Change sets per entry: keeps an entry < 1 MiB. The sequencer stops a
 * round here; a decoder refuses more. */
#define HJ_HUB_MAX_INCLUDE 2000
/* "Number of ops not known here" for hj_hub_verdicts_check/parse. */
#define HJ_HUB_NOPS_ANY ((size_t)-1)

/* Bytes of an entry's payload text, at most. Half the envelope's inflated
 * cap (envelope.h HJ_PAYLOAD_MAX_BYTES, 8 MiB), so every entry the hub
 * signs can be written, inflated and parsed by every county: a count of
 * change sets alone does not bound it (one change set can carry thousands
 * of rejections). */
#define HJ_HUB_ENTRY_MAX_BYTES (4u << 20)

/* Nodes an entry may name in its inbox list: every node of a province
 * (a decoder refuses more). */
#define HJ_HUB_MAX_INBOX 100000

/* ---- encoding (the hub sequencer) ---- */

/* v3: a node's inbox count after the entry. */
typedef struct hj_hub_delivery {
	char node[HJ_NODE_ID_MAX + 1];
	uint64_t n;
} hj_hub_delivery;

/* An entry under construction: change sets in hub order. Zero it (or
 * hj_hub_entry_enc_init) before use; DESTRUCTOR: hj_hub_entry_enc_free. */
typedef struct hj_hub_entry_enc {
	hj_json *include; /* private: the include list so far */
	hj_json *pending; /* private: verdicts of the change set being added */
	size_t npending;  /* private: ops given a verdict since the last add */
	size_t count;     /* change sets added */
	size_t bytes;     /* text of the include list's items so far */
	size_t max_bytes; /* 0: HJ_HUB_ENTRY_MAX_BYTES; tests set less */
	int version;      /* entry format; set by init: HJ_HUB_ENTRY_VERSION */
	uint32_t rules;   /* v2: rules version the verdicts were decided by */
	int64_t at_ms;    /* v2: the hub's time for this entry (the date rules' "now") */
	hj_hub_delivery *inbox;  /* private, v3: counts so far, sorted by node */
	size_t ninbox, inbox_cap;
	hj_hub_delivery *pinbox; /* private: deliveries of the change set being added */
	size_t npinbox, pinbox_cap;
	hj_json *pkeys;   /* private, v4: person keys of the change set being added */
} hj_hub_entry_enc;

/* Zero it for the newest format, deciding under HJ_RULES_VERSION at
 * `at_ms` (the caller folds with the same two). */
void hj_hub_entry_enc_init(hj_hub_entry_enc *enc, int64_t at_ms);
void hj_hub_entry_enc_free(hj_hub_entry_enc *enc); /* accepts a zeroed one */

/* The verdict of the next op of the change set being added, op by op
 * (built up as the fold goes, so no copy of them is held). */
int hj_hub_entry_enc_verdict(hj_hub_entry_enc *enc, const hj_verdict *v);

/* v3: the change set being added is delivered to `node`'s inbox, whose
 * count is then `n`. Once per node per change set; ignored before v3. */
int hj_hub_entry_enc_deliver(hj_hub_entry_enc *enc, const char *node, uint64_t n);

/* v3: the inbox counts of the entry so far, sorted by node (*n of them). */
const hj_hub_delivery *hj_hub_entry_enc_inbox(const hj_hub_entry_enc *enc, size_t *n);

/* v3: deliveries made outside any change set of the entry (a node's
 * backfill, sync/inbox.c): `node`'s inbox count is then `n`. Between
 * change sets only. */
int hj_hub_entry_enc_backfill(hj_hub_entry_enc *enc, const char *node, uint64_t n);

/* Forget the verdicts and deliveries given since the last add: that
 * change set is not included after all (the fold of one of its ops
 * failed). */
void hj_hub_entry_enc_discard(hj_hub_entry_enc *enc);

/* Append the JSON text of the verdicts given since the last add, exactly
 * as they will appear in the entry (what `followed.verdicts` stores);
 * nothing when the format says "all applied" by leaving them out (v2, no
 * rejection: store NULL). HJ_EINVALID for a verdict string that is not
 * valid UTF-8. */
int hj_hub_entry_enc_verdicts_text(hj_buf *out, const hj_hub_entry_enc *enc);

/* v4: the person keys given since the last add, exactly as the entry will
 * hold them ([[index, key], ...], what `followed.keys` stores); nothing
 * when there are none (store NULL). */
int hj_hub_entry_enc_keys_text(hj_buf *out, const hj_hub_entry_enc *enc);

/* Add change set (node, seq, hash) with the verdicts given since the last
 * add. Returns 0; HJ_ETOOBIG past HJ_HUB_MAX_INCLUDE change sets or when
 * the payload would pass enc->max_bytes (the entry is unchanged, the
 * verdicts are dropped: the caller takes the change set back out);
 * HJ_EINVALID for a verdict that is not valid UTF-8; or HJ_ENOMEM (the
 * verdicts are dropped). */
int hj_hub_entry_enc_add(hj_hub_entry_enc *enc, const char *node, uint64_t seq, const uint8_t hash[32]);

/* Append the entry's whole change-set payload to `out`:
 * {"v":1,"ops":[{"op":"hub.sequence","v":2,...,"state":"<hex>"}]}. The entry
 * stays usable (finish twice gives the same bytes). On failure `out` is
 * restored to its previous length. */
int hj_hub_entry_enc_finish(hj_buf *out, const hj_hub_entry_enc *enc, const uint8_t state[32]);

/* ---- decoding (county sync, replay, audit) ---- */

typedef struct hj_hub_include {
	char node[HJ_NODE_ID_MAX + 1];
	uint64_t seq;               /* >= 1 */
	uint8_t hash[32];           /* of the change set's envelope bytes */
	/* Validated, borrowed from the op: v1 one verdict per op, v2 the
	 * compact rejections (NULL: every op applied). Read with
	 * hj_hub_verdict_at; stored as is in followed.verdicts. */
	const hj_json *verdicts;
	/* v4: the person keys the hub gave its ops, [[index, key], ...]
	 * (NULL: none); read with hj_hub_key_at, stored in followed.keys. */
	const hj_json *keys;
} hj_hub_include;

typedef struct hj_hub_entry {
	int64_t v;                  /* entry format, 1..HJ_HUB_ENTRY_VERSION */
	uint32_t rules;             /* rules version of its verdicts (v1: 1) */
	int64_t at_ms;              /* the hub's time for it, ms (v1: 0, unknown) */
	hj_hub_include *include;    /* owned */
	size_t ninclude;
	uint8_t state[32];          /* digest of the hub's projection after it */
	const hj_json *inbox;       /* v3: [[node, n], ...] sorted, or NULL; read with hj_hub_entry_inbox */
	hj_json *tree;              /* owned payload tree (hj_hub_entry_parse) */
} hj_hub_entry;

/* Is this payload's op list a sequence entry? 0 with *op = the entry op
 * (borrowed) when it is exactly one "hub.sequence" op, 0 with *op = NULL
 * when no op is named "hub.sequence" (the hub's own registry ops),
 * HJ_ECORRUPT when "hub.sequence" sits among other ops. */
int hj_hub_entry_find(const hj_json **op, const hj_json *ops);

/* Decode and validate the entry op `op` (borrowed: *out points into it, so
 * `op` must outlive *out). Fields, types, lower-case hex, seqs, node ids,
 * verdict shapes and every limit of the format are checked; anything else
 * is HJ_ECORRUPT with a message naming the field (and the include's
 * index); "v" above HJ_HUB_ENTRY_VERSION or "rules" above HJ_RULES_VERSION
 * is HJ_EVERSION. On failure *out owns
 * nothing. DESTRUCTOR: hj_hub_entry_free. */
int hj_hub_entry_decode(hj_hub_entry *out, const hj_json *op);

/* Parse a change-set payload and decode its entry; *out owns the tree.
 * HJ_ENOTFOUND (message set) if the payload is not a sequence entry;
 * payload-level errors as hj_fold_payload_ops. */
int hj_hub_entry_parse(hj_hub_entry *out, const char *payload, size_t len);

void hj_hub_entry_free(hj_hub_entry *e); /* accepts NULL and a zeroed one */

/* The count of `node`'s inbox after this entry: 1 with *n set when the
 * entry delivered to it, else 0 (before v3 an entry never does). */
int hj_hub_entry_inbox(const hj_hub_entry *e, const char *node, uint64_t *n);

/* Check a verdict array (as decoded, or parsed from followed.verdicts) in
 * either form: v1, each element "ok" or [reason, detail], exactly `nops`
 * of them; v2, [index, reason, holder] rejections in rising index order,
 * each index < nops (nops == HJ_HUB_NOPS_ANY: not known here). Within the
 * format's limits, else HJ_ECORRUPT naming the element. */
int hj_hub_verdicts_check(const hj_json *verdicts, size_t nops);

/* Parse a followed row's verdict text (NULL = every op applied) and check
 * it as hj_hub_verdicts_check. *out owned by the caller (hj_json_free);
 * NULL when text is NULL. */
int hj_hub_verdicts_parse(hj_json **out, const char *text, size_t nops);

/* Verdict i of a checked array (NULL array: applied). Returns 1 when the
 * op applied; 0 when rejected, with *reason and *detail (either may be
 * NULL) borrowed from the array: v1's detail sentence, v2's holder (""
 * when none). */
int hj_hub_verdict_at(const hj_json *verdicts, size_t i, const char **reason, const char **detail);

/* The rejections of a checked array, in op order: start with *cursor = 0;
 * each call returns 1 with the next rejected op's index, reason and
 * detail (borrowed, as hj_hub_verdict_at), 0 after the last. */
int hj_hub_rejection_next(const hj_json *verdicts, size_t *cursor, size_t *op, const char **reason,
			  const char **detail);

/* How many ops of a checked array were rejected (NULL: 0). */
size_t hj_hub_verdicts_rejected(const hj_json *verdicts);

/* v4 person keys (hub_entry_keys.c). Check a key list as decoded or
 * parsed from followed.keys: [index, key] pairs, indices strictly rising
 * and < nops (HJ_HUB_NOPS_ANY: not known here), keys 64 lower-case hex;
 * else HJ_ECORRUPT naming the element. */
int hj_hub_keys_check(const hj_json *keys, size_t nops);
/* Parse and check a followed row's keys text (NULL: none; *out NULL). */
int hj_hub_keys_parse(hj_json **out, const char *text, size_t nops);
/* The key the list gives op i, or NULL (borrowed from the list). */
const char *hj_hub_key_at(const hj_json *keys, size_t i);

/* Encoder side, for hub_entry.c: record v's key (v4, when it has one) as
 * op `index`'s; 0 or HJ_ENOMEM. */
int hj_hub_entry_enc_key(hj_hub_entry_enc *enc, size_t index, const hj_verdict *v);

#endif
