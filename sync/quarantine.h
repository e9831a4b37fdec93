/*
 * quarantine.h — change sets the hub refused to sequence (table
 * `quarantine`, schema/005_sync.sql + 007), kept as evidence, and the
 * operator's resolution of them. The sequencer records and consults them;
 * `huiji hub quarantine` lists and resets them through this file only.
 */
#ifndef HJ_QUARANTINE_H
#define HJ_QUARANTINE_H

#include "gitfeed.h"
#include "node.h"

#include <stddef.h>
#include <stdint.h>

/* Record (or re-record: the row for (node, seq) is replaced and opened
 * again) that `node` seq `seq` is held back. evidence: the offending
 * envelope bytes, or NULL (its hash is stored beside them); commit: the git
 * commit that carried it, or NULL. Inside the caller's transaction. */
int hj_quarantine_add(hj_db *db, const char *node, uint64_t seq, const char *reason, const char *detail,
		      const uint8_t *evidence, size_t len, const git_oid *commit);

/* *out = how many unresolved rows hold `node`'s feed back (0: none). */
int hj_quarantine_open_count(int64_t *out, hj_db *db, const char *node);

/* One row as listed; every pointer borrowed for the call only. */
typedef struct hj_quarantine_row {
	const char *node;
	int64_t seq;
	const char *reason;
	const char *detail;
	const char *hash;        /* HEX (upper case, as SQLite's hex()), "" if none */
	const char *commit;      /* commit id, "" if none */
	int64_t evidence_bytes;
	const char *resolved_at; /* UTC time, NULL while open */
} hj_quarantine_row;

/* Non-zero from the callback stops the listing and is returned. */
typedef int (*hj_quarantine_cb)(void *ctx, const hj_quarantine_row *row);

/* Open rows (all = 1: resolved ones too), by node then seq. */
int hj_quarantine_list(hj_db *db, int all, hj_quarantine_cb cb, void *ctx);

/* The operator's resolution of a quarantined feed: `node`'s feed ref in
 * the hub repository goes back to the history the hub sequenced
 * (refs/huiji/sequenced/<node>), or away if none of it was (e.g. a feed id
 * squatted before its node was enrolled), a fork the node sent
 * (refs/huiji/forks/<node>) is removed, and its open rows are marked
 * resolved, kept as evidence. The node must then push a feed continuing
 * the sequenced one (a restored copy is re-initialised under a new id).
 * *resolved = rows marked. HJ_EINVALID for a bad node id. */
int hj_quarantine_reset(int64_t *resolved, hj_node *hub, hj_gitrepo *repo, const char *node);

/* Mark the row for (node, seq) resolved now (one UPDATE, inside the
 * caller's transaction): a squatter's row, resolved by setting its feed
 * aside. */
int hj_quarantine_mark_resolved(hj_db *db, const char *node, uint64_t seq);

/* Set aside a feed squatted before its node's enrolment (its seq 1, commit
 * `seq1`, not signed by the enrolled key): the feed ref moves to
 * refs/huiji/quarantined/<node>, where the squatter's history is kept as
 * evidence beside its quarantine row, so the enrolled node can push its
 * own seq 1. A feed ref that no longer carries `seq1` (replaced since) or
 * is gone already is left alone. Git only, no SQLite: the sequencer calls
 * it after its COMMIT; a crash in between finds the squatter again next
 * run (the same row, then this). */
int hj_quarantine_set_aside(hj_gitrepo *repo, const char *node, const git_oid *seq1);

#endif
