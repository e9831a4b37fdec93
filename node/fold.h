/*
 * fold.h — the fold: ordered ops -> projection tables.
 *
 * The projection (schema/001_registry.sql) is a pure function of the ops in
 * order: a handler reads only its op, its position (actor, seq, index) and
 * the tables, never a clock, random numbers or locale. An op that breaks a
 * rule when its turn comes is *rejected* with a stable reason code and
 * changes nothing: rejections are data (hub verdicts), not errors. Negative
 * returns are reserved for real failures (SQL, an op from a newer huiji).
 */
#ifndef HJ_FOLD_H
#define HJ_FOLD_H

#include "db.h"
#include "json.h"

#include <stdint.h>

/* Versions this huiji understands. An op or payload with a higher "v", or an
 * op name it does not know, stops the fold with HJ_EVERSION. */
/* 2: personal fields sealed (person_seal.h): an older huiji stops at
 * such an op with "upgrade huiji" instead of misreading it.
 * 3: the person inside a transfer's snapshot sealed too (transfer_seal.h).
 * 4: a member op of a node without the person secret names no person
 *    key: the hub derives it (fold_key.c). */
#ifndef HJ_OP_VERSION /* a test build may raise it: see tests/meson.build */
#define HJ_OP_VERSION 4
#endif
#define HJ_PAYLOAD_VERSION 1
/* From this op version a member op's personal fields must be sealed. */
#define HJ_OP_SEALED_ONLY 3
/* From this op version a member op names no person key (fold_key.c). */
#define HJ_OP_KEYLESS 4

/* What a fold may open sealed personal fields with (person_seal.h): the
 * recipient id this node unseals as and its X25519 key pair. */
/* The recipient id the hub unseals as (its node id differs per province). */
#define HJ_SEAL_HUB "hub"
/* A peer province's hub as a recipient: "hub@<province>" (its root union
 * id), its X25519 key converted from the key its province.peer row pins;
 * so a province id in a cross-province transfer is at most 60 bytes. */
#define HJ_SEAL_HUB_AT "hub@"
#define HJ_PROVINCE_XFER_MAX 60

typedef struct hj_unsealer {
	char id[65];
	/* A second id this node opens as, "" none: a hub also opens what a
	 * peer province's county sealed to it as "hub@<its root union>"
	 * (HJ_SEAL_HUB_AT; a cross-province transfer's snapshot). */
	char alias[65];
	uint8_t pk[32];
	uint8_t sk[32];
	/* Where this node keeps the wraps the hub gave it (rewrap.h, table
	 * seal_wrap), tried when a seal has none for it; NULL: none (the
	 * hub, which every seal names). */
	hj_db *wraps;
} hj_unsealer;

struct hj_peer_lookup; /* peer_dup.h */

typedef struct hj_foldctx {
	const char *actor; /* node id that signed the change set */
	uint64_t seq;      /* its seq in that node's feed */
	uint32_t index;    /* position of the op in the change set */
	/* Local identity, so a node can act in its own union before the hub's
	 * enrolment of it has arrived (DESIGN §5). NULL at the hub sequencer's
	 * view of other nodes and in audits. */
	const char *self;
	const char *self_union;
	int self_is_root;
	/* Following a hub verdict "applied": skip the checks that need
	 * province-wide knowledge a county does not hold (duplicates). */
	int trust_hub;
	/* The rules this position is judged by (rules.h); 0 reads as 1. At
	 * the hub and in a re-fold of what it sequenced: the hub entry's; a
	 * node's own work not yet sequenced: HJ_RULES_VERSION. */
	uint32_t rules;
	/* "Now" for the date rules, ms since the epoch, from signed data
	 * only: the hub entry's recorded time for what it sequenced, the
	 * change set's signed created_at for a node's own work. 0: unknown
	 * (the future check is skipped). */
	int64_t now_ms;
	/* The province's person secret (32 bytes) when this fold may use it
	 * (the hub, a county, an auditor given the person key); NULL: the
	 * person-key check takes the hub's word (rules.h). */
	const uint8_t *person_secret;
	/* The hub's verdict code for this op when known to the re-folder (NULL:
	 * applied or not known), and where to count checks taken on its word. */
	const char *hub_reason;
	uint64_t *pkey_on_hub_word;
	/* The person key the hub's entry published for this op (hub_entry.h,
	 * entry v4), NULL when none or not known to this fold; and whether
	 * this fold may mint a provisional key where it has neither the
	 * person secret nor the hub's key: a node's own work not yet
	 * sequenced (fold_key.c). */
	const char *hub_person_key;
	int provisional_keys;
	/* NULL: sealed personal fields stay shut (an auditor without the audit
	 * key); the real-name checks of such an op take the hub's word and
	 * count in sealed_on_hub_word. */
	const hj_unsealer *unseal;
	uint64_t *sealed_on_hub_word;
	/* The other provinces' registries (peer_dup.h): the hub's sequencer
	 * looks applicants up there. NULL (a re-fold): the hub's
	 * duplicate_province is taken on its word. */
	struct hj_peer_lookup *peers;
} hj_foldctx;

