/*
 * audit_int.h — what audit.c, audit_import.c, audit_inbox.c and
 * audit_key.c share: recording a finding, copying a local repository
 * object by object, deriving the hub's inbox deliveries during the
 * re-fold, and opening seals with the audit key.
 */
#ifndef HJ_AUDIT_INT_H
#define HJ_AUDIT_INT_H

#include "db.h"
#include "deliver.h"
#include "fold.h"
#include "gitrepo.h"
#include "hub_entry.h"
#include "json.h"

#include <stdint.h>

/* audit.h's report, by name only (audit.h includes nothing of this). */
struct hj_audit_report;

/* Add one finding to rep (silently dropped past HJ_AUDIT_MAX_PROBLEMS). */
void hj_audit_problem(struct hj_audit_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy the local repository at `src` into `dst`: every sound object (a
 * damaged one costs only itself, see audit_import.c) and the refs under
 * refs/huiji/. Damage is a finding in rep; the return is an error only
 * when the copy could not be made at all. */
int hj_audit_import_local(struct hj_audit_report *rep, const char *src, hj_gitrepo *dst);

/* The deliveries the re-fold derives (audit_inbox.c), into the scratch
 * registry's tables inbox, touch, inbox_node and followed (positions and
 * hashes only) by sync/inbox.c's own functions. Once the re-fold lacks
 * something the hub folded (a lost entry, a change set it could not
 * fold), what the hub delivered after is unknown: the checks stop there
 * (rep->inbox_unchecked_from) and what was derived before is still held
 * to the refs. */
typedef struct hj_audit_inbox {
	struct hj_audit_report *rep;
	hj_db *db;
	const char *hub;    /* the hub's node id (never given an inbox) */
	int off;            /* derivation stopped (hj_audit_inbox_lost) */
	int v3;             /* the entry being re-folded is v3: it delivers */
	int collect;        /* the change set being folded is that entry's */
	hj_idset touched;   /* the unions its ops touched so far */
} hj_audit_inbox;

/* 0 or an error (the scratch registry's index). */
int hj_audit_inbox_init(hj_audit_inbox *ib, struct hj_audit_report *rep, hj_db *db, const char *hub);
void hj_audit_inbox_free(hj_audit_inbox *ib);
/* The re-fold lacks what hub entry hub_seq (or one before) sequenced. */
void hj_audit_inbox_lost(hj_audit_inbox *ib, uint64_t hub_seq);
/* A hub entry of format `version` begins: a v3 one first begins the
 * inbox of every node enrolled since (its backfill). */
int hj_audit_inbox_begin(hj_audit_inbox *ib, int64_t version, uint64_t hub_seq);
/* A change set of that entry is about to be folded (on) or was not. */
void hj_audit_inbox_collect(hj_audit_inbox *ib, int on);
/* Each op of it, before it is folded (after, with the key the fold gave
 * it, for an op hj_touch_keyed_after names): the unions it touches. */
int hj_audit_inbox_touch(hj_audit_inbox *ib, const hj_json *op, const char *person_key);
/* It was folded: record its place in the hub order and deliver it. */
int hj_audit_inbox_deliver(hj_audit_inbox *ib, uint64_t hub_seq, const char *node, uint64_t seq,
			   const uint8_t hash[32]);
/* The entry's includes are folded: its "inbox" counts must be exactly
 * what it delivered in the re-fold (a finding per node that differs);
 * counts rep->deliveries. */
int hj_audit_inbox_check_entry(hj_audit_inbox *ib, const hj_hub_entry *ent, uint64_t hub_seq);
/* After the re-fold: each node's refs/huiji/inbox/<node> in `repo` holds
 * its derived deliveries, in order, by hash (longer is fine). */
int hj_audit_inbox_check_refs(hj_audit_inbox *ib, hj_gitrepo *repo);

/* The hub's re-wraps held to the deliveries (audit_wraps.c): the seals
 * of every change set re-folded, into the scratch registry's tables
 * audit_seal and audit_seal_to; `from`: the first hub entry of format 4
 * (a hub that re-wraps at every delivery; 0: none yet). */
typedef struct hj_audit_wraps {
	struct hj_audit_report *rep;
	hj_db *db;
	uint64_t from;
} hj_audit_wraps;

int hj_audit_wraps_init(hj_audit_wraps *w, struct hj_audit_report *rep, hj_db *db);
/* A hub entry of format `version` begins. */
void hj_audit_wraps_entry(hj_audit_wraps *w, int64_t version, uint64_t hub_seq);
/* Op `op` of change set (node, seq), which the hub did not find invalid:
 * its seals and whom each names. */
int hj_audit_wraps_op(hj_audit_wraps *w, const char *node, uint64_t seq, const hj_json *op);
/* After the re-fold and the inbox check: every union node's
 * refs/huiji/wraps/<node> holds a wrap of each seal delivered to it (by
 * entries from w->from, before `until`, 0: all) that does not name it,
 * and none of a change set not delivered to it (not asked when `until`
 * is set); a finding for each that differs (counted in
 * rep->wraps_checked). */
int hj_audit_wraps_check(hj_audit_wraps *w, hj_gitrepo *repo, uint64_t until);

/* The audit key during the re-fold (audit_key.c). Its secrets are
 * wiped by hj_audit_key_free. */
typedef struct hj_audit_key {
	struct hj_audit_report *rep;
	int given;
	char ed_hex[65];    /* its Ed25519 public key, as node.enroll names it */
	hj_unsealer unseal; /* X25519 pair; id "" until its enrolment is folded */
	char other[HJ_NODE_ID_MAX + 1]; /* the node enrolled with it, not as auditor */
	char other_role[16];
} hj_audit_key;

/* sk: a node secret key (64 bytes), or NULL for an audit without one.
 * 0, or HJ_EINVALID when its two halves are not one key pair. */
int hj_audit_key_init(hj_audit_key *k, struct hj_audit_report *rep, const uint8_t *sk);
void hj_audit_key_free(hj_audit_key *k);
/* What the fold opens seals with (NULL: no key given), borrowed. */
const hj_unsealer *hj_audit_key_unsealer(const hj_audit_key *k);
/* Before an op is folded: its seals wrapped to the auditor, counted into
 * rep->sealed_to_audit_key; returns how many (0: none, or no key). */
int hj_audit_key_count(hj_audit_key *k, const hj_json *op);
/* An op the re-fold applied: the auditor's enrolment names its id. */
void hj_audit_key_enrolled(hj_audit_key *k, const hj_json *op);
/* After the re-fold: HJ_EINVALID (message set) when no node enrolled as
 * an auditor holds the key. */
int hj_audit_key_check(const hj_audit_key *k);

/* Before the re-fold: the hub's re-wraps for the auditor holding the key
 * (refs/huiji/wraps/<auditor>, found by its enrolment in the hub's
 * change sets `hub`, n of them), taken into db's seal_wrap so the re-fold
 * opens seals made before that auditor was enrolled. Advisory: the
 * enrolment is found again when folded, and a wrap opens only what its
 * seal's commitment names. 0 or an error. */
int hj_audit_key_wraps(hj_audit_key *k, hj_db *db, hj_gitrepo *repo, uint8_t *const *hub, const size_t *len,
		       size_t n);

#endif
