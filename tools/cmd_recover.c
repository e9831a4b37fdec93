/*
 * cmd_recover.c — `huiji recover --from OLD_DIR`: carry the signed work of
 * a node directory that can no longer sync (a copy restored from an old
 * backup whose history forked from the hub's) to this node, a node
 * re-initialised under a new id and enrolled, without retyping it.
 *
 * What is carried: the old node's change sets the hub never sequenced (no
 * row of the old node's hub order holds them), each verified under the old
 * node's key, oldest first. Their ops are re-issued here, not copied: each
 * old change set becomes one new change set of this node, signed by this
 * node, folded by the same rules as if typed now (a rule may refuse an op
 * today: it is reported, never recorded), their personal fields re-sealed
 * for this node. The ids the old node minted in
 * those change sets (a membership id is "<node>:<seq>:<index>", fold.c)
 * are mapped to the ids the re-issued ops mint here, and every later op
 * naming one is rewritten to the new id. An op that names an id the old
 * node minted in a change set the hub never saw, whose creating op was not
 * re-issued (refused here), is skipped and reported: sent on, it would
 * name a membership nobody holds. Ids the hub already knows (minted in
 * sequenced change sets, or by other nodes) are kept as they are.
 *
 * Run once per old directory: how far it got is kept in this node's meta
 * (`recovered:<old id>:<old key id>`, inside each new change set's
 * transaction), so a second run, or one after a crash, carries only the rest.
 */
#include "cli.h"
#include "envelope.h"
#include "error.h"
#include "hex.h"
#include "person_seal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt opts[] = {
	{"from", 1, "the old node directory (e.g. a restored copy that can no longer sync)"},
	{NULL, 0, "huiji recover --from /srv/huiji/qh-xn-cz.old --dir /srv/huiji/qh-xn-cz2"},
};

typedef struct recovery {
	hj_node *old, *n;
	char meta_key[160];
	uint64_t done;    /* old seqs up to here already carried */
	uint64_t carried, made, applied, refused, skipped;
} recovery;

/* *out = 1 if the old node's change set `seq` exists and its hub order
 * holds no such change set at that seq: the hub never sequenced it (it
 * may hold another one there, the original's). */
static int unseen(const recovery *r, uint64_t seq, int *out)
{
	sqlite3_stmt *st = hj_db_stmt(r->old->db, "SELECT count(*) FROM changelog c LEFT JOIN followed f "
						  "ON f.node = :n AND f.seq = c.seq AND f.hash = c.hash "
						  "WHERE c.seq = :s AND f.seq IS NULL");
	*out = 0;
	if (!st)
		return HJ_ERROR;
	int rc = (hj_db_bind_text(st, ":n", r->old->id) || hj_db_bind_int(st, ":s", (int64_t)seq))
			 ? HJ_ERROR
			 : hj_db_step(r->old->db, st);
	if (rc == 1)
		*out = sqlite3_column_int64(st, 0) > 0;
	hj_db_release(r->old->db, st);
	return rc < 0 ? rc : 0;
}

/* Where the id the old node minted as `old_id` went: meta
 * "recovered-id:<old_id>", written with the change set that minted it. */
static void map_key(char *out, size_t outsz, const char *old_id)
{
	snprintf(out, outsz, "recovered-id:%s", old_id);
}

/* `id` names a membership: *minted_here = 1 if the old node minted it in
 * a change set the hub never saw (then *to = its new id, or NULL when its
 * creating op was not re-issued; caller frees). */
static int map_id(const recovery *r, const char *id, int *minted_here, char **to)
{
	size_t l = strlen(r->old->id);
	char key[240], *end;
	*minted_here = 0;
	*to = NULL;
	if (strncmp(id, r->old->id, l) != 0 || id[l] != ':')
		return 0; /* another node's: the hub knows it */
	uint64_t seq = strtoull(id + l + 1, &end, 10);
	if (*end != ':')
		return 0; /* not an id huiji mints: the fold will say so */
	int rc = unseen(r, seq, minted_here);
	if (rc || !*minted_here)
		return rc;
	map_key(key, sizeof key, id);
	rc = hj_meta_get(to, r->n->db, key);
	return rc == HJ_ENOTFOUND ? 0 : rc;
}

