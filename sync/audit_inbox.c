/*
 * audit_inbox.c — the auditor's check of what the hub delivered. During
 * the re-fold it derives every delivery as the sequencer does (the same
 * functions, node/deliver.c and sync/inbox.c, on the auditor's scratch
 * registry, at the same points: the backfill at an entry's start, the
 * touched unions before each op), then holds each v3 entry's inbox counts
 * and each refs/huiji/inbox/<node> to them, so the hub is not trusted for
 * which change sets it gives each node.
 */
#include "audit.h"
#include "audit_int.h"
#include "error.h"
#include "gitfeed.h"
#include "inbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hj_audit_inbox_init(hj_audit_inbox *ib, hj_audit_report *rep, hj_db *db, const char *hub)
{
	memset(ib, 0, sizeof *ib);
	ib->rep = rep;
	ib->db = db;
	ib->hub = hub;
	/* Only in the scratch registry: each entry's check reads its own rows. */
	return hj_db_exec(db, "CREATE INDEX audit_inbox_entry ON inbox(hub_seq)");
}

void hj_audit_inbox_free(hj_audit_inbox *ib)
{
	hj_idset_free(&ib->touched);
}

void hj_audit_inbox_lost(hj_audit_inbox *ib, uint64_t hub_seq)
{
	if (ib->off)
		return;
	ib->off = 1;
	ib->v3 = 0;
	ib->collect = 0;
	ib->rep->inbox_unchecked_from = hub_seq ? hub_seq : 1;
}

int hj_audit_inbox_begin(hj_audit_inbox *ib, int64_t version, uint64_t hub_seq)
{
	ib->v3 = !ib->off && version >= 3;
	if (!ib->v3)
		return 0;
	/* The round's start: every node enrolled and not yet begun is given
	 * its backfill before the entry includes anything (sequencer.c
	 * one_round). */
	return hj_inbox_backfill_db(ib->db, ib->hub, NULL, NULL, hub_seq);
}

void hj_audit_inbox_collect(hj_audit_inbox *ib, int on)
{
	hj_idset_free(&ib->touched);
	ib->collect = on && ib->v3;
}

int hj_audit_inbox_touch(hj_audit_inbox *ib, const hj_json *op, const char *person_key)
{
	return ib->collect ? hj_touch_add_op(&ib->touched, ib->db, op, person_key) : 0;
}

int hj_audit_inbox_deliver(hj_audit_inbox *ib, uint64_t hub_seq, const char *node, uint64_t seq,
			   const uint8_t hash[32])
{
	int64_t pos = 0;
	int rc = 0;
	if (!ib->collect)
		goto done;
	/* The change set's row in the hub order, as hj_followed_append writes
	 * it at the hub (the hash, not the bytes: the audit holds those), so
	 * a backfill and a decision on a transfer find its position. Already
	 * there: the hub sequenced it twice (a finding of audit.c), and what
	 * it delivered since is not derived. */
	sqlite3_stmt *st = hj_db_stmt(ib->db, "INSERT OR IGNORE INTO followed(hub_seq, node, seq, hash, envelope) "
					      "VALUES (:h, :n, :s, :x, x'')");
	rc = !st || hj_db_bind_int(st, ":h", (int64_t)hub_seq) || hj_db_bind_text(st, ":n", node) ||
			     hj_db_bind_int(st, ":s", (int64_t)seq) || hj_db_bind_blob(st, ":x", hash, 32)
		     ? HJ_ERROR
		     : hj_db_step(ib->db, st);
	hj_db_release(ib->db, st);
	if (rc < 0)
		goto done;
	rc = 0;
	if (sqlite3_changes(ib->db->h) == 0) {
		hj_audit_inbox_lost(ib, hub_seq);
		goto done;
	}
	if (!(rc = hj_db_get_int(ib->db, "SELECT max(pos) FROM followed", NULL, NULL, &pos)))
		rc = hj_inbox_deliver(ib->db, NULL, &ib->touched, pos, hub_seq, node, seq, NULL, NULL);
done:
	hj_audit_inbox_collect(ib, 0);
	return rc;
}

