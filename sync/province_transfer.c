/*
 * province_transfer.c — the hub pass's scan of the peer registries for
 * transfers across provinces (province_transfer.h). It reads only the
 * registries sync/peer.c audited and installed, writes the hub's own ops
 * through one batch (folded, signed and sequenced as any hub command's),
 * and records what no fold decides as province_conflict rows after it.
 */
#include "province_transfer.h"
#include "batch.h"
#include "clock.h"
#include "error.h"
#include "hex.h"
#include "peer_dup.h"
#include "person_key.h"
#include "person_seal.h"
#include "seal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conflict {
	char province[65], transfer[200], kind[24], detail[300];
	uint64_t seq;
} conflict;

typedef struct scan {
	hj_batch b;
	hj_node *hub;
	hj_peer_lookup *peers;
	hj_province_xfer_report *rep;
	conflict *c;
	size_t nc;
} scan;

static int note(scan *s, const hj_peer_registry *r, const char *transfer, const char *kind, const char *fmt,
		const char *a, const char *b)
{
	conflict *c = realloc(s->c, (s->nc + 1) * sizeof *c);
	if (!c)
		return hj_error_set(HJ_ENOMEM, "out of memory");
	s->c = c;
	c = &c[s->nc++];
	snprintf(c->province, sizeof c->province, "%s", r->province);
	snprintf(c->transfer, sizeof c->transfer, "%s", transfer);
	snprintf(c->kind, sizeof c->kind, "%s", kind);
	snprintf(c->detail, sizeof c->detail, fmt, a, b);
	c->seq = r->hub_seq;
	return 0;
}

/* Taken in already: a transfer row here of that id. A conflict is not
 * final (the person here may leave, the operator may settle it): each
 * pass tries again, and records the conflict once. */
static int known(hj_db *db, const char *local)
{
	int64_t n = 0;
	int rc = hj_db_get_int(db, "SELECT count(*) FROM transfer WHERE id = :l", ":l", local, &n);
	return rc < 0 ? rc : n > 0;
}

/* The peer's sealed person opened as "hub@<this province>": *plain the
 * fields, NULL when it is not sealed to this hub. */
static int open_person(hj_json **plain, const hj_node *hub, const hj_json *snap)
{
	hj_foldctx ctx;
	char commit[65];
	memset(&ctx, 0, sizeof ctx);
	ctx.unseal = &hub->unsealer;
	const hj_json *sealed = hj_json_get(hj_json_get(snap, "person"), "sealed");
	*plain = NULL;
	if (!sealed)
		return 0;
	int rc = hj_person_open_fields(plain, commit, &ctx, sealed);
	return rc == HJ_ECORRUPT ? 0 : rc;
}

/* The snapshot this province's nodes build the record from: the peer's
 * record fields, the person sealed afresh by this hub to union `to`'s
 * nodes (and this hub and its auditors), "seal" its commitment. */
static int fresh_snapshot(hj_json **out, const hj_node *hub, const hj_json *snap, const hj_json *plain, const char *to)
{
	static const char *const keys[] = {"union", "group", "channel", "platform", "joined_on"};
	hj_json *o = hj_json_new(HJ_JOBJ), *person = hj_json_new(HJ_JOBJ);
	hj_sealed *s = malloc(sizeof *s);
	char commit[65];
	int rc = o && person && s ? 0 : hj_error_set(HJ_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < sizeof keys / sizeof *keys; i++)
		if (hj_json_get_str(snap, keys[i]) && hj_json_set_str(o, keys[i], hj_json_get_str(snap, keys[i])))
			rc = hj_error_set(HJ_ENOMEM, "out of memory");
	if (!rc)
		rc = hj_person_seal_set_for(person, hub, plain, &to, 1);
	if (!rc && !(rc = hj_sealed_decode(s, hj_json_get(person, "sealed")))) {
		hj_hex_encode(commit, s->commit, 32);
		rc = hj_json_set_str(person, "seal", commit) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
	}
	if (!rc) {
		rc = hj_json_set(o, "person", person) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
		person = NULL;
	}
	free(s);
	hj_json_free(person);
	if (rc)
		hj_json_free(o);
	else
		*out = o;
	return rc;
}