typedef struct hj_verdict {
	int applied;
	char reason[32];  /* stable code when rejected, e.g. "duplicate_member" */
	char detail[256]; /* human explanation; never holds personal data */
	/* What the op conflicts with, carried in a compact (v2) hub verdict so
	 * a county that does not hold it can still say: for duplicate_member
	 * the union already holding the person; "" otherwise. */
	char holder[65];
	/* The person key this fold gave an op that names none (op version 4:
	 * derived, or the record's), "" otherwise: what the hub publishes
	 * for it in its entry, so nodes without the person secret hold the
	 * same key (fold_key.c). Set for a rejection too when it came after
	 * the key (a duplicate), so a re-fold reaches the same verdict. */
	char person_key[65];
} hj_verdict;

/* Fold one op. Returns 0 with *v filled (applied or rejected), or a
 * negative code (v undefined). Runs inside a SAVEPOINT so a rejected or
 * failed op leaves no trace. */
int hj_fold_op(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);

/* The id minted for the op at ctx's position: "<actor>:<seq>:<index>". */
void hj_fold_op_id(char *out, size_t outsz, const hj_foldctx *ctx);

/* Check a payload's envelope-level structure {"v":1,"ops":[...]}; returns
 * the ops array (borrowed from `payload`) or NULL with HJ_ECORRUPT or
 * HJ_EVERSION set. */
const hj_json *hj_fold_payload_ops(const hj_json *payload, int *rc);

/* --- used by the op handlers (node/ops_*.c) --- */

/* Is `s` exactly 64 lower-case hex digits (a key, a person_key)? */
int hj_is_hex64(const char *s);

/* 0 if this huiji can fold `op` (a known name at a version it reads),
 * else HJ_EVERSION with "upgrade huiji" set. hub.sequence counts as known:
 * whether its entry version is readable is hj_hub_entry_decode's answer. */
int hj_fold_op_known(const hj_json *op);

