/*
 * audit_wraps.c — the auditor's check of the hub's re-wraps
 * (refs/huiji/wraps/<node>, sync/wraps.h). A wrap needs no signature, so
 * the hub cannot lie about what a wrap opens; it can withhold one (a node
 * it delivered a record to cannot read it) or give one too many (a node
 * is handed the key to fields of a record it was never delivered: a
 * leak). During the re-fold this file records, for every change set, the
 * seals of its ops and the recipients each names; after it, each node's
 * wraps ref is held to the deliveries the re-fold derived (audit_inbox.c):
 * every seal of a change set delivered to the node that does not name it
 * must be wrapped for it, by entries whose hub re-wraps (format 4 and
 * later), and no wrap may open a seal of a change set it was not
 * delivered (not checked once the derivation stopped at a change set the
 * re-fold lacks). Auditor nodes (given every seal, not by delivery) are left to
 * `huiji audit --audit-key`, which counts what stays shut.
 */
#include "audit.h"
#include "audit_int.h"
#include "error.h"
#include "hex.h"
#include "rewrap.h"
#include "seal.h"
#include "verify.h"
#include "wraps.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Findings of one kind per node, at most: the rest are counted in one. */
#define SHOWN 3

int hj_audit_wraps_init(hj_audit_wraps *w, hj_audit_report *rep, hj_db *db)
{
	memset(w, 0, sizeof *w);
	w->rep = rep;
	w->db = db;
	return hj_db_exec(db, "CREATE TABLE audit_seal (src_node TEXT NOT NULL, src_seq INTEGER NOT NULL, "
			      "seal TEXT NOT NULL, PRIMARY KEY (src_node, src_seq, seal)) WITHOUT ROWID;"
			      "CREATE INDEX audit_seal_by_seal ON audit_seal(seal);"
			      "CREATE TABLE audit_seal_to (seal TEXT NOT NULL, id TEXT NOT NULL, "
			      "PRIMARY KEY (seal, id)) WITHOUT ROWID;"
			      "CREATE INDEX audit_inbox_src ON inbox(src_node, src_seq)");
}

void hj_audit_wraps_entry(hj_audit_wraps *w, int64_t version, uint64_t hub_seq)
{
	if (version >= 4 && !w->from)
		w->from = hub_seq;
}

static int insert(hj_db *db, const char *sql, const char *a, int64_t n, const char *b)
{
	sqlite3_stmt *st = hj_db_stmt(db, sql);
	int rc = !st || hj_db_bind_text(st, ":a", a) || (n >= 0 && hj_db_bind_int(st, ":n", n)) ||
			 hj_db_bind_text(st, ":b", b)
		     ? HJ_ERROR
		     : hj_db_step(db, st);
	hj_db_release(db, st);
	return rc < 0 ? rc : 0;
}

int hj_audit_wraps_op(hj_audit_wraps *w, const char *node, uint64_t seq, const hj_json *op)
{
	hj_sealed *s = NULL;
	char commit[65];
	int rc = 0;
	for (int which = 0; !rc && which < HJ_REWRAP_PLACES; which++) {
		const hj_json *obj = hj_rewrap_sealed_at(op, which);
		if (!obj)
			continue;
		if (!s && !(s = malloc(sizeof *s)))
			return hj_error_set(HJ_ENOMEM, "out of memory");
		if (hj_sealed_decode(s, obj))
			continue; /* malformed: its op is invalid, nothing to wrap */
		hj_hex_encode(commit, s->commit, 32);
		rc = insert(w->db, "INSERT OR IGNORE INTO audit_seal(src_node, src_seq, seal) VALUES (:a, :n, :b)", node,
			    (int64_t)seq, commit);
		for (size_t i = 0; !rc && i < s->nto; i++)
			rc = insert(w->db, "INSERT OR IGNORE INTO audit_seal_to(seal, id) VALUES (:a, :b)", commit, -1,
				    s->to[i].id);
	}
	free(s);
	return rc;
}

/* Node `node`'s wraps, read from its ref into `given` (a scratch
 * registry's seal_wrap, emptied first). */
static int load_given(hj_db *given, hj_gitrepo *repo, const char *node, int *refused)
{
	char ref[200];
	int rc = hj_db_exec(given, "DELETE FROM seal_wrap; DELETE FROM meta WHERE key = 'wraps_commit'");
	hj_rewrap_ref(ref, sizeof ref, node);
	if (!rc && (rc = hj_rewrap_take_db(given, node, repo, ref, refused)) == HJ_ENOTFOUND)
		rc = 0; /* no ref: nothing given */
	return rc;
}

/* Every seal of a change set delivered to `node` (by an entry from
 * w->from on) that does not name it, and has no wrap in `given`. */