/* The person's live record in this province, *unit NULL when none. */
static int held_here(char **unit, hj_db *db, const char *key)
{
	int rc = hj_db_get_text(unit, db, "SELECT union_id FROM membership WHERE person_key = :k AND status IN "
				"('applied', 'active') ORDER BY id LIMIT 1", ":k", key);
	return rc == HJ_ENOTFOUND ? 0 : rc;
}

/* Apply one hub op; a refusal is a conflict for the operator. */
static int apply(scan *s, const hj_peer_registry *r, const char *transfer, hj_json *op, uint64_t *count)
{
	hj_verdict v;
	int rc = hj_batch_apply(&s->b, op, &v, NULL, 0);
	if (rc)
		return rc;
	if (v.applied) {
		(*count)++;
		return 0;
	}
	return note(s, r, transfer, "refused", "%s: %s", v.reason, v.detail);
}

static int elsewhere(scan *s, const hj_peer_registry *r, const char *tid, const char *key);

/* province.transfer_in for the peer's open offer of row st. A person
 * active in a third province too is taken in all the same (the first
 * acceptance in this province's order stands here) and reported. */
static int take_in(scan *s, const hj_peer_registry *r, sqlite3_stmt *st)
{
	const char *id = hj_db_col_text(st, 0), *text = hj_db_col_text(st, 5), *to = hj_db_col_text(st, 3);
	hj_json *snap = NULL, *plain = NULL, *fresh = NULL, *op = NULL;
	char key[65], *unit = NULL;
	int rc = hj_json_parse(&snap, text, strlen(text));
	if (!rc)
		rc = open_person(&plain, s->hub, snap);
	if (rc || !plain || !s->hub->person_secret) {
		if (!rc)
			rc = note(s, r, id, "unreadable", "%s%s", plain ? "this hub holds no person key"
								  : "the offer's person is not sealed to this hub", "");
		goto done;
	}
	hj_person_key_derive(key, s->hub->person_secret, hj_json_get_str(plain, "id_number"));
	if ((rc = held_here(&unit, s->hub->db, key)) || unit) {
		if (!rc)
			rc = note(s, r, id, "active_here", "the person already holds a record in %s here; the offer to %s "
				  "is not taken in", unit, to);
		goto done;
	}
	if ((rc = elsewhere(s, r, id, key)) || (rc = fresh_snapshot(&fresh, s->hub, snap, plain, to)))
		goto done;
	if (!(op = hj_json_new(HJ_JOBJ)) || hj_json_set_str(op, "op", "province.transfer_in") ||
	    hj_json_set_int(op, "v", HJ_OP_VERSION) || hj_json_set_str(op, "province", r->province) ||
	    hj_json_set_str(op, "transfer", id) || hj_json_set_str(op, "member", hj_db_col_text(st, 1)) ||
	    hj_json_set_str(op, "from_union", hj_db_col_text(st, 2)) || hj_json_set_str(op, "to", to) ||
	    hj_json_set_str(op, "on", hj_db_col_text(st, 4)) || hj_json_set_str(op, "key", key) ||
	    hj_json_set_int(op, "peer_hub_seq", (int64_t)r->hub_seq)) {
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	rc = hj_json_set(op, "snapshot", fresh) ? hj_error_set(HJ_ENOMEM, "out of memory") : 0;
	fresh = NULL;
	if (!rc) {
		rc = apply(s, r, id, op, &s->rep->taken_in);
		op = NULL;
	}
done:
	sodium_memzero(key, sizeof key);
	free(unit);
	hj_json_free(op);
	hj_json_free(fresh);
	hj_json_free(plain);
	hj_json_free(snap);
	return rc;
}

/* A hub op {op, transfer, on} plus province fields: built for the two
 * that close something. */
static hj_json *closing_op(const char *name, const char *transfer, const char *on)
{
	hj_json *op = hj_json_new(HJ_JOBJ);
	if (op && (hj_json_set_str(op, "op", name) || hj_json_set_int(op, "v", HJ_OP_VERSION) ||
		   hj_json_set_str(op, "transfer", transfer) || hj_json_set_str(op, "on", on))) {
		hj_json_free(op);
		op = NULL;
	}
	return op;
}

/* The peer withdrew its offer `id` (taken in here as `local`): withdraw
 * ours while it is open; accepted here already, a conflict both hubs
 * report (the peer's finds it accepted after its withdrawal). */
static int withdrawn_there(scan *s, const hj_peer_registry *r, const char *id, const char *local, const char *on)
{
	char *here = NULL, *tm = NULL;
	int rc = hj_db_get_text(&here, s->hub->db, "SELECT status FROM transfer WHERE id = :t", ":t", local);
	if (rc)
		return rc == HJ_ENOTFOUND ? 0 : rc;
	if (strcmp(here, "open") == 0) {
		hj_json *op = closing_op("member.transfer_withdraw", local, on);
		rc = op ? apply(s, r, id, op, &s->rep->withdrawn) : hj_error_set(HJ_ENOMEM, "out of memory");
	} else if (strcmp(here, "accepted") == 0 &&
		   !(rc = hj_db_get_text(&tm, s->hub->db, "SELECT coalesce(to_member, '') FROM transfer WHERE id = :t",
					 ":t", local))) {
		rc = note(s, r, id, "withdrawn_there", "withdrawn in the peer after it was accepted here as %s%s", tm, "");
	}
	free(here);
	free(tm);
	return rc;
}

/* The peer's offers to this province: take in the open ones; withdraw
 * here the ones the peer withdrew after they were taken in. */
static int scan_in(scan *s, const hj_peer_registry *r)
{
	char pre[80];
	snprintf(pre, sizeof pre, "%s/", s->hub->union_id);
	sqlite3_stmt *st = hj_db_stmt(r->db, "SELECT id, from_member, from_union, substr(to_union, :n + 1), opened_on, "
					     "snapshot, status, coalesce(decided_on, opened_on) FROM transfer WHERE kind = "
					     "'province_out' AND substr(to_union, 1, :n) = :pre AND status IN ('open', "
					     "'withdrawn') ORDER BY id");
	int rc = !st || hj_db_bind_text(st, ":pre", pre) || hj_db_bind_int(st, ":n", (int64_t)strlen(pre)) ? HJ_ERROR : 0;
	while (!rc && (rc = hj_db_step(r->db, st)) == 1) {
		char local[300];
		const char *id = hj_db_col_text(st, 0);
		snprintf(local, sizeof local, "%s/%s", r->province, id);
		if (strcmp(hj_db_col_text(st, 6), "open") == 0) {
			int k = known(s->hub->db, local);
			rc = k < 0 ? k : !k && sqlite3_column_type(st, 5) != SQLITE_NULL ? take_in(s, r, st) : 0;
			continue;
		}
		rc = withdrawn_there(s, r, id, local, hj_db_col_text(st, 7));
	}
	if (st)
		hj_db_release(r->db, st);
	return rc < 0 ? rc : 0;
}

/* Is the person of transfer tid (with peer r) active in a third
 * province too? Each such one is a conflict. */
static int elsewhere(scan *s, const hj_peer_registry *r, const char *tid, const char *key)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < s->peers->n; i++) {
		hj_peer_registry *o = &s->peers->reg[i];
		char *unit = NULL;
		if (o == r)
			continue;
		rc = hj_db_get_text(&unit, o->db, "SELECT union_id FROM membership WHERE person_key = :k AND status = "
				    "'active' LIMIT 1", ":k", key);
		if (rc == HJ_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (!rc)
			rc = note(s, r, tid, "active_elsewhere", "the person is active in province %s too, union %s",
				  o->province, unit);
		free(unit);
	}
	return rc;
}