/* The old node sealed its ops' personal fields to the nodes it knew, not
 * to this one: re-seal them for this node (the old node's key opens them),
 * so it reads the records it re-issues, and finds a duplicate among them
 * by the number before the hub does (a county holds no person key:
 * fold_key.c). What does not open here is carried as it is. A transfer's
 * snapshot is carried as it is (its seal names both ends already). */
static int reseal(const recovery *r, hj_json *op)
{
	const char *name = hj_json_get_str(op, "op");
	hj_json *target = NULL;
	char *org = NULL;
	int rc = 0;
	if (!name)
		return 0;
	if (strcmp(name, "member.apply") == 0 || strcmp(name, "member.transfer_request") == 0) {
		const char *u = hj_json_get_str(op, strcmp(name, "member.apply") == 0 ? "union" : "to");
		target = (hj_json *)hj_json_get(op, "person");
		if (!(org = strdup(u ? u : r->n->union_id)))
			return hj_error_set(HJ_ENOMEM, "out of memory");
	} else if (strcmp(name, "member.update") == 0 && hj_json_get_str(op, "member")) {
		target = op;
		rc = hj_db_get_text(&org, r->n->db, "SELECT union_id FROM membership WHERE id = :id", ":id",
				    hj_json_get_str(op, "member"));
		if (rc == HJ_ENOTFOUND)
			return 0; /* the fold says unknown_member */
	}
	const hj_json *sealed = target && target->type == HJ_JOBJ ? hj_json_get(target, "sealed") : NULL;
	hj_json *fields = NULL;
	char commit[65];
	hj_foldctx ctx = {.unseal = &r->old->unsealer};
	if (!rc && sealed && org && (rc = hj_person_open_fields(&fields, commit, &ctx, sealed)) == HJ_ECORRUPT)
		rc = 0;
	if (!rc && fields)
		rc = hj_person_seal_set(target, r->n, fields, org);
	hj_json_free(fields);
	free(org);
	return rc;
}

/* One op of old change set `seq`, index `i`: rewritten, folded into `b`. */
static int carry_op(recovery *r, hj_batch *b, const hj_json *op, uint64_t seq, size_t i)
{
	hj_buf text = HJ_BUF_INIT;
	hj_json *copy = NULL;
	hj_verdict v;
	char old_id[160], new_id[160], key[240];
	int rc = hj_json_write(&text, op);
	if (!rc)
		rc = hj_json_parse(&copy, (const char *)text.data, text.len);
	hj_buf_free(&text);
	if (rc)
		return rc;
	const char *member = hj_json_get_str(copy, "member");
	int minted_here = 0;
	char *to = NULL;
	if (member && (rc = map_id(r, member, &minted_here, &to))) {
		hj_json_free(copy);
		return rc;
	}
	if (minted_here && !to) {
		printf("skipped: old seq %" PRIu64 " op %zu (%s) names a membership this copy created that "
		       "was not re-issued\n", seq, i, hj_json_get_str(copy, "op"));
		r->skipped++;
		hj_json_free(copy);
		return 0;
	}
	rc = to ? hj_json_set_str(copy, "member", to) : 0;
	free(to);
	if (!rc)
		rc = reseal(r, copy);
	if (rc) {
		hj_json_free(copy);
		return rc;
	}
	char name[40];
	snprintf(name, sizeof name, "%s", hj_json_get_str(copy, "op") ? hj_json_get_str(copy, "op") : "?");
	if ((rc = hj_batch_apply(b, copy, &v, new_id, sizeof new_id))) /* takes copy */
		return rc;
	if (!v.applied) {
		printf("refused: old seq %" PRIu64 " op %zu (%s): %s\n", seq, i, name, v.reason);
		r->refused++;
		return 0;
	}
	r->applied++;
	snprintf(old_id, sizeof old_id, "%s:%" PRIu64 ":%zu", r->old->id, seq, i);
	map_key(key, sizeof key, old_id);
	return hj_meta_set(r->n->db, key, new_id); /* in the new change set's transaction */
}