static int withheld(hj_audit_wraps *w, hj_db *given, const char *node, uint64_t until)
{
	sqlite3_stmt *st = hj_db_stmt(w->db, "SELECT DISTINCT s.seal, i.src_node, i.src_seq, i.hub_seq FROM inbox i "
					     "JOIN audit_seal s ON s.src_node = i.src_node AND s.src_seq = i.src_seq "
					     "WHERE i.node = :a AND i.hub_seq >= :f AND i.hub_seq < :u AND NOT EXISTS "
					     "(SELECT 1 FROM audit_seal_to t WHERE t.seal = s.seal AND t.id = :a) "
					     "ORDER BY i.hub_seq, s.seal");
	int rc = !st || hj_db_bind_text(st, ":a", node) || hj_db_bind_int(st, ":f", (int64_t)w->from) ||
			 hj_db_bind_int(st, ":u", until ? (int64_t)until : INT64_MAX)
		     ? HJ_ERROR
		     : 0;
	uint64_t missing = 0;
	while (!rc && (rc = hj_db_step(w->db, st)) == 1) {
		int64_t have = 0;
		if ((rc = hj_db_get_int(given, "SELECT count(*) FROM seal_wrap WHERE seal = :s", ":s",
					hj_db_col_text(st, 0), &have)))
			break;
		w->rep->wraps_checked++;
		if (have)
			continue;
		if (missing++ < SHOWN)
			hj_audit_problem(w->rep, "refs/huiji/wraps/%s: no wrap of seal %.16s… of %s seq %" PRId64
					 ", delivered to it by hub entry %" PRId64 " without naming it: the hub "
					 "withheld what opens a record it gave (it stays shut there)", node,
					 hj_db_col_text(st, 0), hj_db_col_text(st, 1), (int64_t)sqlite3_column_int64(st, 2),
					 (int64_t)sqlite3_column_int64(st, 3));
	}
	hj_db_release(w->db, st);
	if (missing > SHOWN)
		hj_audit_problem(w->rep, "refs/huiji/wraps/%s: %" PRIu64 " more seals delivered and not wrapped for it",
				 node, missing - SHOWN);
	return rc < 0 ? rc : 0;
}

/* Every wrap in `given` must open a seal of a change set delivered to
 * `node` (any entry): else the hub handed it the key to a record it was
 * never given. */
static int leaked(hj_audit_wraps *w, hj_db *given, const char *node)
{
	sqlite3_stmt *st = hj_db_stmt(given, "SELECT DISTINCT seal FROM seal_wrap ORDER BY seal");
	int rc = st ? 0 : HJ_ERROR;
	uint64_t extra = 0;
	while (!rc && (rc = hj_db_step(given, st)) == 1) {
		int64_t ok = 0;
		sqlite3_stmt *q = hj_db_stmt(w->db, "SELECT count(*) FROM inbox i JOIN audit_seal s ON s.src_node = "
						    "i.src_node AND s.src_seq = i.src_seq WHERE i.node = :a AND s.seal = :b");
		rc = !q || hj_db_bind_text(q, ":a", node) || hj_db_bind_text(q, ":b", hj_db_col_text(st, 0))
			     ? HJ_ERROR
			     : hj_db_step(w->db, q);
		if (rc == 1)
			ok = sqlite3_column_int64(q, 0);
		hj_db_release(w->db, q);
		if (rc < 0)
			break;
		rc = 0;
		if (!ok && extra++ < SHOWN)
			hj_audit_problem(w->rep, "refs/huiji/wraps/%s holds the key to seal %.16s…, of no change set "
					 "delivered to it: the hub gave it a record it may not hold", node,
					 hj_db_col_text(st, 0));
	}
	hj_db_release(given, st);
	if (extra > SHOWN)
		hj_audit_problem(w->rep, "refs/huiji/wraps/%s: %" PRIu64 " more keys to records not delivered to it",
				 node, extra - SHOWN);
	return rc < 0 ? rc : 0;
}

typedef struct each {
	hj_audit_wraps *w;
	hj_db *given;
	hj_gitrepo *repo;
	uint64_t until;
} each;

static int check_node(void *vctx, const char *name, const git_oid *target)
{
	each *e = vctx;
	const char *node = name + strlen("refs/huiji/wraps/");
	int refused = 0, rc;
	int64_t role = 0;
	(void)target;
	/* An auditor is given every seal, not by delivery: --audit-key's. */
	if ((rc = hj_db_get_int(e->w->db, "SELECT count(*) FROM node WHERE id = :n AND role = 'auditor'", ":n", node,
				&role)) || role)
		return rc;
	if ((rc = load_given(e->given, e->repo, node, &refused)))
		return rc;
	if (refused)
		hj_audit_problem(e->w->rep, "refs/huiji/wraps/%s: %d items do not read as wraps", node, refused);
	return leaked(e->w, e->given, node);
}

int hj_audit_wraps_check(hj_audit_wraps *w, hj_gitrepo *repo, uint64_t until)
{
	hj_db *given = NULL;
	each e = {w, NULL, repo, until};
	int rc = hj_scratch_open(&given);
	e.given = given;
	/* Withheld: every node delivered to by an entry that re-wraps. */
	sqlite3_stmt *st = rc || !w->from ? NULL
					  : hj_db_stmt(w->db, "SELECT DISTINCT node FROM inbox WHERE hub_seq >= :f AND "
							      "node NOT IN (SELECT id FROM node WHERE role = 'auditor') "
							      "ORDER BY node");
	if (!rc && w->from && (!st || hj_db_bind_int(st, ":f", (int64_t)w->from)))
		rc = HJ_ERROR;
	while (!rc && st && (rc = hj_db_step(w->db, st)) == 1) {
		int refused = 0;
		char node[HJ_NODE_ID_MAX + 1];
		snprintf(node, sizeof node, "%s", hj_db_col_text(st, 0));
		if (!(rc = load_given(given, repo, node, &refused)))
			rc = withheld(w, given, node, until);
	}
	hj_db_release(w->db, st);
	/* Leaked: every wraps ref there is — unless the derivation stopped
	 * (`until`): what was delivered after is not known here. */
	if (rc == 0 && !until)
		rc = hj_gitrepo_ref_foreach(repo, "refs/huiji/wraps/*", check_node, &e);
	hj_db_close(given);
	return rc < 0 ? rc : 0;
}