/* One answered province_in row of the peer's for our transfer tid. */
static int close_out(scan *s, const hj_peer_registry *r, sqlite3_stmt *st, const char *tid)
{
	const char *status = hj_db_col_text(st, 1);
	char *here = NULL, *prov = NULL, *key = NULL;
	int accepted = strcmp(status, "accepted") == 0, rc;
	rc = hj_db_get_text(&here, s->hub->db, "SELECT status FROM transfer WHERE id = :t", ":t", tid);
	if (!rc && !(rc = hj_db_get_text(&prov, s->hub->db, "SELECT CASE WHEN kind = 'province_out' THEN to_union "
					 "ELSE '' END FROM transfer WHERE id = :t", ":t", tid)))
		rc = hj_db_get_text(&key, s->hub->db, "SELECT person_key FROM transfer WHERE id = :t", ":t", tid);
	size_t np = strlen(r->province);
	if (rc || strncmp(prov, r->province, np) != 0 || prov[np] != '/')
		goto done;
	if (strcmp(here, "open") != 0) {
		if (accepted && strcmp(here, "accepted") != 0)
			rc = note(s, r, tid, "decided_here", "accepted in this peer as %s after it was %s here",
				  hj_db_col_text(st, 3), here);
		goto done;
	}
	hj_json *op = closing_op("province.transfer_out", tid, hj_db_col_text(st, 2));
	if (!op || hj_json_set_str(op, "province", r->province) ||
	    hj_json_set_str(op, "status", accepted ? "accepted" : "declined") ||
	    (accepted && hj_json_set_str(op, "to_member", hj_db_col_text(st, 3))) ||
	    hj_json_set_int(op, "peer_hub_seq", (int64_t)r->hub_seq)) {
		hj_json_free(op);
		rc = hj_error_set(HJ_ENOMEM, "out of memory");
		goto done;
	}
	if (!(rc = apply(s, r, tid, op, &s->rep->closed)) && accepted)
		rc = elsewhere(s, r, tid, key);
done:
	free(here);
	free(prov);
	free(key);
	return rc == HJ_ENOTFOUND ? 0 : rc;
}

