/*
 * audit.h — check a hub repository from the signed records alone.
 *
 * Needs no node of its own: fetch every feed and the hub feed, verify
 * every signature, chain and enrolment, re-fold everything in hub order
 * from nothing, and check every verdict and every state digest the hub
 * published. Each discrepancy is named: a tampered byte, a dropped or
 * reordered change set, a verdict that does not follow, an op by a node
 * without authority or enrolment.
 */
#ifndef HJ_AUDIT_H
#define HJ_AUDIT_H

#include "envelope.h"
#include "progress.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>

#define HJ_AUDIT_MAX_PROBLEMS 200

typedef struct hj_audit_report {
	char hub[HJ_NODE_ID_MAX + 1];
	char hub_key[65];       /* the key the hub feed was checked under */
	int hub_key_pinned;     /* given by the auditor, not read from the feed */
	uint64_t nodes;         /* enrolled at the end */
	uint64_t feeds;
	uint64_t hub_entries;   /* hub change sets */
	uint64_t change_sets;   /* sequenced county change sets */
	uint64_t ops;
	uint64_t verdicts;      /* verdicts checked */
	uint64_t digests;       /* state digests checked */
	uint64_t pending;       /* change sets in feeds not yet sequenced */
	/* Inbox deliveries the re-fold derived and held to the v3 entries'
	 * counts and to refs/huiji/inbox/<node>; from hub entry
	 * inbox_unchecked_from on (0: none) the re-fold lacked what the hub
	 * folded, so what it delivered was not derived. */
	uint64_t deliveries;
	uint64_t inbox_unchecked_from;
	/* Seals delivered to a union node without naming it, held to the
	 * wrap the hub gave it (refs/huiji/wraps/<node>, entries v4 on). */
	uint64_t wraps_checked;
	/* Person-key checks (rules 2) the re-fold could not recompute, having
	 * no person key, and took on the hub's word; 0 when given one. */
	int person_key_given;
	uint64_t pkey_on_hub_word;
	uint64_t sealed_on_hub_word; /* real-name checks of sealed fields this audit could not open */
	/* With the audit key (hj_audit_with_key): the enrolled auditor it is
	 * (its node id), and the sealed objects of re-folded ops wrapped to
	 * it, which the re-fold opened where it needed them and recomputed
	 * the real-name (and, given the person key, person-key) checks of.
	 * sealed_on_hub_word then counts only checks of seals neither wrapped
	 * to it nor re-wrapped for it by the hub (sync/wraps.h: seals made
	 * before it was enrolled, or by an author that left it out, which the
	 * hub gives it in refs/huiji/wraps/<auditor>); audit_wraps_refused
	 * counts items of that ref that did not read. */
	int audit_key_given;
	char auditor[HJ_NODE_ID_MAX + 1];
	uint64_t sealed_to_audit_key;
	uint64_t audit_wraps_refused;
	/* duplicate_province verdicts (rules 5, node/peer_dup.h) taken on the
	 * hub's word: judged against a peer province's registry at a position
	 * this re-fold does not hold. */
	uint64_t peer_on_hub_word;
	/* The hub feed's last change set re-folded: its seq and hash (hex). */
	uint64_t hub_seq;
	char hub_head[65];
	size_t nproblems;
	char *problems[HJ_AUDIT_MAX_PROBLEMS]; /* owned; hj_audit_report_free */
} hj_audit_report;

/* Audit the hub repository at `url` (path, file:// or git://), fetching it
 * into the bare repository `workdir` (created). hub_key_hex NULL: trust
 * the key the hub enrolled for itself in its change set 1 (and say so).
 * person_secret: the province's 32-byte person key, so the person-key
 * check is recomputed; NULL: those checks are counted as taken on the
 * hub's word (rep->pkey_on_hub_word).
 * Returns 0 when the audit ran (discrepancies are in rep->problems), or an
 * error if it could not run at all. */
int hj_audit(hj_audit_report *rep, const char *url, const char *hub_key_hex, const uint8_t *person_secret,
	     const char *workdir, const hj_net_opts *net);

/* hj_audit holding the audit key: audit_sk is the 64-byte Ed25519 secret
 * key of an enrolled auditor node (its secret.key, node.h), NULL for
 * none. The re-fold opens every seal wrapped to that auditor (from its
 * enrolment in the hub order on) and recomputes the checks the hub made
 * of the sealed fields; a seal wrapped to it that does not open or match
 * its commitment is judged as the hub must judge it ("invalid"), so a hub
 * verdict saying otherwise is a discrepancy naming the change set.
 * HJ_EINVALID (no report: never a passing verdict) when audit_sk is not a
 * consistent key pair or no node enrolled as an auditor has its public
 * key. Otherwise as hj_audit. */
int hj_audit_with_key(hj_audit_report *rep, const char *url, const char *hub_key_hex, const uint8_t *person_secret,
		      const uint8_t *audit_sk, const char *workdir, const hj_net_opts *net);
/* The same, telling `progress` (NULL: no one) each hub entry re-folded,
 * of all the hub feed holds. */
int hj_audit_with_key_progress(hj_audit_report *rep, const char *url, const char *hub_key_hex,
			       const uint8_t *person_secret, const uint8_t *audit_sk, const char *workdir,
			       const hj_net_opts *net, const hj_progress *progress);
/* hj_audit that also keeps the re-folded registry (a peer province's,
 * sync/peer.h): when the audit ran and found no discrepancy, the registry
 * is written to the new file `keep_path` (which must not exist) with meta
 * peer_hub (the hub's id), peer_hub_seq and peer_head (rep->hub_seq,
 * rep->hub_head); otherwise nothing is written. The caller fsyncs and
 * installs it. */
int hj_audit_keep(hj_audit_report *rep, const char *url, const char *hub_key_hex, const uint8_t *person_secret,
		  const char *workdir, const hj_net_opts *net, const char *keep_path);
void hj_audit_report_free(hj_audit_report *rep);

#endif