/* Reject: fill *v and return 0. */
int hj_reject(hj_verdict *v, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* May ctx->actor act on org `org_id`? 0 = yes; else fills a rejection into
 * *v and returns 1; negative on SQL errors. */
int hj_fold_authority(hj_db *db, const hj_foldctx *ctx, const char *org_id, hj_verdict *v);

/* Is `org` equal to or below `ancestor` in the org tree? 1/0/negative. */
int hj_org_in_subtree(hj_db *db, const char *org, const char *ancestor);

int hj_fold_org_create(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
int hj_fold_org_update(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
int hj_fold_node_enroll(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
int hj_fold_province_peer(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v); /* ops_peer.c */
/* Across provinces (ops_province_transfer.c): the hub's own ops that take
 * a peer's offer in and tell the offering province how it ended. */
int hj_fold_province_transfer_in(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
int hj_fold_province_transfer_out(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
/* member.transfer_offer naming "province": after the checks every offer
 * takes (ops_transfer.c), the peer's; opens the transfer of person `key`. */
int hj_fold_province_offer(hj_db *db, const hj_foldctx *ctx, const hj_json *op, const char *key, hj_verdict *v);
/* A decline (by the receiving union) or a withdraw (by the hub only) of a
 * record a peer offered ("province_in"), whose union is `to`. */
int hj_fold_province_in_close(hj_db *db, const hj_foldctx *ctx, const hj_json *op, const char *to, hj_verdict *v);
int hj_fold_member_apply(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
int hj_fold_member_decide(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
int hj_fold_member_update(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
/* SUBTREE replay: an op the county does not fold (outside its subtree) may
 * still change the row of a person the county holds (a member who left it
 * and joined elsewhere): apply just that person-row change, as the hub
 * did. No-op when the county does not hold the person. */
int hj_fold_person_refresh(hj_db *db, const hj_foldctx *ctx, const hj_json *op);

/* Surveys and dated targets (ops_coverage.c, rules 6). */
int hj_fold_survey_record(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
int hj_fold_target_set(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);

int hj_fold_member_leave(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);

/* Transfers (rules 3): a hand-down inside one node's subtree (the turnover
 * pool), an offer or a request (ops_transfer.c), and the accept, decline
 * or withdraw that decides it (ops_transfer_decide.c). */
int hj_fold_member_hand_down(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
int hj_fold_transfer_open(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
int hj_fold_transfer_decide(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);

/* What the holding side of a transfer signs for the receiving side: the
 * membership's union, group, channel, platform, join date and person, as
 * the registry holds them (*out: a JSON object, the caller's). 0,
 * HJ_ENOTFOUND or an error. The CLI puts it in the op; the fold checks it
 * equals the registry where it holds the member. */
int hj_fold_transfer_snapshot(hj_json **out, hj_db *db, const char *member_id);

/* Shared by ops_member.c and ops_transfer.c. The real-name checks on a
 * person object as of date `on`: 0 fine, 1 rejected (into *v), <0 error. */
int hj_fold_check_person(hj_db *db, const hj_foldctx *ctx, const hj_json *person, const char *on, hj_verdict *v);
/* The person row from a person object; 0 or an error. */
int hj_fold_person_upsert(hj_db *db, const hj_json *person, const char *opid);
/* A sealed person (person_seal.h) this fold may not open: at the hub a
 * verdict ("invalid": every seal must include the hub), elsewhere the
 * hub's verdict taken and counted (ctx->sealed_on_hub_word). `key`, when
 * given, must still be a person key. 1 = rejected (v set), 0 = go on. */
int hj_fold_person_shut(const hj_foldctx *ctx, const char *opname, const char *key, hj_verdict *v);
/* --- person keys (fold_key.c) --- */

/* Is this an op of op version 4 or later, which may name no person key
 * (its author, a county, holds no person secret)? */
int hj_fold_keyless(const hj_json *op);
/* The person key of an op's person in this fold, into out and v->person_key:
 * derived from `idno` (the opened ID number, NULL when shut) with the
 * person secret where this fold has it, else `held` (the key of the
 * record this node holds, NULL when none), else the hub's published key,
 * else (own unsequenced work) a provisional key from the op's position.
 * A hub key that is not the one this fold derives or holds rejects
 * (person_key_mismatch); none at all rejects (invalid). 0 go on, 1
 * rejected. */
int hj_fold_person_key(char out[65], const hj_foldctx *ctx, const char *idno, const char *held, hj_verdict *v);
/* The op's own person key ("key" in `person`) is well-formed, or absent
 * from an op of version 4. 0 go on, 1 rejected. */
int hj_fold_key_form(const hj_json *op, const hj_json *person, const char *opname, hj_verdict *v);

/* The services ledger (ops_service.c, rules 6, schema/017_services.sql).
 * Amounts are integer fen; a field or a row holds at most this much (a
 * billion yuan), so no sum of them overflows. */
#define HJ_SERVICE_FEN_MAX 100000000000LL
int hj_fold_service_define(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
int hj_fold_service_update(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
int hj_fold_service_point(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
int hj_fold_service_deliver(hj_db *db, const hj_foldctx *ctx, const hj_json *op, hj_verdict *v);
/* The period key of date `on` (YYYY-MM-DD) in a service's period (year,
 * quarter, month): "2027", "2027-Q1", "2027-03". 0 or HJ_EINVALID. */
int hj_service_period_of(char out[8], const char *period, const char *on);
/* SUBTREE replay: does this county hold what a service op changes? A
 * delivery: when it holds the membership record (deliver.c sends it to
 * the record's union); definitions and points: everywhere. 1/0/<0. */
int hj_fold_service_held(hj_db *db, const hj_json *op);

/* Membership `id` exists, the actor has authority over its union, and its
 * status is `want` ("live": applied or active). 0 go on, 1 rejected, <0
 * error. */
int hj_fold_member_target(hj_db *db, const hj_foldctx *ctx, const char *opname, const char *id, const char *want,
			  hj_verdict *v);

#endif