/* The peer's answers to our offers: its province_in rows of ours. */
static int scan_out(scan *s, const hj_peer_registry *r)
{
	char pre[80];
	snprintf(pre, sizeof pre, "%s/", s->hub->union_id);
	sqlite3_stmt *st = hj_db_stmt(r->db, "SELECT id, status, coalesce(decided_on, opened_on), coalesce(to_member, "
					     "'') FROM transfer WHERE kind = 'province_in' AND substr(id, 1, :n) = :pre AND "
					     "status IN ('accepted', 'declined') ORDER BY id");
	int rc = !st || hj_db_bind_text(st, ":pre", pre) || hj_db_bind_int(st, ":n", (int64_t)strlen(pre)) ? HJ_ERROR : 0;
	size_t np = strlen(s->hub->union_id);
	while (!rc && (rc = hj_db_step(r->db, st)) == 1) {
		const char *id = hj_db_col_text(st, 0);
		rc = strncmp(id, s->hub->union_id, np) == 0 && id[np] == '/' ? close_out(s, r, st, id + np + 1) : 0;
	}
	if (st)
		hj_db_release(r->db, st);
	return rc < 0 ? rc : 0;
}

/* The conflicts found, each once (a later pass finds them again). */
static int record(scan *s)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < s->nc; i++) {
		conflict *c = &s->c[i];
		sqlite3_stmt *st = hj_db_stmt(s->hub->db, "INSERT OR IGNORE INTO province_conflict(province, transfer, "
						      "kind, detail, peer_hub_seq, found_at) VALUES (:p, :t, :k, :d, :s, :at)");
		rc = !st || hj_db_bind_text(st, ":p", c->province) || hj_db_bind_text(st, ":t", c->transfer) ||
		     hj_db_bind_text(st, ":k", c->kind) || hj_db_bind_text(st, ":d", c->detail) ||
		     hj_db_bind_int(st, ":s", (int64_t)c->seq) || hj_db_bind_int(st, ":at", hj_clock_ms())
			? HJ_ERROR
			: hj_db_step(s->hub->db, st);
		if (st)
			hj_db_release(s->hub->db, st);
		if (rc >= 0)
			s->rep->conflicts += (uint64_t)sqlite3_changes(s->hub->db->h);
		rc = rc < 0 ? rc : 0;
	}
	return rc;
}

int hj_province_transfer_pass(hj_province_xfer_report *rep, hj_node *hub)
{
	scan s;
	memset(rep, 0, sizeof *rep);
	memset(&s, 0, sizeof s);
	s.hub = hub;
	s.rep = rep;
	int rc = hj_peer_lookup_open(&s.peers, hub->db, hub->dir);
	if (rc)
		return rc;
	if (!s.peers->n) {
		hj_peer_lookup_free(s.peers);
		return 0;
	}
	if ((rc = hj_batch_begin(&s.b, hub)))
		goto done;
	for (size_t i = 0; !rc && i < s.peers->n; i++)
		if (!(rc = scan_in(&s, &s.peers->reg[i])))
			rc = scan_out(&s, &s.peers->reg[i]);
	if (!rc)
		rc = hj_batch_commit(&s.b, NULL);
	else
		hj_batch_abort(&s.b);
	if (!rc)
		rc = record(&s);
done:
	hj_peer_lookup_free(s.peers);
	free(s.c);
	return rc;
}