/* One old change set, verified, re-issued as one new change set. */
static int carry_one(recovery *r, uint64_t seq, const uint8_t *bytes, size_t len)
{
	hj_envelope e = {0};
	hj_json *payload = NULL;
	hj_batch b;
	char done[32];
	uint64_t newseq = 0;
	int rc = hj_envelope_verify(bytes, len, r->old->pk);
	if (rc || (rc = hj_envelope_decode(&e, bytes, len))) {
		rc = hj_error_wrap(rc, "%s seq %" PRIu64 ": ", r->old->id, seq);
		goto done;
	}
	const hj_json *ops = NULL;
	if (!(rc = hj_json_parse(&payload, (const char *)e.payload, e.payload_len)))
		ops = hj_fold_payload_ops(payload, &rc);
	if (!ops || (rc = hj_batch_begin(&b, r->n)))
		goto done;
	for (size_t i = 0; !rc && i < ops->count; i++)
		rc = carry_op(r, &b, ops->items[i], seq, i);
	/* How far it got, in the same transaction as the new change set. */
	snprintf(done, sizeof done, "%" PRIu64, seq);
	if (rc || (rc = hj_meta_set(r->n->db, r->meta_key, done)) || (rc = hj_batch_commit(&b, &newseq))) {
		hj_batch_abort(&b);
		goto done;
	}
	if (!newseq) /* nothing applied: the batch recorded nothing, so record the progress alone */
		rc = hj_meta_set(r->n->db, r->meta_key, done);
	r->carried++;
	r->made += newseq != 0;
done:
	hj_json_free(payload);
	hj_envelope_free(&e);
	return rc;
}

static int recover_all(recovery *r)
{
	char *v = NULL;
	int rc = hj_meta_get(&v, r->n->db, r->meta_key);
	if (rc == 0)
		r->done = strtoull(v, NULL, 10);
	free(v);
	if (rc && rc != HJ_ENOTFOUND)
		return rc;
	sqlite3_stmt *st = hj_db_stmt(r->old->db, "SELECT seq, envelope FROM changelog WHERE seq > :s ORDER BY seq");
	if (!st)
		return HJ_ERROR;
	int step;
	rc = hj_db_bind_int(st, ":s", (int64_t)r->done) ? HJ_ERROR : 0;
	while (!rc && (step = hj_db_step(r->old->db, st)) == 1) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
		int carry = 0;
		if ((rc = unseen(r, seq, &carry)) || !carry)
			continue; /* the hub's already: its ids stay as they are */
		rc = carry_one(r, seq, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
	}
	if (!rc && step < 0)
		rc = step;
	hj_db_release(r->old->db, st);
	return rc;
}

int cmd_recover(int argc, char **argv)
{
	cli c;
	recovery r;
	memset(&r, 0, sizeof r);
	int rc = cli_parse(&c, "recover", opts, argc, argv);
	if (rc)
		return rc > 0 ? 0 : cli_fail(rc);
	const char *from = cli_need(&c, "from");
	if (!from)
		return cli_fail(HJ_EINVALID);
	if ((rc = cli_open_node(&c, &r.n)) || (rc = hj_node_open(&r.old, from)))
		goto done;
	if (r.n->is_root || r.old->is_root) {
		rc = hj_error_set(HJ_EINVALID, "recover: only a county's work is carried, to a county");
		goto done;
	}
	if (strcmp(r.n->id, r.old->id) == 0) {
		rc = hj_error_set(HJ_EINVALID, "recover: %s is this node's own id: re-initialise under a new id first "
				  "(README, Recovery)", r.old->id);
		goto done;
	}
	uint8_t kid[8];
	char kidhex[17];
	hj_key_id(kid, r.old->pk);
	hj_hex_encode(kidhex, kid, 8);
	snprintf(r.meta_key, sizeof r.meta_key, "recovered:%s:%s", r.old->id, kidhex);
	if ((rc = recover_all(&r)) || (rc = cli_flush_outbox(r.n)))
		goto done;
	printf("recovered: %" PRIu64 " change sets of %s never sequenced, re-issued as %" PRIu64
	       " new change sets (%" PRIu64 " ops applied, %" PRIu64 " refused, %" PRIu64 " skipped); "
	       "sync to send them\n", r.carried, r.old->id, r.made, r.applied, r.refused, r.skipped);
done:
	hj_node_close(r.old);
	hj_node_close(r.n);
	return rc ? cli_fail(rc) : 0;
}