/* Pair i of a checked v3 inbox list: its node, and *n its count. */
static const char *pair_at(const hj_json *inbox, size_t i, uint64_t *n)
{
	*n = (uint64_t)inbox->items[i]->items[1]->i;
	return inbox->items[i]->items[0]->s;
}

static void extra_node(hj_audit_inbox *ib, const hj_json *inbox, size_t j, uint64_t hub_seq)
{
	uint64_t said;
	const char *node = pair_at(inbox, j, &said);
	hj_audit_problem(ib->rep, "hub entry %" PRIu64 ": counts %" PRIu64 " change sets in the inbox of %s, but the "
		"re-fold delivers it nothing in this entry", hub_seq, said, node);
}

int hj_audit_inbox_check_entry(hj_audit_inbox *ib, const hj_hub_entry *ent, uint64_t hub_seq)
{
	const hj_json *inbox = ent->inbox;
	size_t m = inbox ? inbox->count : 0, j = 0;
	uint64_t said = 0;
	if (!ib->v3)
		return 0;
	sqlite3_stmt *st = hj_db_stmt(ib->db, "SELECT node, max(n), count(*) FROM inbox WHERE hub_seq = :h "
					      "GROUP BY node ORDER BY node");
	int rc = !st || hj_db_bind_int(st, ":h", (int64_t)hub_seq) ? HJ_ERROR : 0;
	while (!rc && (rc = hj_db_step(ib->db, st)) == 1) {
		const char *node = hj_db_col_text(st, 0);
		uint64_t n = (uint64_t)sqlite3_column_int64(st, 1), now = (uint64_t)sqlite3_column_int64(st, 2);
		ib->rep->deliveries += now;
		rc = 0;
		while (j < m && strcmp(pair_at(inbox, j, &said), node) < 0)
			extra_node(ib, inbox, j++, hub_seq);
		if (j < m && strcmp(pair_at(inbox, j, &said), node) == 0) {
			if (said != n)
				hj_audit_problem(ib->rep, "hub entry %" PRIu64 ": counts %" PRIu64 " change sets in the inbox "
					"of %s, the re-fold %" PRIu64, hub_seq, said, node, n);
			j++;
		} else {
			hj_audit_problem(ib->rep, "hub entry %" PRIu64 ": delivers nothing to %s, but the re-fold delivers "
				"it %" PRIu64 " change sets in this entry (its inbox then holds %" PRIu64 ")", hub_seq, node,
				now, n);
		}
	}
	hj_db_release(ib->db, st);
	while (rc >= 0 && j < m)
		extra_node(ib, inbox, j++, hub_seq);
	return rc < 0 ? rc : 0;
}

/* Walking one inbox ref against the deliveries derived for it. */
typedef struct ref_walk {
	hj_audit_inbox *ib;
	sqlite3_stmt *want;  /* the derived deliveries, in order */
	const char *node, *ref;
	uint64_t held;       /* deliveries matched so far */
	int differs;
	int dberr;           /* reading the derived ones failed: no finding */
} ref_walk;

/* "<node> seq <seq>" of the change set delivery `st` names. */
static void want_name(char *out, size_t outsz, sqlite3_stmt *st)
{
	snprintf(out, outsz, "%s seq %" PRId64 ", sequenced by hub entry %" PRId64, hj_db_col_text(st, 1),
		 (int64_t)sqlite3_column_int64(st, 2), (int64_t)sqlite3_column_int64(st, 3));
}

static int walk_one(void *ctx, uint64_t seq, const git_oid *commit, const uint8_t *bytes, size_t len)
{
	ref_walk *w = ctx;
	char want[200], held[120] = "unreadable bytes";
	uint8_t h[32];
	hj_envelope e;
	(void)commit;
	int rc = hj_db_step(w->ib->db, w->want);
	if (rc < 0)
		return w->dberr = rc;
	if (rc == 0)
		return 1; /* the derived ones end: a longer inbox is the next entry's */
	want_name(want, sizeof want, w->want);
	if (!bytes) {
		hj_audit_problem(w->ib->rep, "%s delivery %" PRIu64 ": its change set is damaged or missing in the "
			"repository (the re-fold delivers %s)", w->ref, seq, want);
		w->differs = 1;
		return 1;
	}
	hj_hash32(h, bytes, len);
	if (sqlite3_column_bytes(w->want, 0) == 32 && memcmp(h, sqlite3_column_blob(w->want, 0), 32) == 0) {
		w->held++;
		return 0;
	}
	if (hj_envelope_decode(&e, bytes, len) == 0) {
		snprintf(held, sizeof held, "%s seq %" PRIu64, e.node, e.seq);
		hj_envelope_free(&e);
	}
	hj_audit_problem(w->ib->rep, "%s delivery %" PRIu64 " is %s, but the re-fold delivers %s (a change set "
		"withheld, added or reordered)", w->ref, seq, held, want);
	w->differs = 1;
	return 1;
}

/* One node's refs/huiji/inbox/<node>: it holds exactly its derived
 * deliveries in order, the first `want` of its commits (more is fine:
 * the hub writes an inbox before the hub feed entry counting it). */
static int check_ref(hj_audit_inbox *ib, hj_gitrepo *repo, const char *node, uint64_t want)
{
	char ref[200], label[200], name[200];
	uint64_t tipseq = 0;
	git_oid tip;
	ref_walk w = {ib, NULL, node, ref, 0, 0, 0};
	hj_inbox_ref(ref, sizeof ref, node);
	hj_inbox_label(label, sizeof label, node);
	w.want = hj_db_stmt(ib->db, "SELECT f.hash, i.src_node, i.src_seq, i.hub_seq FROM inbox i JOIN followed f ON "
				    "f.node = i.src_node AND f.seq = i.src_seq WHERE i.node = :n ORDER BY i.n");
	int rc = HJ_ERROR;
	if (!w.want || hj_db_bind_text(w.want, ":n", node))
		goto done;
	if (!(rc = hj_gitfeed_tip(repo, ref, &tipseq, &tip)) && tipseq)
		rc = hj_gitfeed_walk_salvage(repo, &tip, label, walk_one, &w);
	if (w.dberr || rc == HJ_ENOMEM) {
		rc = w.dberr ? w.dberr : rc;
		goto done;
	}
	if (rc < 0) {
		hj_audit_problem(ib->rep, "%s: cannot be read (tampered or corrupt git objects?): %s", ref, hj_error_last());
		rc = 0;
		goto done;
	}
	rc = 0;
	if (w.differs || w.held >= want)
		goto done;
	if ((rc = hj_db_step(ib->db, w.want)) == 1)
		want_name(name, sizeof name, w.want);
	else
		snprintf(name, sizeof name, "?");
	rc = rc < 0 ? rc : 0;
	hj_audit_problem(ib->rep, "%s holds %" PRIu64 " deliveries, the re-fold delivers %" PRIu64 " up to the last hub "
		"entry: delivery %" PRIu64 " (%s) withheld", ref, w.held, want, w.held + 1, name);
done:
	hj_db_release(ib->db, w.want);
	return rc;
}

int hj_audit_inbox_check_refs(hj_audit_inbox *ib, hj_gitrepo *repo)
{
	sqlite3_stmt *st = hj_db_stmt(ib->db, "SELECT node, max(n) FROM inbox GROUP BY node ORDER BY node");
	int rc = st ? 0 : HJ_ERROR;
	while (!rc && (rc = hj_db_step(ib->db, st)) == 1) {
		char node[HJ_NODE_ID_MAX + 1];
		snprintf(node, sizeof node, "%s", hj_db_col_text(st, 0));
		rc = check_ref(ib, repo, node, (uint64_t)sqlite3_column_int64(st, 1));
	}
	hj_db_release(ib->db, st);
	return rc < 0 ? rc : 0;
}
